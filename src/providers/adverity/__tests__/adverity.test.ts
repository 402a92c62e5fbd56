import { addDays, eachDay, monthEnd, monthStart, todayIn, type CalendarDate, type DateRange } from "../../../common/dates";
import { ErrorCode, UpstreamError } from "../../../common/errors";
import { callContext, providerDeps } from "../../../../test/support/provider-harness";
import type { Observation, ProviderQuery } from "../../provider";
import { ADVERITY_WORKSPACES, AdverityEmulator } from "../adverity.emulator";
import { NO_DATASTREAM, TOTAL_ROWS, UNIQUE_ROWS } from "../adverity.normalize";
import { adverityModule } from "../adverity.provider";
import { AdveritySettings } from "../adverity.settings";
import type { AdverityUsageItem } from "../adverity.wire";

const KEY = "adv-user-key-5b1e0c77d3";
const UI_KEY = "adv-ui-key-a94f2e0b61";
const [WS_A, WS_B, WS_C] = ADVERITY_WORKSPACES as [typeof ADVERITY_WORKSPACES[0], typeof ADVERITY_WORKSPACES[0], typeof ADVERITY_WORKSPACES[0]];
const FIELDS = [
  [UNIQUE_ROWS, "unique_rows"],
  [TOTAL_ROWS, "total_rows"],
] as const;

let emulator: AdverityEmulator;

beforeAll(async () => {
  emulator = await new AdverityEmulator({ tokenKeys: [KEY], bearerKeys: [UI_KEY] }).start();
});

afterAll(async () => {
  await emulator.stop();
});

beforeEach(() => {
  emulator.clearFaults().resetLog();
  emulator.latencyMs = 0;
  emulator.countSkew = 0;
  emulator.concurrencyViolations = 0;
});

const yesterday = (): CalendarDate => addDays(todayIn("UTC"), -1);
const lastDays = (n: number): DateRange => ({ from: addDays(yesterday(), 1 - n), to: yesterday() });

function provider(overrides: Partial<AdveritySettings> = {}) {
  const settings = Object.assign(new AdveritySettings(), { baseUrl: emulator.url, apiKey: KEY, maxRetries: 2, timeoutMs: 2_000 }, overrides);
  return adverityModule.create(settings, providerDeps());
}

function query(range: DateRange, overrides: Partial<ProviderQuery> = {}): ProviderQuery {
  return { range, metrics: [UNIQUE_ROWS, TOTAL_ROWS], groupBy: ["workspace", "datastream"], where: [], granularity: "DAY", records: false, ...overrides };
}

async function failure(promise: Promise<unknown>): Promise<UpstreamError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UpstreamError);
  const message = (error as UpstreamError).message;
  for (const secret of [KEY, UI_KEY]) expect(message).not.toContain(secret);
  expect(message).not.toContain("detail");
  return error as UpstreamError;
}

const dsValue = (item: AdverityUsageItem) => item.datastream_id ?? NO_DATASTREAM;

/**
 * Checks observations point by point against the emulator's items: one point per metric, pair seen
 * and period, the item's number or 0 where the pair has no item in that period.
 */
function expectPointByPoint(observations: Observation[], expected: AdverityUsageItem[], periods: DateRange[]): void {
  const pairs = new Map(expected.map((i) => [`${i.workspace_id}|${dsValue(i)}`, i]));
  expect(observations).toHaveLength(pairs.size * periods.length * FIELDS.length);
  const seen = new Map(observations.map((o) => [`${o.metric}|${o.dimensions.workspace?.value}|${o.dimensions.datastream?.value}|${o.start}`, o]));
  for (const pair of pairs.values()) {
    for (const period of periods) {
      const item = expected.find((i) => i.date === period.from && i.workspace_id === pair.workspace_id && i.datastream_id === pair.datastream_id);
      for (const [metric, field] of FIELDS) {
        const obs = seen.get(`${metric}|${pair.workspace_id}|${dsValue(pair)}|${period.from}`);
        expect(obs).toMatchObject({ start: period.from, end: period.to, value: item ? item[field] : 0, final: true });
        expect(obs?.dimensions.workspace).toEqual({ value: pair.workspace_id, label: pair.workspace_name });
      }
    }
  }
}

