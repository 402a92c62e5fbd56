import { addDays, eachDay, type CalendarDate } from "../../../common/dates";
import { ErrorCode, UpstreamError } from "../../../common/errors";
import { callContext, providerDeps } from "../../../../test/support/provider-harness";
import type { Observation, ProviderQuery, ProviderResult } from "../../provider";
import { PIPEFY_DEMO_ORGANIZATION, PIPEFY_DEMO_TOKEN, PIPEFY_OPERATIONS, PIPEFY_TOKENS, PIPEFY_TOP_N, PipefyEmulator } from "../pipefy.emulator";
import { pipefyModule } from "../pipefy.provider";
import { PipefyApiUsage } from "../pipefy.record";
import { PipefySettings } from "../pipefy.settings";

// A fixed clock shared by the emulator and the provider: 2026-03-18 in UTC.
const NOW = Date.parse("2026-03-18T09:30:00Z");
const TODAY = "2026-03-18";
const FEBRUARY = { from: "2026-02-01", to: "2026-02-28" };

let emulator: PipefyEmulator;

beforeAll(async () => {
  emulator = await new PipefyEmulator({ now: () => NOW }).start();
});

afterAll(async () => {
  await emulator.stop();
});

beforeEach(() => {
  emulator.clearFaults().resetLog();
  emulator.lastThreeMonths = "previous";
  emulator.rateLimit = undefined;
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
  return pipefyModule.create(settings(overrides), providerDeps()).fetch(q, callContext(20_000, () => NOW));
}

async function failure(promise: Promise<unknown>): Promise<UpstreamError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UpstreamError);
  return error as UpstreamError;
}

/** The emulator's log of one GraphQL operation. */
function calls(operationName: string) {
  return emulator.requests.filter((r) => (r.body as { operationName?: string } | undefined)?.operationName === operationName);
}

function variablesOf(operationName: string): Array<Record<string, unknown>> {
  return calls(operationName).map((r) => (r.body as { variables: Record<string, unknown> }).variables);
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
        query: "query q($p: PeriodFilter!) { apiUsageStats(organizationUuid: \"x\", period: $p) { limit } }",
        variables: { p: "last_year" },
      }),
    });
    const body = (await res.json()) as { errors: Array<{ extensions: { code: string } }> };
    expect(res.status).toBe(200);
    expect(body.errors[0]!.extensions.code).toBe("BAD_USER_INPUT");
  });
});

