import { resolveConfig, type Config } from "../src/config/config";
import { startDemo, type Demo } from "../src/demo";
import type { JiandaoyunEmulator } from "../src/providers/jiandaoyun/jiandaoyun.emulator";
import { createServer, type UsageGraphServer } from "../src/server/server";
import { startRedis, type RedisServer } from "./support/redis";
import { postGraphQL, utcDay } from "./support/server-harness";
import { requestCount } from "./support/emulators";

/**
 * Upstream call counts, measured at the emulators: never wall-clock times. Every server here talks
 * to the same emulators; each starts with its own empty cache unless it shares Redis.
 */
const REPORT = (from: string, to: string, extra = "") => `
  usage(input: { from: "${from}", to: "${to}", granularity: DAY, groupBy: ["api", "workspace", "operation"] ${extra} }) {
    series { provider metric { key } dimensions { value } points { start value } total }
    sources { provider state upstreamRequests cachedResponses }
  }`;

describe("fewest upstream calls", () => {
  let demo: Demo;
  const servers: UsageGraphServer[] = [];
  const calls = () => requestCount(demo.emulators.values());
  const resetCalls = () => demo.emulators.forEach((e) => e.resetLog());

  /**
   * The cache, the coalescer and the queues measured alone: without the usage store, whose own
   * suite (test/store.e2e.test.ts) shows final days served with no upstream call at all.
   */
  const withoutStore = (config: Config): Config => ({ ...config, store: { url: "none" } });

  async function serve(config: Config = withoutStore(demo.config)): Promise<string> {
    const server = await createServer(config);
    servers.push(server);
    return server.listen();
  }

  beforeAll(async () => {
    demo = await startDemo({ USAGEGRAPH_LOG_LEVEL: "silent" }, { port: 0, recordRequests: true });
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await demo.stop();
  });
  beforeEach(resetCalls);

  /**
   * Servers without Redis pace Jiandaoyun each on their own, as separate processes would. When a
   * test moves to a new server, the previous one's last call must first age past the vendor's
   * 1-second window, or the emulator would rightly count the two servers together as too fast.
   */
  const leaveJiandaoyunWindow = () => new Promise((resolve) => setTimeout(resolve, 1_100));

  // Closed days only, three of them, so that Jiandaoyun (1 request/second) stays quick.
  const from = utcDay(-5);
  const to = utcDay(-3);

  it("costs 20 concurrent identical reports the same upstream calls as one", async () => {
    const one = await serve();
    const single = await postGraphQL(one, `{ organization(id: "demo") { ${REPORT(from, to)} } }`);
    // Pipefy's operation breakdown is PARTIAL by nature (period windows, top 10); nothing failed.
    expect(single.body.data.organization.usage.sources.map((s: any) => s.state)).not.toContain("FAILED");
    const oneReport = calls();
    expect(oneReport).toBeGreaterThan(0);
    const reported = single.body.data.organization.usage.sources.reduce((n: number, s: any) => n + s.upstreamRequests, 0);
    expect(reported).toBe(oneReport);

    await leaveJiandaoyunWindow();
    resetCalls();
    const twenty = await serve();
    const answers = await Promise.all(Array.from({ length: 20 }, () => postGraphQL(twenty, `{ organization(id: "demo") { ${REPORT(from, to)} } }`)));
    expect(calls()).toBe(oneReport);
    for (const a of answers) expect(a.body.data.organization.usage.series).toEqual(single.body.data.organization.usage.series);
    // Exact per report: the calls made are counted once in total, every other answer was shared.
    const sources = answers.flatMap((a) => a.body.data.organization.usage.sources);
    expect(sources.reduce((n: number, s: any) => n + s.upstreamRequests, 0)).toBe(oneReport);
    expect(sources.reduce((n: number, s: any) => n + s.upstreamRequests + s.cachedResponses, 0)).toBeGreaterThanOrEqual(20 * oneReport);
  });

  it("costs two overlapping ranges in aliases no more calls than their union", async () => {
    const union = await serve();
    await postGraphQL(union, `{ organization(id: "demo") { ${REPORT(utcDay(-8), utcDay(-3), "providers: [ACEDATA, AI_STUDIO, ADVERITY, PIPEFY]")} } }`);
    const unionCalls = calls();

    resetCalls();
    const aliases = await serve();
    const res = await postGraphQL(
      aliases,
      `{ organization(id: "demo") {
          a: ${REPORT(utcDay(-8), utcDay(-5), "providers: [ACEDATA, AI_STUDIO, ADVERITY, PIPEFY]")}
          b: ${REPORT(utcDay(-6), utcDay(-3), "providers: [ACEDATA, AI_STUDIO, ADVERITY, PIPEFY]")}
      } }`,
    );
    expect(res.body.data.organization.a.sources.map((s: any) => s.state)).not.toContain("FAILED");
    expect(calls()).toBeLessThanOrEqual(unionCalls);
    const a = res.body.data.organization.a.sources;
    const b = res.body.data.organization.b.sources;
    expect([...a, ...b].reduce((n: number, s: any) => n + s.upstreamRequests, 0)).toBe(calls());
  });

  it("costs 50 concurrent clients asking overlapping reports no more calls than their union", async () => {
    const union = await serve();
    const providers = "providers: [ACEDATA, AI_STUDIO, ADVERITY]";
    await postGraphQL(union, `{ organization(id: "demo") { ${REPORT(utcDay(-60), utcDay(-45), providers)} } }`);
    const unionCalls = calls();
    expect(unionCalls).toBeGreaterThan(0);

    resetCalls();
    const fanIn = await serve();
    // Fifty dashboards, each asking for its own 10-day window inside the same 16 days.
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        postGraphQL(fanIn, `{ organization(id: "demo") { ${REPORT(utcDay(-60 + (i % 7)), utcDay(-51 + (i % 7)), providers)} } }`),
      ),
    );
    expect(answers.every((a) => a.body.data.organization.usage.sources.every((s: any) => s.state === "OK"))).toBe(true);
    expect(calls()).toBeLessThanOrEqual(unionCalls);
    const sources = answers.flatMap((a) => a.body.data.organization.usage.sources);
    expect(sources.reduce((n: number, s: any) => n + s.upstreamRequests, 0)).toBe(calls());
  });

  it("keeps a 10-day Jiandaoyun report under 1 request/second and asks nothing again for final days", async () => {
    await leaveJiandaoyunWindow();
    const url = await serve();
    const jdy = demo.emulators.get("jiandaoyun") as JiandaoyunEmulator;
    const violations = jdy.violations;
    const query = `{ organization(id: "demo") { usage(input: { from: "${utcDay(-12)}", to: "${utcDay(-3)}", providers: [JIANDAOYUN] }) {
      series { points { start } } sources { state upstreamRequests cachedResponses } } } }`;
    const first = await postGraphQL(url, query);
    expect(first.body.data.organization.usage.sources[0]).toMatchObject({ state: "OK", upstreamRequests: 10 });
    expect(jdy.requests).toHaveLength(10);
    expect(jdy.violations).toBe(violations);

    jdy.resetLog();
    const again = await postGraphQL(url, query);
    expect(jdy.requests).toHaveLength(0);
    expect(again.body.data.organization.usage.sources[0]).toMatchObject({ state: "OK", upstreamRequests: 0, cachedResponses: 10 });
  });

  describe("with replicas sharing a real redis-server", () => {
    let redis: RedisServer;
    let shared: Config;
    beforeAll(async () => {
      redis = await startRedis();
      const raw = JSON.parse(JSON.stringify(demo.config));
      shared = resolveConfig(
        { server: raw.server, organizations: raw.organizations, cache: { url: redis.url }, store: { url: "none" }, log: raw.log },
        {},
        { demo: true },
      );
    });
    afterAll(() => redis.stop());

    it("answers a report on the second replica from what the first one fetched", async () => {
      const one = await serve(shared);
      const two = await serve(shared);
      const q = `{ organization(id: "demo") { ${REPORT(utcDay(-20), utcDay(-14), "providers: [ACEDATA, AI_STUDIO, ADVERITY, PIPEFY]")} } }`;
      const first = await postGraphQL(one, q);
      expect(calls()).toBeGreaterThan(0);
      resetCalls();
      const second = await postGraphQL(two, q);
      expect(calls()).toBe(0);
      expect(second.body.data.organization.usage.series).toEqual(first.body.data.organization.usage.series);
      expect(second.body.data.organization.usage.sources.every((s: any) => s.upstreamRequests === 0)).toBe(true);
    });

    it("keeps Jiandaoyun load split across two replicas under its limit", async () => {
      const one = await serve(shared);
      const two = await serve(shared);
      const jdy = demo.emulators.get("jiandaoyun") as JiandaoyunEmulator;
      const violations = jdy.violations;
      await leaveJiandaoyunWindow();
      // Different days on each replica: no cache or in-flight sharing can hide the pacing.
      const q = (a: number, b: number) =>
        `{ organization(id: "demo") { usage(input: { from: "${utcDay(a)}", to: "${utcDay(b)}", providers: [JIANDAOYUN] }) { sources { state upstreamRequests } } } }`;
      const [r1, r2] = await Promise.all([postGraphQL(one, q(-40, -37)), postGraphQL(two, q(-36, -33))]);
      expect(r1.body.data.organization.usage.sources[0]).toEqual({ state: "OK", upstreamRequests: 4 });
      expect(r2.body.data.organization.usage.sources[0]).toEqual({ state: "OK", upstreamRequests: 4 });
      expect(jdy.requests).toHaveLength(8);
      expect(jdy.violations).toBe(violations);
    });

    it("keeps answering when Redis goes away, and /readyz says the cache is degraded", async () => {
      const url = await serve(shared);
      expect(await (await fetch(`${url}/readyz`)).json()).toMatchObject({ status: "ready", cache: { kind: "redis", healthy: true } });
      await redis.stop();
      const res = await postGraphQL(url, `{ organization(id: "demo") { ${REPORT(utcDay(-30), utcDay(-28), "providers: [ACEDATA, ADVERITY]")} } }`);
      expect(res.status).toBe(200);
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data.organization.usage.sources.map((s: any) => s.state)).toEqual(["OK", "OK"]);
      expect(await (await fetch(`${url}/readyz`)).json()).toMatchObject({ status: "degraded", cache: { kind: "redis", healthy: false } });
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    });
  });
});
