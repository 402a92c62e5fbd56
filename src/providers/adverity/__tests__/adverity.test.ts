import { addDays, monthEnd, monthStart, todayIn, type CalendarDate, type DateRange } from "../../../common/dates";
import { ErrorCode } from "../../../common/errors";
import { restContract } from "../../../contracts/upstream-contracts";
import { takeContractViolations } from "../../../../test/support/contract-violations";
import { startEmulator } from "../../../../test/support/emulators";
import { callContext, failure, providerDeps } from "../../../../test/support/provider-harness";
import type { Observation, ProviderQuery } from "../../provider";
import { ADVERITY_WORKSPACES, AdverityEmulator } from "../adverity.emulator";
import { NO_DATASTREAM, TOTAL_ROWS, UNIQUE_ROWS } from "../adverity.normalize";
import { adverityModule } from "../adverity.provider";
import { AdveritySettings } from "../adverity.settings";
import { parseUsagePage, type AdverityUsageItem } from "../adverity.wire";

const KEY = "adv-user-key-5b1e0c77d3";
const UI_KEY = "adv-ui-key-a94f2e0b61";
const [WS_A, WS_B, WS_C] = ADVERITY_WORKSPACES as [(typeof ADVERITY_WORKSPACES)[0], (typeof ADVERITY_WORKSPACES)[0], (typeof ADVERITY_WORKSPACES)[0]];
const FIELDS = [
  [UNIQUE_ROWS, "unique_rows"],
  [TOTAL_ROWS, "total_rows"],
] as const;

let emulator: AdverityEmulator;

beforeAll(async () => {
  emulator = await startEmulator(AdverityEmulator, { tokenKeys: [KEY], bearerKeys: [UI_KEY] });
});

beforeEach(() => {
  emulator.clearFaults().resetLog();
  emulator.latencyMs = 0;
  emulator.countSkew = 0;
  emulator.concurrencyViolations = 0;
  emulator.unlistedDays.clear();
});

const yesterday = (): CalendarDate => addDays(todayIn("UTC"), -1);
const lastDays = (n: number): DateRange => ({ from: addDays(yesterday(), 1 - n), to: yesterday() });

function provider(overrides: Partial<AdveritySettings> = {}, deps = providerDeps()) {
  const settings = Object.assign(new AdveritySettings(), { baseUrl: emulator.url, apiKey: KEY, maxRetries: 2, timeoutMs: 2_000 }, overrides);
  return adverityModule.create(settings, deps);
}

function query(range: DateRange, overrides: Partial<ProviderQuery> = {}): ProviderQuery {
  return { range, metrics: [UNIQUE_ROWS, TOTAL_ROWS], groupBy: ["workspace", "datastream"], where: [], granularity: "DAY", records: false, ...overrides };
}

/** What no failure's message may show: the keys, and the vendor's DRF `detail` envelope. */
const NEVER_SHOWN = [KEY, UI_KEY, "detail"];

const dsValue = (item: AdverityUsageItem) => item.datastream_id ?? NO_DATASTREAM;

/**
 * Checks observations point by point against the emulator's items: one point per metric and item,
 * over the item's period, and none for a bucket the vendor does not list.
 */
