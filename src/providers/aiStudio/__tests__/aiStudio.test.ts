import { validateSync } from "class-validator";
import { addDays, daysInRange, eachDay, todayIn } from "../../../common/dates";
import { ErrorCode } from "../../../common/errors";
import { restContract } from "../../../contracts/upstream-contracts";
import { takeContractViolations } from "../../../../test/support/contract-violations";
import { startEmulator } from "../../../../test/support/emulators";
import { callContext, failure, providerDeps } from "../../../../test/support/provider-harness";
import type { Observation, ProviderQuery } from "../../provider";
import { aiStudioDemo } from "../aiStudio.demo";
import { AiStudioEmulator } from "../aiStudio.emulator";
import { aiStudioModule } from "../aiStudio.provider";
import { AiStudioUsage } from "../aiStudio.record";
import { AiStudioSettings } from "../aiStudio.settings";
import { COUNT_FIELDS, errorBody, parseUsage } from "../aiStudio.wire";

const API_KEY = "sk-aistudio-test-5f1c9e27b3";
const NOW = Date.parse("2026-03-15T12:00:00Z");
const TODAY = todayIn("UTC", NOW);
const YESTERDAY = addDays(TODAY, -1);
const METRICS = COUNT_FIELDS.map((f) => `aiStudio.${f}`);

let emulator: AiStudioEmulator;
const depsCreated: Array<ReturnType<typeof providerDeps>> = [];

beforeAll(async () => {
  emulator = await startEmulator(AiStudioEmulator, { apiKey: API_KEY, now: () => NOW });
});

beforeEach(() => {
  emulator.clearFaults().resetLog();
  emulator.unheldDays.clear();
});

afterEach(async () => {
  await Promise.all(depsCreated.splice(0).map((d) => d.queues.stop()));
});

function settings(overrides: Partial<AiStudioSettings> = {}): AiStudioSettings {
  return Object.assign(new AiStudioSettings(), { baseUrl: emulator.url, apiKey: API_KEY, timeoutMs: 2_000, maxRetries: 2, ...overrides });
}

function provider(overrides: Partial<AiStudioSettings> = {}, deps = providerDeps()) {
  depsCreated.push(deps);
  return aiStudioModule.create(settings(overrides), deps);
}

function query(from: string, to: string, extra: Partial<ProviderQuery> = {}): ProviderQuery {
  return { range: { from, to }, metrics: METRICS, groupBy: [], where: [], granularity: "DAY", records: false, ...extra };
}

const context = () => callContext(20_000, () => NOW);

/** The ranges the emulator was asked for, in date order. */
function askedRanges(): Array<{ from: string; to: string }> {
  return emulator.requests.map((r) => ({ from: r.query.get("start_date")!, to: r.query.get("end_date")! })).sort((a, b) => (a.from < b.from ? -1 : 1));
}

/** Every asked metric for every day, point by point against the emulator's own numbers. */
function expectMatchesEmulator(observations: Observation[], days: string[], metrics = METRICS): void {
  expect(observations).toHaveLength(days.length * metrics.length);
  const byKey = new Map(observations.map((o) => [`${o.metric}|${o.start}`, o]));
  for (const metric of metrics) {
    const field = metric.slice("aiStudio.".length) as (typeof COUNT_FIELDS)[number];
    for (const date of days) {
      const o = byKey.get(`${metric}|${date}`);
      expect(o).toEqual({ metric, dimensions: {}, start: date, end: date, value: emulator.day(date)[field], final: date <= YESTERDAY });
    }
  }
}

