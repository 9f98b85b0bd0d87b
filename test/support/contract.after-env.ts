import { checkContractViolations } from './test-app';

// Fails the test file when any of its apps answered outside the OpenAPI document (see test-app.ts).
afterAll(checkContractViolations);