function expectPointByPoint(observations: Observation[], expected: AdverityUsageItem[], granularity: "daily" | "monthly" = "daily"): void {
  expect(observations).toHaveLength(expected.length * FIELDS.length);
  const seen = new Map(observations.map((o) => [`${o.metric}|${o.dimensions.workspace?.value}|${o.dimensions.datastream?.value}|${o.start}`, o]));
  for (const item of expected) {
    for (const [metric, field] of FIELDS) {
      const obs = seen.get(`${metric}|${item.workspace_id}|${dsValue(item)}|${item.date}`);
      const end = granularity === "monthly" ? monthEnd(item.date) : item.date;
      expect(obs).toMatchObject({ start: item.date, end, value: item[field], final: true });
      expect(obs?.dimensions.workspace).toEqual({ value: item.workspace_id, label: item.workspace_name });
    }
  }
}

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
    expectPointByPoint(result.observations, expected);
    expect(result.finalizedThrough).toBe(yesterday());
    expect(result.issues).toEqual([]);
  });

  it("keeps rows without a datastream as their own (none) bucket, and gives a bucket the vendor does not list no point rather than a 0", async () => {
    const range = lastDays(30);
    const { observations, issues } = await provider().fetch(query(range), callContext());

    const none = observations.filter((o) => o.dimensions.datastream?.value === NO_DATASTREAM && o.metric === UNIQUE_ROWS);
    const unattributed = emulator.rows(range.from, range.to).filter((i) => i.datastream_id === null);
    // The emulator leaves about half of these buckets out: they have no point at all.
    expect(unattributed.length).toBeLessThan(ADVERITY_WORKSPACES.length * 30);
    expect(none).toHaveLength(unattributed.length);
    expect(none[0]?.dimensions.datastream?.label).toBe("not attributed to a datastream");
    expect(none.reduce((s, o) => s + o.value, 0)).toBe(unattributed.reduce((s, i) => s + i.unique_rows, 0));
    expect(observations.every((o) => o.value > 0)).toBe(true);
    expect(issues).toEqual([]);
  });

  it("reports a day the vendor lists no rows for as missing, not as a final zero", async () => {
    const range = lastDays(10);
    const unlisted = addDays(range.to, -4);
    emulator.unlistedDays.add(unlisted);
    const result = await provider().fetch(query(range), callContext());

    expect(result.observations.some((o) => o.start === unlisted)).toBe(false);
    expectPointByPoint(result.observations, emulator.rows(range.from, range.to));
    expect(result.issues).toEqual([
      {
        code: ErrorCode.UPSTREAM_PARTIAL_DATA,
        message: `Adverity listed no rows for 1 day of ${range.from}..${range.to}: their usage is unknown, reported missing, not 0`,
      },
    ]);
    // The answer was fresh from the vendor: nothing is asked twice.
    expect(emulator.requests).toHaveLength(1);
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
    expectPointByPoint(result.observations, monthly, "monthly");
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
    expectPointByPoint(result.observations, emulator.rows(cut.from, cut.to));
  });

  it("sends the key with the Token scheme by default and with Bearer when the settings say so", async () => {
    const range = lastDays(3);
    await provider().fetch(query(range), callContext());
    expect(emulator.requests[0]?.headers.authorization).toBe(`Token ${KEY}`);

    emulator.resetLog();
    const result = await provider({ apiKey: UI_KEY, authScheme: "Bearer" }).fetch(query(range), callContext());
    expect(emulator.requests[0]?.headers.authorization).toBe(`Bearer ${UI_KEY}`);
    expectPointByPoint(result.observations, emulator.rows(range.from, range.to));

    const error = await failure(provider({ apiKey: UI_KEY }).fetch(query(range), callContext()), ...NEVER_SHOWN);
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
    expectPointByPoint(result.observations, expected);
  });

  it("pushes a datastream filter upstream when it names real datastreams only", async () => {
    const range = lastDays(10);
    const ids = [WS_B.datastreams[1]!, WS_A.datastreams[0]!];
    const result = await provider().fetch(query(range, { where: [{ key: "datastream", in: ids }] }), callContext());

    expect(emulator.requests[0]?.query.getAll("datastream_id")).toEqual([...ids].sort());
    expectPointByPoint(result.observations, emulator.rows(range.from, range.to, "daily", { datastreamIds: ids }));
  });

  it("filters the (none) datastream locally, since datastream_id cannot ask for it", async () => {
    const range = lastDays(10);
    const wanted = [NO_DATASTREAM, WS_B.datastreams[0]!];
    const result = await provider().fetch(query(range, { where: [{ key: "datastream", in: wanted }] }), callContext());

    expect(emulator.requests.every((r) => !r.query.has("datastream_id"))).toBe(true);
    const expected = emulator.rows(range.from, range.to).filter((i) => wanted.includes(dsValue(i)));
    expect(new Set(result.observations.map((o) => o.dimensions.datastream?.value))).toEqual(new Set(wanted));
    expectPointByPoint(result.observations, expected);
  });

  it("returns nothing for a workspace the vendor does not know, whatever the vendor does with the id, and says its days are unknown", async () => {
    const result = await provider().fetch(query(lastDays(5), { where: [{ key: "workspace", in: ["00000000-0000-4000-8000-000000000000"] }] }), callContext());
    expect(emulator.requests[0]?.query.getAll("workspace_id")).toEqual(["00000000-0000-4000-8000-000000000000"]);
    expect(result.observations).toEqual([]);
    expect(result.issues).toEqual([expect.objectContaining({ code: ErrorCode.UPSTREAM_PARTIAL_DATA, message: expect.stringContaining("no rows for 5 days") })]);
  });

  it("judges the days a report holds by its own filter, also when its answer is shared with a wider one", async () => {
    const range = lastDays(10);
    const p = provider();
    const call = callContext();
    // Two reports of one request: their filters are merged into one upstream call.
    const [wide, narrow] = await Promise.all([
      p.fetch(query(range, { where: [{ key: "workspace", in: [WS_A.id, "00000000-0000-4000-8000-000000000000"] }] }), call),
      p.fetch(query(range, { where: [{ key: "workspace", in: ["00000000-0000-4000-8000-000000000000"] }] }), call),
    ]);
    expect(emulator.requests).toHaveLength(1);
    expect(wide.issues).toEqual([]);
    expect(narrow.observations).toEqual([]);
    expect(narrow.issues).toEqual([
      expect.objectContaining({ code: ErrorCode.UPSTREAM_PARTIAL_DATA, message: expect.stringContaining("no rows for 10 days") }),
    ]);
  });

  it("never sends an empty id upstream, and asks nothing for a filter that names only the empty id", async () => {
    const range = lastDays(5);
    const result = await provider().fetch(
      query(range, {
        where: [
          { key: "workspace", in: ["", WS_B.id] },
          { key: "datastream", in: [""] },
        ],
      }),
      callContext(),
    );
    expect(emulator.requests).toHaveLength(0);
    expect(result).toEqual({ observations: [], records: [], issues: [], finalizedThrough: yesterday() });

    const some = await provider().fetch(query(range, { where: [{ key: "workspace", in: ["", WS_B.id] }] }), callContext());
    expect(emulator.requests[0]?.query.getAll("workspace_id")).toEqual([WS_B.id]);
    expectPointByPoint(some.observations, emulator.rows(range.from, range.to, "daily", { workspaceIds: [WS_B.id] }));
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
    const error = await failure(provider().fetch(query(range), callContext()), ...NEVER_SHOWN);
    expect(error.code).toBe(ErrorCode.UPSTREAM_BAD_RESPONSE);
    // Read twice: the second time uncached, in case a cached page was stale.
    expect(emulator.requests).toHaveLength(2 * pages);

    // A count larger than the items: the short last page gives it away, no page past the end is asked.
    emulator.resetLog();
    emulator.countSkew = 150;
    expect((await failure(provider().fetch(query(range), callContext()), ...NEVER_SHOWN)).code).toBe(ErrorCode.UPSTREAM_BAD_RESPONSE);
    expect(emulator.requests).toHaveLength(2 * pages);
    expect(emulator.requests.every((r) => r.status === 200)).toBe(true);
  });

  it("fails with UPSTREAM_BAD_RESPONSE when a later page repeats an item of an earlier one, after reading the pages once more", async () => {
    const range = lastDays(30);
    const rows = emulator.rows(range.from, range.to);
    expect(rows.length).toBeGreaterThan(200);
    const pages = [rows.slice(0, 100), [rows[0]!, ...rows.slice(101, 200)]];
    for (let read = 0; read < 2; read++) {
      for (const items of pages) emulator.inject({ kind: "status", status: 200, body: { count: rows.length, items } }, 1);
    }
    const error = await failure(provider().fetch(query(range), callContext()), ...NEVER_SHOWN);
    expect(error.code).toBe(ErrorCode.UPSTREAM_BAD_RESPONSE);
    // The repeat is seen on page 2: the pages are read once more, uncached, and repeat it again.
    expect(emulator.requests.map((r) => r.query.get("page"))).toEqual(["1", "2", "1", "2"]);
    expect(error.message).not.toContain(rows[0]!.workspace_id);
  });

  it("serves the items of an answer whose page is short of its count, once the pages read again agree", async () => {
    const range = lastDays(30);
    const rows = emulator.rows(range.from, range.to);
    // The first read's second page is stale (one item short); the uncached second read is whole.
    emulator.inject({ kind: "status", status: 200, body: { count: rows.length, items: rows.slice(0, 100) } }, 1);
    emulator.inject({ kind: "status", status: 200, body: { count: rows.length, items: rows.slice(100, 199) } }, 1);
    const result = await provider().fetch(query(range), callContext());
    expect(emulator.requests.map((r) => r.query.get("page"))).toEqual(["1", "2", "1", "2", "3"]);
    expectPointByPoint(result.observations, rows);
    expect(result.issues).toEqual([]);
  });
});

