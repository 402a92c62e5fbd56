import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { startDemo, type Demo } from "../src/demo";
import type { JiandaoyunEmulator } from "../src/providers/jiandaoyun/jiandaoyun.emulator";
import { startRedis, type RedisServer } from "./support/redis";

const run = promisify(execFile);
const WARM = join(__dirname, "..", "dist", "cli", "warm.js");

describe("npm run warm", () => {
  let demo: Demo;
  let redis: RedisServer;
  let configFile: string;
  const calls = () => [...demo.emulators.values()].reduce((n, e) => n + e.requests.length, 0);

  beforeAll(async () => {
    demo = await startDemo({ USAGEGRAPH_LOG_LEVEL: "silent" }, { port: 0, recordRequests: true });
    redis = await startRedis();
    configFile = join(mkdtempSync(join(tmpdir(), "usagegraph-warm-")), "config.json");
    writeFileSync(configFile, JSON.stringify({ organizations: demo.config.organizations, cache: { url: redis.url } }));
  });
  afterAll(async () => {
    await redis.stop();
    await demo.stop();
  });

  it("fills a shared Redis cache within the rate limits, and resumes without calling anyone again", async () => {
    const jdy = demo.emulators.get("jiandaoyun") as JiandaoyunEmulator;
    const first = await run(process.execPath, [WARM, "--config", configFile, "--org", "demo", "--days", "3"], { env: { PATH: process.env.PATH } });
    expect(first.stdout).toMatch(/warmed demo: .* units: [1-9]\d* fetched, \d+ already cached, 0 failed/);
    expect(calls()).toBeGreaterThan(0);
    expect(jdy.violations).toBe(0);

    demo.emulators.forEach((e) => e.resetLog());
    const second = await run(process.execPath, [WARM, "--config", configFile, "--org", "demo", "--days", "3"], { env: { PATH: process.env.PATH } });
    expect(second.stdout).toMatch(/units: 0 fetched, (\d+) already cached, 0 failed/);
    expect(calls()).toBe(0);
  });

  it("refuses an unknown organization", async () => {
    await expect(run(process.execPath, [WARM, "--config", configFile, "--org", "nope", "--days", "3"], { env: { PATH: process.env.PATH } })).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('no organization "nope"'),
    });
  });
});
