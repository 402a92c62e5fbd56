import { ACEDATA_APIS, type AceDataEmulator } from "../src/providers/acedata/acedata.emulator";
import { ADVERITY_WORKSPACES, type AdverityEmulator } from "../src/providers/adverity/adverity.emulator";
import type { AdverityUsageItem } from "../src/providers/adverity/adverity.wire";
import type { AiStudioEmulator } from "../src/providers/aiStudio/aiStudio.emulator";
import type { CountField } from "../src/providers/aiStudio/aiStudio.wire";
import type { RecordedRequest } from "../src/providers/emulator/emulator-server";
import type { JiandaoyunEmulator } from "../src/providers/jiandaoyun/jiandaoyun.emulator";
import { PIPEFY_OPERATIONS, PIPEFY_TOKENS, type PipefyEmulator } from "../src/providers/pipefy/pipefy.emulator";
import type { MetricField } from "../src/providers/jiandaoyun/jiandaoyun.wire";
import { PROVIDER_MODULES } from "../src/providers/registry";
import {
  dates,
  expectSeries,
  findSeries,
  firstOfMonth,
  GRANULARITIES,
  lastOfMonth,
  rollUpDays,
  shiftDay,
  type DayValue,
  type GranularityName,
  type SeriesJson,
} from "./support/expected";
import { startServer, USAGE_QUERY as USAGE, utcDay, type GraphQLResult, type RunningServer } from "./support/server-harness";

const RECORDS = `query Records($input: RecordsInput!) {
  organization(id: "demo") {
    records(input: $input) {
      __typename
      ... on JiandaoyunResourceUsage { date app formCoop formWorkflow dash etl aggregate publicLink dataTrigger automation bpa data }
      ... on AceDataApiUsage { date apiId apiName apiPath amount }
      ... on AiStudioUsage { date parsedPages processorRuns processedDocuments completed failed }
      ... on AdverityRowUsage { date granularity workspaceId workspaceName datastreamId uniqueRows totalRows }
    }
  }
}`;

interface SourceJson {
  provider: string;
  state: string;
  error: { code: string; message: string; retryAfterSeconds: number | null } | null;
  finalizedThrough: string | null;
  upstreamRequests: number;
  cachedResponses: number;
}

interface UsageJson {
  organization: { usage: { series: SeriesJson[]; sources: SourceJson[] } };
}

/** The eleven documented Jiandaoyun metrics, in the vendor document's order. */
const JIANDAOYUN_FIELDS: readonly MetricField[] = [
  "app",
  "form_coop",
  "form_workflow",
  "dash",
  "etl",
  "aggregate",
  "public_link",
  "data_trigger",
  "automation",
  "bpa",
  "data",
];
const AI_STUDIO_FIELDS: readonly CountField[] = ["parsed_pages", "processor_runs", "processed_documents", "completed", "failed"];
const ADVERITY_FIELDS = ["unique_rows", "total_rows"] as const;

// ---------------------------------------------------------------------------------------------
// Per-day expectations straight from each emulator's data.

/** Jiandaoyun levels of one metric; a day is final when it is on or before T-2 in UTC+8. */
function jiandaoyunDays(e: JiandaoyunEmulator, field: MetricField, from: string, to: string): DayValue[] {
  const finalThrough = shiftDay(e.today(), -2);
  return dates(from, to).map((date) => ({ date, value: e.metrics(date)[field], final: date <= finalThrough }));
}

/** AI Studio counters of one field; every day of the range up to today has a point, today is not final. */
function aiStudioDays(e: AiStudioEmulator, field: CountField, from: string, to: string): DayValue[] {
  const today = utcDay(0);
  return dates(from, to < today ? to : today).map((date) => ({ date, value: e.day(date)[field], final: date < today }));
}

/** Ace Data spend per day, summed over the given APIs (all by default). */
function aceDataDays(e: AceDataEmulator, from: string, to: string, apiIds: readonly string[] = ACEDATA_APIS.map((a) => a.id)): DayValue[] {
  const today = utcDay(0);
  return dates(from, to).map((date) => ({ date, value: apiIds.reduce((s, id) => s + e.amount(date, id), 0), final: date < today }));
}

/**
 * Adverity rows per day of the kept items (the vendor's days are final up to yesterday). A day
 * without a kept item has no point: the vendor does not say it processed no rows.
 */