describe("Adverity upstream failures", () => {
  const range = lastDays(5);

  // Refused keys, the vendor's error samples, 429s, 5xx, HTML, hangs and malformed bodies: the
  // shared provider contract suite (test/contract/provider-contract.test.ts).

  it("maps a 403 (the key may not read usage) to UPSTREAM_AUTH_FAILED", async () => {
    emulator.inject({ kind: "status", status: 403, body: { detail: "You do not have permission to perform this action." } }, 1);
    expect((await failure(provider().fetch(query(range), callContext()), ...NEVER_SHOWN)).code).toBe(ErrorCode.UPSTREAM_AUTH_FAILED);
  });

  it("refuses an item with a row count sent as a string and three of its six fields missing as UPSTREAM_BAD_RESPONSE", async () => {
    emulator.inject({
      kind: "status",
      status: 200,
      body: { count: 1, items: [{ date: range.from, workspace_id: WS_A.id, unique_rows: "12" }] },
      offContract: "a row count sent as a string, and an item without three of its six fields",
    });
    expect((await failure(provider({ maxRetries: 0 }).fetch(query(range), callContext()), ...NEVER_SHOWN)).code).toBe(ErrorCode.UPSTREAM_BAD_RESPONSE);
  });

  const item = (overrides: Record<string, unknown> = {}, date = range.from) => ({
    date,
    workspace_id: WS_A.id,
    workspace_name: WS_A.name,
    datastream_id: WS_A.datastreams[0]!,
    unique_rows: 120,
    total_rows: 150,
    ...overrides,
  });
  const without = (field: string) => Object.fromEntries(Object.entries(item()).filter(([k]) => k !== field));

  it.each([
    ["a negative unique_rows", item({ unique_rows: -3 })],
    ["a fractional total_rows", item({ total_rows: 150.5 })],
    ["a null total_rows", item({ total_rows: null })],
    ["an item without workspace_name", without("workspace_name")],
    ["an item without datastream_id (null is not the same as absent)", without("datastream_id")],
    ["an item without date", without("date")],
    ["a date that does not exist", item({ date: "2026-02-30" })],
    ["a date with a time", item({ date: `${range.from}T00:00:00Z` })],
    ["an empty workspace_id", item({ workspace_id: "" })],
  ])("refuses an answer with %s as UPSTREAM_BAD_RESPONSE, without the value in its message", async (name, bad) => {
    emulator.inject({ kind: "status", status: 200, body: { count: 2, items: [item({}, range.to), bad] }, offContract: name }, 1);
    const error = await failure(provider({ maxRetries: 0 }).fetch(query(range), callContext()), ...NEVER_SHOWN);
    expect(error.code).toBe(ErrorCode.UPSTREAM_BAD_RESPONSE);
    for (const value of ["-3", "150.5", "2026-02-30", WS_A.id, WS_A.name]) expect(error.message).not.toContain(value);
    expect(emulator.requests).toHaveLength(1);
  });

  it("refuses a page that lists one bucket twice as UPSTREAM_BAD_RESPONSE rather than adding it up", async () => {
    emulator.inject(
      { kind: "status", status: 200, body: { count: 2, items: [item(), item({ unique_rows: 7, total_rows: 9 })] }, offContract: "a repeated bucket" },
      1,
    );
    const error = await failure(provider({ maxRetries: 0 }).fetch(query(range), callContext()), ...NEVER_SHOWN);
    expect(error.code).toBe(ErrorCode.UPSTREAM_BAD_RESPONSE);
    expect(error.message).toContain("two items for one date, workspace and datastream");
  });

  it("keeps a null and a named datastream of one workspace and day as two buckets", async () => {
    const body = { count: 2, items: [item({ datastream_id: null }), item()] };
    emulator.inject({ kind: "status", status: 200, body }, 1);
    const result = await provider().fetch(query({ from: range.from, to: range.from }), callContext());
    expect(
      result.observations
        .filter((o) => o.metric === UNIQUE_ROWS)
        .map((o) => o.dimensions.datastream?.value)
        .sort(),
    ).toEqual([NO_DATASTREAM, WS_A.datastreams[0]!].sort());
  });

  it("ignores fields the contract does not name, in the page and in its items", async () => {
    const body = { count: 1, next: null, items: [{ ...item(), datastream_name: "Facebook Ads", currency: null }] };
    emulator.inject({ kind: "status", status: 200, body }, 1);
    const result = await provider().fetch(query({ from: range.from, to: range.from }), callContext());
    expect(result.observations.map((o) => [o.metric, o.value])).toEqual([
      [UNIQUE_ROWS, 120],
      [TOTAL_ROWS, 150],
    ]);
    expect(result.issues).toEqual([]);
  });

  it("refuses a monthly item that is not dated the first day of its month as UPSTREAM_BAD_RESPONSE", async () => {
    const month = monthStart(addDays(monthStart(todayIn("UTC")), -1));
    emulator.inject(
      { kind: "status", status: 200, body: { count: 1, items: [item({}, addDays(month, 2))] }, offContract: "a monthly item dated inside its month" },
      1,
    );
    const error = await failure(
      provider({ maxRetries: 0 }).fetch(query({ from: month, to: monthEnd(month) }, { granularity: "MONTH" }), callContext()),
      ...NEVER_SHOWN,
    );
    expect(error.code).toBe(ErrorCode.UPSTREAM_BAD_RESPONSE);
  });
});

