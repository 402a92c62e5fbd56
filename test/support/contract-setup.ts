import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { EmulatorServer } from "../../src/providers/emulator/emulator-server";
import { checkExchange } from "./contract-check";

/**
 * Every exchange of every emulator in the test suite is checked against the upstream contract; a
 * violation fails the test during which it happened. A test that breaks the contract on purpose
 * takes its violations with `takeContractViolations()` and asserts on them.
 */
const state = { exchanges: 0, offContract: 0, violations: [] as string[] };
(globalThis as { __contractState?: typeof state }).__contractState = state;

EmulatorServer.observer = (exchange) => {
  state.exchanges++;
  if (exchange.offContract !== undefined) state.offContract++;
  for (const problem of checkExchange(exchange)) state.violations.push(problem);
};

afterEach(() => {
  const found = state.violations.splice(0);
  if (found.length > 0) {
    throw new Error(`emulator exchanges broke the upstream contract (schema/upstream/contracts):\n  ${[...new Set(found)].join("\n  ")}`);
  }
});

afterAll(() => {
  // Summed by test/support/contract-report.ts (jest globalTeardown) for the whole run.
  const dir = process.env.USAGEGRAPH_CONTRACT_REPORT_DIR;
  if (!dir || state.exchanges === 0) return;
  mkdirSync(dir, { recursive: true });
  appendFileSync(join(dir, `${process.pid}.jsonl`), JSON.stringify({ exchanges: state.exchanges, offContract: state.offContract }) + "\n");
  state.exchanges = 0;
  state.offContract = 0;
});