function adverityDays(
  rows: readonly AdverityUsageItem[],
  field: (typeof ADVERITY_FIELDS)[number],
  from: string,
  to: string,
  keep: (i: AdverityUsageItem) => boolean = () => true,
): DayValue[] {
  return dates(from, to)
    .map((date) => rows.filter((i) => i.date === date && keep(i)))
    .filter((kept) => kept.length > 0)
    .map((kept) => ({ date: kept[0]!.date, value: kept.reduce((s, i) => s + i[field], 0), final: true }));
}

const pairKey = (i: AdverityUsageItem) => `${i.workspace_id}|${i.datastream_id ?? "(none)"}`;

function source(res: GraphQLResult<UsageJson>, provider: string): SourceJson {
  const found = res.body.data!.organization.usage.sources.find((s) => s.provider === provider);
  expect(found).toBeDefined();
  return found!;
}

function okReport(res: GraphQLResult<UsageJson>): { series: SeriesJson[]; sources: SourceJson[] } {
  expect(res.status).toBe(200);
  expect(res.body.errors).toBeUndefined();
  return res.body.data!.organization.usage;
}

describe("providers end to end over HTTP", () => {
  let s: RunningServer;
  let jiandaoyun: JiandaoyunEmulator;
  let acedata: AceDataEmulator;
  let aiStudio: AiStudioEmulator;
  let adverity: AdverityEmulator;
  const usage = (input: Record<string, unknown>) => s.gql<UsageJson>(USAGE, { input });

  beforeAll(async () => {
    s = await startServer();
    jiandaoyun = s.emulator<JiandaoyunEmulator>("jiandaoyun");
    acedata = s.emulator<AceDataEmulator>("acedata");
    aiStudio = s.emulator<AiStudioEmulator>("aiStudio");
    adverity = s.emulator<AdverityEmulator>("adverity");
  });
  afterAll(() => s.stop());
  beforeEach(() => {
    for (const e of [jiandaoyun, acedata, aiStudio, adverity]) e.clearFaults().resetLog();
  });

  describe("Jiandaoyun", () => {
    // Eight UTC days that are before yesterday in UTC+8 whatever the hour: closed, final, and
    // fetched once at the documented 1 request/second, then served from the cache.
    const from = utcDay(-9);
    const to = utcDay(-2);
    let first: GraphQLResult<UsageJson>;
    let firstRequests: RecordedRequest[];

    beforeAll(async () => {
      jiandaoyun.resetLog();
      first = await usage({ from, to, granularity: "DAY", providers: ["JIANDAOYUN"] });
      firstRequests = [...jiandaoyun.requests];
    });

    it("asks for each day of the range once, paced so that the emulator refuses none", () => {
      okReport(first);
      expect(firstRequests.map((r) => (r.body as { date: string }).date).sort()).toEqual(dates(from, to));
      expect(firstRequests.every((r) => r.status === 200)).toBe(true);
      expect(jiandaoyun.violations).toBe(0);
      expect(source(first, "JIANDAOYUN")).toMatchObject({ upstreamRequests: 8, cachedResponses: 0 });
    });

    it.each(GRANULARITIES)("reports each gauge at %s granularity as the level of the last observed day of each bucket", async (granularity) => {
      const res = granularity === "DAY" ? first : await usage({ from, to, granularity, providers: ["JIANDAOYUN"] });
      const { series, sources } = okReport(res);
      expect(sources).toEqual([
        {
          provider: "JIANDAOYUN",
          state: "OK",
          error: null,
          finalizedThrough: shiftDay(jiandaoyun.today(), -2),
          upstreamRequests: granularity === "DAY" ? 8 : 0,
          cachedResponses: granularity === "DAY" ? 0 : 8,
        },
      ]);
      if (granularity !== "DAY") expect(jiandaoyun.requests).toHaveLength(0);
      expect(series.map((x) => x.metric.key)).toEqual(JIANDAOYUN_FIELDS.map((f) => `jiandaoyun.${f}`));
      for (const field of JIANDAOYUN_FIELDS) {
        const one = findSeries(series, `jiandaoyun.${field}`);
        expect(one!.provider).toBe("JIANDAOYUN");
        expect(one!.dimensions).toEqual([]);
        expectSeries(one, rollUpDays(jiandaoyunDays(jiandaoyun, field, from, to), "GAUGE", granularity), "GAUGE");
      }
      expect(jiandaoyun.violations).toBe(0);
    });
  });

  describe("AI Studio", () => {
    // 45 days ending today: more than one 31-day upstream call, and today's point is not final.
    const from = utcDay(-44);
    const to = utcDay(0);
    let first: GraphQLResult<UsageJson>;
    let firstRequests: RecordedRequest[];

    beforeAll(async () => {
      aiStudio.resetLog();
      first = await usage({ from, to, granularity: "DAY", providers: ["AI_STUDIO"] });
      firstRequests = [...aiStudio.requests];
    });

    it("covers a range longer than 31 days with adjacent upstream calls of at most 31 days each", () => {
      okReport(first);
      const ranges = firstRequests.map((r) => [r.query.get("start_date")!, r.query.get("end_date")!] as const).sort((a, b) => (a[0] < b[0] ? -1 : 1));
      expect(ranges.length).toBeGreaterThanOrEqual(2);
      expect(ranges[0]![0]).toBe(from);
      expect(ranges[ranges.length - 1]![1]).toBe(to);
      ranges.forEach(([start, end], i) => {
        expect(dates(start, end).length).toBeLessThanOrEqual(31);
        if (i > 0) expect(start).toBe(shiftDay(ranges[i - 1]![1], 1));
      });
      expect(source(first, "AI_STUDIO")).toMatchObject({ state: "OK", upstreamRequests: ranges.length, cachedResponses: 0 });
    });

    it.each(GRANULARITIES)("matches the emulator's counters point by point at %s granularity", async (granularity) => {
      const res = granularity === "DAY" ? first : await usage({ from, to, granularity, providers: ["AI_STUDIO"] });
      const { series, sources } = okReport(res);
      const calls = firstRequests.length;
      expect(sources).toEqual([
        {
          provider: "AI_STUDIO",
          state: "OK",
          error: null,
          finalizedThrough: utcDay(-1),
          upstreamRequests: granularity === "DAY" ? calls : 0,
          cachedResponses: granularity === "DAY" ? 0 : calls,
        },
      ]);
      expect(series.map((x) => x.metric.key)).toEqual(AI_STUDIO_FIELDS.map((f) => `aiStudio.${f}`));
      for (const field of AI_STUDIO_FIELDS) {
        const one = findSeries(series, `aiStudio.${field}`);
        expect(one!.dimensions).toEqual([]);
        expectSeries(one, rollUpDays(aiStudioDays(aiStudio, field, from, to), "COUNTER", granularity), "COUNTER");
      }
    });
  });

  describe("Adverity", () => {
    // 40 days of about nine buckets each: several pages of at most 100 items.
    const from = utcDay(-40);
    const to = utcDay(-1);
    let first: GraphQLResult<UsageJson>;
    let firstRequests: RecordedRequest[];
    let rows: AdverityUsageItem[];

    beforeAll(async () => {
      adverity.resetLog();
      first = await usage({ from, to, granularity: "DAY", providers: ["ADVERITY"], groupBy: ["workspace", "datastream"] });
      firstRequests = [...adverity.requests];
      rows = adverity.rows(from, to);
    });

    it("reads every page of the range, one request at a time", () => {
      okReport(first);
      const pages = Math.ceil(rows.length / 100);
      expect(pages).toBeGreaterThanOrEqual(2);
      expect(firstRequests.map((r) => r.query.get("page"))).toEqual(Array.from({ length: pages }, (_, i) => String(i + 1)));
      for (const r of firstRequests) {
        expect(r.query.get("granularity")).toBe("daily");
        expect([r.query.get("date_from"), r.query.get("date_to")]).toEqual([from, to]);
        expect(Number(r.query.get("page_size"))).toBeLessThanOrEqual(100);
      }
      expect(adverity.concurrencyViolations).toBe(0);
      expect(source(first, "ADVERITY")).toMatchObject({ state: "OK", upstreamRequests: pages, cachedResponses: 0 });
    });

    it.each(GRANULARITIES)(
      "matches the emulator's rows per workspace and datastream at %s granularity, with unattributed rows in their own (none) bucket",
      async (granularity) => {
        const res = granularity === "DAY" ? first : await usage({ from, to, granularity, providers: ["ADVERITY"], groupBy: ["workspace", "datastream"] });
        const { series, sources } = okReport(res);
        expect(sources).toEqual([expect.objectContaining({ provider: "ADVERITY", state: "OK", error: null, finalizedThrough: utcDay(-1) })]);
        if (granularity !== "DAY") {
          expect(sources[0]).toMatchObject({ upstreamRequests: 0, cachedResponses: firstRequests.length });
          expect(adverity.requests).toHaveLength(0);
        }
        const pairs = new Map(rows.map((i) => [pairKey(i), i]));
        expect([...pairs.values()].some((i) => i.datastream_id === null)).toBe(true);
        expect(series).toHaveLength(2 * pairs.size);
        for (const field of ADVERITY_FIELDS) {
          for (const [key, sample] of pairs) {
            const datastream = sample.datastream_id ?? "(none)";
            const one = findSeries(series, `adverity.${field}`, { workspace: sample.workspace_id, datastream });
            const ws = ADVERITY_WORKSPACES.find((w) => w.id === sample.workspace_id)!;
            expect(one!.provider).toBe("ADVERITY");
            expect(one!.dimensions.find((d) => d.key === "workspace")).toEqual({ key: "workspace", value: ws.id, label: ws.name });
            const ds = one!.dimensions.find((d) => d.key === "datastream")!;
            expect(ds.value).toBe(datastream);
            if (sample.datastream_id === null) expect(ds.label).toEqual(expect.any(String));
            else expect(ds.label).toBe(sample.datastream_id);
            const days = adverityDays(rows, field, from, to, (i) => pairKey(i) === key);
            expectSeries(one, rollUpDays(days, "COUNTER", granularity), "COUNTER");
          }
        }
      },
    );

    it.each(GRANULARITIES)("sums every workspace and datastream into one series per metric at %s granularity when not grouped", async (granularity) => {
      const { series } = okReport(await usage({ from, to, granularity, providers: ["ADVERITY"] }));
      expect(adverity.requests).toHaveLength(0);
      expect(series.map((x) => x.metric.key)).toEqual(["adverity.unique_rows", "adverity.total_rows"]);
      for (const field of ADVERITY_FIELDS) {
        const one = findSeries(series, `adverity.${field}`);
        expect(one!.dimensions).toEqual([]);
        expectSeries(one, rollUpDays(adverityDays(rows, field, from, to), "COUNTER", granularity), "COUNTER");
      }
    });

    it("asks for monthly items when a MONTH report covers a whole calendar month, and reports them over that month", async () => {
      const monthFrom = firstOfMonth(shiftDay(firstOfMonth(utcDay(0)), -1));
      const monthTo = lastOfMonth(monthFrom);
      const { series } = okReport(await usage({ from: monthFrom, to: monthTo, granularity: "MONTH", providers: ["ADVERITY"], groupBy: ["workspace"] }));
      expect(adverity.requests.length).toBeGreaterThan(0);
      expect(adverity.requests.every((r) => r.query.get("granularity") === "monthly")).toBe(true);
      const daily = adverity.rows(monthFrom, monthTo);
      expect(series).toHaveLength(2 * ADVERITY_WORKSPACES.length);
      for (const field of ADVERITY_FIELDS) {
        for (const ws of ADVERITY_WORKSPACES) {
          const one = findSeries(series, `adverity.${field}`, { workspace: ws.id });
          expect(one!.dimensions).toEqual([{ key: "workspace", value: ws.id, label: ws.name }]);
          const value = daily.filter((i) => i.workspace_id === ws.id).reduce((s, i) => s + i[field], 0);
          expectSeries(one, [{ start: monthFrom, end: monthTo, value, final: true }], "COUNTER");
        }
      }
    });
  });

  describe("Pipefy", () => {
    // Last calendar month: one `last_month` period whose daily totals are all closed.
    const lastMonthDay = shiftDay(firstOfMonth(utcDay(0)), -1);
    const from = firstOfMonth(lastMonthDay);
    const to = lastMonthDay;
    let pipefy: PipefyEmulator;
    let first: GraphQLResult<UsageJson>;
    let firstRequests: RecordedRequest[];
    const operationOf = (r: RecordedRequest) => (r.body as { operationName?: string } | undefined)?.operationName;

    beforeAll(async () => {
      pipefy = s.emulator<PipefyEmulator>("pipefy");
      pipefy.resetLog();
      first = await usage({ from, to, granularity: "DAY", providers: ["PIPEFY"] });
      firstRequests = [...pipefy.requests];
    });

    /** Calls per operation name or token over the month from the emulator's per-day data: top 10, busiest first, and the rest. */
    function monthBreakdown(key: "operation" | "token"): { top: Array<[string, number]>; other: number } {
      const names = key === "operation" ? PIPEFY_OPERATIONS : PIPEFY_TOKENS;
      const callsOf = (name: string, date: string) => (key === "operation" ? pipefy.operationCalls(date, name) : pipefy.tokenCalls(date, name));
      const all = names
        .map((name): [string, number] => [name, dates(from, to).reduce((n, d) => n + callsOf(name, d), 0)])
        .filter(([, calls]) => calls > 0)
        .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
      return { top: all.slice(0, 10), other: all.slice(10).reduce((n, [, calls]) => n + calls, 0) };
    }

    it("asks for the month's daily totals and their window in exactly one POST", () => {
      okReport(first);
      const daily = firstRequests.filter((r) => operationOf(r) === "apiUsageDailyWithWindow");
      expect(daily).toHaveLength(1);
      expect((daily[0]!.body as { variables: unknown }).variables).toMatchObject({ period: "last_month" });
      expect(firstRequests.filter((r) => operationOf(r) !== "organizationUuid")).toHaveLength(1);
    });

    it.each(GRANULARITIES.flatMap((g) => (["operation", "token"] as const).map((key) => [key, g] as const)))(
      "matches the emulator's calls by %s over the month at %s granularity",
      async (key, granularity) => {
        pipefy.resetLog();
        const res = await usage({ from, to, granularity, providers: ["PIPEFY"], groupBy: [key] });
        expect(res.status).toBe(200);
        const { series, sources } = res.body.data!.organization.usage;
        const { top, other } = monthBreakdown(key);
        // Pipefy lists only its top 10: the operations beyond are one exact "(other)" entry, and PARTIAL says so.
        expect(sources[0]).toMatchObject({ provider: "PIPEFY", state: other > 0 ? "PARTIAL" : "OK" });
        const expected: Array<[string, number]> = other > 0 ? [...top, ["(other)", other]] : top;
        expect(series).toHaveLength(expected.length);
        for (const [value, calls] of expected) {
          expectSeries(findSeries(series, "pipefy.api_calls", { [key]: value }), [{ start: from, end: to, value: calls, final: true }], "COUNTER");
        }
        expect(series.reduce((n, one) => n + one.total!, 0)).toBe(dates(from, to).reduce((n, d) => n + pipefy.dailyTotal(d), 0));
        // One POST per breakdown dimension, plus the period's daily+window POST for a capped one (the DAY report above fetched it).
        const breakdowns = pipefy.requests.filter((r) => operationOf(r) === "apiUsageStats");
        expect(breakdowns.length).toBeLessThanOrEqual(1);
        expect(pipefy.requests.filter((r) => operationOf(r) === "apiUsageDailyWithWindow")).toHaveLength(0);
      },
    );

    it.each(GRANULARITIES)("matches the emulator's daily totals point by point at %s granularity", async (granularity) => {
      const res = granularity === "DAY" ? first : await usage({ from, to, granularity, providers: ["PIPEFY"] });
      const { series, sources } = okReport(res);
      expect(sources[0]).toMatchObject({ provider: "PIPEFY", state: "OK", error: null, finalizedThrough: utcDay(-1) });
      if (granularity !== "DAY") expect(sources[0]!.upstreamRequests).toBe(0);
      expect(series).toHaveLength(1);
      const days = dates(from, to).map((date) => ({ date, value: pipefy.dailyTotal(date), final: true }));
      expectSeries(findSeries(series, "pipefy.api_calls"), rollUpDays(days, "COUNTER", granularity), "COUNTER");
    });
  });

  describe("several providers in one report", () => {
    // Jiandaoyun's tests above fetched these days already: they come from the cache here.
    const from = utcDay(-9);
    const to = utcDay(-2);
    const KNOWN = ["JIANDAOYUN", "ACEDATA", "AI_STUDIO", "ADVERITY"];

    /** Every metric of the four providers, unsplit, per day; Ace Data limited to `aceApis` if given. */
    function unsplit(aceApis?: readonly string[]): Map<string, { kind: "COUNTER" | "GAUGE"; days: DayValue[] }> {
      const rows = adverity.rows(from, to);
      const out = new Map<string, { kind: "COUNTER" | "GAUGE"; days: DayValue[] }>();
      for (const f of JIANDAOYUN_FIELDS) out.set(`jiandaoyun.${f}`, { kind: "GAUGE", days: jiandaoyunDays(jiandaoyun, f, from, to) });
      out.set("acedata.credits", { kind: "COUNTER", days: aceDataDays(acedata, from, to, aceApis) });
      for (const f of AI_STUDIO_FIELDS) out.set(`aiStudio.${f}`, { kind: "COUNTER", days: aiStudioDays(aiStudio, f, from, to) });
      for (const f of ADVERITY_FIELDS) out.set(`adverity.${f}`, { kind: "COUNTER", days: adverityDays(rows, f, from, to) });
      return out;
    }

    function expectAll(
      series: readonly SeriesJson[],
      expected: ReadonlyMap<string, { kind: "COUNTER" | "GAUGE"; days: DayValue[] }>,
      granularity: GranularityName,
    ): void {
      for (const [metric, { kind, days }] of expected) {
        const one = findSeries(series, metric);
        expect(one?.dimensions).toEqual([]);
        expectSeries(one, rollUpDays(days, kind, granularity), kind);
      }
    }

    it("splits only Adverity's series by workspace and leaves every other provider's series unsplit", async () => {
      const res = await usage({ from, to, granularity: "WEEK", groupBy: ["workspace"] });
      const { series, sources } = okReport(res);
      expect(sources.map((x) => x.provider)).toEqual(PROVIDER_MODULES.map((m) => m.catalog.id));
      for (const id of KNOWN) expect(source(res, id).state).toBe("OK");
      expect(source(res, "JIANDAOYUN").upstreamRequests).toBe(0);

      for (const x of series) if (x.provider !== "ADVERITY") expect(x.dimensions).toEqual([]);
      const expected = unsplit();
      for (const f of ADVERITY_FIELDS) expected.delete(`adverity.${f}`);
      expectAll(series, expected, "WEEK");
      expect(series.filter((x) => KNOWN.includes(x.provider) && x.provider !== "ADVERITY")).toHaveLength(expected.size);

      const rows = adverity.rows(from, to);
      const adveritySeries = series.filter((x) => x.provider === "ADVERITY");
      expect(adveritySeries).toHaveLength(ADVERITY_FIELDS.length * ADVERITY_WORKSPACES.length);
      for (const field of ADVERITY_FIELDS) {
        for (const ws of ADVERITY_WORKSPACES) {
          const one = findSeries(adveritySeries, `adverity.${field}`, { workspace: ws.id });
          expect(one!.dimensions).toEqual([{ key: "workspace", value: ws.id, label: ws.name }]);
          const days = adverityDays(rows, field, from, to, (i) => i.workspace_id === ws.id);
          expectSeries(one, rollUpDays(days, "COUNTER", "WEEK"), "COUNTER");
        }
      }
    });

    it("filters Ace Data by api and leaves the other providers' series untouched", async () => {
      const api = ACEDATA_APIS[2]!;
      const res = await usage({ from, to, granularity: "DAY", where: [{ key: "api", in: [api.id] }] });
      const { series } = okReport(res);
      for (const id of KNOWN) expect(source(res, id).state).toBe("OK");
      // Either the filter went upstream, or an unfiltered answer of these days, already held from an
      // earlier test, served it (and no call was made at all).
      expect(acedata.requests.length).toBeLessThanOrEqual(1);
      for (const r of acedata.requests) expect(r.query.getAll("api_id")).toEqual([api.id]);
      expect(series.filter((x) => x.provider === "ACEDATA")).toHaveLength(1);
      const expected = unsplit([api.id]);
      expectAll(series, expected, "DAY");
      expect(series.filter((x) => KNOWN.includes(x.provider))).toHaveLength(expected.size);
    });

    it("limits sources and series to the providers asked for", async () => {
      const res = await usage({ from, to, granularity: "TOTAL", providers: ["ADVERITY", "ACEDATA"] });
      const { series, sources } = okReport(res);
      expect(sources.map((x) => x.provider).sort()).toEqual(["ACEDATA", "ADVERITY"]);
      expect(new Set(series.map((x) => x.provider))).toEqual(new Set(["ACEDATA", "ADVERITY"]));
      expect(jiandaoyun.requests).toHaveLength(0);
      expect(aiStudio.requests).toHaveLength(0);
      const expected = unsplit();
      for (const key of [...expected.keys()]) if (!key.startsWith("adverity.") && !key.startsWith("acedata.")) expected.delete(key);
      expectAll(series, expected, "TOTAL");
      expect(series).toHaveLength(expected.size);
    });

    it("returns only the metrics asked for while sources still list each provider asked for", async () => {
      const res = await usage({ from, to, granularity: "DAY", providers: ["AI_STUDIO", "ACEDATA", "ADVERITY"], metrics: ["aiStudio.failed"] });
      const { series, sources } = okReport(res);
      expect(sources.map((x) => x.provider).sort()).toEqual(["ACEDATA", "ADVERITY", "AI_STUDIO"]);
      for (const x of sources) expect(x).toMatchObject({ state: "OK", error: null });
      expect(series.map((x) => x.metric.key)).toEqual(["aiStudio.failed"]);
      expectSeries(series[0], rollUpDays(aiStudioDays(aiStudio, "failed", from, to), "COUNTER", "DAY"), "COUNTER");
      // Providers none of whose metrics were asked for are not called at all.
      expect(acedata.requests).toHaveLength(0);
      expect(adverity.requests).toHaveLength(0);

      const all = await usage({ from, to, metrics: ["aiStudio.failed"] });
      expect(okReport(all).sources.map((x) => x.provider)).toEqual(PROVIDER_MODULES.map((m) => m.catalog.id));
      expect(okReport(all).series.map((x) => x.metric.key)).toEqual(["aiStudio.failed"]);
    });

    it("returns each provider's native rows as its own union member, field for field as the emulator lists them", async () => {
      const res = await s.gql(RECORDS, { input: { from, to, providers: ["JIANDAOYUN", "ACEDATA", "AI_STUDIO", "ADVERITY"] } });
      expect(res.status).toBe(200);
      expect(res.body.errors).toBeUndefined();
      const records: Array<Record<string, unknown> & { __typename: string }> = res.body.data.organization.records;
      const of = (type: string) => records.filter((r) => r.__typename === type);
      expect(new Set(records.map((r) => r.__typename))).toEqual(new Set(["JiandaoyunResourceUsage", "AceDataApiUsage", "AiStudioUsage", "AdverityRowUsage"]));

      expect(of("JiandaoyunResourceUsage")).toEqual(
        dates(from, to).map((date) => {
          const m = jiandaoyun.metrics(date);
          return {
            __typename: "JiandaoyunResourceUsage",
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
          };
        }),
      );
      expect(of("AceDataApiUsage")).toEqual(
        acedata.rows(from, to).map((r) => {
          const api = ACEDATA_APIS.find((a) => a.id === r.api_id)!;
          return { __typename: "AceDataApiUsage", date: r.date, apiId: api.id, apiName: api.name, apiPath: api.path, amount: r.amount };
        }),
      );
      // AI Studio lists a row for every day, an idle one with zeros.
      expect(of("AiStudioUsage")).toEqual(
        dates(from, to)
          .map((date) => ({ date, c: aiStudio.day(date) }))
          .map(({ date, c }) => ({
            __typename: "AiStudioUsage",
            date,
            parsedPages: c.parsed_pages,
            processorRuns: c.processor_runs,
            processedDocuments: c.processed_documents,
            completed: c.completed,
            failed: c.failed,
          })),
      );
      expect(of("AdverityRowUsage")).toEqual(
        adverity.rows(from, to).map((i) => ({
          __typename: "AdverityRowUsage",
          date: i.date,
          granularity: "daily",
          workspaceId: i.workspace_id,
          workspaceName: i.workspace_name,
          datastreamId: i.datastream_id,
          uniqueRows: i.unique_rows,
          totalRows: i.total_rows,
        })),
      );
      expect(of("AdverityRowUsage").some((r) => r.datastreamId === null)).toBe(true);
    });
  });
});

