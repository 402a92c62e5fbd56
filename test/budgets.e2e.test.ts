import { addDays, daysInRange, eachDay, isoWeekStart, monthEnd, monthStart, todayIn } from "../src/common/dates";
import { resolveConfig, type Config } from "../src/config/config";
import { startDemo, type Demo } from "../src/demo";
import { ACEDATA_APIS, type AceDataEmulator } from "../src/providers/acedata/acedata.emulator";
import type { PipefyEmulator } from "../src/providers/pipefy/pipefy.emulator";
import { startServer, type RunningServer } from "./support/server-harness";

/**
 * Budgets through the real server (DESIGN §7): each number is the sum of what the emulators serve
 * for the period so far, read through the same usage service as `usage`.
 */
const CLAUDE = ACEDATA_APIS.find((a) => a.name === "Claude Messages")!;
const BUDGETS = `query Budgets($at: Date) { organization(id: "demo") { budgets(at: $at) {
  id name metric { key unit kind } period amount periodStart periodEnd used remaining usedRatio forecast state
  source { provider state error { code } upstreamRequests storedDays } } } }`;

const round = (x: number) => Math.round(x * 1e9) / 1e9;
const forecast = (used: number, from: string, at: string, to: string) => used + (used / daysInRange(from, at)) * daysInRange(addDays(at, 1), to);

