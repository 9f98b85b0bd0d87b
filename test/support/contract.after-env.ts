import { takeContractViolations } from './test-app';

// Fails the test file when any of its apps answered outside the OpenAPI document (see test-app.ts).
afterAll(() => {
  const violations = takeContractViolations();
  if (violations.length > 0) throw new Error(`Responses that disagree with the OpenAPI document:\n${violations.join('\n')}`);
});
