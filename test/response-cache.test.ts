import { resolveConfig, type Config } from "../src/config/config";
import { startDemo, type Demo } from "../src/demo";
import type { AiStudioEmulator } from "../src/providers/aiStudio/aiStudio.emulator";
import { createServer, type UsageGraphServer } from "../src/server/server";
import { requestCount } from "./support/emulators";
import { startRedis, type RedisServer } from "./support/redis";
import { postGraphQL, utcDay } from "./support/server-harness";

/**
 * The warm path (issue 14): a repeated report is replayed from the response cache, with exactly the
 * bytes an execution that reused every part produces, for no longer than its shortest-lived part,
 * and never to a key of another authorization scope.
 */
const KEY_DEMO = "demo-key-0123456789abcdef";
const KEY_OTHER = "other-key-0123456789abcdef";
const KEY_DEMO_TOO = "demo-too-key-0123456789abcdef";
const KEY_BOTH = "both-key-0123456789abcdef";

const REPORT = (providers: string) => `{ organization(id: "demo") { usage(input: { from: "${utcDay(-14)}", to: "${utcDay(-5)}", granularity: DAY,
  providers: [${providers}], groupBy: ["api", "workspace", "datastream"] }) {
  series { provider metric { key } dimensions { key value } points { start end value final } total }
  sources { provider state error { code message } finalizedThrough upstreamRequests cachedResponses storedDays } } } }`;
const ALL = "ACEDATA, ADVERITY, AI_STUDIO, JIANDAOYUN, PIPEFY";

async function cacheCounts(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const counts: Record<string, number> = { hit: 0, miss: 0, kept: 0 };
  for (const m of text.matchAll(/^usagegraph_response_cache_total\{result="(\w+)"\} (\d+)/gm)) counts[m[1]!] = Number(m[2]);
  return counts;
}

