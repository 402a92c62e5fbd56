import { validateSync } from "class-validator";
import { addDays, eachDay, todayAtOffset } from "../../../common/dates";
import { ErrorCode } from "../../../common/errors";
import { contractSample, restContract } from "../../../contracts/upstream-contracts";
import { startEmulator } from "../../../../test/support/emulators";
import { callContext, failure, providerDeps } from "../../../../test/support/provider-harness";
import { MetricKind, type ProviderDeps, type ProviderQuery } from "../../provider";
import { JIANDAOYUN_CATALOG } from "../jiandaoyun.catalog";
import { jiandaoyunDemo } from "../jiandaoyun.demo";
import { JIANDAOYUN_DEMO_KEY, JiandaoyunEmulator, type JiandaoyunEmulatorOptions } from "../jiandaoyun.emulator";
import { jiandaoyunModule } from "../jiandaoyun.provider";
import { JiandaoyunResourceUsage } from "../jiandaoyun.record";
import { JiandaoyunSettings } from "../jiandaoyun.settings";
import { METRIC_FIELDS, type MetricField } from "../jiandaoyun.wire";

// One clock for the provider and the emulator, so a run that crosses midnight in UTC+8 still agrees.
const NOW = Date.now();
const clock = () => NOW;
const today = todayAtOffset(8, NOW);
const yesterday = addDays(today, -1);
const ALL_METRICS = JIANDAOYUN_CATALOG.metrics.map((m) => m.key);
const PATH = "/api/v1/corp_usage/overview";

/** Each test gets its own emulator (and so its own per-key queue): no pacing carries over. */
function emulator(options: JiandaoyunEmulatorOptions = {}): Promise<JiandaoyunEmulator> {
  return startEmulator(JiandaoyunEmulator, { now: clock, ...options });
}

/**
 * For tests of several days that are not about pacing: the vendor and the client at 20 requests a
 * second rather than the documented 1, so that they do not wait on the vendor's clock. The tests
 * about the pacing itself keep the real rate.
 */
const FAST = 20;
const fastEmulator = (options: JiandaoyunEmulatorOptions = {}) => emulator({ requestsPerSecond: FAST, ...options });
const fastProvider = (em: JiandaoyunEmulator, overrides: Partial<JiandaoyunSettings> = {}) =>
  provider(em, { rateLimit: { requestsPerSecond: FAST }, ...overrides });

function provider(em: JiandaoyunEmulator, overrides: Partial<JiandaoyunSettings> = {}, deps: ProviderDeps = providerDeps()) {
  const settings = Object.assign(new JiandaoyunSettings(), { baseUrl: em.url, apiKey: JIANDAOYUN_DEMO_KEY, timeoutMs: 3_000, maxRetries: 2 }, overrides);
  return jiandaoyunModule.create(settings, deps);
}

function query(from: string, to: string, records = false): ProviderQuery {
  return { range: { from, to }, metrics: ALL_METRICS, groupBy: [], where: [], granularity: "DAY", records };
}

const askedDates = (em: JiandaoyunEmulator) => em.requests.map((r) => (r.body as { date: string }).date);

describe("Jiandaoyun catalog and settings", () => {
  it("lists the eleven documented metrics as dimensionless UTC+8 daily gauges", () => {
    expect(ALL_METRICS).toEqual(METRIC_FIELDS.map((f) => `jiandaoyun.${f}`));
    expect(JIANDAOYUN_CATALOG.metrics.every((m) => m.kind === MetricKind.GAUGE && m.dimensions.length === 0)).toBe(true);
    expect(JIANDAOYUN_CATALOG).toMatchObject({
      resolution: "DAY",
      timeZone: "UTC+8",
      retentionDays: 180,
      finalizationLagDays: 2,
      maxDaysPerCall: 1,
      rateLimit: { requestsPerSecond: 1, maxConcurrent: 1 },
    });
    expect(JIANDAOYUN_CATALOG.notes.some((n) => n.includes("0 if the customer never enabled usage statistics"))).toBe(true);
  });

  it("refuses a settings section without an API key", () => {
    const bad = Object.assign(new JiandaoyunSettings(), { baseUrl: "http://127.0.0.1:1", apiKey: "" });
    expect(validateSync(bad).map((e) => e.property)).toContain("apiKey");
    const good = Object.assign(new JiandaoyunSettings(), jiandaoyunDemo.demoSettings("http://127.0.0.1:1"));
    expect(validateSync(good)).toEqual([]);
  });
});

