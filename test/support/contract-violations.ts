/** Takes (and clears) the contract violations recorded so far in this test: for tests that break the contract on purpose. */
export function takeContractViolations(): string[] {
  const state = (globalThis as { __contractState?: { violations: string[] } }).__contractState;
  if (!state) throw new Error("contract checking is not installed (test/support/contract-setup.ts)");
  return state.violations.splice(0);
}