describe("Adverity contract examples", () => {
  const defs = (restContract("adverity") as { $defs: Record<string, { examples?: unknown[] }> }).$defs;

  it("the parser accepts every example of the contract's response definition", () => {
    expect(defs.response!.examples!.length).toBeGreaterThan(0);
    for (const example of defs.response!.examples!) expect(() => parseUsagePage(example)).not.toThrow();
  });

  it("serves the contract's empty example answer through the datasource as days it does not hold, not as zeros", async () => {
    const range = lastDays(2);
    emulator.inject({ kind: "status", status: 200, body: defs.response!.examples![0] }, 1);
    const result = await provider().fetch(query(range), callContext());
    expect(result.observations).toEqual([]);
    expect(result.issues).toEqual([expect.objectContaining({ code: ErrorCode.UPSTREAM_PARTIAL_DATA, message: expect.stringContaining("no rows for 2 days") })]);
  });

  it("maps the contract's error example, as a 401, to UPSTREAM_AUTH_FAILED", async () => {
    expect(defs.error!.examples!.length).toBeGreaterThan(0);
    for (const body of defs.error!.examples!) {
      emulator.inject({ kind: "status", status: 401, body }, 1);
      const error = await failure(provider().fetch(query(lastDays(2)), callContext()), ...NEVER_SHOWN);
      expect(error.code).toBe(ErrorCode.UPSTREAM_AUTH_FAILED);
      expect(error.message).not.toContain("Invalid token");
    }
  });
});

describe("Adverity emulator", () => {
  const get = (params: string, auth = `Token ${KEY}`) =>
    fetch(`${emulator.url}/api/v1/usage/?${params}`, { headers: { authorization: auth } }).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as Record<string, unknown>,
    }));

  it("refuses bad dates, granularities and page sizes with a detail envelope", async () => {
    for (const params of ["date_from=2026-02-30", "date_to=yesterday", "granularity=weekly", "page_size=101", "page_size=0"]) {
      const res = await get(params);
      expect(res.status).toBe(400);
      expect(typeof res.body.detail).toBe("string");
      // Each of these requests breaks the contract on purpose.
      expect(takeContractViolations()).toEqual([expect.stringMatching(/^adverity: request query \/(date_from|date_to|granularity|page_size) /)]);
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