const days = (range: DateRange): DateRange[] => eachDay(range.from, range.to).map((d) => ({ from: d, to: d }));

describe("Adverity provider", () => {
  it("reads a 30-day range page by page with page_size 100 and matches the emulator point by point", async () => {
    const range = lastDays(30);
    const result = await provider().fetch(query(range), callContext());

    const expected = emulator.rows(range.from, range.to);
    expect(expected.length).toBeGreaterThan(200);
    expect(emulator.requests).toHaveLength(Math.ceil(expected.length / 100));
    emulator.requests.forEach((req, i) => {
      expect(req.path).toBe("/api/v1/usage/");
      expect(Object.fromEntries(req.query)).toEqual({
        granularity: "daily",
        date_from: range.from,
        date_to: range.to,
        page: String(i + 1),
        page_size: "100",
      });
    });
    expectPointByPoint(result.observations, expected, days(range));
    expect(result.finalizedThrough).toBe(yesterday());
    expect(result.issues).toEqual([]);
  });

  it("keeps rows without a datastream as their own (none) bucket and fills absent days with zeros", async () => {
    const range = lastDays(30);
    const { observations } = await provider().fetch(query(range), callContext());

    const none = observations.filter((o) => o.dimensions.datastream?.value === NO_DATASTREAM && o.metric === UNIQUE_ROWS);
    expect(none).toHaveLength(ADVERITY_WORKSPACES.length * 30);
    expect(none[0]?.dimensions.datastream?.label).toBe("not attributed to a datastream");
    const unattributed = emulator.rows(range.from, range.to).filter((i) => i.datastream_id === null);
    expect(none.reduce((s, o) => s + o.value, 0)).toBe(unattributed.reduce((s, i) => s + i.unique_rows, 0));
    // The emulator leaves about half of these buckets out: each is an explicit zero.
    expect(none.filter((o) => o.value === 0)).toHaveLength(ADVERITY_WORKSPACES.length * 30 - unattributed.length);
  });

  it("asks for monthly data when a MONTH report covers whole calendar months", async () => {
    const last = monthStart(addDays(monthStart(todayIn("UTC")), -1));
    const first = monthStart(addDays(last, -1));
    const range = { from: first, to: monthEnd(last) };
    const result = await provider().fetch(query(range, { granularity: "MONTH" }), callContext());

    expect(emulator.requests.length).toBeGreaterThan(0);
    for (const req of emulator.requests) {
      expect(req.query.get("granularity")).toBe("monthly");
      expect([req.query.get("date_from"), req.query.get("date_to")]).toEqual([range.from, range.to]);
    }
    const monthly = emulator.rows(range.from, range.to, "monthly");
    expectPointByPoint(result.observations, monthly, [first, last].map((m) => ({ from: m, to: monthEnd(m) })));
    // Independently: a monthly number is the sum of that month's daily numbers.
    const daily = emulator.rows(range.from, range.to, "daily");
    const point = result.observations.find((o) => o.metric === TOTAL_ROWS && o.start === last && o.dimensions.datastream?.value === NO_DATASTREAM);
    const sum = daily
      .filter((i) => monthStart(i.date) === last && i.workspace_id === point?.dimensions.workspace?.value && i.datastream_id === null)
      .reduce((s, i) => s + i.total_rows, 0);
    expect(point?.value).toBe(sum);
  });

  it("asks for monthly data for a TOTAL over whole months, and daily data when the months are cut", async () => {
    const month = monthStart(addDays(monthStart(todayIn("UTC")), -1));
    await provider().fetch(query({ from: month, to: monthEnd(month) }, { granularity: "TOTAL" }), callContext());
    expect(emulator.requests.every((r) => r.query.get("granularity") === "monthly")).toBe(true);

    emulator.resetLog();
    const cut = { from: addDays(month, 1), to: monthEnd(month) };
    const result = await provider().fetch(query(cut, { granularity: "MONTH" }), callContext());
    expect(emulator.requests.every((r) => r.query.get("granularity") === "daily")).toBe(true);
    expectPointByPoint(result.observations, emulator.rows(cut.from, cut.to), days(cut));
  });

  it("sends the key with the Token scheme by default and with Bearer when the settings say so", async () => {
    const range = lastDays(3);
    await provider().fetch(query(range), callContext());
    expect(emulator.requests[0]?.headers.authorization).toBe(`Token ${KEY}`);

    emulator.resetLog();
    const result = await provider({ apiKey: UI_KEY, authScheme: "Bearer" }).fetch(query(range), callContext());
    expect(emulator.requests[0]?.headers.authorization).toBe(`Bearer ${UI_KEY}`);
    expectPointByPoint(result.observations, emulator.rows(range.from, range.to), days(range));

    const error = await failure(provider({ apiKey: UI_KEY }).fetch(query(range), callContext()));
    expect(error.code).toBe(ErrorCode.UPSTREAM_AUTH_FAILED);
  });

  it("pushes a workspace filter upstream as repeated workspace_id parameters", async () => {
    const range = lastDays(10);
    const ids = [WS_C.id, WS_A.id];
    const result = await provider().fetch(query(range, { where: [{ key: "workspace", in: ids }] }), callContext());

    expect(emulator.requests[0]?.query.getAll("workspace_id")).toEqual([...ids].sort());
    expect(emulator.requests[0]?.query.has("datastream_id")).toBe(false);
    const expected = emulator.rows(range.from, range.to, "daily", { workspaceIds: ids });
    expect(new Set(expected.map((i) => i.workspace_id))).toEqual(new Set(ids));
    expectPointByPoint(result.observations, expected, days(range));
  });

  it("pushes a datastream filter upstream when it names real datastreams only", async () => {
    const range = lastDays(10);
    const ids = [WS_B.datastreams[1]!, WS_A.datastreams[0]!];
    const result = await provider().fetch(query(range, { where: [{ key: "datastream", in: ids }] }), callContext());

    expect(emulator.requests[0]?.query.getAll("datastream_id")).toEqual([...ids].sort());
    expectPointByPoint(result.observations, emulator.rows(range.from, range.to, "daily", { datastreamIds: ids }), days(range));
  });

  it("filters the (none) datastream locally, since datastream_id cannot ask for it", async () => {
    const range = lastDays(10);
    const wanted = [NO_DATASTREAM, WS_B.datastreams[0]!];
    const result = await provider().fetch(query(range, { where: [{ key: "datastream", in: wanted }] }), callContext());

    expect(emulator.requests.every((r) => !r.query.has("datastream_id"))).toBe(true);
    const expected = emulator.rows(range.from, range.to).filter((i) => wanted.includes(dsValue(i)));
    expect(new Set(result.observations.map((o) => o.dimensions.datastream?.value))).toEqual(new Set(wanted));
    expectPointByPoint(result.observations, expected, days(range));
  });

  it("returns nothing for a workspace the vendor does not know, whatever the vendor does with the id", async () => {
    const result = await provider().fetch(query(lastDays(5), { where: [{ key: "workspace", in: ["00000000-0000-4000-8000-000000000000"] }] }), callContext());
    expect(emulator.requests[0]?.query.getAll("workspace_id")).toEqual(["00000000-0000-4000-8000-000000000000"]);
    expect(result.observations).toEqual([]);
  });

  it("never asks for today or later days, and asks nothing when the range starts today", async () => {
    const today = todayIn("UTC");
    const result = await provider().fetch(query({ from: addDays(today, -3), to: addDays(today, 5) }), callContext());
    expect(emulator.requests[0]?.query.get("date_to")).toBe(yesterday());
    expect(result.observations.every((o) => o.end <= yesterday())).toBe(true);
    expect(result.finalizedThrough).toBe(yesterday());

    emulator.resetLog();
    const future = await provider().fetch(query({ from: today, to: addDays(today, 3) }), callContext());
    expect(emulator.requests).toHaveLength(0);
    expect(future).toEqual({ observations: [], records: [], issues: [], finalizedThrough: yesterday() });
  });

  it("returns the vendor's items as native records", async () => {
    const range = lastDays(4);
    const result = await provider().fetch(query(range, { records: true }), callContext());
    expect(result.records).toEqual(
      emulator.rows(range.from, range.to).map((i) => ({
        date: i.date,
        granularity: "daily",
        workspaceId: i.workspace_id,
        workspaceName: i.workspace_name,
        datastreamId: i.datastream_id,
        uniqueRows: i.unique_rows,
        totalRows: i.total_rows,
      })),
    );
  });

  it("keeps one request in flight at a time, even for calls made side by side", async () => {
    emulator.latencyMs = 30;
    const p = provider();
    const ranges = [lastDays(30), lastDays(12), { from: addDays(yesterday(), -40), to: addDays(yesterday(), -31) }];
    const results = await Promise.all(ranges.map((r) => p.fetch(query(r), callContext())));

    expect(results.every((r) => r.observations.length > 0)).toBe(true);
    expect(emulator.concurrencyViolations).toBe(0);
    expect(emulator.requests.every((r) => r.status === 200)).toBe(true);
    // The three ranges touch, so the coalescer asks for their union once: its pages are still
    // several requests, read one after another.
    expect(emulator.requests.length).toBeGreaterThanOrEqual(3);
  });

  it("fails with UPSTREAM_BAD_RESPONSE when the pages do not add up to their count", async () => {
    const range = lastDays(30);
    const pages = Math.ceil(emulator.rows(range.from, range.to).length / 100);
    emulator.countSkew = -5;
    const error = await failure(provider().fetch(query(range), callContext()));
    expect(error.code).toBe(ErrorCode.UPSTREAM_BAD_RESPONSE);
    // Read twice: the second time uncached, in case a cached page was stale.
    expect(emulator.requests).toHaveLength(2 * pages);

    emulator.resetLog();
    emulator.countSkew = 150;
    expect((await failure(provider().fetch(query(range), callContext()))).code).toBe(ErrorCode.UPSTREAM_BAD_RESPONSE);
    expect(emulator.requests.at(-1)?.status).toBe(404);
  });
});