describe("a report in which two providers fail", () => {
  let s: RunningServer;
  let failing: AdverityEmulator;
  let hanging: AiStudioEmulator;
  // Two closed days keep Jiandaoyun's paced calls short on this server's fresh cache.
  const from = utcDay(-3);
  const to = utcDay(-2);

  beforeAll(async () => {
    s = await startServer({
      env: { USAGEGRAPH_LOG_LEVEL: "silent" },
      mutate: (raw) => {
        const providers = raw.organizations[0].providers;
        providers.aiStudio.timeoutMs = 500;
        providers.aiStudio.maxRetries = 0;
        providers.adverity.timeoutMs = 500;
        providers.adverity.maxRetries = 1;
      },
    });
    failing = s.emulator<AdverityEmulator>("adverity");
    hanging = s.emulator<AiStudioEmulator>("aiStudio");
  });
  afterAll(async () => {
    failing.clearFaults();
    hanging.clearFaults();
    await s.stop();
  });

  it("reports the 503 and the hang as FAILED sources and errors, and the other providers' data exactly", async () => {
    failing.inject({ kind: "status", status: 503 });
    hanging.inject({ kind: "hang" });
    const jiandaoyun = s.emulator<JiandaoyunEmulator>("jiandaoyun");
    const acedata = s.emulator<AceDataEmulator>("acedata");

    const res = await s.gql<UsageJson>(USAGE, { input: { from, to, granularity: "DAY", groupBy: ["api"] } });
    expect(res.status).toBe(200);
    const { series, sources } = res.body.data!.organization.usage;

    expect(source(res, "ADVERITY")).toMatchObject({ state: "FAILED", error: { code: "UPSTREAM_UNAVAILABLE" }, finalizedThrough: null });
    expect(source(res, "AI_STUDIO")).toMatchObject({ state: "FAILED", error: { code: "UPSTREAM_TIMEOUT" }, finalizedThrough: null });
    expect(source(res, "JIANDAOYUN")).toMatchObject({ state: "OK", error: null, upstreamRequests: 2 });
    expect(source(res, "ACEDATA")).toMatchObject({ state: "OK", error: null, upstreamRequests: 1 });
    expect(sources.map((x) => x.provider)).toEqual(PROVIDER_MODULES.map((m) => m.catalog.id));
    expect(res.body.errors).toHaveLength(2);
    expect(res.body.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          path: ["organization", "usage"],
          extensions: expect.objectContaining({ code: "UPSTREAM_UNAVAILABLE", provider: "ADVERITY" }),
        }),
        expect.objectContaining({ path: ["organization", "usage"], extensions: expect.objectContaining({ code: "UPSTREAM_TIMEOUT", provider: "AI_STUDIO" }) }),
      ]),
    );
    expect(res.text).not.toContain(failing.url);
    expect(res.text).not.toContain(hanging.url);

    // Counted where the requests arrive: one retry of the 503 as configured, none of the hang.
    expect(failing.requests).toHaveLength(2);
    expect(hanging.requests).toHaveLength(1);
    expect(jiandaoyun.violations).toBe(0);

    expect(series.some((x) => x.provider === "ADVERITY" || x.provider === "AI_STUDIO")).toBe(false);
    for (const field of JIANDAOYUN_FIELDS) {
      expectSeries(findSeries(series, `jiandaoyun.${field}`), rollUpDays(jiandaoyunDays(jiandaoyun, field, from, to), "GAUGE", "DAY"), "GAUGE");
    }
    const used = ACEDATA_APIS.filter((a) => dates(from, to).some((d) => acedata.amount(d, a.id) > 0));
    expect(series.filter((x) => x.provider === "ACEDATA")).toHaveLength(used.length);
    for (const api of used) {
      const one = findSeries(series, "acedata.credits", { api: api.id });
      expect(one!.dimensions).toEqual([{ key: "api", value: api.id, label: api.name }]);
      expectSeries(one, rollUpDays(aceDataDays(acedata, from, to, [api.id]), "COUNTER", "DAY"), "COUNTER");
    }
  });
});
