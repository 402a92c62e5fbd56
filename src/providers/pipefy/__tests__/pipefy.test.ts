import { parse, print, validate } from "graphql";
import { addDays, eachDay, type CalendarDate } from "../../../common/dates";
import { ErrorCode } from "../../../common/errors";
import { contractSample, pipefyContractSchema } from "../../../contracts/upstream-contracts";
import { takeContractViolations } from "../../../../test/support/contract-violations";
import { startEmulator } from "../../../../test/support/emulators";
import { callContext, failure, providerDeps } from "../../../../test/support/provider-harness";
import type { Observation, Provider, ProviderQuery, ProviderResult } from "../../provider";
import { PipefyDataSource } from "../pipefy.datasource";
import {
  PIPEFY_DEFAULT_QUOTA,
  PIPEFY_DEMO_ORGANIZATION,
  PIPEFY_DEMO_TOKEN,
  PIPEFY_OPERATIONS,
  PIPEFY_TOKENS,
  PIPEFY_TOP_N,
  PipefyEmulator,
} from "../pipefy.emulator";
import { pipefyModule } from "../pipefy.provider";
import { PipefyApiUsage } from "../pipefy.record";
import { PipefySettings } from "../pipefy.settings";
import { parseDailyWithWindow, parseSummary } from "../pipefy.wire";

// A fixed clock shared by the emulator and the provider: 2026-03-18 in UTC.
const NOW = Date.parse("2026-03-18T09:30:00Z");
const TODAY = "2026-03-18";
const FEBRUARY = { from: "2026-02-01", to: "2026-02-28" };

let emulator: PipefyEmulator;

beforeAll(async () => {
  emulator = await startEmulator(PipefyEmulator, { now: () => NOW });
});

beforeEach(() => {
  emulator.clearFaults().resetLog();
  emulator.lastThreeMonths = "previous";
  emulator.rateLimit = undefined;
  emulator.quota = PIPEFY_DEFAULT_QUOTA;
  emulator.withoutFilterDate = false;
});

function settings(overrides: Partial<PipefySettings> = {}): PipefySettings {
  return Object.assign(new PipefySettings(), {
    baseUrl: emulator.url,
    token: PIPEFY_DEMO_TOKEN,
    organizationId: PIPEFY_DEMO_ORGANIZATION.id,
    timeoutMs: 2_000,
    maxRetries: 2,
    ...overrides,
  });
}

function query(from: CalendarDate, to: CalendarDate, overrides: Partial<ProviderQuery> = {}): ProviderQuery {
  return { range: { from, to }, metrics: ["pipefy.api_calls"], groupBy: [], where: [], granularity: "DAY", records: false, ...overrides };
}

function fetchOnce(q: ProviderQuery, overrides: Partial<PipefySettings> = {}): Promise<ProviderResult> {
  return pipefyModule.create(settings(overrides), providerDeps()).fetch(
    q,
    callContext(20_000, () => NOW),
  );
}

/** The emulator's log of one GraphQL operation. */
function calls(operationName: string) {
  return emulator.requests.filter((r) => (r.body as { operationName?: string } | undefined)?.operationName === operationName);
}

function variablesOf(operationName: string): Array<Record<string, unknown>> {
  return calls(operationName).map((r) => (r.body as { variables: Record<string, unknown> }).variables);
}

/** A provider whose organization uuid is already memoized (so that the next request is a usage query), with the log reset. */
async function providerWithUuid(): Promise<Provider> {
  const provider = pipefyModule.create(settings(), providerDeps());
  await provider.fetch(
    query("2026-03-01", "2026-03-01"),
    callContext(20_000, () => NOW),
  );
  emulator.resetLog();
  return provider;
}

function fetchWith(provider: Provider, q: ProviderQuery): Promise<ProviderResult> {
  return provider.fetch(
    q,
    callContext(20_000, () => NOW),
  );
}

/** A contract-conforming answer of the daily+window operation for February with the emulator's days and the given Counter row. */
function februaryDailyAnswer(counter: number, days = eachDay(FEBRUARY.from, FEBRUARY.to).map((date) => ({ date, metric: emulator.dailyTotal(date) }))) {
  return {
    data: {
      daily: { data: days },
      total: { data: [{ dimension: "Counter", metric: counter }], filterDate: FEBRUARY, limit: 50_000 },
    },
  };
}