describe("Pipefy provider: daily totals", () => {
  it("returns the daily totals of a range in the current month, day by day", async () => {
    const result = await fetchOnce(query("2026-03-02", "2026-03-20"));

    const days = eachDay("2026-03-02", TODAY);
    expect(result.observations).toEqual(
      days.map((date) => ({ metric: "pipefy.api_calls", dimensions: {}, start: date, end: date, value: emulator.dailyTotal(date), final: date < TODAY })),
    );
    expect(result.issues).toEqual([]);
    expect(result.finalizedThrough).toBe("2026-03-17");
    expect(variablesOf("apiUsageStatsDaily")).toEqual([{ organizationUuid: PIPEFY_DEMO_ORGANIZATION.uuid, period: "current_month" }]);
    expect(emulator.requests.every((r) => r.method === "POST" && r.path === "/graphql" && r.headers.authorization === `Bearer ${PIPEFY_DEMO_TOKEN}`)).toBe(true);
  });

  it("asks for the fewest periods that cover a range across months", async () => {
    const result = await fetchOnce(query("2026-02-20", "2026-03-03"));

    expect(variablesOf("apiUsageStatsDaily").map((v) => v.period).sort()).toEqual(["current_month", "last_month"]);
    expect(result.observations.map((o) => [o.start, o.value])).toEqual(eachDay("2026-02-20", "2026-03-03").map((d) => [d, emulator.dailyTotal(d)]));
    expect(result.observations.every((o) => o.final)).toBe(true);

    emulator.resetLog();
    await fetchOnce(query("2026-01-05", "2026-02-10"));
    expect(variablesOf("apiUsageStatsDaily").map((v) => v.period)).toEqual(["last_3_months"]);
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

    expect(variablesOf("apiUsageStatsDaily").map((v) => v.period)).toEqual(["last_3_months"]);
    expect(result.observations.map((o) => [o.start, o.value])).toEqual(eachDay("2026-01-01", "2026-01-02").map((d) => [d, emulator.dailyTotal(d)]));
    expect(result.issues).toEqual([{ code: ErrorCode.OUT_OF_RETENTION, message: expect.stringContaining("2025-12-28..2025-12-31") }]);
  });

  it("looks the organization's uuid up once across two fetches", async () => {
    const provider = pipefyModule.create(settings(), providerDeps());
    await provider.fetch(query("2026-03-01", "2026-03-05"), callContext(20_000, () => NOW));
    await provider.fetch(query(FEBRUARY.from, FEBRUARY.to, { groupBy: ["token"] }), callContext(20_000, () => NOW));

    expect(variablesOf("organizationUuid")).toEqual([{ id: PIPEFY_DEMO_ORGANIZATION.id }]);
    expect(calls("apiUsageStatsDaily")).toHaveLength(1);
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
      { code: ErrorCode.UPSTREAM_PARTIAL_DATA, message: expect.stringContaining("covers 2026-02-01..2026-02-28") },
      { code: ErrorCode.UPSTREAM_PARTIAL_DATA, message: expect.stringContaining(`top 10 operations`) },
    ]);
    expect(variablesOf("apiUsageStats")).toEqual([
      { organizationUuid: PIPEFY_DEMO_ORGANIZATION.uuid, period: "last_month", dimension: "operation_name" },
      { organizationUuid: PIPEFY_DEMO_ORGANIZATION.uuid, period: "last_month", dimension: null },
    ]);
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
    expect(calls("apiUsageStats")).toHaveLength(3);
  });

  it("keeps a breakdown's true window when Pipefy's period is wider than expected", async () => {
    emulator.lastThreeMonths = "throughToday";
    const result = await fetchOnce(query("2026-01-10", "2026-01-20", { groupBy: ["token"] }));

    expect(result.observations.every((o) => o.start === "2026-01-01" && o.end === TODAY && !o.final)).toBe(true);
    expect(sumOf(result.observations)).toBe(sumDays("2026-01-01", TODAY));
    expect(result.issues).toEqual([{ code: ErrorCode.UPSTREAM_PARTIAL_DATA, message: expect.stringContaining("covers 2026-01-01..2026-03-18") }]);
  });

  it("never counts a call twice when Pipefy's periods overlap", async () => {
    // last_3_months runs through today here, so it holds all of current_month.
    emulator.lastThreeMonths = "throughToday";
    const breakdown = await fetchOnce(query("2026-01-10", "2026-03-05", { groupBy: ["token"] }));
    expect(variablesOf("apiUsageStats").map((v) => v.period).sort()).toEqual(["current_month", "last_3_months"]);
    expect(breakdown.observations.every((o) => o.start === "2026-01-01" && o.end === TODAY)).toBe(true);
    expect(sumOf(breakdown.observations)).toBe(sumDays("2026-01-01", TODAY));

    emulator.resetLog();
    const daily = await fetchOnce(query("2026-01-30", "2026-03-02"));
    expect(variablesOf("apiUsageStatsDaily").map((v) => v.period).sort()).toEqual(["current_month", "last_3_months"]);
    expect(daily.observations.map((o) => [o.start, o.value])).toEqual(eachDay("2026-01-30", "2026-03-02").map((d) => [d, emulator.dailyTotal(d)]));
    expect(daily.issues).toEqual([]);
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
  });
});

