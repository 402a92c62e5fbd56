import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { daysInRange } from "../src/common/dates";
import { createLogger } from "../src/common/logger";
import { ConfigError, resolveConfig, type Config } from "../src/config/config";
import { startDemo, type Demo } from "../src/demo";
import { createRuntime } from "../src/runtime";
import { createServer, type UsageGraphServer } from "../src/server/server";
import type { CollectionRun } from "../src/store/store";
import { postGraphQL, utcDay } from "./support/server-harness";

/**
 * Scheduled collection in one process (DESIGN §6): without Redis, croner runs the collector here;
 * `Organization.collection` shows what the store holds and how the runs went.
 */
const BACKFILL = 4;
const COLLECTION = `{ organization(id: "demo") { collection {
  provider storedFrom storedThrough storedDays missingDays lastRunAt lastRunState lastError { code message } nextRunAt } } }`;

describe("the collect config", () => {
  const resolve = (collect: unknown) => resolveConfig({ organizations: [{ id: "a", name: "A" }], collect }, {});
  const refusal = (collect: unknown) => {
    try {
      resolve(collect);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as Error).message;
    }
    throw new Error("accepted");
  };

  it("defaults to 02:30 UTC every day, 30 days back, and turns off with false", () => {
    expect(resolve(undefined).collect).toEqual({ schedule: "30 2 * * *", timeZone: "UTC", backfillDays: 30 });
    expect(resolve({ backfillDays: 7 }).collect).toEqual({ schedule: "30 2 * * *", timeZone: "UTC", backfillDays: 7 });
    expect(resolve({ schedule: "*/10 * * * * *", timeZone: "Asia/Shanghai" }).collect).toEqual({
      schedule: "*/10 * * * * *",
      timeZone: "Asia/Shanghai",
      backfillDays: 30,
    });
    expect(resolve(false).collect).toBe(false);
  });

  it("refuses a schedule croner cannot parse, a zone that is not one, and a bad backfill, naming the field", () => {
    expect(refusal({ schedule: "every day at 2" })).toMatch(/^collect\.schedule: "every day at 2" is not a cron expression croner can parse/);
    expect(refusal({ schedule: "61 2 * * *" })).toMatch(/^collect\.schedule: /);
    expect(refusal({ timeZone: "Mars/Olympus" })).toBe(
      'collect.timeZone: "Mars/Olympus" is not an IANA time zone (e.g. "UTC", "Europe/Berlin", "Asia/Shanghai")',
    );
    expect(refusal({ backfillDays: 0 })).toBe("collect.backfillDays: must be a whole number of days from 1 to 3660");
    expect(refusal({ backfillDays: 2.5 })).toMatch(/^collect\.backfillDays: /);
    expect(refusal({ every: "day" })).toBe("collect.every: unknown field; expected one of schedule, timeZone, backfillDays");
    expect(refusal(true)).toMatch(/^collect must be an object .* or false/);
  });
});