describe("Adverity upstream failures", () => {
  const range = lastDays(5);

  it("maps a refused key to UPSTREAM_AUTH_FAILED without retrying or leaking the key", async () => {
    const error = await failure(provider({ apiKey: "not-a-key-7731" }).fetch(query(range), callContext()));
    expect(error.code).toBe(ErrorCode.UPSTREAM_AUTH_FAILED);
    expect(error.message).not.toContain("not-a-key-7731");
    expect(emulator.requests).toHaveLength(1);
    expect(emulator.requests[0]?.status).toBe(401);

    emulator.resetLog().inject({ kind: "status", status: 403, body: { detail: "You do not have permission to perform this action." } }, 1);
    expect((await failure(provider().fetch(query(range), callContext()))).code).toBe(ErrorCode.UPSTREAM_AUTH_FAILED);
  });

  it("maps the vendor's bad-parameter answer to UPSTREAM_BAD_RESPONSE without retrying", async () => {
    const { status, body } = adverityModule.errorSamples.badParameter;
    emulator.inject({ kind: "status", status, body }, 1);
    const error = await failure(provider().fetch(query(range), callContext()));
    expect(error.code).toBe(ErrorCode.UPSTREAM_BAD_RESPONSE);
    expect(error.message).not.toContain("Enter a valid date");
    expect(emulator.requests).toHaveLength(1);
  });

  it("retries a 429 without Retry-After and then succeeds", async () => {
    const { status, body } = adverityModule.errorSamples.rateLimited;
    emulator.inject({ kind: "status", status, body }, 1);
    const result = await provider().fetch(query(range), callContext());
    expect(emulator.requests.map((r) => r.status)).toEqual([429, 200]);
    expectPointByPoint(result.observations, emulator.rows(range.from, range.to), days(range));
  });

  it("retries a 429 with Retry-After and then succeeds", async () => {
    const { status, body } = adverityModule.errorSamples.rateLimited;
    emulator.inject({ kind: "status", status, body, headers: { "retry-after": "1" } }, 1);
    const result = await provider().fetch(query(range), callContext());
    expect(emulator.requests.map((r) => r.status)).toEqual([429, 200]);
    expect(result.observations.length).toBeGreaterThan(0);
  });

  it("reports UPSTREAM_RATE_LIMITED with retryAfterSeconds when the vendor keeps throttling", async () => {
    const { status, body } = adverityModule.errorSamples.rateLimited;
    emulator.inject({ kind: "status", status, body, headers: { "retry-after": "1" } });
    const error = await failure(provider({ maxRetries: 1 }).fetch(query(range), callContext()));
    expect(error.code).toBe(ErrorCode.UPSTREAM_RATE_LIMITED);
    expect(error.options.retryAfterSeconds).toBe(1);
    expect(emulator.requests).toHaveLength(2);
  });

  it("maps 5xx to UPSTREAM_UNAVAILABLE after its retries", async () => {
    emulator.inject({ kind: "status", status: 503, body: { detail: "Service temporarily unavailable." } });
    const error = await failure(provider({ maxRetries: 2 }).fetch(query(range), callContext()));
    expect(error.code).toBe(ErrorCode.UPSTREAM_UNAVAILABLE);
    expect(emulator.requests).toHaveLength(3);

    emulator.clearFaults().resetLog().inject({ kind: "html" });
    expect((await failure(provider({ maxRetries: 0 }).fetch(query(range), callContext()))).code).toBe(ErrorCode.UPSTREAM_UNAVAILABLE);
  });

  it("maps a hanging vendor to UPSTREAM_TIMEOUT", async () => {
    emulator.inject({ kind: "hang" });
    const error = await failure(provider({ timeoutMs: 200, maxRetries: 0 }).fetch(query(range), callContext()));
    expect(error.code).toBe(ErrorCode.UPSTREAM_TIMEOUT);
    expect(emulator.requests).toHaveLength(1);
  });

  it("maps a malformed body to UPSTREAM_BAD_RESPONSE", async () => {
    emulator.inject({ kind: "malformed" });
    const error = await failure(provider({ maxRetries: 0 }).fetch(query(range), callContext()));
    expect(error.code).toBe(ErrorCode.UPSTREAM_BAD_RESPONSE);

    emulator.clearFaults().inject({ kind: "status", status: 200, body: { count: 1, items: [{ date: range.from, workspace_id: WS_A.id, unique_rows: "12" }] } });
    expect((await failure(provider({ maxRetries: 0 }).fetch(query(range), callContext()))).code).toBe(ErrorCode.UPSTREAM_BAD_RESPONSE);
  });
});