describe("the response cache", () => {
  let demo: Demo;
  const servers: UsageGraphServer[] = [];
  const calls = () => requestCount(demo.emulators.values());

  function configWith(raw: any): Config {
    return resolveConfig(
      {
        server: raw.server,
        auth: raw.auth,
        organizations: raw.organizations,
        log: raw.log,
        cache: raw.cache,
        store: { url: "sqlite::memory:" },
        collect: false,
      },
      {},
      { demo: true },
    );
  }
  async function serve(config: Config, now?: () => number): Promise<string> {
    const server = await createServer(config, { now });
    servers.push(server);
    return server.listen();
  }

  beforeAll(async () => {
    demo = await startDemo({ USAGEGRAPH_LOG_LEVEL: "silent" }, { port: 0, recordRequests: true });
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()));
    demo.emulators.forEach((e) => e.clearFaults().resetLog());
  });
  afterAll(() => demo.stop());

  it("replays a repeated report with the bytes a fresh execution produces: 0 upstream requests, the cached responses a hit counts", async () => {
    const url = await serve(configWith(JSON.parse(JSON.stringify(demo.config))));
    const first = await postGraphQL(url, REPORT(ALL));
    expect(first.body.errors).toBeUndefined();
    expect(first.body.data.organization.usage.sources.some((s: any) => s.upstreamRequests > 0)).toBe(true);
    // The second execution reuses every part: its body is the one kept.
    const second = await postGraphQL(url, REPORT(ALL));
    const sources = second.body.data.organization.usage.sources;
    expect(sources.every((s: any) => s.upstreamRequests === 0 && s.state === "OK")).toBe(true);
    expect(sources.every((s: any) => s.cachedResponses + s.storedDays > 0)).toBe(true);
    expect(await cacheCounts(url)).toEqual({ hit: 0, miss: 2, kept: 1 });

    demo.emulators.forEach((e) => e.resetLog());
    const replay = await postGraphQL(url, REPORT(ALL));
    expect(await cacheCounts(url)).toEqual({ hit: 1, miss: 2, kept: 1 });
    expect(replay.text).toBe(second.text);
    expect(calls()).toBe(0);

    // The same report under another document (the providers listed in another order: another
    // response cache key, and another report memo key) is built again from the caches: same bytes.
    const rebuilt = await postGraphQL(url, REPORT("PIPEFY, JIANDAOYUN, AI_STUDIO, ADVERITY, ACEDATA"));
    expect(await cacheCounts(url)).toMatchObject({ hit: 1, miss: 3 });
    expect(rebuilt.text).toBe(replay.text);
    expect(calls()).toBe(0);
  });

  it("shows a non-final day corrected upstream once its short lifetime has passed, not before", async () => {
    // The product clock starts just after a quarter hour (a report lives until the next one at
    // most), so that only the answers' own lifetimes decide what +4 and +6 minutes see.
    const QUARTER = 15 * 60_000;
    const start = -(Date.now() % QUARTER) + 1_000;
    let offset = start;
    const url = await serve(configWith(JSON.parse(JSON.stringify(demo.config))), () => Date.now() + offset);
    const today = utcDay(0);
    const q = `{ organization(id: "demo") { usage(input: { from: "${today}", to: "${today}", providers: [AI_STUDIO], metrics: ["aiStudio.parsed_pages"] }) {
      series { points { start value final } } sources { state upstreamRequests cachedResponses } } } }`;
    const pages = (r: any) => r.body.data.organization.usage.series[0].points[0];
    const before = await postGraphQL(url, q);
    expect(pages(before)).toMatchObject({ start: today, final: false });
    await postGraphQL(url, q);
    const replay = await postGraphQL(url, q);
    expect(await cacheCounts(url)).toMatchObject({ hit: 1 });

    // The vendor revises today; within the answer's lifetime (5 minutes for a non-final day) the
    // replay is what every cache still holds.
    const ai = demo.emulators.get("aiStudio") as AiStudioEmulator;
    const counts = ai.day(today);
    ai.revisedDays.set(today, { ...counts, parsed_pages: counts.parsed_pages + 1234 });
    try {
      offset = start + 4 * 60_000;
      expect((await postGraphQL(url, q)).text).toBe(replay.text);
      expect(await cacheCounts(url)).toMatchObject({ hit: 2 });
      offset = start + 6 * 60_000;
      const after = await postGraphQL(url, q);
      expect(pages(after).value).toBe(pages(before).value + 1234);
      expect(after.body.data.organization.usage.sources[0].upstreamRequests).toBe(1);
    } finally {
      ai.revisedDays.delete(today);
    }
  });

  it("replays with the content type a fresh execution negotiates for the same Accept header", async () => {
    const url = await serve(configWith(JSON.parse(JSON.stringify(demo.config))));
    const ask = async (accept: string) => {
      const res = await fetch(`${url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", accept },
        body: JSON.stringify({ query: REPORT("ACEDATA") }),
      });
      return { type: res.headers.get("content-type"), text: await res.text() };
    };
    const graphqlResponse = "application/graphql-response+json, application/json;q=0.9";
    const fresh = [await ask(graphqlResponse), await ask(graphqlResponse)];
    const plain = [await ask("application/json"), await ask("application/json")];
    const before = await cacheCounts(url);
    const replays = [await ask(graphqlResponse), await ask("application/json")];
    expect((await cacheCounts(url)).hit).toBe(before.hit + 2);
    expect(replays[0]).toEqual(fresh[1]);
    expect(replays[1]).toEqual(plain[1]);
    expect(fresh[1]!.type).toContain("application/graphql-response+json");
    expect(plain[1]!.type).toContain("application/json");
  });

  describe("with API keys and a Redis shared by two replicas", () => {
    let redis: RedisServer;
    beforeAll(async () => {
      redis = await startRedis();
    });
    afterAll(() => redis.stop());

    function keyed(keys: Array<{ name: string; key: string; organizations: string[] }>): Config {
      const raw = JSON.parse(JSON.stringify(demo.config));
      const demoOrg = raw.organizations[0];
      raw.organizations = [demoOrg, { ...demoOrg, id: "other", name: "Other Organization" }];
      raw.auth = { apiKeys: keys };
      raw.cache = { url: redis.url };
      return configWith(raw);
    }
    const asKey = (key: string) => ({ authorization: `Bearer ${key}` });

    it("never serves a cached answer to a key of another scope, nor to a revoked key; a key of the same scope on another replica gets it from Redis", async () => {
      const first = await serve(
        keyed([
          { name: "demo", key: KEY_DEMO, organizations: ["demo"] },
          { name: "other", key: KEY_OTHER, organizations: ["other"] },
          { name: "both", key: KEY_BOTH, organizations: ["demo", "other"] },
        ]),
      );
      for (let i = 0; i < 2; i++) await postGraphQL(first, REPORT("ACEDATA, AI_STUDIO"), undefined, asKey(KEY_DEMO));
      const replay = await postGraphQL(first, REPORT("ACEDATA, AI_STUDIO"), undefined, asKey(KEY_DEMO));
      expect(await cacheCounts(first)).toMatchObject({ hit: 1, kept: 1 });
      expect(replay.body.data.organization.usage.series.length).toBeGreaterThan(0);

      // A key that may read the demo organization and another one: another scope, so not this entry.
      const wider = await postGraphQL(first, REPORT("ACEDATA, AI_STUDIO"), undefined, asKey(KEY_BOTH));
      expect(await cacheCounts(first)).toMatchObject({ hit: 1 });
      expect(wider.text).toBe(replay.text);

      // The other key asks the very same document: refused, not replayed.
      const other = await postGraphQL(first, REPORT("ACEDATA, AI_STUDIO"), undefined, asKey(KEY_OTHER));
      expect(other.body.data.organization).toBeNull();
      expect(other.body.errors![0]!.extensions!.code).toBe("FORBIDDEN");
      expect(other.text).not.toContain('"series"');
      expect(await cacheCounts(first)).toMatchObject({ hit: 1 });

      // A second replica on the same Redis, whose config no longer has the demo key (revoked) but
      // another key of the same scope.
      const second = await serve(keyed([{ name: "demo-too", key: KEY_DEMO_TOO, organizations: ["demo"] }]));
      const revoked = await postGraphQL(second, REPORT("ACEDATA, AI_STUDIO"), undefined, asKey(KEY_DEMO));
      expect(revoked.status).toBe(401);
      expect(revoked.text).not.toContain('"series"');
      demo.emulators.forEach((e) => e.resetLog());
      const shared = await postGraphQL(second, REPORT("ACEDATA, AI_STUDIO"), undefined, asKey(KEY_DEMO_TOO));
      expect(shared.text).toBe(replay.text);
      expect(await cacheCounts(second)).toMatchObject({ hit: 1, miss: 0 });
      expect(calls()).toBe(0);

      // The first replica writes to its store (a report of other days): its entries, also those in
      // Redis, were built before the write and are not replayed by it any more.
      const hits = (await cacheCounts(first)).hit;
      const otherDays = `{ organization(id: "demo") { usage(input: { from: "${utcDay(-30)}", to: "${utcDay(-29)}", providers: [ACEDATA] }) { sources { storedDays } } } }`;
      await postGraphQL(first, otherDays, undefined, asKey(KEY_DEMO));
      const after = await postGraphQL(first, REPORT("ACEDATA, AI_STUDIO"), undefined, asKey(KEY_DEMO));
      expect((await cacheCounts(first)).hit).toBe(hits);
      expect(after.text).toBe(replay.text);
    });
  });
});
