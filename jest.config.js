/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/src", "<rootDir>/test"],
  testMatch: ["**/__tests__/**/*.test.ts", "**/test/**/*.test.ts"],
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json" }] },
  setupFiles: ["<rootDir>/test/setup.ts"],
  // Every emulator exchange is checked against schema/upstream/contracts; the run's count is printed at the end.
  setupFilesAfterEnv: ["<rootDir>/test/support/contract-setup.ts"],
  globalSetup: "<rootDir>/test/support/contract-global-setup.ts",
  globalTeardown: "<rootDir>/test/support/contract-global-teardown.ts",
  testTimeout: 60000,
  // Several suites pace real upstream calls at a vendor's documented rate; two workers keep the
  // 2-core machines here responsive without serialising everything.
  maxWorkers: 2,
};
