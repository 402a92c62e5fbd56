import { Queue } from "bullmq";
import { Client } from "pg";
import { createLogger } from "../src/common/logger";
import { resolveConfig, type Config } from "../src/config/config";
import { startDemo, type Demo } from "../src/demo";
import { createRuntime } from "../src/runtime";
import { createServer, type UsageGraphServer } from "../src/server/server";
import { startPostgres, type PostgresServer } from "./support/postgres";
import { startRedis, type RedisServer } from "./support/redis";
import { postGraphQL } from "./support/server-harness";

/**
 * Two replicas on one PostgreSQL and one redis-server (DESIGN §6): both register the same schedule
 * and both run a worker, and one scheduled run collects each organization × provider once.
 */
const BACKFILL = 3;
const ORGS = ["demo", "beta"];
const COLLECTION = (org: string) => `{ organization(id: "${org}") { collection { provider storedDays missingDays lastRunState lastError { code } } } }`;

describe("collection across two replicas", () => {
  let demo: Demo;
  let pg: PostgresServer;
  let redis: RedisServer;
  const servers: UsageGraphServer[] = [];
  const calls = () => Object.fromEntries([...demo.emulators].map(([key, e]) => [key, e.requests.length]));

  beforeAll(async () => {
    [demo, pg, redis] = await Promise.all([startDemo({ USAGEGRAPH_LOG_LEVEL: "silent" }, { port: 0, recordRequests: true }), startPostgres(), startRedis()]);
  });
  afterAll(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()));
    await Promise.all([demo?.stop(), pg?.stop(), redis?.stop()]);
  });

  function configFor(store: string, cache: string, collect: unknown): Config {
    const raw = JSON.parse(JSON.stringify(demo.config));
    // Two organizations on the same emulators: ten organization × provider runs.
    const organizations = ORGS.map((id) => ({ id, name: id, providers: raw.organizations[0].providers }));
    return resolveConfig({ server: raw.server, organizations, log: raw.log, store: { url: store }, cache: { url: cache }, collect }, {}, { demo: true });
  }

  it("collects each organization × provider once per scheduled run, and both replicas migrate one database at once", async () => {
    const url = await pg.createDatabase("collect_replicas");
    // A daily schedule whose next run is a few seconds away: one run, due once, with two replicas waiting for it.
    const at = new Date(Math.ceil(Date.now() / 1000) * 1000 + 8_000);
    const schedule = `${at.getUTCSeconds()} ${at.getUTCMinutes()} ${at.getUTCHours()} * * *`;
    const config = configFor(url, redis.url, { schedule, timeZone: "UTC", backfillDays: BACKFILL });

    // Both start at once on an empty database: the migrations race, and both must come up.
    servers.push(...(await Promise.all([createServer(config), createServer(config)])));
    const urls = await Promise.all(servers.map((s) => s.listen()));
    await Promise.all(servers.map((s) => s.collection.started()));
    expect(servers.map((s) => s.collection.mode)).toEqual(["queued", "queued"]);
    if (Date.now() >= at.getTime()) throw new Error("the replicas took too long to start: the run was due before they had registered it");
    demo.emulators.forEach((e) => e.resetLog());

    const db = new Client({ connectionString: url });
    await db.connect();
    try {
      const finished = async () => Number((await db.query("select count(*) as n from collection_runs where state <> 'RUNNING'")).rows[0].n);
      const deadline = Date.now() + 30_000;
      while ((await finished()) < ORGS.length * 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
      // Time for a second copy of any run to show up, were there one.
      await new Promise((r) => setTimeout(r, 1_000));
      const runs = (await db.query("select organization, provider, state, days from collection_runs order by organization, provider")).rows;
      expect(runs).toHaveLength(ORGS.length * 5);
      for (const run of runs) expect(run).toMatchObject({ state: "OK" });
      expect(new Set(runs.map((r) => `${r.organization}/${r.provider}`)).size).toBe(ORGS.length * 5);
    } finally {
      await db.end();
    }

    // One job per organization × provider ran, in one replica or the other, not one per replica.
    const queue = new Queue("collect", { prefix: "usagegraph", connection: { host: "127.0.0.1", port: redis.port } });
    try {
      const done = await queue.getJobs(["completed"]);
      expect(done).toHaveLength(ORGS.length * 5);
      expect(done.every((j) => j.returnvalue?.state === "OK")).toBe(true);
      expect(await queue.getJobs(["failed", "active", "wait"])).toHaveLength(0);
    } finally {
      await queue.close();
    }

    for (const org of ORGS) {
      const answers = await Promise.all(urls.map((u) => postGraphQL(u, COLLECTION(org))));
      expect(answers[0]!.body.errors).toBeUndefined();
      expect(answers[0]!.body.data).toEqual(answers[1]!.body.data);
      for (const status of answers[0]!.body.data.organization.collection)
        expect(status).toMatchObject({ lastRunState: "OK", lastError: null, missingDays: expect.any(Number) });
    }

    // The upstream calls are those of one collection: the same runs again, once, in a lone process
    // with a fresh store and cache, cost exactly as many.
    const replicated = calls();
    demo.emulators.forEach((e) => e.resetLog());
    // A runtime schedules nothing until a server starts it: the collector alone runs here.
    const lone = await createRuntime(configFor("sqlite::memory:", "memory://", { backfillDays: BACKFILL }), { log: createLogger("silent") });
    try {
      for (const org of lone.organizations.all()) await Promise.all([...org.providers.keys()].map((key) => lone.collection.collector.collect(org, key)));
    } finally {
      await lone.close();
    }
    expect(replicated).toEqual(calls());
    expect(Object.values(replicated).every((n) => n > 0)).toBe(true);
  });
});