describe("budgets", () => {
  let demo: Demo;
  let ace: AceDataEmulator;
  let pipefy: PipefyEmulator;
  const servers: RunningServer[] = [];

  /** Credits the Ace Data emulator serves for `from..to` (UTC days), optionally for some APIs only. */
  const credits = (from: string, to: string, apis: string[] = []) => round(ace.rows(from, to, apis).reduce((s, r) => s + r.amount, 0));

  function configWith(budgets: unknown[]): Config {
    const raw = JSON.parse(JSON.stringify(demo.config));
    return resolveConfig({ server: raw.server, log: raw.log, organizations: [{ ...raw.organizations[0], budgets }] }, {}, { demo: true });
  }
  async function serve(budgets: unknown[]): Promise<RunningServer> {
    const server = await startServer({ config: configWith(budgets) });
    servers.push(server);
    return server;
  }
  async function budgetsOf(server: RunningServer, at?: string): Promise<any[]> {
    const res = await server.gql(BUDGETS, { at });
    expect(res.body.errors).toBeUndefined();
    return res.body.data.organization.budgets;
  }

  beforeAll(async () => {
    demo = await startDemo({ USAGEGRAPH_LOG_LEVEL: "silent" }, { port: 0, recordRequests: true });
    ace = demo.emulators.get("acedata") as AceDataEmulator;
    pipefy = demo.emulators.get("pipefy") as PipefyEmulator;
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.server.stop()));
    await demo.stop();
  });

  it("adds up the month, the ISO week and the day so far, with a where filter, as the emulator serves them", async () => {
    const at = todayIn("UTC");
    const server = await serve([
      { id: "month", name: "Ace Data credits", metric: "acedata.credits", period: "MONTH", amount: 5000 },
      { id: "week", name: "Claude this week", metric: "acedata.credits", period: "WEEK", amount: 800, where: [{ key: "api", in: [CLAUDE.id] }] },
      { id: "day", name: "Ace Data today", metric: "acedata.credits", period: "DAY", amount: 200 },
    ]);
    const [month, week, day, quota] = await budgetsOf(server);

    const monthUsed = credits(monthStart(at), at);
    expect(month).toMatchObject({
      id: "month",
      name: "Ace Data credits",
      metric: { key: "acedata.credits", unit: "credits", kind: "COUNTER" },
      period: "MONTH",
      amount: 5000,
    });
    expect(month).toMatchObject({ periodStart: monthStart(at), periodEnd: monthEnd(at), source: { provider: "ACEDATA", state: "OK" } });
    expect(month.used).toBeCloseTo(monthUsed, 6);
    expect(month.remaining).toBeCloseTo(Math.max(0, 5000 - monthUsed), 6);
    expect(month.usedRatio).toBeCloseTo(monthUsed / 5000, 9);
    expect(month.forecast).toBeCloseTo(forecast(monthUsed, monthStart(at), at, monthEnd(at)), 6);

    const weekStart = isoWeekStart(at);
    const weekUsed = credits(weekStart, at, [CLAUDE.id]);
    expect(week).toMatchObject({ id: "week", period: "WEEK", periodStart: weekStart, periodEnd: addDays(weekStart, 6) });
    expect(week.used).toBeCloseTo(weekUsed, 6);
    expect(week.forecast).toBeCloseTo(forecast(weekUsed, weekStart, at, addDays(weekStart, 6)), 6);

    expect(day).toMatchObject({ id: "day", period: "DAY", periodStart: at, periodEnd: at });
    expect(day.used).toBeCloseTo(credits(at, at), 6);
    // The last day of its period: nothing is left to forecast.
    expect(day.forecast).toBeCloseTo(day.used, 6);

    // Pipefy's quota, as Pipefy reports it (the emulator's limit), over its calendar month in UTC.
    const calls = eachDay(monthStart(at), at).reduce((s, d) => s + pipefy.dailyTotal(d), 0);
    expect(quota).toMatchObject({
      id: "pipefy.quota",
      period: "MONTH",
      amount: 50_000,
      used: calls,
      periodStart: monthStart(at),
      periodEnd: monthEnd(at),
      metric: { key: "pipefy.api_calls" },
    });
    expect(quota.source).toMatchObject({ provider: "PIPEFY", state: "OK" });
  });

  it("agrees with a usage report over the same days", async () => {
    const at = addDays(todayIn("UTC"), -2);
    const server = await serve([
      { id: "claude", name: "Claude", metric: "acedata.credits", period: "MONTH", amount: 1000, where: [{ key: "api", in: [CLAUDE.id] }] },
    ]);
    const [budget] = await budgetsOf(server, at);
    const report = await server.gql(
      `{ organization(id: "demo") { usage(input: { from: "${monthStart(at)}", to: "${at}", granularity: TOTAL, providers: [ACEDATA], where: [{ key: "api", in: ["${CLAUDE.id}"] }] }) { series { total } } } }`,
    );
    const total = report.body.data.organization.usage.series.reduce((s: number, x: any) => s + x.total, 0);
    expect(budget.used).toBeCloseTo(total, 9);
    expect(budget.used).toBeCloseTo(credits(monthStart(at), at, [CLAUDE.id]), 6);
  });

  it("counts the days of the budget's time zone, whose today is not UTC's", async () => {
    // UTC+14 and UTC−10: for most of a day one of them is on another date than UTC.
    const zones = ["Pacific/Kiritimati", "Pacific/Honolulu"];
    const server = await serve(
      zones
        .map((timeZone, i) => ({ id: `tz${i}`, metric: "acedata.credits", period: "DAY", amount: 100, timeZone }))
        .concat(zones.map((timeZone, i) => ({ id: `tzm${i}`, metric: "acedata.credits", period: "MONTH", amount: 100, timeZone }))),
    );
    const budgets = await budgetsOf(server);
    for (const [i, timeZone] of zones.entries()) {
      const today = todayIn(timeZone);
      const day = budgets.find((b) => b.id === `tz${i}`);
      const month = budgets.find((b) => b.id === `tzm${i}`);
      expect(day).toMatchObject({ periodStart: today, periodEnd: today });
      // The emulator has no day after UTC's today: a zone already on tomorrow has used nothing yet, and no forecast.
      expect(day.used).toBeCloseTo(credits(today, today), 6);
      if (today > todayIn("UTC")) expect(day.forecast).toBeNull();
      expect(month).toMatchObject({ periodStart: monthStart(today), periodEnd: monthEnd(today) });
      expect(month.used).toBeCloseTo(credits(monthStart(today), today), 6);
    }
  });

  it("is OK below the first threshold, WARNING from it and EXCEEDED from the amount", async () => {
    const at = addDays(todayIn("UTC"), -1);
    const used = credits(monthStart(at), at);
    expect(used).toBeGreaterThan(0);
    const server = await serve(
      [
        ["ok", used / 0.79],
        ["warning-at-0.8", used / 0.8],
        ["warning", used / 0.95],
        ["exceeded-at-1", used],
        ["exceeded", used / 1.3],
      ].map(([id, amount]) => ({ id, metric: "acedata.credits", period: "MONTH", amount })),
    );
    const states = Object.fromEntries((await budgetsOf(server, at)).map((b) => [b.id, [b.state, b.remaining]]));
    expect(states).toEqual({
      ok: ["OK", expect.any(Number)],
      "warning-at-0.8": ["WARNING", expect.any(Number)],
      warning: ["WARNING", expect.any(Number)],
      "exceeded-at-1": ["EXCEEDED", 0],
      exceeded: ["EXCEEDED", 0],
      "pipefy.quota": [expect.stringMatching(/^(OK|WARNING|EXCEEDED)$/), expect.any(Number)],
    });
  });

  it("is UNKNOWN when the source fails, with the failure in its source and in errors", async () => {
    const server = await serve([{ id: "ace", metric: "acedata.credits", period: "MONTH", amount: 100 }]);
    ace.inject({ kind: "status", status: 503 });
    try {
      const res = await server.gql(BUDGETS, {});
      const ace = res.body.data.organization.budgets.find((b: any) => b.id === "ace");
      expect(ace).toMatchObject({
        state: "UNKNOWN",
        used: 0,
        forecast: null,
        source: { provider: "ACEDATA", state: "FAILED", error: { code: "UPSTREAM_UNAVAILABLE" } },
      });
      expect(res.body.errors?.map((e) => e.extensions?.code)).toContain("UPSTREAM_UNAVAILABLE");
    } finally {
      ace.clearFaults();
    }
  });

  it("lists no Pipefy quota when Pipefy reports no limit", async () => {
    pipefy.quota = null;
    try {
      const server = await serve([]);
      expect(await budgetsOf(server)).toEqual([]);
    } finally {
      pipefy.quota = 50_000;
    }
  });

  it("reads closed days from the store: asked again, only today goes upstream", async () => {
    const server = await serve([{ id: "ace", metric: "acedata.credits", period: "MONTH", amount: 100 }]);
    const at = addDays(todayIn("UTC"), -1);
    if (monthStart(at) === at) return; // the 1st: the month so far is one day
    await budgetsOf(server, at);
    ace.resetLog();
    const [again] = await budgetsOf(server, at);
    expect(again.source).toMatchObject({ state: "OK", upstreamRequests: 0, storedDays: daysInRange(monthStart(at), at) });
    expect(ace.requests).toHaveLength(0);
  });
});
