import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addDays, eachDay, monthEnd, monthStart, todayIn } from "../src/common/dates";
import { createLogger } from "../src/common/logger";
import { resolveConfig, type Config } from "../src/config/config";
import { startDemo, type Demo } from "../src/demo";
import { ACEDATA_APIS, type AceDataEmulator } from "../src/providers/acedata/acedata.emulator";
import { openStore } from "../src/store/store";
import { startServer, type RunningServer } from "./support/server-harness";

/** Alerts through the real server (DESIGN §7): thresholds crossed, anomalies, failing sources. */
const ALERTS = `query Alerts($from: Date!, $to: Date!) { organization(id: "demo") { alerts(from: $from, to: $to) {
  id kind day provider metric { key } dimensions { key value label } value reference message } } }`;
const CLAUDE = ACEDATA_APIS.find((a) => a.name === "Claude Messages")!;
const NUMBER = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });
const WHOLE = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const round = (x: number) => Math.round(x * 1e9) / 1e9;
const median = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  return (s[6]! + s[7]!) / 2;
};

describe("alerts", () => {
  let demo: Demo;
  let ace: AceDataEmulator;
  let dir: string;
  const servers: RunningServer[] = [];
  const today = todayIn("UTC");

  function configWith(extra: { budgets?: unknown[]; store?: string }): Config {
    const raw = JSON.parse(JSON.stringify(demo.config));
    return resolveConfig(
      {
        server: raw.server,
        log: raw.log,
        organizations: [{ ...raw.organizations[0], budgets: extra.budgets ?? [] }],
        ...(extra.store ? { store: { url: extra.store } } : {}),
      },
      {},
      { demo: true },
    );
  }
  async function serve(extra: { budgets?: unknown[]; store?: string } = {}): Promise<RunningServer> {
    const server = await startServer({ config: configWith(extra) });
    servers.push(server);
    return server;
  }
  async function alertsOf(server: RunningServer, from: string, to: string): Promise<any[]> {
    const res = await server.gql(ALERTS, { from, to });
    expect(res.status).toBe(200);
    expect(res.body.data.organization.alerts).toBeDefined();
    return res.body.data.organization.alerts;
  }

  beforeAll(async () => {
    demo = await startDemo({ USAGEGRAPH_LOG_LEVEL: "silent" }, { port: 0, recordRequests: true });
    ace = demo.emulators.get("acedata") as AceDataEmulator;
    dir = mkdtempSync(join(tmpdir(), "usagegraph-alerts-"));
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.server.stop()));
    await demo.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("raises exactly one ANOMALY for the series and day the emulator spikes (× 5), and none without the spike", async () => {
    const day = addDays(today, -1);
    const baseline = (apiId: string) => eachDay(addDays(day, -14), addDays(day, -1)).map((d) => ace.amount(d, apiId));
    // An API whose usual spend that day is no anomaly, and 5 times it is one.
    const api = ACEDATA_APIS.find((a) => {
      const m = median(baseline(a.id));
      const usual = ace.amount(day, a.id);
      return m > 0 && usual <= 3 * m && 5 * usual > 3 * m;
    })!;
    expect(api).toBeDefined();
    const window = { from: addDays(today, -7), to: day };
    const anomalies = async () => (await alertsOf(await serve(), window.from, window.to)).filter((a) => a.kind === "ANOMALY" && a.provider === "ACEDATA");

    const before = await anomalies();
    ace.spikeDay = day;
    ace.spikeApiId = api.id;
    let after: any[];
    try {
      after = await anomalies();
    } finally {
      ace.spikeDay = null;
      ace.spikeApiId = null;
    }
    const added = after.filter((a) => !before.some((b) => b.id === a.id));
    expect(added).toEqual([
      {
        id: `ANOMALY:acedata:acedata.credits:api=${api.id}:${day}`,
        kind: "ANOMALY",
        day,
        provider: "ACEDATA",
        metric: { key: "acedata.credits" },
        dimensions: [{ key: "api", value: api.id, label: api.name }],
        value: round(ace.amount(day, api.id) * 5),
        reference: median(baseline(api.id)),
        message: expect.stringMatching(
          new RegExp(
            `^Ace Data Cloud Credits spent for ${api.name}: [\\d,.]+ credits on ${day}, [\\d.]+ × the median of the 14 days before \\([\\d,.]+ credits\\)$`,
          ),
        ),
      },
    ]);
    expect(after.filter((a) => a.day === day && a.dimensions[0]?.value === api.id)).toHaveLength(1);
    expect(before.filter((a) => a.day === day && a.dimensions[0]?.value === api.id)).toHaveLength(0);
  });

  it("raises BUDGET_THRESHOLD on the day each threshold was first crossed, with the numbers of that day", async () => {
    const lastMonthEnd = addDays(monthStart(today), -1);
    const lastMonth = { from: monthStart(lastMonthEnd), to: lastMonthEnd };
    const days = eachDay(lastMonth.from, lastMonth.to);
    const spend = days.map((d) => ace.amount(d, CLAUDE.id));
    const amount = Math.round(spend.reduce((s, v) => s + v, 0) * 0.9);
    const server = await serve({
      budgets: [{ id: "claude", name: "Claude credits", metric: "acedata.credits", period: "MONTH", amount, where: [{ key: "api", in: [CLAUDE.id] }] }],
    });

    const expected = [0.8, 1].map((threshold) => {
      let used = 0;
      const i = spend.findIndex((v) => (used = round(used + v)) >= threshold * amount);
      const day = days[i]!;
      const forecast = used + (used / (i + 1)) * (days.length - i - 1);
      const tail = day < lastMonth.to ? `, forecast ${WHOLE.format(forecast)} by ${lastMonth.to}` : "";
      return {
        id: `BUDGET_THRESHOLD:claude:${lastMonth.from}:${threshold}`,
        kind: "BUDGET_THRESHOLD",
        day,
        provider: "ACEDATA",
        metric: { key: "acedata.credits" },
        dimensions: [{ key: "api", value: CLAUDE.id, label: "Claude Messages" }],
        value: used,
        reference: round(threshold * amount),
        message: `Claude credits for Claude Messages: ${NUMBER.format(used)} of ${NUMBER.format(amount)} (${Math.floor((used / amount) * 100 + 1e-9)} %) on ${day}${threshold >= 1 ? ", over budget" : ""}${tail}`,
      };
    });
    const alerts = (await alertsOf(server, lastMonth.from, lastMonth.to)).filter(
      (a) => a.kind === "BUDGET_THRESHOLD" && a.id.startsWith("BUDGET_THRESHOLD:claude:"),
    );
    // Newest first.
    expect(alerts).toEqual([...expected].reverse());
    expect(alerts[1].message).toMatch(/ \(8\d %\) on /);

    // A range that starts after the 80 % day holds the 100 % alert only: the crossing happened before it.
    if (expected[0]!.day < expected[1]!.day) {
      const later = (await alertsOf(server, addDays(expected[0]!.day, 1), lastMonth.to)).filter((a) => a.id.startsWith("BUDGET_THRESHOLD:claude:"));
      expect(later.map((a) => a.id)).toEqual([expected[1]!.id]);
    }
    // Asked again: the same alerts, the same ids.
    expect((await alertsOf(server, lastMonth.from, lastMonth.to)).filter((a) => a.id.startsWith("BUDGET_THRESHOLD:claude:"))).toEqual(alerts);
    expect(monthEnd(lastMonth.from)).toBe(lastMonth.to);
  });

  it("raises SOURCE_FAILING once per streak of 2 or more failed collection runs, newest first among the rest", async () => {
    const url = `sqlite:${join(dir, "runs.db")}`;
    const server = await serve({ store: url });
    const store = await openStore(url, { log: createLogger("silent") });
    try {
      const run = (daysAgo: number, state: "OK" | "FAILED") => {
        const startedAt = `${addDays(today, -daysAgo)}T02:30:00.000Z`;
        return store.recordRun({
          organization: "demo",
          provider: "acedata",
          startedAt,
          finishedAt: `${addDays(today, -daysAgo)}T02:31:00.000Z`,
          state,
          errorCode: state === "FAILED" ? "UPSTREAM_TIMEOUT" : null,
          errorMessage: state === "FAILED" ? "Ace Data Cloud did not answer in 10 s" : null,
          days: 0,
        });
      };
      await run(6, "OK");
      await run(5, "FAILED");
      await run(4, "FAILED");
      await run(3, "FAILED");
      await run(2, "OK");
      await run(1, "FAILED");
      const alerts = await alertsOf(server, addDays(today, -7), today);
      const failing = alerts.filter((a) => a.kind === "SOURCE_FAILING");
      expect(failing).toEqual([
        {
          id: `SOURCE_FAILING:acedata:${addDays(today, -4)}T02:30:00.000Z`,
          kind: "SOURCE_FAILING",
          day: addDays(today, -4),
          provider: "ACEDATA",
          metric: null,
          dimensions: [],
          value: null,
          reference: null,
          message: `Ace Data Cloud: collection failed on 2 consecutive runs, the last at ${addDays(today, -4)}T02:31:00.000Z (UPSTREAM_TIMEOUT: Ace Data Cloud did not answer in 10 s)`,
        },
      ]);
      // One more failure makes today's streak two long: a second alert.
      await run(0, "FAILED");
      expect((await alertsOf(server, addDays(today, -7), today)).filter((a) => a.kind === "SOURCE_FAILING").map((a) => a.day)).toEqual([
        today,
        addDays(today, -4),
      ]);
      const order = (await alertsOf(server, addDays(today, -7), today)).map((a) => a.day);
      expect(order).toEqual([...order].sort().reverse());
    } finally {
      await store.close();
    }
  });

  it("refuses a range that ends before it starts or spans more than 366 days", async () => {
    const server = await serve();
    const backwards = await server.gql(ALERTS, { from: today, to: addDays(today, -1) });
    expect(backwards.body.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    const long = await server.gql(ALERTS, { from: addDays(today, -400), to: today });
    expect(long.body.errors?.[0]?.message).toMatch(/at most 366 days/);
  });
});
