import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { startDemo, type Demo } from "../src/demo";
import type { JiandaoyunEmulator } from "../src/providers/jiandaoyun/jiandaoyun.emulator";
import { utcDay } from "./support/server-harness";
import { requestCount } from "./support/emulators";

const run = promisify(execFile);
// What `npm run collect` runs (npm test builds dist/ before jest).
const COLLECT = join(__dirname, "..", "dist", "cli", "collect.js");

describe("npm run collect", () => {
  let demo: Demo;
  let dir: string;
  let configFile: string;
  const calls = () => requestCount(demo.emulators.values());
  const collect = (...args: string[]) => run(process.execPath, [COLLECT, "--config", configFile, ...args], { env: { PATH: process.env.PATH }, cwd: tmpdir() });

  beforeAll(async () => {
    demo = await startDemo({ USAGEGRAPH_LOG_LEVEL: "silent" }, { port: 0, recordRequests: true });
    dir = mkdtempSync(join(tmpdir(), "usagegraph-collect-cli-"));
    configFile = join(dir, "config.json");
    const organizations = demo.config.organizations.map((o) => ({ id: o.id, name: o.name, providers: o.providers }));
    // A relative store path: next to the config file, whatever the working directory.
    writeFileSync(configFile, JSON.stringify({ organizations, store: { url: "sqlite:usage.db" } }));
  });
  afterAll(async () => {
    await demo.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("backfills a range into the store within the rate limits, and resumes without asking for what it holds", async () => {
    const jdy = demo.emulators.get("jiandaoyun") as JiandaoyunEmulator;
    const [from, to] = [utcDay(-6), utcDay(-3)];
    const first = await collect("--org", "demo", "--from", from, "--to", to);
    expect(first.stdout).toContain(`collected demo, ${from}..${to}: 20 days written, 0 already stored, 0 of 5 providers failed\n`);
    expect(first.stdout).toMatch(/ {2}jiandaoyun: 4 days written, 0 already stored; OK\n/);
    expect(jdy.requests).toHaveLength(4);
    expect(jdy.violations).toBe(0);

    demo.emulators.forEach((e) => e.resetLog());
    const again = await collect("--org", "demo", "--from", from, "--to", to);
    expect(again.stdout).toContain(`collected demo, ${from}..${to}: 0 days written, 20 already stored, 0 of 5 providers failed\n`);
    expect(calls()).toBe(0);

    // Two more days before: only those are asked (Ace Data answers them in one call).
    const wider = await collect("--org", "demo", "--from", utcDay(-8), "--to", to);
    expect(wider.stdout).toContain(`collected demo, ${utcDay(-8)}..${to}: 10 days written, 20 already stored, 0 of 5 providers failed\n`);
    expect(jdy.requests).toHaveLength(2);
    const ace = demo.emulators.get("acedata")!;
    expect(ace.requests).toHaveLength(1);
    expect(ace.requests[0]!.query.get("created_at_from")).toBe(`${utcDay(-8)}T00:00:00Z`);
    expect(ace.requests[0]!.query.get("created_at_to")).toBe(`${utcDay(-7)}T23:59:59Z`);
  });

  it("says which days a provider cannot serve instead of asking for them", async () => {
    demo.emulators.forEach((e) => e.resetLog());
    // Pipefy keeps about three months.
    const old = await collect("--org", "demo", "--from", utcDay(-100), "--to", utcDay(-99));
    expect(old.stdout).toMatch(/ {2}pipefy: 0 days written, 0 already stored, 2 older than its retention; OK\n/);
    expect(demo.emulators.get("pipefy")!.requests).toHaveLength(0);
  });

  it("refuses an unknown organization and a bad date, with exit code 2", async () => {
    await expect(collect("--org", "nope")).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('--org: no organization "nope" in the config') });
    await expect(collect("--org", "demo", "--from", "2026-02-30", "--to", "2026-03-01")).rejects.toMatchObject({
      code: 2,
      stderr: 'usagegraph collect: --from: "2026-02-30" is not a calendar date in yyyy-MM-dd form\n',
    });
  });
});