describe("Jiandaoyun emulator", () => {
  async function post(em: JiandaoyunEmulator, body: unknown, key = JIANDAOYUN_DEMO_KEY) {
    const res = await fetch(em.url + PATH, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  it("refuses a second request within one second with 8304 and counts the violation", async () => {
    const em = await emulator();
    expect((await post(em, { date: yesterday })).status).toBe(200);
    const second = await post(em, { date: yesterday });
    expect(second).toEqual({ status: 400, body: { code: 8304, msg: expect.any(String) } });
    expect(em.violations).toBe(1);
  });

  it("answers yesterday (UTC+8) when date is omitted and refuses dates outside T-180..T-1 with 17017", async () => {
    expect(await post(await emulator(), {})).toEqual({ status: 200, body: { date: yesterday, metrics: expect.any(Object) } });
    expect((await post(await emulator(), { date: today })).body.code).toBe(17017);
    expect((await post(await emulator(), { date: addDays(today, -181) })).body.code).toBe(17017);
    expect((await post(await emulator(), { date: addDays(today, -180) })).status).toBe(200);
    expect(await post(await emulator(), { date: yesterday }, "wrong-key")).toEqual({ status: 400, body: { code: 8301, msg: expect.any(String) } });
  });
});

describe("Jiandaoyun provider", () => {
  it("returns the eleven levels of each day of a 5-day range, point by point, without exceeding 1 request per second", async () => {
    const em = await emulator();
    const from = addDays(today, -5);
    const call = callContext(20_000, clock);
    const result = await provider(em).fetch(query(from, yesterday, true), call);

    const days = eachDay(from, yesterday);
    expect(result.issues).toEqual([]);
    expect(result.finalizedThrough).toBe(addDays(today, -2));
    expect(result.observations).toHaveLength(days.length * METRIC_FIELDS.length);
    for (const date of days) {
      const expected = em.metrics(date);
      for (const field of METRIC_FIELDS) {
        const points = result.observations.filter((o) => o.metric === `jiandaoyun.${field}` && o.start === date);
        expect(points).toEqual([{ metric: `jiandaoyun.${field}`, dimensions: {}, start: date, end: date, value: expected[field], final: date < yesterday }]);
      }
    }
    expect(result.records).toEqual(
      days.map((date) => {
        const m = em.metrics(date);
        return JiandaoyunResourceUsage.of({
          date,
          app: m.app,
          formCoop: m.form_coop,
          formWorkflow: m.form_workflow,
          dash: m.dash,
          etl: m.etl,
          aggregate: m.aggregate,
          publicLink: m.public_link,
          dataTrigger: m.data_trigger,
          automation: m.automation,
          bpa: m.bpa,
          data: m.data,
        });
      }),
    );
    expect(result.records[0]).toBeInstanceOf(JiandaoyunResourceUsage);

    // One POST per day with the documented body and Bearer header, all accepted at the vendor's rate.
    expect(em.requests.map((r) => [r.method, r.path, r.headers.authorization, r.status])).toEqual(
      days.map(() => ["POST", PATH, `Bearer ${JIANDAOYUN_DEMO_KEY}`, 200]),
    );
    expect(askedDates(em).sort()).toEqual(days);
    expect(em.violations).toBe(0);
    expect(call.stats).toEqual({ upstreamRequests: 5, cachedResponses: 0 });
  });

  it("serves a day it already read from the cache without calling Jiandaoyun again", async () => {
    const em = await emulator();
    const p = provider(em);
    const day = addDays(today, -3);
    await p.fetch(query(day, day), callContext(20_000, clock));
    const again = callContext(20_000, clock);
    const result = await p.fetch(query(day, day), again);
    expect(result.observations.map((o) => o.value)).toEqual(METRIC_FIELDS.map((f) => em.metrics(day)[f]));
    // The cache entry's expiry: a report made of this answer lives no longer.
    expect(again.stats).toEqual({ upstreamRequests: 0, cachedResponses: 1, expiresAt: expect.any(Number) });
    expect(again.stats.expiresAt).toBeGreaterThan(clock());
    expect(em.requests).toHaveLength(1);
  });

  it("keeps two concurrent fetches with the same key under the limit through one shared queue", async () => {
    const em = await emulator();
    const deps = providerDeps();
    const [a, b] = await Promise.all([
      provider(em, {}, deps).fetch(query(addDays(today, -4), addDays(today, -3)), callContext(20_000, clock)),
      provider(em, {}, deps).fetch(query(addDays(today, -2), addDays(today, -2)), callContext(20_000, clock)),
    ]);
    expect(a.issues).toEqual([]);
    expect(b.issues).toEqual([]);
    expect(em.requests.every((r) => r.status === 200)).toBe(true);
    expect(em.requests).toHaveLength(3);
    expect(em.violations).toBe(0);
  });

  it("does not request days after yesterday (UTC+8) and reports them as OUT_OF_RETENTION", async () => {
    const em = await fastEmulator();
    const result = await fastProvider(em).fetch(query(addDays(today, -2), addDays(today, 1)), callContext(20_000, clock));
    expect(askedDates(em).sort()).toEqual([addDays(today, -2), yesterday]);
    expect(result.observations.every((o) => o.start <= yesterday)).toBe(true);
    expect(result.observations).toHaveLength(2 * METRIC_FIELDS.length);
    expect(result.issues).toEqual([
      { code: ErrorCode.OUT_OF_RETENTION, message: `2 days after ${yesterday} are not available yet: Jiandaoyun publishes a day at T-1 (UTC+8)` },
    ]);
    expect(em.violations).toBe(0);
  });

  it("does not request days older than 180 days and reports them as OUT_OF_RETENTION", async () => {
    const em = await emulator();
    const oldest = addDays(today, -180);
    const mixed = await provider(em).fetch(query(addDays(today, -182), oldest), callContext(20_000, clock));
    expect(askedDates(em)).toEqual([oldest]);
    expect(mixed.observations.map((o) => o.start)).toEqual(METRIC_FIELDS.map(() => oldest));
    expect(mixed.issues).toEqual([{ code: ErrorCode.OUT_OF_RETENTION, message: `2 days before ${oldest} are older than Jiandaoyun's 180-day retention` }]);

    em.resetLog();
    const call = callContext(20_000, clock);
    const old = await provider(em).fetch(query(addDays(today, -200), addDays(today, -190)), call);
    expect(old.observations).toEqual([]);
    expect(old.issues.map((i) => i.code)).toEqual([ErrorCode.OUT_OF_RETENTION]);
    expect(call.stats.upstreamRequests).toBe(0);
    expect(em.requests).toHaveLength(0);
  });

  it("counts days in UTC+8: at 01:30 in Shanghai the previous Shanghai day is already available", async () => {
    const at = Date.parse("2026-11-22T17:30:00Z"); // 2026-11-23 01:30 in UTC+8
    const em = await fastEmulator({ now: () => at });
    const result = await fastProvider(em).fetch(
      query("2026-11-21", "2026-11-23"),
      callContext(20_000, () => at),
    );
    expect(askedDates(em).sort()).toEqual(["2026-11-21", "2026-11-22"]);
    expect(result.finalizedThrough).toBe("2026-11-21");
    const app = result.observations.filter((o) => o.metric === "jiandaoyun.app");
    expect(app.map((o) => [o.start, o.value, o.final])).toEqual([
      ["2026-11-21", em.metrics("2026-11-21").app, true],
      ["2026-11-22", em.metrics("2026-11-22").app, false],
    ]);
    expect(result.issues).toEqual([
      { code: ErrorCode.OUT_OF_RETENTION, message: "1 day after 2026-11-22 is not available yet: Jiandaoyun publishes a day at T-1 (UTC+8)" },
    ]);
  });

  it("serves an all-zero day as the vendor gave it but flags it PARTIAL: usage statistics may not be enabled", async () => {
    const em = await emulator({ usageStatsEnabled: false });
    const day = addDays(today, -3);
    const result = await provider(em).fetch(query(day, day), callContext(20_000, clock));
    expect(result.observations).toHaveLength(METRIC_FIELDS.length);
    expect(result.observations.every((o) => o.value === 0 && o.start === day && o.final)).toBe(true);
    expect(result.issues).toEqual([
      {
        code: ErrorCode.UPSTREAM_PARTIAL_DATA,
        message: `Jiandaoyun reported every metric as 0 on 1 day (${day}): usage statistics may not be enabled for the company (Admin Console > Management Tools > Usage Statistics); until it is, the vendor answers 0`,
      },
    ]);
  });

  it("does not flag a day on which only some metrics are 0", async () => {
    const em = await emulator();
    const day = addDays(today, -3);
    em.inject({ kind: "status", status: 200, body: { date: day, metrics: { ...em.metrics(day), bpa: 0, etl: 0 } } }, 1);
    const result = await provider(em).fetch(query(day, day), callContext(20_000, clock));
    expect(result.issues).toEqual([]);
  });

  it("waits and retries when Jiandaoyun answers 8304 (frequency limit), then returns the day", async () => {
    const em = await emulator();
    em.inject({ kind: "status", ...jiandaoyunDemo.errorSamples.rateLimited }, 1);
    const day = addDays(today, -3);
    const call = callContext(20_000, clock);
    const result = await provider(em).fetch(query(day, day), call);
    expect(result.issues).toEqual([]);
    expect(result.observations.map((o) => o.value)).toEqual(METRIC_FIELDS.map((f) => em.metrics(day)[f]));
    expect(em.requests.map((r) => r.status)).toEqual([400, 200]);
    expect(call.stats.upstreamRequests).toBe(2);
  });

  it.each([
    [8301, ErrorCode.UPSTREAM_AUTH_FAILED],
    [17018, ErrorCode.UPSTREAM_AUTH_FAILED],
    [8302, ErrorCode.UPSTREAM_AUTH_FAILED],
    [17017, ErrorCode.UPSTREAM_BAD_RESPONSE],
  ])("maps the vendor error code %i to %s without retrying", async (code, expected) => {
    const em = await emulator();
    em.inject({ kind: "status", status: 400, body: { code, msg: "vendor text that must not be shown" } });
    const day = addDays(today, -3);
    const error = await failure(provider(em).fetch(query(day, day), callContext(20_000, clock)), JIANDAOYUN_DEMO_KEY);
    expect(error.code).toBe(expected);
    expect(error.options.vendorCode).toBe(code);
    expect(error.message).not.toContain("vendor text");
    expect(em.requests).toHaveLength(1);
  });

  it.each([
    [17052, "add this server's public IP address to the key's IP whitelist"],
    [17053, "set the key's app authorization scope to all apps"],
    [17054, "grant the key access to this API, or set its API authorization scope to all APIs"],
  ])("reports the API key restriction %i as UPSTREAM_AUTH_FAILED, saying what to fix, without retrying", async (code, fix) => {
    const em = await emulator();
    em.inject({ kind: "status", status: 400, body: { code, msg: "vendor text that must not be shown" } });
    const day = addDays(today, -3);
    const error = await failure(provider(em).fetch(query(day, day), callContext(20_000, clock)), JIANDAOYUN_DEMO_KEY);
    expect(error.code).toBe(ErrorCode.UPSTREAM_AUTH_FAILED);
    expect(error.options.vendorCode).toBe(code);
    expect(error.message).toContain(`(code ${code}): ${fix} in Open Platform > Key Management > API Key`);
    expect(error.message).not.toContain("vendor text");
    expect(em.requests).toHaveLength(1);
  });

  it("retries an HTTP 429 that carries Retry-After and returns the day", async () => {
    const em = await emulator();
    em.inject({ kind: "status", status: 429, body: { code: 8303, msg: "too frequent" }, headers: { "retry-after": "1" } }, 1);
    const day = addDays(today, -3);
    const result = await provider(em).fetch(query(day, day), callContext(20_000, clock));
    expect(result.observations).toHaveLength(METRIC_FIELDS.length);
    expect(em.requests.map((r) => r.status)).toEqual([429, 200]);
  });

  it("waits at least one second after a frequency limit even when Retry-After says 0", async () => {
    const em = await emulator();
    em.inject({ kind: "status", ...jiandaoyunDemo.errorSamples.rateLimited, headers: { "retry-after": "0" } });
    const day = addDays(today, -3);
    const error = await failure(provider(em, { maxRetries: 0 }).fetch(query(day, day), callContext(20_000, clock)), JIANDAOYUN_DEMO_KEY);
    expect(error.code).toBe(ErrorCode.UPSTREAM_RATE_LIMITED);
    expect(error.options).toMatchObject({ retryAfterSeconds: 1, vendorCode: 8304 });
  });

  it("fails with UPSTREAM_BAD_RESPONSE on a body without a documented metric", async () => {
    const em = await emulator();
    const day = addDays(today, -3);
    const { bpa: _dropped, ...partial } = em.metrics(day);
    em.inject({ kind: "status", status: 200, body: { date: day, metrics: partial }, offContract: "a body without the documented metric bpa" }, 1);
    const error = await failure(provider(em).fetch(query(day, day), callContext(20_000, clock)), JIANDAOYUN_DEMO_KEY);
    expect(error.code).toBe(ErrorCode.UPSTREAM_BAD_RESPONSE);
    expect(error.message).toContain("bpa");
    expect(em.requests).toHaveLength(1);
  });

  it.each([
    ["a negative count", -36],
    ["a fractional count", 2.5],
    ["a count given as a string", "10"],
  ])("fails with UPSTREAM_BAD_RESPONSE on %s, as the contract wants every metric an integer >= 0", async (what, app) => {
    const em = await emulator();
    const day = addDays(today, -3);
    em.inject({ kind: "status", status: 200, body: { date: day, metrics: { ...em.metrics(day), app } }, offContract: what }, 1);
    const error = await failure(provider(em).fetch(query(day, day), callContext(20_000, clock)), JIANDAOYUN_DEMO_KEY);
    expect(error.code).toBe(ErrorCode.UPSTREAM_BAD_RESPONSE);
    expect(error.message).toContain("/metrics/app must be");
    expect(error.message).not.toContain(String(app));
  });

  it("fails with UPSTREAM_BAD_RESPONSE when the answer is for another day than the one asked for", async () => {
    const em = await emulator();
    const day = addDays(today, -3);
    const other = addDays(day, -1);
    em.inject({ kind: "status", status: 200, body: { date: other, metrics: em.metrics(other) } }, 1);
    const error = await failure(provider(em).fetch(query(day, day), callContext(20_000, clock)), JIANDAOYUN_DEMO_KEY);
    expect(error.code).toBe(ErrorCode.UPSTREAM_BAD_RESPONSE);
    expect(error.message).toContain("another day");
  });

  it("ignores metrics the contract does not list", async () => {
    const em = await emulator();
    const day = addDays(today, -3);
    em.inject({ kind: "status", status: 200, body: { date: day, metrics: { ...em.metrics(day), new_metric: -1 }, request_id: "r-1" } }, 1);
    const result = await provider(em).fetch(query(day, day, true), callContext(20_000, clock));
    expect(result.issues).toEqual([]);
    expect(result.observations.map((o) => o.value)).toEqual(METRIC_FIELDS.map((f) => em.metrics(day)[f]));
    expect(Object.keys(result.records[0]!)).not.toContain("new_metric");
  });

  it("accepts the document's sample body and maps the contract's error example to its code", async () => {
    // The sample is for 2026-05-08: read it as of two days later, when that day is published.
    const at = Date.parse("2026-05-10T04:00:00Z");
    const em = await emulator({ now: () => at });
    em.inject({ kind: "status", status: 200, body: contractSample("jiandaoyun-1.json") }, 1);
    const result = await provider(em).fetch(
      query("2026-05-08", "2026-05-08"),
      callContext(20_000, () => at),
    );
    expect(result.issues).toEqual([]);
    expect(Object.fromEntries(result.observations.map((o) => [o.metric, o.value]))).toEqual({
      "jiandaoyun.app": 10,
      "jiandaoyun.form_coop": 120,
      "jiandaoyun.form_workflow": 20,
      "jiandaoyun.dash": 15,
      "jiandaoyun.etl": 5,
      "jiandaoyun.aggregate": 3,
      "jiandaoyun.public_link": 30,
      "jiandaoyun.data_trigger": 8,
      "jiandaoyun.automation": 6,
      "jiandaoyun.bpa": 2,
      "jiandaoyun.data": 50000,
    });

    const defs = (restContract("jiandaoyun") as { $defs: Record<string, { examples?: unknown[] }> }).$defs;
    expect(defs.response!.examples ?? []).toEqual([]);
    for (const body of defs.error!.examples!) {
      em.inject({ kind: "status", status: 400, body }, 1);
      const error = await failure(
        provider(em, { maxRetries: 0 }).fetch(
          query("2026-05-07", "2026-05-07"),
          callContext(20_000, () => at),
        ),
        JIANDAOYUN_DEMO_KEY,
      );
      expect(error.code).toBe(ErrorCode.UPSTREAM_RATE_LIMITED);
    }
  });

  it("sends exactly the contract's request body {date} as JSON with the Bearer key", async () => {
    const em = await emulator();
    const day = addDays(today, -3);
    await provider(em).fetch(query(day, day), callContext(20_000, clock));
    const [r] = em.requests;
    expect([r!.method, r!.path, r!.headers.authorization, r!.headers["content-type"]]).toEqual([
      "POST",
      PATH,
      `Bearer ${JIANDAOYUN_DEMO_KEY}`,
      "application/json",
    ]);
    expect(r!.rawBody).toBe(JSON.stringify({ date: day }));
    expect(r!.rawQuery).toBe("");
  });

  it("returns the days that were read and a PARTIAL issue naming the day that failed", async () => {
    const em = await fastEmulator();
    em.inject({ kind: "status", status: 503, body: { code: 503, msg: "busy" } }, 1);
    const from = addDays(today, -4);
    const to = addDays(today, -2);
    const result = await fastProvider(em, { maxRetries: 0 }).fetch(query(from, to), callContext(20_000, clock));

    const failedDay = (em.requests.find((r) => r.status === 503)!.body as { date: string }).date;
    const readDays = eachDay(from, to).filter((d) => d !== failedDay);
    expect(em.requests).toHaveLength(3);
    expect([...new Set(result.observations.map((o) => o.start))].sort()).toEqual(readDays);
    for (const o of result.observations) expect(o.value).toBe(em.metrics(o.start)[o.metric.slice("jiandaoyun.".length) as MetricField]);
    expect(result.issues).toHaveLength(1);
    expect(result.issues[0]!.code).toBe(ErrorCode.UPSTREAM_UNAVAILABLE);
    expect(result.issues[0]!.message).toContain(`1 of 3 days could not be read (${failedDay})`);
    expect(result.issues[0]!.message).not.toContain(JIANDAOYUN_DEMO_KEY);
  });

  it("emits only the metrics asked for", async () => {
    const em = await emulator();
    const day = addDays(today, -3);
    const result = await provider(em).fetch({ ...query(day, day), metrics: ["jiandaoyun.data"] }, callContext(20_000, clock));
    expect(result.observations).toEqual([{ metric: "jiandaoyun.data", dimensions: {}, start: day, end: day, value: em.metrics(day).data, final: true }]);
  });
});