describe("AI Studio provider", () => {
  it("returns all five counters for every day, today included but not final", async () => {
    const from = addDays(TODAY, -9);
    const result = await provider().fetch(query(from, TODAY), context());
    expectMatchesEmulator(result.observations, eachDay(from, TODAY));
    expect(result.finalizedThrough).toBe(YESTERDAY);
    expect(result.issues).toEqual([]);
    expect(result.records).toEqual([]);
    expect(emulator.requests).toHaveLength(1);
    expect(emulator.requests[0]!.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect([...emulator.requests[0]!.query]).toEqual([
      ["start_date", from],
      ["end_date", TODAY],
    ]);
  });

  it("splits a 70-day range into three contiguous calls of at most 31 days and matches every point", async () => {
    const from = addDays(TODAY, -69);
    const days = eachDay(from, TODAY);
    const call = context();
    const result = await provider().fetch(query(from, TODAY), call);

    expect(emulator.requests).toHaveLength(3);
    expect(call.stats.upstreamRequests).toBe(3);
    const ranges = askedRanges();
    expect(ranges[0]!.from).toBe(from);
    expect(ranges[ranges.length - 1]!.to).toBe(TODAY);
    for (const [i, r] of ranges.entries()) {
      expect(daysInRange(r.from, r.to)).toBeGreaterThan(0);
      expect(daysInRange(r.from, r.to)).toBeLessThanOrEqual(31);
      if (i > 0) expect(r.from).toBe(addDays(ranges[i - 1]!.to, 1));
    }
    expectMatchesEmulator(result.observations, days);
    expect(result.issues).toEqual([]);
  });

  it("reports an idle day from the vendor's row of zeros, final once it has ended", async () => {
    const from = addDays(TODAY, -69);
    const idle = eachDay(from, YESTERDAY).filter((d) => emulator.day(d).processor_runs === 0);
    expect(idle.length).toBeGreaterThan(0);
    const result = await provider().fetch(query(from, YESTERDAY), context());
    expect(emulator.requests).toHaveLength(3);
    expect(result.issues).toEqual([]);
    for (const date of idle) {
      const points = result.observations.filter((o) => o.start === date);
      expect(points.map((o) => o.metric).sort()).toEqual([...METRICS].sort());
      expect(points.every((o) => o.value === 0 && o.final)).toBe(true);
    }
  });

  it("reports a day the answer has no row for as missing, not zero, and serves the other days", async () => {
    const from = addDays(TODAY, -9);
    const lost = [addDays(TODAY, -7), addDays(TODAY, -3)];
    lost.forEach((d) => emulator.unheldDays.add(d));
    const result = await provider().fetch(query(from, TODAY), context());

    expect(result.observations.some((o) => lost.includes(o.start))).toBe(false);
    expectMatchesEmulator(
      result.observations,
      eachDay(from, TODAY).filter((d) => !lost.includes(d)),
    );
    expect(result.issues).toEqual([
      { code: ErrorCode.UPSTREAM_PARTIAL_DATA, message: expect.stringContaining(`without a row for 2 of the 10 days of ${from}..${TODAY}`) },
    ]);
    expect(result.issues[0]!.message).toContain("missing, not 0");
  });

  it("clips a range reaching into the future to today without an extra request", async () => {
    const from = addDays(TODAY, -30);
    const result = await provider().fetch(query(from, addDays(TODAY, 20)), context());
    expect(emulator.requests).toHaveLength(1);
    expect(askedRanges()).toEqual([{ from, to: TODAY }]);
    expectMatchesEmulator(result.observations, eachDay(from, TODAY));
  });

  it("asks nothing for a range that starts after today", async () => {
    const result = await provider().fetch(query(addDays(TODAY, 1), addDays(TODAY, 5)), context());
    expect(result).toEqual({ observations: [], records: [], issues: [], finalizedThrough: YESTERDAY });
    expect(emulator.requests).toHaveLength(0);
  });

  it("returns only the metrics that were asked for", async () => {
    const from = addDays(TODAY, -5);
    const metrics = ["aiStudio.failed", "aiStudio.parsed_pages"];
    const result = await provider().fetch(query(from, YESTERDAY, { metrics }), context());
    expectMatchesEmulator(result.observations, eachDay(from, YESTERDAY), metrics);
  });

  it("returns the vendor's rows as AiStudioUsage records when records are asked for", async () => {
    const from = addDays(TODAY, -40);
    const result = await provider().fetch(query(from, YESTERDAY, { records: true }), context());
    const expected = eachDay(from, YESTERDAY).map((date) => ({ date, ...emulator.day(date) }));
    expect(expected.some((d) => d.processor_runs === 0)).toBe(true);
    expect(result.records).toHaveLength(expected.length);
    result.records.forEach((record, i) => {
      const d = expected[i]!;
      expect(record).toBeInstanceOf(AiStudioUsage);
      expect(record).toEqual(
        AiStudioUsage.of({
          date: d.date,
          parsedPages: d.parsed_pages,
          processorRuns: d.processor_runs,
          processedDocuments: d.processed_documents,
          completed: d.completed,
          failed: d.failed,
        }),
      );
    });
  });

  it("serves a repeated final range from the cache", async () => {
    const deps = providerDeps();
    const p = provider({}, deps);
    const from = addDays(TODAY, -20);
    await p.fetch(query(from, YESTERDAY), context());
    const again = context();
    const result = await p.fetch(query(from, YESTERDAY), again);
    expect(emulator.requests).toHaveLength(1);
    expect(again.stats).toEqual({ upstreamRequests: 0, cachedResponses: 1, expiresAt: expect.any(Number) });
    expectMatchesEmulator(result.observations, eachDay(from, YESTERDAY));
  });
});

describe("AI Studio failures", () => {
  // Refused keys, the error samples, 429s, 5xx, hangs and bodies that are not JSON: the shared
  // provider contract suite (test/contract/provider-contract.test.ts).

  it("serves the daily rows of an answer whose totals disagree with them, and reports the source PARTIAL", async () => {
    const range = { from: addDays(TODAY, -3), to: YESTERDAY };
    const body = emulator.answer(range);
    body.totals.completed += 1;
    emulator.inject({ kind: "status", status: 200, body }, 1);
    const result = await provider().fetch(query(range.from, range.to), context());

    expect(emulator.requests).toHaveLength(1);
    expectMatchesEmulator(result.observations, eachDay(range.from, range.to));
    expect(result.issues).toEqual([
      {
        code: ErrorCode.UPSTREAM_PARTIAL_DATA,
        message: `AI Studio's totals for ${range.from}..${range.to} disagree with its daily rows: the daily rows are the numbers served`,
      },
    ]);
  });

  it("accepts totals that name only some of the counters, and checks only those", async () => {
    const range = { from: addDays(TODAY, -3), to: YESTERDAY };
    const body = emulator.answer(range);
    const totals: Partial<typeof body.totals> = { ...body.totals };
    delete totals.parsed_pages;
    delete totals.failed;
    emulator.inject({ kind: "status", status: 200, body: { ...body, totals } }, 1);
    const result = await provider().fetch(query(range.from, range.to), context());
    expectMatchesEmulator(result.observations, eachDay(range.from, range.to));
    expect(result.issues).toEqual([]);
  });

  it("serves the asked days of an answer whose period is wider than the range asked", async () => {
    const range = { from: addDays(TODAY, -3), to: YESTERDAY };
    emulator.inject({ kind: "status", status: 200, body: emulator.answer({ from: addDays(range.from, -1), to: TODAY }) }, 1);
    const result = await provider().fetch(query(range.from, range.to), context());
    expectMatchesEmulator(result.observations, eachDay(range.from, range.to));
    expect(result.issues).toEqual([]);
  });

  it("reports the asked days an answer with a narrower period has no row for as missing, not zero", async () => {
    const range = { from: addDays(TODAY, -3), to: YESTERDAY };
    emulator.inject({ kind: "status", status: 200, body: emulator.answer({ from: addDays(range.from, 1), to: range.to }) }, 1);
    const result = await provider().fetch(query(range.from, range.to), context());
    expectMatchesEmulator(result.observations, eachDay(addDays(range.from, 1), range.to));
    expect(result.issues).toHaveLength(1);
    expect(result.issues[0]).toMatchObject({ code: ErrorCode.UPSTREAM_PARTIAL_DATA, message: expect.stringContaining("without a row for 1 of the 3 days") });
  });

  it("ignores fields the contract does not name, in the body, its period, totals and rows", async () => {
    const range = { from: addDays(TODAY, -3), to: YESTERDAY };
    const body = emulator.answer(range);
    const extended = {
      ...body,
      currency: "credits",
      period: { ...body.period, time_zone: "UTC" },
      totals: { ...body.totals, api_calls: 12 },
      daily: body.daily.map((r) => ({ ...r, api_calls: 4, note: null })),
    };
    emulator.inject({ kind: "status", status: 200, body: extended }, 1);
    const result = await provider().fetch(query(range.from, range.to), context());
    expectMatchesEmulator(result.observations, eachDay(range.from, range.to));
    expect(result.issues).toEqual([]);
  });

  it.each([
    ["a negative count", (r: Record<string, unknown>) => ({ ...r, failed: -7 })],
    ["a fractional count", (r: Record<string, unknown>) => ({ ...r, parsed_pages: 2.5 })],
    ["a count sent as a string", (r: Record<string, unknown>) => ({ ...r, completed: "12" })],
    ["a row without one of the five counters", ({ processed_documents: _dropped, ...r }: Record<string, unknown>) => r],
    ["a date that does not exist", (r: Record<string, unknown>) => ({ ...r, date: "2026-02-30" })],
    ["a date in another format", (r: Record<string, unknown>) => ({ ...r, date: "03/14/2026" })],
  ])("refuses an answer with %s in a daily row as UPSTREAM_BAD_RESPONSE, without the value in its message", async (name, change) => {
    const range = { from: addDays(TODAY, -3), to: YESTERDAY };
    const body = emulator.answer(range);
    const daily = body.daily.map((r, i) => (i === 1 ? change({ ...r }) : r));
    emulator.inject({ kind: "status", status: 200, body: { ...body, daily }, offContract: name }, 1);
    const error = await failure(provider().fetch(query(range.from, range.to), context()), API_KEY);
    expect(error.code).toBe(ErrorCode.UPSTREAM_BAD_RESPONSE);
    for (const value of ["-7", "2.5", '"12"', "2026-02-30", "03/14/2026"]) expect(error.message).not.toContain(value);
  });

  it("refuses an answer with two rows for one date as UPSTREAM_BAD_RESPONSE rather than adding them up", async () => {
    const range = { from: addDays(TODAY, -3), to: YESTERDAY };
    const body = emulator.answer(range);
    const twice = { ...body, daily: [...body.daily, body.daily[0]!] };
    emulator.inject({ kind: "status", status: 200, body: twice, offContract: "a repeated date (the contract has one row per day)" }, 1);
    const error = await failure(provider().fetch(query(range.from, range.to), context()), API_KEY);
    expect(error.code).toBe(ErrorCode.UPSTREAM_BAD_RESPONSE);
    expect(error.message).toContain("two daily rows for one date");
    expect(error.message).not.toContain(range.from);
  });

  it("refuses an answer without period, totals or daily as UPSTREAM_BAD_RESPONSE", async () => {
    const range = { from: addDays(TODAY, -3), to: YESTERDAY };
    for (const key of ["period", "totals", "daily"] as const) {
      const { [key]: _dropped, ...body } = emulator.answer(range);
      emulator.inject({ kind: "status", status: 200, body, offContract: `no ${key}` }, 1);
      const error = await failure(provider().fetch(query(range.from, range.to), context()), API_KEY);
      expect(error.code).toBe(ErrorCode.UPSTREAM_BAD_RESPONSE);
      expect(error.message).toContain(key);
    }
  });

  it("returns the chunks that answered and a PARTIAL issue for the one that kept failing", async () => {
    const from = addDays(YESTERDAY, -39);
    const first = { from, to: addDays(from, 30) };
    // One call at a time, so the chunks reach the emulator in date order.
    const p = provider({ maxRetries: 2, rateLimit: { maxConcurrent: 1 } });
    emulator.inject({ kind: "status", status: 200, body: emulator.answer(first) }, 1);
    emulator.inject({ kind: "status", status: 503, body: errorBody("unavailable", "Service unavailable.") }, 3);

    const result = await p.fetch(query(from, YESTERDAY), context());
    expect(askedRanges()[0]).toEqual(first);
    expect(emulator.requests.map((r) => r.status)).toEqual([200, 503, 503, 503]);
    expectMatchesEmulator(result.observations, eachDay(first.from, first.to));
    expect(result.issues).toHaveLength(1);
    expect(result.issues[0]!.code).toBe(ErrorCode.UPSTREAM_UNAVAILABLE);
    expect(result.issues[0]!.message).toContain(`${addDays(first.to, 1)}..${YESTERDAY}`);
    expect(result.issues[0]!.message).not.toContain(API_KEY);
    expect(result.finalizedThrough).toBe(YESTERDAY);
  });

  it("throws the first chunk's error when every chunk fails", async () => {
    emulator.inject({ kind: "status", status: 503, body: errorBody("unavailable", "Service unavailable.") });
    const error = await failure(provider({ maxRetries: 0 }).fetch(query(addDays(YESTERDAY, -39), YESTERDAY), context()), API_KEY);
    expect(error.code).toBe(ErrorCode.UPSTREAM_UNAVAILABLE);
    expect(emulator.requests).toHaveLength(2);
  });
});

describe("AI Studio contract examples", () => {
  const examples = (restContract("aiStudio") as { $defs: { response: { examples: unknown[] } } }).$defs.response.examples;

  it("the parser accepts every example of the contract's response definition", () => {
    expect(examples.length).toBeGreaterThan(0);
    for (const example of examples) expect(() => parseUsage(example)).not.toThrow();
  });

  it("serves the contract's example answer through the datasource as final zeros for its day", async () => {
    const example = examples[0] as { period: { start_date: string; end_date: string } };
    const { start_date: day } = example.period;
    const now = Date.parse(`${addDays(day, 2)}T12:00:00Z`);
    emulator.inject({ kind: "status", status: 200, body: example }, 1);
    const result = await provider().fetch(
      query(day, day),
      callContext(20_000, () => now),
    );
    expect(result.issues).toEqual([]);
    expect(result.observations).toEqual(METRICS.map((metric) => ({ metric, dimensions: {}, start: day, end: day, value: 0, final: true })));
  });
});

describe("AI Studio settings", () => {
  it("accept the demo settings and refuse a section without an apiKey", () => {
    const demo = Object.assign(new AiStudioSettings(), aiStudioDemo.demoSettings(emulator.url));
    expect(validateSync(demo)).toEqual([]);
    const missing = Object.assign(new AiStudioSettings(), { baseUrl: emulator.url });
    expect(validateSync(missing).map((e) => e.property)).toEqual(["apiKey"]);
    expect(aiStudioModule.secretFields).toEqual(["apiKey"]);
  });
});

describe("AI Studio emulator", () => {
  async function get(params: Record<string, string>, key: string | null = API_KEY) {
    const url = `${emulator.url}/v1/usage?${new URLSearchParams(params).toString()}`;
    const res = await fetch(url, { headers: key ? { authorization: `Bearer ${key}` } : {} });
    return { status: res.status, body: (await res.json()) as { error?: { code: string; message: string } } };
  }

  it("answers 401 in its error envelope without a valid bearer key", async () => {
    const res = await get({ start_date: YESTERDAY, end_date: YESTERDAY }, null);
    expect(res.status).toBe(401);
    expect(res.body.error?.code).toEqual(expect.any(String));
  });

  it.each([
    ["a missing end_date", { start_date: YESTERDAY }],
    ["a date that does not exist", { start_date: "2026-02-30", end_date: "2026-03-01" }],
    ["an end before the start", { start_date: YESTERDAY, end_date: addDays(YESTERDAY, -1) }],
    ["a range over 31 days", { start_date: addDays(YESTERDAY, -31), end_date: YESTERDAY }],
    ["a parameter the contract does not have", { start_date: YESTERDAY, end_date: YESTERDAY, granularity: "daily" }],
  ])("answers 400 in its error envelope for %s", async (name, params) => {
    const res = await get(params);
    expect(res.status).toBe(400);
    expect(res.body.error?.code).toEqual(expect.any(String));
    // The request breaks the contract on purpose; the range rule is one a schema cannot state.
    const violations = takeContractViolations();
    if (name === "a range over 31 days" || name === "an end before the start") expect(violations).toEqual([]);
    else expect(violations).toEqual([expect.stringMatching(/^aiStudio: request query /)]);
  });

  it("serves 31 days at once, a row for each day through today and none after, with totals that are the sum of the rows", async () => {
    const res = await get({ start_date: addDays(TODAY, -25), end_date: addDays(TODAY, 5) });
    expect(res.status).toBe(200);
    const body = res.body as unknown as ReturnType<AiStudioEmulator["answer"]>;
    expect(body.period).toEqual({ start_date: addDays(TODAY, -25), end_date: addDays(TODAY, 5) });
    expect(body.daily.map((r) => r.date)).toEqual(eachDay(addDays(TODAY, -25), TODAY));
    for (const f of COUNT_FIELDS) expect(body.totals[f]).toBe(body.daily.reduce((s, r) => s + r[f], 0));
    for (const r of body.daily) expect(r.completed + r.failed).toBe(r.processor_runs);
  });
});
