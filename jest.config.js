/** @type {import('jest').Config} */
const swc = ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }];
const common = { testEnvironment: 'node', transform: { '^.+\\.ts$': swc }, moduleFileExtensions: ['ts', 'js', 'json'] };

module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'db', testMatch: ['<rootDir>/test/db/**/*.test.ts'] },
    { ...common, displayName: 'http', testMatch: ['<rootDir>/test/http/**/*.test.ts', '<rootDir>/test/interop/**/*.test.ts'] },
    // The console in Debian's Chromium (playwright-core): one browser per file.
    { ...common, displayName: 'browser', testMatch: ['<rootDir>/test/browser/**/*.test.ts'] },
  ],
  testTimeout: 60000,
};
