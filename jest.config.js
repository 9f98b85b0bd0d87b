// One `npm test` runs three layers, named by what they boot: unit specs (`*.spec.ts`, colocated with
// the code, the benches' arithmetic too, fakes only), integration specs (`test/*.int-spec.ts`, one
// adapter or library against a real Redis, SQLite file or local fake server) and e2e suites
// (`test/*.e2e-spec.ts`, the whole app).
const fs = require('node:fs');
const path = require('node:path');

const swcConfig = JSON.parse(fs.readFileSync(path.join(__dirname, '.swcrc'), 'utf8'));

const shared = {
  rootDir: __dirname,
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['@swc/jest', { ...swcConfig, swcrc: false }] },
  moduleFileExtensions: ['ts', 'js', 'json'],
  moduleNameMapper: {
    '^@app/([a-z-]+)$': '<rootDir>/libs/$1/src',
    '^@app/([a-z-]+)/(.*)$': '<rootDir>/libs/$1/src/$2',
  },
  setupFiles: ['<rootDir>/test/support/jest.setup.ts'],
};

/** Fails an int or e2e file whose apps answered outside the OpenAPI document, after its describe blocks' cleanup. */
const CONTRACT_CHECK = '<rootDir>/test/support/contract.after-env.ts';

/** @type {import('jest').Config} */
module.exports = {
  globalSetup: '<rootDir>/test/support/redis.global-setup.ts',
  globalTeardown: '<rootDir>/test/support/redis.global-teardown.ts',
  testTimeout: 20000,
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs,bench}/**/*.spec.ts'] },
    { ...shared, displayName: 'int', testMatch: ['<rootDir>/test/**/*.int-spec.ts'], setupFilesAfterEnv: [CONTRACT_CHECK] },
    { ...shared, displayName: 'e2e', testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'], setupFilesAfterEnv: [CONTRACT_CHECK] },
  ],
};