describe("Pipefy provider: errors", () => {
  it("maps GraphQL errors that arrive with HTTP 200 by their extensions.code", async () => {
    const cases: Array<[string, ErrorCode]> = [
      ["UNAUTHENTICATED", ErrorCode.UPSTREAM_AUTH_FAILED],
      ["PERMISSION_DENIED", ErrorCode.UPSTREAM_AUTH_FAILED],
      ["BAD_USER_INPUT", ErrorCode.UPSTREAM_BAD_RESPONSE],
      ["NOT_FOUND", ErrorCode.UPSTREAM_BAD_RESPONSE],
      ["SOMETHING_NEW", ErrorCode.UPSTREAM_BAD_RESPONSE],
    ];
    for (const [code, expected] of cases) {
      emulator.clearFaults().resetLog().inject({ kind: "status", status: 200, body: { data: null, errors: [{ message: `upstream says ${code}`, extensions: { code } }] } });
      const error = await failure(fetchOnce(query("2026-03-01", "2026-03-05")));
      expect([code, error.code]).toEqual([code, expected]);
      expect(error.message).not.toContain("upstream says");
      expect(emulator.requests).toHaveLength(1);
    }
  });

  it("reports an organization id Pipefy does not know (RESOURCE_NOT_FOUND) as a bad response", async () => {
    const error = await failure(fetchOnce(query("2026-03-01", "2026-03-05"), { organizationId: "999" }));

    expect(error.code).toBe(ErrorCode.UPSTREAM_BAD_RESPONSE);
    expect(error.options.vendorCode).toBe("RESOURCE_NOT_FOUND");
    expect(emulator.requests.map((r) => r.status)).toEqual([200]);
  });

  it("retries an INTERNAL_SERVER_ERROR that arrives with HTTP 200, then reports UPSTREAM_UNAVAILABLE", async () => {
    emulator.inject({ kind: "status", status: 200, body: { errors: [{ message: "boom", extensions: { code: "INTERNAL_SERVER_ERROR" } }] } });
    const error = await failure(fetchOnce(query("2026-03-01", "2026-03-05"), { maxRetries: 2 }));

    expect(error.code).toBe(ErrorCode.UPSTREAM_UNAVAILABLE);
    expect(emulator.requests).toHaveLength(3);
  });

  it("reports a rejected token (HTTP 401) as UPSTREAM_AUTH_FAILED without the token in the message", async () => {
    const token = "pipefy-secret-token-0f9e8d";
    const error = await failure(fetchOnce(query("2026-03-01", "2026-03-05"), { token }));

    expect(error.code).toBe(ErrorCode.UPSTREAM_AUTH_FAILED);
    expect(error.message).not.toContain(token);
    expect(emulator.requests.map((r) => r.status)).toEqual([401]);
  });

  it("maps the vendor's own error samples to their contract codes", async () => {
    const { authFailure, badParameter, rateLimited } = pipefyModule.errorSamples;
    const cases = [
      [authFailure, ErrorCode.UPSTREAM_AUTH_FAILED],
      [badParameter, ErrorCode.UPSTREAM_BAD_RESPONSE],
      [rateLimited, ErrorCode.UPSTREAM_RATE_LIMITED],
    ] as const;
    for (const [sample, expected] of cases) {
      emulator.clearFaults().resetLog().inject({ kind: "status", status: sample.status, body: sample.body, headers: { "retry-after": "0" } });
      const error = await failure(fetchOnce(query("2026-03-01", "2026-03-05"), { maxRetries: 0 }));
      expect(error.code).toBe(expected);
      expect(error.message).not.toContain(PIPEFY_DEMO_TOKEN);
    }
  });

  it("waits for Retry-After after an HTTP 429 and then succeeds", async () => {
    emulator.inject({ kind: "status", status: 429, body: pipefyModule.errorSamples.rateLimited.body, headers: { "retry-after": "1" } }, 1);
    const result = await fetchOnce(query("2026-03-01", "2026-03-05"));

    expect(result.observations).toHaveLength(5);
    expect(emulator.requests.map((r) => r.status)).toEqual([429, 200, 200]);
  });

  it("retries an HTTP 429 without Retry-After and reports UPSTREAM_RATE_LIMITED when it persists", async () => {
    emulator.inject({ kind: "status", status: 429, body: pipefyModule.errorSamples.rateLimited.body });
    const error = await failure(fetchOnce(query("2026-03-01", "2026-03-05"), { maxRetries: 1 }));

    expect(error.code).toBe(ErrorCode.UPSTREAM_RATE_LIMITED);
    expect(error.options.retryAfterSeconds).toBe(1);
    expect(emulator.requests.map((r) => r.status)).toEqual([429, 429]);
  });

  it("treats TOO_MANY_REQUESTS in an HTTP 200 answer as rate limiting, and so does the emulator's rate limit", async () => {
    emulator.inject({ kind: "status", status: 200, body: { errors: [{ message: "slow down", extensions: { code: "TOO_MANY_REQUESTS" } }] }, headers: { "retry-after": "0" } }, 1);
    const result = await fetchOnce(query("2026-03-01", "2026-03-02"));
    expect(result.observations).toHaveLength(2);
    expect(emulator.requests.map((r) => r.status)).toEqual([200, 200, 200]);

    emulator.resetLog();
    emulator.rateLimit = { requests: 1, windowMs: 60_000, retryAfterSeconds: 7 };
    const error = await failure(fetchOnce(query("2026-03-01", "2026-03-02"), { maxRetries: 0 }));
    expect(error.code).toBe(ErrorCode.UPSTREAM_RATE_LIMITED);
    expect(error.options.retryAfterSeconds).toBe(7);
    expect(emulator.requests.map((r) => r.status)).toEqual([200, 429]);
  });

  it("reports UPSTREAM_UNAVAILABLE after retrying HTTP 5xx answers", async () => {
    emulator.inject({ kind: "html", status: 502 });
    const error = await failure(fetchOnce(query("2026-03-01", "2026-03-05"), { maxRetries: 2 }));

    expect(error.code).toBe(ErrorCode.UPSTREAM_UNAVAILABLE);
    expect(emulator.requests.map((r) => r.status)).toEqual([502, 502, 502]);
  });

  it("reports UPSTREAM_TIMEOUT when Pipefy does not answer in time", async () => {
    emulator.inject({ kind: "hang" });
    const error = await failure(fetchOnce(query("2026-03-01", "2026-03-05"), { timeoutMs: 200, maxRetries: 1 }));

    expect(error.code).toBe(ErrorCode.UPSTREAM_TIMEOUT);
    expect(emulator.requests).toHaveLength(2);
  });

  it("reports a body that is not JSON, or not the documented shape, as UPSTREAM_BAD_RESPONSE", async () => {
    emulator.inject({ kind: "malformed" }, 1);
    expect((await failure(fetchOnce(query("2026-03-01", "2026-03-05")))).code).toBe(ErrorCode.UPSTREAM_BAD_RESPONSE);

    // The documents' sample key is not the field asked for: it is not read in its place.
    const provider = pipefyModule.create(settings(), providerDeps());
    await provider.fetch(query("2026-03-01", "2026-03-01"), callContext(20_000, () => NOW));
    emulator.resetLog().inject({ kind: "status", status: 200, body: { data: { apiUsageStatsGroupedBy: { data: [{ dimension: "Counter", metric: 1 }] } } } });
    const error = await failure(provider.fetch(query(FEBRUARY.from, FEBRUARY.to, { groupBy: ["token"] }), callContext(20_000, () => NOW)));
    expect(error.code).toBe(ErrorCode.UPSTREAM_BAD_RESPONSE);
    expect(emulator.requests).toHaveLength(1);
  });

  it("does not ask Pipefy for days after today", async () => {
    const result = await fetchOnce(query(addDays(TODAY, 1), addDays(TODAY, 5)));

    expect(result).toEqual({ observations: [], records: [], issues: [], finalizedThrough: "2026-03-17" });
    expect(emulator.requests).toHaveLength(0);
  });
});