interface GraphQLAnswer {
  data?: unknown;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

/** A POST of our own to the emulator, past the client. */
async function postRaw(body: unknown): Promise<{ status: number; body: GraphQLAnswer }> {
  const res = await fetch(`${emulator.url}/graphql`, {
    method: "POST",
    headers: { authorization: `Bearer ${PIPEFY_DEMO_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as GraphQLAnswer };
}

function sumOf(observations: readonly Observation[]): number {
  return observations.reduce((s, o) => s + o.value, 0);
}

function sumDays(from: CalendarDate, to: CalendarDate): number {
  return eachDay(from, to).reduce((s, d) => s + emulator.dailyTotal(d), 0);
}

describe("Pipefy emulator", () => {
  it("counts each day's calls consistently over operations and over tokens", () => {
    for (const date of eachDay("2026-02-25", "2026-03-05")) {
      const byOperation = PIPEFY_OPERATIONS.reduce((s, o) => s + emulator.operationCalls(date, o), 0);
      const byToken = PIPEFY_TOKENS.reduce((s, t) => s + emulator.tokenCalls(date, t), 0);
      expect(byOperation).toBe(emulator.dailyTotal(date));
      expect(byToken).toBe(emulator.dailyTotal(date));
      expect(emulator.dailyTotal(date)).toBeGreaterThan(0);
    }
  });

  it("names the response key after the alias, as the GraphQL spec says", async () => {
    const res = await fetch(`${emulator.url}/graphql`, {
      method: "POST",
      headers: { authorization: `Bearer ${PIPEFY_DEMO_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({
        query: `query byAlias($uuid: ID!) {
          grouped: apiUsageStats(organizationUuid: $uuid, period: last_month, dimension: token) { data { dimension metric } }
          apiUsageStats(organizationUuid: $uuid, period: last_month) { data { dimension metric } }
        }`,
        variables: { uuid: PIPEFY_DEMO_ORGANIZATION.uuid },
      }),
    });
    const body = (await res.json()) as { data: Record<string, { data: unknown[] }> };
    expect(res.status).toBe(200);
    expect(Object.keys(body.data).sort()).toEqual(["apiUsageStats", "grouped"]);
    expect(body.data).not.toHaveProperty("apiUsageStatsGroupedBy");
    expect(body.data.grouped!.data).toEqual(emulator.breakdown("token", FEBRUARY.from, FEBRUARY.to));
    expect(body.data.apiUsageStats!.data).toEqual([{ dimension: "Counter", metric: sumDays(FEBRUARY.from, FEBRUARY.to) }]);
  });

  it("answers a bad variable with HTTP 200 and a BAD_USER_INPUT error", async () => {
    const res = await fetch(`${emulator.url}/graphql`, {
      method: "POST",
      headers: { authorization: `Bearer ${PIPEFY_DEMO_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({
        query: 'query q($p: PeriodFilter!) { apiUsageStats(organizationUuid: "x", period: $p) { limit } }',
        variables: { p: "last_year" },
      }),
    });
    const body = (await res.json()) as { errors: Array<{ extensions: { code: string } }> };
    expect(res.status).toBe(200);
    expect(body.errors[0]!.extensions.code).toBe("BAD_USER_INPUT");
  });
});

describe("Pipefy emulator: the contract", () => {
  it("refuses a daily query that selects filterDate, which the contract does not have, with GraphQL validation errors", async () => {
    const res = await postRaw({
      query: `query apiUsageStatsDaily($organizationUuid: ID!, $period: PeriodFilter!) {
        apiUsageStatsDaily(organizationUuid: $organizationUuid, period: $period) { data { date metric } filterDate { from to } }
      }`,
      variables: { organizationUuid: PIPEFY_DEMO_ORGANIZATION.uuid, period: "last_month" },
      operationName: "apiUsageStatsDaily",
    });

    expect(res.status).toBe(200);
    expect(res.body.data).toBeUndefined();
    expect(res.body.errors).toEqual([{ message: expect.stringContaining('"filterDate"'), extensions: { code: "GRAPHQL_VALIDATION_FAILED" } }]);
    expect(takeContractViolations()).toEqual([expect.stringMatching(/^pipefy: operation Cannot query field "filterDate" on type "DailyAPIUsage"/)]);
  });

  it("answers the documents' sample key apiUsageStatsGroupedBy like apiUsageStats, and the daily rows newest first with only date and metric", async () => {
    const res = await postRaw({
      query: `query q($uuid: ID!) {
        apiUsageStatsGroupedBy(organizationUuid: $uuid, period: last_month) { data { dimension metric __typename } __typename }
        apiUsageStatsDaily(organizationUuid: $uuid, period: last_month) { data { date metric } }
      }`,
      variables: { uuid: PIPEFY_DEMO_ORGANIZATION.uuid },
    });

    expect(res.body).toEqual({
      data: {
        apiUsageStatsGroupedBy: {
          data: [{ dimension: "Counter", metric: sumDays(FEBRUARY.from, FEBRUARY.to), __typename: "MetricItem" }],
          __typename: "APIUsageSummary",
        },
        apiUsageStatsDaily: {
          data: eachDay(FEBRUARY.from, FEBRUARY.to)
            .reverse()
            .map((date) => ({ date, metric: emulator.dailyTotal(date) })),
        },
      },
    });
  });
});

describe("Pipefy provider: daily totals", () => {
  it("asks for a period's daily totals and its window, total and quota in one POST that the contract allows", async () => {
    const result = await fetchOnce(query(FEBRUARY.from, FEBRUARY.to));

    const [post, ...others] = calls("apiUsageDailyWithWindow");
    expect(others).toHaveLength(0);
    const { query: text, variables } = post!.body as { query: string; variables: Record<string, unknown> };
    expect(validate(pipefyContractSchema(), parse(text))).toEqual([]);
    expect(print(parse(text))).toBe(
      print(
        parse(`query apiUsageDailyWithWindow($organizationUuid: ID!, $period: PeriodFilter!) {
          daily: apiUsageStatsDaily(organizationUuid: $organizationUuid, period: $period) { data { date metric } }
          total: apiUsageStats(organizationUuid: $organizationUuid, period: $period, dimension: null) { data { dimension metric } filterDate { from to } limit }
        }`),
      ),
    );
    expect(variables).toEqual({ organizationUuid: PIPEFY_DEMO_ORGANIZATION.uuid, period: "last_month" });
    expect(emulator.requests.map((r) => (r.body as { operationName: string }).operationName)).toEqual(["organizationUuid", "apiUsageDailyWithWindow"]);
    expect(result.observations.map((o) => [o.start, o.value])).toEqual(eachDay(FEBRUARY.from, FEBRUARY.to).map((d) => [d, emulator.dailyTotal(d)]));
    expect(result.issues).toEqual([]);
  });

  it("reports daily totals that do not add up to the period's Counter row as PARTIAL, keeping Pipefy's days as they are", async () => {
    const provider = await providerWithUuid();
    emulator.inject({ kind: "status", status: 200, body: februaryDailyAnswer(sumDays(FEBRUARY.from, FEBRUARY.to) + 7) }, 1);
    const result = await fetchWith(provider, query(FEBRUARY.from, FEBRUARY.to));

    expect(result.observations.map((o) => [o.start, o.value])).toEqual(eachDay(FEBRUARY.from, FEBRUARY.to).map((d) => [d, emulator.dailyTotal(d)]));
    expect(result.issues).toEqual([{ code: ErrorCode.UPSTREAM_PARTIAL_DATA, message: expect.stringContaining("do not add up to its total") }]);
    expect(result.issues[0]!.message).not.toMatch(/\d{3,}/);
  });

  it("reads an answer without filterDate or limit over the period's calendar window in UTC", async () => {
    emulator.withoutFilterDate = true;
    emulator.quota = null;
    const result = await fetchOnce(query("2026-02-20", "2026-03-05"));

    expect(
      variablesOf("apiUsageDailyWithWindow")
        .map((v) => v.period)
        .sort(),
    ).toEqual(["current_month", "last_month"]);
    expect(result.observations.map((o) => [o.start, o.value])).toEqual(eachDay("2026-02-20", "2026-03-05").map((d) => [d, emulator.dailyTotal(d)]));
    expect(result.issues).toEqual([]);

    const breakdown = await fetchOnce(query(FEBRUARY.from, FEBRUARY.to, { groupBy: ["token"] }));
    expect(breakdown.observations.every((o) => o.start === FEBRUARY.from && o.end === FEBRUARY.to)).toBe(true);
    expect(sumOf(breakdown.observations)).toBe(sumDays(FEBRUARY.from, FEBRUARY.to));
    expect(breakdown.issues).toEqual([]);
  });

  it("reads filterDate ends given as date-times by their first 10 characters", async () => {
    const provider = await providerWithUuid();
    const answer = februaryDailyAnswer(sumDays(FEBRUARY.from, FEBRUARY.to));
    answer.data.total.filterDate = { from: "2026-02-01T00:00:00Z", to: "2026-02-28T23:59:59Z" };
    emulator.inject({ kind: "status", status: 200, body: answer }, 1);
    const result = await fetchWith(provider, query("2026-02-26", "2026-02-28"));

    expect(result.observations.map((o) => [o.start, o.value])).toEqual(eachDay("2026-02-26", "2026-02-28").map((d) => [d, emulator.dailyTotal(d)]));
    expect(result.issues).toEqual([]);
  });

  it("returns the daily totals of a range in the current month, day by day", async () => {
    const result = await fetchOnce(query("2026-03-02", "2026-03-20"));

    const days = eachDay("2026-03-02", TODAY);
    expect(result.observations).toEqual(
      days.map((date) => ({ metric: "pipefy.api_calls", dimensions: {}, start: date, end: date, value: emulator.dailyTotal(date), final: date < TODAY })),
    );
    expect(result.issues).toEqual([]);
    expect(result.finalizedThrough).toBe("2026-03-17");
    expect(variablesOf("apiUsageDailyWithWindow")).toEqual([{ organizationUuid: PIPEFY_DEMO_ORGANIZATION.uuid, period: "current_month" }]);
    expect(emulator.requests.every((r) => r.method === "POST" && r.path === "/graphql" && r.headers.authorization === `Bearer ${PIPEFY_DEMO_TOKEN}`)).toBe(
      true,
    );
  });

  it("asks for the fewest periods that cover a range across months", async () => {
    const result = await fetchOnce(query("2026-02-20", "2026-03-03"));

    expect(
      variablesOf("apiUsageDailyWithWindow")
        .map((v) => v.period)
        .sort(),
    ).toEqual(["current_month", "last_month"]);
    expect(result.observations.map((o) => [o.start, o.value])).toEqual(eachDay("2026-02-20", "2026-03-03").map((d) => [d, emulator.dailyTotal(d)]));
    expect(result.observations.every((o) => o.final)).toBe(true);

    emulator.resetLog();
    await fetchOnce(query("2026-01-05", "2026-02-10"));
    expect(variablesOf("apiUsageDailyWithWindow").map((v) => v.period)).toEqual(["last_3_months"]);
  });

  it("reports days older than every period as out of retention and still returns the days it has", async () => {
    const result = await fetchOnce(query("2025-11-20", "2025-12-03"));

    expect(result.observations.map((o) => o.start)).toEqual(eachDay("2025-12-01", "2025-12-03"));
    expect(sumOf(result.observations)).toBe(sumDays("2025-12-01", "2025-12-03"));
    expect(result.issues).toEqual([{ code: ErrorCode.OUT_OF_RETENTION, message: expect.stringContaining("2025-11-20..2025-11-30") }]);
  });

  it("trusts the window Pipefy reports in filterDate over its own calendar arithmetic", async () => {
    // Here last_3_months runs through today: December is not in any window.
    emulator.lastThreeMonths = "throughToday";
    const result = await fetchOnce(query("2025-12-28", "2026-01-02"));

    expect(variablesOf("apiUsageDailyWithWindow").map((v) => v.period)).toEqual(["last_3_months"]);
    expect(result.observations.map((o) => [o.start, o.value])).toEqual(eachDay("2026-01-01", "2026-01-02").map((d) => [d, emulator.dailyTotal(d)]));
    expect(result.issues).toEqual([{ code: ErrorCode.OUT_OF_RETENTION, message: expect.stringContaining("2025-12-28..2025-12-31") }]);
  });

  it("looks the organization's uuid up once across two fetches", async () => {
    const provider = pipefyModule.create(settings(), providerDeps());
    await provider.fetch(
      query("2026-03-01", "2026-03-05"),
      callContext(20_000, () => NOW),
    );
    await provider.fetch(
      query(FEBRUARY.from, FEBRUARY.to, { groupBy: ["token"] }),
      callContext(20_000, () => NOW),
    );

    expect(variablesOf("organizationUuid")).toEqual([{ id: PIPEFY_DEMO_ORGANIZATION.id }]);
    expect(calls("apiUsageDailyWithWindow")).toHaveLength(1);
    expect(calls("apiUsageStats")).toHaveLength(1);
  });
});

describe("Pipefy provider: breakdowns", () => {
  it("breaks calls down by operation over the period's true window, with an (other) row and PARTIAL issues", async () => {
    const result = await fetchOnce(query("2026-02-10", "2026-02-20", { groupBy: ["operation"] }));

    const all = emulator.breakdown("operation_name", FEBRUARY.from, FEBRUARY.to);
    expect(all.length).toBeGreaterThan(PIPEFY_TOP_N);
    const top = all.slice(0, PIPEFY_TOP_N);
    const other = all.slice(PIPEFY_TOP_N).reduce((s, r) => s + r.metric, 0);
    expect(result.observations).toEqual([
      ...top.map((r) => ({
        metric: "pipefy.api_calls",
        dimensions: { operation: { value: r.dimension, label: r.dimension } },
        start: FEBRUARY.from,
        end: FEBRUARY.to,
        value: r.metric,
        final: true,
      })),
      {
        metric: "pipefy.api_calls",
        dimensions: { operation: { value: "(other)", label: expect.stringContaining("top 10") } },
        start: FEBRUARY.from,
        end: FEBRUARY.to,
        value: other,
        final: true,
      },
    ]);
    expect(sumOf(result.observations)).toBe(sumDays(FEBRUARY.from, FEBRUARY.to));
    expect(result.issues).toEqual([
      { code: ErrorCode.UPSTREAM_PARTIAL_DATA, message: expect.stringContaining("covers 2026-02-01..2026-02-28"), restatable: true },
      { code: ErrorCode.UPSTREAM_PARTIAL_DATA, message: expect.stringContaining(`top 10 operations`), restatable: true },
    ]);
    // Read back from the store, the same observations carry the same issues.
    const q = query("2026-02-10", "2026-02-20", { groupBy: ["operation"] });
    expect(pipefyModule.create(settings(), providerDeps()).restateIssues!(q, result.observations, NOW)).toEqual(result.issues);
    expect(variablesOf("apiUsageStats")).toEqual([{ organizationUuid: PIPEFY_DEMO_ORGANIZATION.uuid, period: "last_month", dimension: "operation_name" }]);
    // The period total comes from the period's daily+window POST, which a daily report shares.
    expect(variablesOf("apiUsageDailyWithWindow")).toEqual([{ organizationUuid: PIPEFY_DEMO_ORGANIZATION.uuid, period: "last_month" }]);
  });

  it("returns an uncapped token breakdown for an exact month as it is, without a total call or issues", async () => {
    const result = await fetchOnce(query(FEBRUARY.from, FEBRUARY.to, { where: [{ key: "token", in: ["HR Integration Bot"] }] }));

    const rows = emulator.breakdown("token", FEBRUARY.from, FEBRUARY.to);
    expect(rows.length).toBeLessThan(PIPEFY_TOP_N);
    expect(result.observations.map((o) => [o.dimensions.token?.value, o.start, o.end, o.value])).toEqual(
      rows.map((r) => [r.dimension, FEBRUARY.from, FEBRUARY.to, r.metric]),
    );
    expect(result.issues).toEqual([]);
    expect(variablesOf("apiUsageStats").map((v) => v.dimension)).toEqual(["token"]);
  });

  it("returns both breakdowns when operation and token are asked, each observation with its own dimension", async () => {
    const result = await fetchOnce(query("2026-03-01", "2026-03-18", { groupBy: ["operation", "token"] }));

    const byOperation = result.observations.filter((o) => o.dimensions.operation);
    const byToken = result.observations.filter((o) => o.dimensions.token);
    expect(byOperation.length + byToken.length).toBe(result.observations.length);
    expect(result.observations.every((o) => Object.keys(o.dimensions).length === 1)).toBe(true);
    expect(sumOf(byOperation)).toBe(sumDays("2026-03-01", TODAY));
    expect(sumOf(byToken)).toBe(sumDays("2026-03-01", TODAY));
    expect(result.observations.every((o) => o.start === "2026-03-01" && o.end === TODAY && !o.final)).toBe(true);
    // The window is the requested range: only the cap makes the source PARTIAL.
    expect(result.issues.map((i) => i.message)).toEqual([expect.stringContaining("top 10 operations")]);
    expect(variablesOf("apiUsageStats").map((v) => v.dimension)).toEqual(["operation_name", "token"]);
    expect(calls("apiUsageDailyWithWindow")).toHaveLength(1);
  });

  it("keeps a breakdown's true window when Pipefy's period is wider than expected", async () => {
    emulator.lastThreeMonths = "throughToday";
    const result = await fetchOnce(query("2026-01-10", "2026-01-20", { groupBy: ["token"] }));

    expect(result.observations.every((o) => o.start === "2026-01-01" && o.end === TODAY && !o.final)).toBe(true);
    expect(sumOf(result.observations)).toBe(sumDays("2026-01-01", TODAY));
    expect(result.issues).toEqual([
      { code: ErrorCode.UPSTREAM_PARTIAL_DATA, message: expect.stringContaining("covers 2026-01-01..2026-03-18"), restatable: true },
    ]);
  });

  it("never counts a call twice when Pipefy's periods overlap", async () => {
    // last_3_months runs through today here, so it holds all of current_month.
    emulator.lastThreeMonths = "throughToday";
    const breakdown = await fetchOnce(query("2026-01-10", "2026-03-05", { groupBy: ["token"] }));
    expect(
      variablesOf("apiUsageStats")
        .map((v) => v.period)
        .sort(),
    ).toEqual(["current_month", "last_3_months"]);
    expect(breakdown.observations.every((o) => o.start === "2026-01-01" && o.end === TODAY)).toBe(true);
    expect(sumOf(breakdown.observations)).toBe(sumDays("2026-01-01", TODAY));

    emulator.resetLog();
    const daily = await fetchOnce(query("2026-01-30", "2026-03-02"));
    expect(
      variablesOf("apiUsageDailyWithWindow")
        .map((v) => v.period)
        .sort(),
    ).toEqual(["current_month", "last_3_months"]);
    expect(daily.observations.map((o) => [o.start, o.value])).toEqual(eachDay("2026-01-30", "2026-03-02").map((d) => [d, emulator.dailyTotal(d)]));
    expect(daily.issues).toEqual([]);
  });

  it("keeps limit as the organization's quota, never as a row cap", async () => {
    // A quota equal to the number of tokens: read as a row cap, it would make the breakdown look capped.
    emulator.quota = PIPEFY_TOKENS.length;
    const summary = await new PipefyDataSource(settings(), providerDeps()).summary(
      PIPEFY_DEMO_ORGANIZATION.uuid,
      "last_month",
      "token",
      0,
      callContext(20_000, () => NOW),
    );
    expect(summary).toEqual({ rows: emulator.breakdown("token", FEBRUARY.from, FEBRUARY.to), window: FEBRUARY, quota: PIPEFY_TOKENS.length });
    expect(summary.rows).toHaveLength(PIPEFY_TOKENS.length);

    emulator.resetLog();
    const result = await fetchOnce(query(FEBRUARY.from, FEBRUARY.to, { groupBy: ["token"] }));
    expect(result.issues).toEqual([]);
    expect(result.observations.some((o) => o.dimensions.token?.value === "(other)")).toBe(false);
    expect(emulator.requests.map((r) => (r.body as { operationName: string }).operationName)).toEqual(["organizationUuid", "apiUsageStats"]);
  });

  it("treats a breakdown of exactly 10 rows as capped whatever limit says, with the exact (other) remainder of the Counter row", async () => {
    const provider = await providerWithUuid();
    const rows = PIPEFY_OPERATIONS.slice(0, PIPEFY_TOP_N).map((dimension, i) => ({ dimension, metric: 100 - i }));
    const listed = rows.reduce((n, r) => n + r.metric, 0);
    emulator.inject({ kind: "status", status: 200, body: { data: { apiUsageStats: { data: rows, filterDate: FEBRUARY, limit: 1_000_000 } } } }, 1);
    emulator.inject({ kind: "status", status: 200, body: februaryDailyAnswer(listed + 42, [{ date: "2026-02-10", metric: listed + 42 }]) }, 1);
    const result = await fetchWith(provider, query(FEBRUARY.from, FEBRUARY.to, { groupBy: ["operation"] }));

    expect(result.observations.map((o) => [o.dimensions.operation?.value, o.value])).toEqual([...rows.map((r) => [r.dimension, r.metric]), ["(other)", 42]]);
    expect(result.issues).toEqual([{ code: ErrorCode.UPSTREAM_PARTIAL_DATA, message: expect.stringContaining("top 10 operations"), restatable: true }]);
    expect(emulator.requests.map((r) => (r.body as { operationName: string }).operationName)).toEqual(["apiUsageStats", "apiUsageDailyWithWindow"]);
  });

  it("reads the answer under the documents' sample key apiUsageStatsGroupedBy when Pipefy answers under it instead of the key selected", async () => {
    const provider = await providerWithUuid();
    const rows = emulator.breakdown("token", FEBRUARY.from, FEBRUARY.to);
    emulator.inject(
      {
        kind: "status",
        status: 200,
        body: { data: { apiUsageStatsGroupedBy: { data: rows, filterDate: FEBRUARY, limit: 5_000 } } },
        offContract: "an answer under the documents' sample key instead of the key selected",
      },
      1,
    );
    const result = await fetchWith(provider, query(FEBRUARY.from, FEBRUARY.to, { groupBy: ["token"] }));

    expect(result.observations.map((o) => [o.dimensions.token?.value, o.start, o.end, o.value])).toEqual(
      rows.map((r) => [r.dimension, FEBRUARY.from, FEBRUARY.to, r.metric]),
    );
    expect(result.issues).toEqual([]);
  });

  it("accepts the vendor document's three sample answers, keyed apiUsageStatsGroupedBy with __typename and without filterDate or limit", async () => {
    const samples = ["pipefy-1.json", "pipefy-2.json", "pipefy-3.json"].map(
      (name) => contractSample(name) as { data: { apiUsageStatsGroupedBy: { data: Array<{ dimension: string; metric: number }> } } },
    );
    const listed = (i: number) => samples[i]!.data.apiUsageStatsGroupedBy.data.map((r) => ({ dimension: r.dimension, metric: r.metric }));
    for (const [i, sample] of samples.entries()) {
      expect(parseSummary(sample, FEBRUARY)).toEqual({ rows: listed(i), window: FEBRUARY, quota: null });
    }
    expect(listed(2)).toEqual([{ dimension: "Counter", metric: 717 }]);

    const provider = await providerWithUuid();
    const offContract = "the vendor document's sample answer, for an operation that selects apiUsageStats with filterDate and limit";
    for (const [i, key] of [
      [0, "operation"],
      [1, "token"],
    ] as const) {
      emulator.inject({ kind: "status", status: 200, body: samples[i], offContract }, 1);
      const result = await fetchWith(provider, query(FEBRUARY.from, FEBRUARY.to, { groupBy: [key] }));
      expect(result.observations.map((o) => [o.dimensions[key]?.value, o.start, o.end, o.value])).toEqual(
        listed(i).map((r) => [r.dimension, FEBRUARY.from, FEBRUARY.to, r.metric]),
      );
      expect(result.issues).toEqual([]);
    }

    // The Counter sample as the period total beside daily rows that add up to it.
    const days = [
      { date: "2026-02-03", metric: 700 },
      { date: "2026-02-01", metric: 17 },
    ];
    const daily = { data: { daily: { data: days }, ...samples[2]!.data } };
    expect(parseDailyWithWindow(daily, FEBRUARY)).toEqual({ days, window: FEBRUARY, total: { rows: listed(2), window: FEBRUARY, quota: null } });
    emulator.inject({ kind: "status", status: 200, body: daily, offContract }, 1);
    const totals = await fetchWith(provider, query("2026-02-01", "2026-02-03"));
    expect(totals.observations.map((o) => [o.start, o.value])).toEqual([
      ["2026-02-01", 17],
      ["2026-02-02", 0],
      ["2026-02-03", 700],
    ]);
    expect(totals.issues).toEqual([]);
  });

  it("returns native records: daily rows, both breakdowns and the period totals", async () => {
    const result = await fetchOnce(query("2026-02-26", "2026-03-02", { records: true }));

    const records = result.records as PipefyApiUsage[];
    expect(records.every((r) => r instanceof PipefyApiUsage)).toBe(true);
    const days = records.filter((r) => r.dimension === "day");
    expect(days.map((r) => [r.key, r.calls])).toEqual(eachDay("2026-02-26", "2026-03-02").map((d) => [d, emulator.dailyTotal(d)]));
    for (const window of [FEBRUARY, { from: "2026-03-01", to: TODAY }]) {
      const inWindow = records.filter((r) => r.start === window.from && r.end === window.to);
      expect(inWindow.filter((r) => r.dimension === "operation").map((r) => ({ dimension: r.key, metric: r.calls }))).toEqual(
        emulator.breakdown("operation_name", window.from, window.to).slice(0, PIPEFY_TOP_N),
      );
      expect(inWindow.filter((r) => r.dimension === "token").map((r) => ({ dimension: r.key, metric: r.calls }))).toEqual(
        emulator.breakdown("token", window.from, window.to),
      );
      expect(inWindow.filter((r) => r.dimension === "total").map((r) => [r.key, r.calls])).toEqual([["Counter", sumDays(window.from, window.to)]]);
    }
    // Per period: one daily+window POST (days, window and total) and one POST per dimension.
    expect(calls("apiUsageDailyWithWindow")).toHaveLength(2);
    expect(calls("apiUsageStats")).toHaveLength(4);
  });
});

describe("Pipefy provider: errors", () => {
  // A refused token, the vendor's error samples, HTTP 429s, 5xx, HTML, hangs and bodies that are
  // not JSON: the shared provider contract suite (test/contract/provider-contract.test.ts).

  it("maps GraphQL errors that arrive with HTTP 200 by their extensions.code", async () => {
    const cases: Array<[string, ErrorCode]> = [
      ["UNAUTHENTICATED", ErrorCode.UPSTREAM_AUTH_FAILED],
      ["UNAUTHORIZED", ErrorCode.UPSTREAM_AUTH_FAILED],
      ["INVALID_ROLE", ErrorCode.UPSTREAM_AUTH_FAILED],
      ["PERMISSION_DENIED", ErrorCode.UPSTREAM_AUTH_FAILED],
      ["BAD_USER_INPUT", ErrorCode.UPSTREAM_BAD_RESPONSE],
      ["NOT_FOUND", ErrorCode.UPSTREAM_BAD_RESPONSE],
      ["SOMETHING_NEW", ErrorCode.UPSTREAM_BAD_RESPONSE],
    ];
    for (const [code, expected] of cases) {
      emulator
        .clearFaults()
        .resetLog()
        .inject({ kind: "status", status: 200, body: { data: null, errors: [{ message: `upstream says ${code}`, extensions: { code } }] } });
      const error = await failure(fetchOnce(query("2026-03-01", "2026-03-05")), PIPEFY_DEMO_TOKEN);
      expect([code, error.code]).toEqual([code, expected]);
      expect(error.message).not.toContain("upstream says");
      expect(emulator.requests).toHaveLength(1);
    }
  });

  it("reports USAGE_LIMIT_EXCEEDED in an HTTP 200 answer as UPSTREAM_RATE_LIMITED", async () => {
    emulator.inject({ kind: "status", status: 200, body: { errors: [{ message: "quota used up", extensions: { code: "USAGE_LIMIT_EXCEEDED" } }] } });
    const error = await failure(fetchOnce(query("2026-03-01", "2026-03-05"), { maxRetries: 0 }), PIPEFY_DEMO_TOKEN);

    expect(error.code).toBe(ErrorCode.UPSTREAM_RATE_LIMITED);
    expect(error.options.vendorCode).toBe("USAGE_LIMIT_EXCEEDED");
    expect(error.message).not.toContain("quota used up");
  });

  it("reports a count that is not a whole number ≥ 0, an entry listed twice or a day listed twice as UPSTREAM_BAD_RESPONSE, not as a number", async () => {
    const row = (dimension: unknown, metric: unknown) => ({ dimension, metric });
    const breakdown = (data: unknown[]) => ({ data: { apiUsageStats: { data, filterDate: FEBRUARY, limit: 50_000 } } });
    const days = (data: unknown[]) => ({ data: { daily: { data }, total: { data: [row("Counter", 10)], filterDate: FEBRUARY, limit: 50_000 } } });
    const cases: Array<[string, "breakdown" | "daily", unknown]> = [
      ["a negative count", "breakdown", breakdown([row("GetCards", -3)])],
      ["a fractional count", "breakdown", breakdown([row("GetCards", 2.5)])],
      ["a count given as a string", "breakdown", breakdown([row("GetCards", "12")])],
      ["an entry listed twice", "breakdown", breakdown([row("GetCards", 5), row("GetCards", 5)])],
      ["a dimension that is not a string", "breakdown", breakdown([row(7, 5)])],
      ["a negative daily count", "daily", days([{ date: "2026-02-01", metric: -10 }])],
      ["a fractional daily count", "daily", days([{ date: "2026-02-01", metric: 0.5 }])],
      [
        "a day listed twice",
        "daily",
        days([
          { date: "2026-02-01", metric: 5 },
          { date: "2026-02-01", metric: 5 },
        ]),
      ],
      ["a daily date that is not yyyy-MM-dd", "daily", days([{ date: "2026-02-01T00:00:00Z", metric: 10 }])],
      [
        "a period total of two rows",
        "daily",
        { data: { daily: { data: [] }, total: { data: [row("Counter", 1), row("Other", 1)], filterDate: FEBRUARY, limit: 1 } } },
      ],
      ["a negative limit", "breakdown", { data: { apiUsageStats: { data: [row("GetCards", 1)], filterDate: FEBRUARY, limit: -1 } } }],
      [
        "a filterDate with one end only",
        "breakdown",
        { data: { apiUsageStats: { data: [row("GetCards", 1)], filterDate: { from: "2026-02-01", to: null }, limit: 1 } } },
      ],
    ];
    for (const [name, kind, body] of cases) {
      const provider = await providerWithUuid();
      emulator.inject({ kind: "status", status: 200, body, offContract: name }, 1);
      const error = await failure(
        fetchWith(provider, query(FEBRUARY.from, FEBRUARY.to, kind === "breakdown" ? { groupBy: ["token"] } : {})),
        PIPEFY_DEMO_TOKEN,
      );
      expect([name, error.code]).toEqual([name, ErrorCode.UPSTREAM_BAD_RESPONSE]);
      expect(error.message).not.toMatch(/GetCards|-3|2\.5|0\.5/);
      expect([name, emulator.requests.map((r) => r.status)]).toEqual([name, [200]]);
    }
  });

  it("reports an organization id Pipefy does not know (RESOURCE_NOT_FOUND) as a bad response", async () => {
    const error = await failure(fetchOnce(query("2026-03-01", "2026-03-05"), { organizationId: "999" }), PIPEFY_DEMO_TOKEN);

    expect(error.code).toBe(ErrorCode.UPSTREAM_BAD_RESPONSE);
    expect(error.options.vendorCode).toBe("RESOURCE_NOT_FOUND");
    expect(emulator.requests.map((r) => r.status)).toEqual([200]);
  });

  it("retries an INTERNAL_SERVER_ERROR that arrives with HTTP 200, then reports UPSTREAM_UNAVAILABLE", async () => {
    emulator.inject({ kind: "status", status: 200, body: { errors: [{ message: "boom", extensions: { code: "INTERNAL_SERVER_ERROR" } }] } });
    const error = await failure(fetchOnce(query("2026-03-01", "2026-03-05"), { maxRetries: 2 }), PIPEFY_DEMO_TOKEN);

    expect(error.code).toBe(ErrorCode.UPSTREAM_UNAVAILABLE);
    expect(emulator.requests).toHaveLength(3);
  });

  it("treats TOO_MANY_REQUESTS in an HTTP 200 answer as rate limiting, and so does the emulator's rate limit", async () => {
    emulator.inject(
      { kind: "status", status: 200, body: { errors: [{ message: "slow down", extensions: { code: "TOO_MANY_REQUESTS" } }] }, headers: { "retry-after": "0" } },
      1,
    );
    const result = await fetchOnce(query("2026-03-01", "2026-03-02"));
    expect(result.observations).toHaveLength(2);
    expect(emulator.requests.map((r) => r.status)).toEqual([200, 200, 200]);

    emulator.resetLog();
    emulator.rateLimit = { requests: 1, windowMs: 60_000, retryAfterSeconds: 7 };
    const error = await failure(fetchOnce(query("2026-03-01", "2026-03-02"), { maxRetries: 0 }), PIPEFY_DEMO_TOKEN);
    expect(error.code).toBe(ErrorCode.UPSTREAM_RATE_LIMITED);
    expect(error.options.retryAfterSeconds).toBe(7);
    expect(emulator.requests.map((r) => r.status)).toEqual([200, 429]);
  });

  it("reports an answer under a key the operation did not select as UPSTREAM_BAD_RESPONSE, not read in its place", async () => {
    // Nor is it read as the documents' sample key.
    const provider = await providerWithUuid();
    emulator.inject({
      kind: "status",
      status: 200,
      body: { data: { usage: { data: [{ dimension: "Counter", metric: 1 }] } } },
      offContract: "an answer under a key the operation did not select",
    });
    const error = await failure(
      provider.fetch(
        query(FEBRUARY.from, FEBRUARY.to, { groupBy: ["token"] }),
        callContext(20_000, () => NOW),
      ),
      PIPEFY_DEMO_TOKEN,
    );
    expect(error.code).toBe(ErrorCode.UPSTREAM_BAD_RESPONSE);
    expect(emulator.requests).toHaveLength(1);
  });

  it("does not ask Pipefy for days after today", async () => {
    const result = await fetchOnce(query(addDays(TODAY, 1), addDays(TODAY, 5)));

    expect(result).toEqual({ observations: [], records: [], issues: [], finalizedThrough: "2026-03-17" });
    expect(emulator.requests).toHaveLength(0);
  });
});