describe("collection in one process (no Redis)", () => {
  let demo: Demo;
  let dir: string;
  const servers: UsageGraphServer[] = [];
  const calls = (key: string) => demo.emulators.get(key)!.requests.length;

  function configWith(file: string, collect: unknown): Config {
    const raw = JSON.parse(JSON.stringify(demo.config));
    return resolveConfig(
      { server: raw.server, organizations: raw.organizations, log: raw.log, store: { url: `sqlite:${join(dir, file)}` }, collect },
      {},
      { demo: true },
    );
  }
  async function serve(config: Config): Promise<{ server: UsageGraphServer; url: string }> {
    const server = await createServer(config);
    servers.push(server);
    return { server, url: await server.listen() };
  }
  async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 25_000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  beforeAll(async () => {
    demo = await startDemo({ USAGEGRAPH_LOG_LEVEL: "silent" }, { port: 0, recordRequests: true });
    dir = mkdtempSync(join(tmpdir(), "usagegraph-collect-"));
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });
  afterAll(async () => {
    await demo.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => demo.emulators.forEach((e) => e.clearFaults().resetLog()));

  it("collects on its schedule, and `collection` shows what is stored, what is missing and how the run went", async () => {
    const { url } = await serve(configWith("scheduled.db", { schedule: "* * * * * *", timeZone: "UTC", backfillDays: BACKFILL }));
    // A run every second: the first one collects, the later ones find nothing missing (or skip while it goes on).
    const collection = await until("every provider's first run", async () => {
      const res = await postGraphQL(url, COLLECTION);
      const list = res.body.data.organization.collection as any[];
      return list.every((s) => s.lastRunState === "OK" && s.storedDays > 0) ? list : undefined;
    });
    expect(collection.map((s) => s.provider)).toEqual(["JIANDAOYUN", "ACEDATA", "AI_STUDIO", "PIPEFY", "ADVERITY"]);

    const asOf = Date.now();
    const { body } = await postGraphQL(
      url,
      `{ providers { id finalizationLagDays } organization(id: "demo") { usage(input: { from: "${utcDay(-BACKFILL - 1)}", to: "${utcDay(0)}" }) { sources { provider finalizedThrough storedDays } } } }`,
    );
    const lag = new Map(body.data.providers.map((p: any) => [p.id, p.finalizationLagDays]));
    const source = new Map(body.data.organization.usage.sources.map((s: any) => [s.provider, s]));
    for (const status of collection) {
      const asked = source.get(status.provider) as any;
      // Every day of the window the provider has closed is stored, through its last final day;
      // what is missing is only what it has not closed yet (Jiandaoyun: final from T-2, UTC+8).
      expect(status.storedThrough).toBe(asked.finalizedThrough);
      expect(status.storedDays).toBe(daysInRange(status.storedFrom, status.storedThrough));
      expect(status.storedDays + status.missingDays).toBe(BACKFILL + 1 - (lag.get(status.provider) as number));
      // The catalog's finalizationLagDays agrees with what the provider closes: nothing is missing.
      expect(status.missingDays).toBe(0);
      expect(asked.storedDays).toBe(status.storedDays);
      expect(status.lastError).toBeNull();
      expect(Date.parse(status.lastRunAt)).toBeGreaterThan(Date.now() - 30_000);
      const next = Date.parse(status.nextRunAt);
      expect(next).toBeGreaterThan(asOf - 2_000);
      expect(next).toBeLessThanOrEqual(Date.now() + 1_000);
    }
    // Each day asked once, although a run was due every second: one run at a time per provider.
    const jdy = demo.emulators.get("jiandaoyun")!.requests.map((r) => `${r.path}?${r.rawQuery} ${r.rawBody}`);
    expect(new Set(jdy).size).toBe(jdy.length);
  });

  it("records a run that failed, with its code, and shows it; the next run collects what it could not", async () => {
    const { server, url } = await serve(configWith("failing.db", { backfillDays: BACKFILL }));
    demo.emulators.get("acedata")!.inject({ kind: "status", status: 503 });
    await server.collection.runNow();
    const res = await postGraphQL(url, COLLECTION);
    const byProvider = new Map((res.body.data.organization.collection as any[]).map((s) => [s.provider, s]));
    expect(byProvider.get("ACEDATA")).toMatchObject({
      storedDays: 0,
      missingDays: BACKFILL,
      lastRunState: "FAILED",
      lastError: { code: "UPSTREAM_UNAVAILABLE" },
    });
    expect(byProvider.get("ACEDATA").lastError.message).not.toMatch(/https?:|<html|stack/i);
    expect(calls("acedata")).toBeGreaterThan(0);
    for (const provider of ["AI_STUDIO", "PIPEFY", "ADVERITY"])
      expect(byProvider.get(provider)).toMatchObject({ storedDays: BACKFILL, missingDays: 0, lastRunState: "OK", lastError: null });
    // The default schedule: 02:30 UTC next.
    expect(byProvider.get("ACEDATA").nextRunAt).toMatch(/T02:30:00\.000Z$/);

    demo.emulators.forEach((e) => e.clearFaults().resetLog());
    await server.collection.runNow();
    const again = await postGraphQL(url, COLLECTION);
    const ace = (again.body.data.organization.collection as any[]).find((s) => s.provider === "ACEDATA");
    expect(ace).toMatchObject({ storedDays: BACKFILL, missingDays: 0, lastRunState: "OK", lastError: null });
    // One call for the four days (Ace Data answers a range); the other providers were not asked again.
    expect(calls("acedata")).toBe(1);
    expect(calls("aiStudio") + calls("pipefy") + calls("adverity")).toBe(0);
  });

  it("shows nextRunAt null and starts no schedule with collect false", async () => {
    const { url } = await serve(configWith("off.db", false));
    const res = await postGraphQL(url, COLLECTION);
    expect(res.body.data.organization.collection.map((s: any) => s.nextRunAt)).toEqual([null, null, null, null, null]);
    // Still told against the default 30 days, which `npm run collect` would fill.
    expect(res.body.data.organization.collection.every((s: any) => s.missingDays >= 29 && s.lastRunAt === null)).toBe(true);
  });

  it("tells its listeners of each run once it is recorded", async () => {
    const config = configWith("listeners.db", false);
    const runtime = await createRuntime(config, { log: createLogger("silent") });
    try {
      const seen: CollectionRun[] = [];
      runtime.collection.collector.onRunFinished(async (run) => {
        // Recorded before the listeners hear of it: what budgets and alerts read is there.
        const [last] = await runtime.store.lastRuns(run.organization, run.provider, 1);
        expect(last).toEqual(run);
        seen.push(run);
      });
      const org = runtime.organizations.get("demo")!;
      const run = await runtime.collection.collector.collect(org, "acedata", { range: { from: utcDay(-3), to: utcDay(-2) } });
      expect(run).toMatchObject({ organization: "demo", provider: "acedata", state: "OK", days: 2, errorCode: null });
      expect(seen).toEqual([run]);
    } finally {
      await runtime.close();
    }
  });
});
