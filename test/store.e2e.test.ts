import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addDays, daysInRange, monthStart } from "../src/common/dates";
import { resolveConfig, type Config } from "../src/config/config";
import { startDemo, type Demo } from "../src/demo";
import { createServer, type UsageGraphServer } from "../src/server/server";
import { postGraphQL, utcDay } from "./support/server-harness";
import { requestCount } from "./support/emulators";

/**
 * The usage store through the real server (DESIGN §6): final days are served from it before anyone
 * is asked, so history outlives a restart, a vendor outage and the vendor's retention.
 */
const DAY_MS = 86_400_000;

describe("the usage store", () => {
  let demo: Demo;
  let dir: string;
  let config: Config;
  const servers: UsageGraphServer[] = [];
  const calls = () => requestCount(demo.emulators.values());

  async function serve(now?: () => number): Promise<string> {
    const server = await createServer(config, { now });
    servers.push(server);
    return server.listen();
  }
  async function stopServers(): Promise<void> {
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  }

  beforeAll(async () => {
    demo = await startDemo({ USAGEGRAPH_LOG_LEVEL: "silent" }, { port: 0, recordRequests: true });
    dir = mkdtempSync(join(tmpdir(), "usagegraph-store-e2e-"));
    const raw = JSON.parse(JSON.stringify(demo.config));
    config = resolveConfig(
      { server: raw.server, organizations: raw.organizations, log: raw.log, store: { url: `sqlite:${join(dir, "usage.db")}` } },
      {},
      { demo: true },
    );
  });
  afterAll(async () => {
    await stopServers();
    await demo.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => demo.emulators.forEach((e) => e.clearFaults().resetLog()));

  // A closed 10-day window: every provider has closed these days (Jiandaoyun's UTC+8 included).
  const from = utcDay(-14);
  const to = utcDay(-5);
  const REPORT = `{ organization(id: "demo") { usage(input: { from: "${from}", to: "${to}", granularity: DAY }) {
    series { provider metric { key } dimensions { key value } points { start end value final } total }
    sources { provider state error { code message } upstreamRequests cachedResponses storedDays } } } }`;

  it("answers a closed window after a restart from the store alone, with every vendor down", async () => {
    const first = await postGraphQL(await serve(), REPORT);
    const before = first.body.data.organization.usage;
    expect(before.sources.map((s: any) => s.state)).toEqual(["OK", "OK", "OK", "OK", "OK"]);
    expect(before.sources.every((s: any) => s.storedDays === 0 && s.upstreamRequests > 0)).toBe(true);
    await stopServers();

    // A new process on the same store file, and every vendor answering 503.
    demo.emulators.forEach((e) => e.resetLog().inject({ kind: "status", status: 503 }));
    const again = await postGraphQL(await serve(), REPORT);
    const after = again.body.data.organization.usage;
    expect(again.body.errors).toBeUndefined();
    expect(calls()).toBe(0);
    for (const source of after.sources) expect(source).toMatchObject({ state: "OK", error: null, upstreamRequests: 0, cachedResponses: 0, storedDays: 10 });
    expect(after.series).toEqual(before.series);
    await stopServers();
  });

  it("serves those days after the vendors' retention has passed (the clock 200 days on)", async () => {
    const later = () => Date.now() + 200 * DAY_MS;
    const res = await postGraphQL(await serve(later), REPORT.replace("granularity: DAY", "granularity: DAY, providers: [JIANDAOYUN, PIPEFY]"));
    const { sources, series } = res.body.data.organization.usage;
    expect(res.body.errors).toBeUndefined();
    // Jiandaoyun forgets after 180 days and Pipefy after three months: both still answer, from the store.
    expect(sources).toEqual([
      expect.objectContaining({ provider: "JIANDAOYUN", state: "OK", storedDays: 10, upstreamRequests: 0 }),
      expect.objectContaining({ provider: "PIPEFY", state: "OK", storedDays: 10, upstreamRequests: 0 }),
    ]);
    expect(series.filter((s: any) => s.provider === "JIANDAOYUN")).toHaveLength(11);
    expect(calls()).toBe(0);
    await stopServers();
  });

  it("serves a Pipefy breakdown by operation of a month past Pipefy's three months, from the store, with the same PARTIAL issues", async () => {
    // Last calendar month, which Pipefy answers as one period (its true window: the whole month).
    const monthEnd = addDays(monthStart(utcDay(0)), -1);
    const month = { from: monthStart(monthEnd), to: monthEnd };
    const breakdown = (from: string, to: string) => `{ organization(id: "demo") { usage(input: { from: "${from}", to: "${to}", granularity: MONTH,
      providers: [PIPEFY], groupBy: ["operation"] }) { series { dimensions { key value } points { start end value final } total }
      sources { provider state error { code message } upstreamRequests cachedResponses storedDays } } } }`;

    // Ten days of it, asked now: Pipefy answers the whole month, and that is what is stored.
    const part = await postGraphQL(await serve(), breakdown(addDays(month.from, 4), addDays(month.from, 13)));
    const fresh = part.body.data.organization.usage;
    expect(fresh.sources[0]).toMatchObject({ state: "PARTIAL", storedDays: 0, error: { code: "UPSTREAM_PARTIAL_DATA" } });
    expect(fresh.sources[0].upstreamRequests).toBeGreaterThan(0);
    expect(part.body.errors!.map((e: any) => e.message)).toContainEqual(expect.stringContaining(`the breakdown covers ${month.from}..${month.to}, not just`));
    expect(fresh.series.length).toBeGreaterThan(1);
    expect(fresh.series.every((s: any) => s.points.every((p: any) => p.start === month.from && p.end === month.to && p.final))).toBe(true);
    await stopServers();

    // 200 days on, every vendor down: the whole month comes from the store, its top-10 issue
    // restated, the "covers more than asked" one gone (the window is the range now).
    demo.emulators.forEach((e) => e.resetLog().inject({ kind: "status", status: 503 }));
    const later = () => Date.now() + 200 * DAY_MS;
    const res = await postGraphQL(await serve(later), breakdown(month.from, month.to));
    const stored = res.body.data.organization.usage;
    expect(calls()).toBe(0);
    expect(stored.sources[0]).toMatchObject({ upstreamRequests: 0, cachedResponses: 0, storedDays: daysInRange(month.from, month.to) });
    expect(stored.series).toEqual(fresh.series);
    const restated = (part.body.errors as Array<{ message: string }>).map((e) => e.message).filter((m) => !m.includes("not just"));
    expect((res.body.errors ?? []).map((e: any) => e.message)).toEqual(restated);
    expect(restated).toEqual([expect.stringContaining(`top 10 operations for ${month.from}..${month.to}`)]);
    expect(stored.sources[0]).toMatchObject({ state: "PARTIAL", error: { code: "UPSTREAM_PARTIAL_DATA", message: restated[0] } });
    await stopServers();
  });

  it("asks only for the days it does not hold, and stores them", async () => {
    // Three more days before the stored window: only those are asked (Ace Data: one call).
    const wider = REPORT.replace(`from: "${from}"`, `from: "${utcDay(-17)}"`).replace("granularity: DAY", "granularity: DAY, providers: [ACEDATA]");
    const url = await serve();
    const first = await postGraphQL(url, wider);
    expect(first.body.data.organization.usage.sources[0]).toMatchObject({ state: "OK", storedDays: 10, upstreamRequests: 1 });
    const ace = demo.emulators.get("acedata")!;
    expect(ace.requests).toHaveLength(1);
    expect(ace.requests[0]!.query.get("created_at_from")).toBe(`${utcDay(-17)}T00:00:00Z`);
    expect(ace.requests[0]!.query.get("created_at_to")).toBe(`${utcDay(-15)}T23:59:59Z`);
    ace.resetLog();
    const second = await postGraphQL(url, wider);
    expect(second.body.data.organization.usage.sources[0]).toMatchObject({ state: "OK", storedDays: 13, upstreamRequests: 0 });
    expect(ace.requests).toHaveLength(0);
    expect(second.body.data.organization.usage.series).toEqual(first.body.data.organization.usage.series);
    await stopServers();
  });

  it("never reads a day back as final before the provider has closed it", async () => {
    const today = utcDay(0);
    const q = `{ organization(id: "demo") { usage(input: { from: "${today}", to: "${today}", providers: [AI_STUDIO] }) {
      series { points { final } } sources { state upstreamRequests cachedResponses storedDays } } } }`;
    const url = await serve();
    const first = await postGraphQL(url, q);
    expect(first.body.data.organization.usage.sources[0]).toMatchObject({ state: "OK", storedDays: 0 });
    expect(first.body.data.organization.usage.series.every((s: any) => s.points.every((p: any) => p.final === false))).toBe(true);
    await stopServers();
    // After a restart (no cache), today is asked again: the store never held it as final.
    demo.emulators.forEach((e) => e.resetLog());
    const second = await postGraphQL(await serve(), q);
    expect(second.body.data.organization.usage.sources[0]).toMatchObject({ state: "OK", storedDays: 0, upstreamRequests: 1 });
    await stopServers();
  });
});
