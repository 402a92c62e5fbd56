import { mkdtempSync, rmSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { addDays, todayIn } from "../src/common/dates";
import { resolveConfig, type Config } from "../src/config/config";
import { startDemo, type Demo } from "../src/demo";
import { createServer, type UsageGraphServer } from "../src/server/server";
import { openStore } from "../src/store/store";
import { postGraphQL } from "./support/server-harness";
import { startPostgres, type PostgresServer } from "./support/postgres";

/**
 * Webhook notifications (DESIGN §7) through real servers and a real receiver on loopback: each
 * alert is POSTed once per webhook, whatever restarts, replicas and failing receivers do.
 */
const SECRET = "xoxb-s3cret-hook-token-4f1c";
const ALERTS = `query Alerts($from: Date!, $to: Date!) { organization(id: "demo") { alerts(from: $from, to: $to) { id kind day message } } }`;

interface Post {
  path: string;
  body: any;
  status: number;
}

/** A webhook receiver: records every POST and answers with the scripted statuses, then `otherwise`. */
class Receiver {
  readonly posts: Post[] = [];
  script: number[] = [];
  otherwise = 200;
  private server?: Server;

  async start(): Promise<this> {
    this.server = createHttpServer((req, res) => {
      let raw = "";
      req.on("data", (c: Buffer) => (raw += c.toString()));
      req.on("end", () => {
        const status = this.script.shift() ?? this.otherwise;
        this.posts.push({ path: req.url ?? "", body: JSON.parse(raw), status });
        res.writeHead(status, { "content-type": "text/plain" }).end(status === 200 ? "ok" : "no");
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    return this;
  }

  /** A Slack-like hook URL whose path holds the secret. */
  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/services/T000/B000/${SECRET}`;
  }

  delivered(): Post[] {
    return this.posts.filter((p) => p.status === 200);
  }

  reset(): void {
    this.posts.length = 0;
    this.script = [];
    this.otherwise = 200;
  }

  stop(): Promise<void> {
    this.server!.closeAllConnections();
    return new Promise((resolve) => this.server!.close(() => resolve()));
  }
}

describe("webhook notifications", () => {
  let demo: Demo;
  let receiver: Receiver;
  let dir: string;
  let pg: PostgresServer;
  const logs: string[] = [];
  const responses: string[] = [];
  const log = pino({ level: "debug" }, { write: (line: string) => void logs.push(line) });
  const servers: UsageGraphServer[] = [];
  const today = todayIn("UTC");

  /** A config whose one webhook takes `kinds`; a DAY budget of 1 credit crosses on every day with spend. */
  function configFor(store: string, kinds: string[], collect?: { providers: string[]; backfillDays: number }): Config {
    const raw = JSON.parse(JSON.stringify(demo.config));
    if (collect) raw.organizations[0].providers = Object.fromEntries(collect.providers.map((p) => [p, raw.organizations[0].providers[p]]));
    const budgets = [{ id: "daily", name: "Ace Data credits today", metric: "acedata.credits", period: "DAY", amount: 1, thresholds: [1] }];
    const notify = { webhooks: [{ name: "finance-channel", url: "${HOOK_URL}", kinds }] };
    return resolveConfig(
      {
        server: raw.server,
        log: raw.log,
        store: { url: store },
        ...(collect ? { collect: { backfillDays: collect.backfillDays } } : {}),
        organizations: [{ ...raw.organizations[0], budgets, notify }],
      },
      { HOOK_URL: receiver.url },
      { demo: true },
    );
  }
  async function serve(config: Config): Promise<UsageGraphServer> {
    const server = await createServer(config, { log });
    servers.push(server);
    await server.listen();
    return server;
  }
  async function stop(server: UsageGraphServer): Promise<void> {
    servers.splice(servers.indexOf(server), 1);
    await server.stop();
  }
  /** The alert ids GraphQL lists for the days an evaluation covers, of one kind. */
  async function alertIds(server: UsageGraphServer, kind: string): Promise<string[]> {
    const { port } = server.httpServer.address() as AddressInfo;
    const res = await postGraphQL(`http://127.0.0.1:${port}`, ALERTS, { from: addDays(today, -7), to: addDays(today, 1) });
    responses.push(res.text);
    return res.body.data.organization.alerts.filter((a: any) => a.kind === kind).map((a: any) => a.id);
  }
  async function failTwice(url: string, provider: string): Promise<void> {
    const store = await openStore(url, { log });
    try {
      for (const daysAgo of [2, 1]) {
        const day = addDays(today, -daysAgo);
        await store.recordRun({
          organization: "demo",
          provider,
          startedAt: `${day}T02:30:00Z`,
          finishedAt: `${day}T02:30:09Z`,
          state: "FAILED",
          errorCode: "UPSTREAM_UNAVAILABLE",
          errorMessage: "no answer",
          days: 0,
        });
      }
    } finally {
      await store.close();
    }
  }

  beforeAll(async () => {
    demo = await startDemo({ USAGEGRAPH_LOG_LEVEL: "silent" }, { port: 0 });
    receiver = await new Receiver().start();
    dir = mkdtempSync(join(tmpdir(), "usagegraph-notify-"));
    pg = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await receiver.stop();
    await demo.stop();
    await pg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => receiver.reset());

  it("POSTs each alert once, Slack-compatible, and nothing again after a restart", async () => {
    const url = `sqlite:${join(dir, "restart.db")}`;
    const first = await serve(configFor(url, ["BUDGET_THRESHOLD"]));
    const ids = await alertIds(first, "BUDGET_THRESHOLD");
    expect(ids.length).toBeGreaterThan(1);

    const summary = await first.evaluateAlerts("demo");
    expect(summary).toMatchObject({ organization: "demo", sent: ids.length, failed: 0, skipped: 0 });
    expect(receiver.posts.map((p) => p.body.alert.id).sort()).toEqual([...ids].sort());
    const [post] = receiver.posts;
    expect(post!.path).toBe(`/services/T000/B000/${SECRET}`);
    expect(post!.body).toEqual({
      text: post!.body.alert.message,
      organization: { id: "demo", name: "Demo Organization" },
      alert: {
        id: expect.stringMatching(/^BUDGET_THRESHOLD:daily:/),
        kind: "BUDGET_THRESHOLD",
        day: expect.any(String),
        provider: "ACEDATA",
        metric: expect.objectContaining({ key: "acedata.credits", unit: "credits", kind: "COUNTER" }),
        dimensions: [],
        value: expect.any(Number),
        reference: 1,
        message: expect.stringMatching(/^Ace Data credits today: [\d,.]+ of 1 \(\d+ %\) on \d{4}-\d{2}-\d{2}, over budget$/),
      },
    });
    // Oldest first, as a channel reads them.
    const days = receiver.posts.map((p) => p.body.alert.day);
    expect(days).toEqual([...days].sort());

    // Evaluated again in the same process, then by a new process on the same store: nothing new.
    expect(await first.evaluateAlerts("demo")).toMatchObject({ sent: 0, skipped: ids.length });
    await stop(first);
    const second = await serve(configFor(url, ["BUDGET_THRESHOLD"]));
    expect(await second.evaluateAlerts("demo")).toMatchObject({ sent: 0, failed: 0, skipped: ids.length });
    expect(receiver.posts).toHaveLength(ids.length);
    await stop(second);
  });

  it.each([
    ["a SQLite file", async () => `sqlite:${join(dir, "replicas.db")}`],
    ["PostgreSQL", () => pg.createDatabase("replicas")],
  ])("POSTs each alert once when two replicas on one store (%s) evaluate at the same moment", async (_name, storeUrl) => {
    const url = await storeUrl();
    const [a, b] = await Promise.all([serve(configFor(url, ["BUDGET_THRESHOLD"])), serve(configFor(url, ["BUDGET_THRESHOLD"]))]);
    const ids = await alertIds(a, "BUDGET_THRESHOLD");
    const [one, two] = await Promise.all([a.evaluateAlerts("demo"), b.evaluateAlerts("demo")]);
    expect(one.sent + two.sent).toBe(ids.length);
    expect(one.skipped + two.skipped).toBe(ids.length);
    expect(receiver.posts.map((p) => p.body.alert.id).sort()).toEqual([...ids].sort());
    await Promise.all([stop(a), stop(b)]);
  });

  it("sends after the collection run that makes a source failing, and not again after a restart and another failed run", async () => {
    const url = `sqlite:${join(dir, "collection.db")}`;
    const collect = { providers: ["acedata"], backfillDays: 3 };
    const ace = demo.emulators.get("acedata")!;
    ace.inject({ kind: "status", status: 503 });
    try {
      const first = await serve(configFor(url, ["SOURCE_FAILING"], collect));
      await first.collection.runNow();
      // One failed run is no alert yet.
      expect(receiver.posts).toHaveLength(0);
      await first.collection.runNow();
      expect(receiver.posts.map((p) => p.body.alert.kind)).toEqual(["SOURCE_FAILING"]);
      expect(receiver.posts[0]!.body.text).toMatch(/^Ace Data Cloud: collection failed on 2 consecutive runs, the last at .*\(UPSTREAM_UNAVAILABLE/);
      await stop(first);

      const second = await serve(configFor(url, ["SOURCE_FAILING"], collect));
      await second.collection.runNow();
      expect(receiver.posts).toHaveLength(1);
      await stop(second);
    } finally {
      ace.clearFaults();
    }
  });

  it("delivers once to a receiver that answers 500 twice, then 200", async () => {
    const url = `sqlite:${join(dir, "retries.db")}`;
    await failTwice(url, "acedata");
    const server = await serve(configFor(url, ["SOURCE_FAILING"]));
    const ids = await alertIds(server, "SOURCE_FAILING");
    expect(ids).toEqual([`SOURCE_FAILING:acedata:${addDays(today, -1)}T02:30:00.000Z`]);
    receiver.script = [500, 500];

    expect(await server.evaluateAlerts("demo")).toMatchObject({ sent: 1, failed: 0 });
    expect(receiver.posts.map((p) => [p.body.alert.id, p.status])).toEqual([
      [ids[0], 500],
      [ids[0], 500],
      [ids[0], 200],
    ]);
    expect(await server.evaluateAlerts("demo")).toMatchObject({ sent: 0, skipped: 1 });
    expect(receiver.delivered()).toHaveLength(1);
    await stop(server);
  });

  it("logs a webhook that fails for good by its name and status, and delivers on the next run", async () => {
    const url = `sqlite:${join(dir, "permanent.db")}`;
    await failTwice(url, "aiStudio");
    const server = await serve(configFor(url, ["SOURCE_FAILING"]));
    receiver.otherwise = 503;
    const since = logs.length;

    expect(await server.evaluateAlerts("demo")).toMatchObject({ sent: 0, failed: 1 });
    // The first attempt and its 3 retries.
    expect(receiver.posts.map((p) => p.status)).toEqual([503, 503, 503, 503]);
    const failure = logs
      .slice(since)
      .map((l) => JSON.parse(l))
      .find((l) => l.msg === "webhook delivery failed: retried on the next evaluation");
    expect(failure).toMatchObject({
      webhook: "finance-channel",
      status: 503,
      attempts: 4,
      organization: "demo",
      alert: expect.stringMatching(/^SOURCE_FAILING:aiStudio:/),
    });

    receiver.reset();
    expect(await server.evaluateAlerts("demo")).toMatchObject({ sent: 1, failed: 0 });
    expect(receiver.delivered()).toHaveLength(1);
    expect(await server.evaluateAlerts("demo")).toMatchObject({ sent: 0, skipped: 1 });
    expect(receiver.posts).toHaveLength(1);
    await stop(server);
  });

  it("never logs a webhook's URL nor returns it, whatever happened above", () => {
    expect(logs.some((l) => l.includes('"webhook":"finance-channel"'))).toBe(true);
    expect(logs.join("\n")).not.toContain(SECRET);
    expect(responses.length).toBeGreaterThan(0);
    expect(responses.join("\n")).not.toContain(SECRET);
  });
});
