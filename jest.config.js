/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/src", "<rootDir>/test"],
  testMatch: ["**/__tests__/**/*.test.ts", "**/test/**/*.test.ts"],
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json" }] },
  setupFiles: ["<rootDir>/test/setup.ts"],
  testTimeout: 60000,
  // Several suites pace real upstream calls at a vendor's documented rate; two workers keep the
  // 2-core machines here responsive without serialising everything.
  maxWorkers: 2,
};
