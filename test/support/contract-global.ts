import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** jest globalSetup: a folder where each test file's worker reports how many exchanges it checked. */
export async function setup(): Promise<void> {
  process.env.USAGEGRAPH_CONTRACT_REPORT_DIR = mkdtempSync(join(tmpdir(), "usagegraph-contract-"));
}

/** jest globalTeardown: one line with the whole run's count of contract-checked emulator exchanges. */
export async function teardown(): Promise<void> {
  const dir = process.env.USAGEGRAPH_CONTRACT_REPORT_DIR;
  if (!dir) return;
  let exchanges = 0;
  let offContract = 0;
  for (const file of readdirSync(dir)) {
    for (const line of readFileSync(join(dir, file), "utf8").split("\n").filter(Boolean)) {
      const counts = JSON.parse(line) as { exchanges: number; offContract: number };
      exchanges += counts.exchanges;
      offContract += counts.offContract;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  process.stdout.write(
    `\nUpstream contract: ${exchanges} emulator exchanges checked (${offContract} of them off the contract on purpose, by their test's own naming).\n`,
  );
}