describe("Adverity emulator", () => {
  const get = (params: string, auth = `Token ${KEY}`) =>
    fetch(`${emulator.url}/api/v1/usage/?${params}`, { headers: { authorization: auth } }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));

  it("refuses bad dates, granularities and page sizes with a detail envelope", async () => {
    for (const params of ["date_from=2026-02-30", "date_to=yesterday", "granularity=weekly", "page_size=101", "page_size=0"]) {
      const res = await get(params);
      expect(res.status).toBe(400);
      expect(typeof res.body.detail).toBe("string");
    }
    expect((await get("", `Token ${UI_KEY}`)).status).toBe(401);
    expect((await get("", `Bearer ${UI_KEY}`)).status).toBe(200);
  });

  it("defaults date_from to the first of the month, caps date_to to yesterday and pages with a default of 50", async () => {
    const today = todayIn("UTC");
    const res = await get("");
    expect(res.body.count).toBe(emulator.rows(monthStart(today), yesterday()).length);

    const from = addDays(yesterday(), -9);
    const capped = await get(`date_from=${from}&date_to=${addDays(today, 30)}`);
    const rows = emulator.rows(from, yesterday());
    expect(capped.body).toEqual({ count: rows.length, items: rows.slice(0, 50) });

    const past = await get(`date_from=${from}&page_size=100&page=${Math.ceil(rows.length / 100) + 1}`);
    expect(past).toEqual({ status: 404, body: { detail: "Invalid page." } });
  });

  it("ignores unknown workspace ids and throttles a request that arrives while another is in flight", async () => {
    const from = addDays(yesterday(), -2);
    const withUnknown = await get(`date_from=${from}&workspace_id=${WS_B.id}&workspace_id=00000000-0000-4000-8000-000000000000`);
    expect(withUnknown.body.count).toBe(emulator.rows(from, yesterday(), "daily", { workspaceIds: [WS_B.id] }).length);

    emulator.latencyMs = 50;
    const answers = await Promise.all([get(`date_from=${from}`), new Promise((r) => setTimeout(r, 10)).then(() => get(`date_from=${from}`))]);
    expect(answers.map((a) => a.status)).toEqual([200, 429]);
    expect(answers[1]?.body).toEqual({ detail: "Request was throttled." });
    expect(emulator.concurrencyViolations).toBe(1);
  });
});
