import { startServer, USAGE_QUERY as USAGE, utcDay, type RunningServer } from "../../../../test/support/server-harness";
import { ACEDATA_APIS, ACEDATA_DEMO_TOKEN, type AceDataEmulator } from "../acedata.emulator";

const RECORDS = `query Records($input: RecordsInput!) {
  organization(id: "demo") {
    records(input: $input) { __typename ... on AceDataApiUsage { date apiId apiName apiPath amount } }
  }
}`;

/** Independent expectations from the emulator's own data. */
function bucketStart(date: string, granularity: string, from: string): string {
  if (granularity === "DAY") return date;
  if (granularity === "TOTAL") return from;
  if (granularity === "MONTH") return date.slice(0, 7) + "-01" < from ? from : date.slice(0, 7) + "-01";
  const d = new Date(`${date}T00:00:00Z`);
  const monday = new Date(d.getTime() - ((d.getUTCDay() + 6) % 7) * 86_400_000).toISOString().slice(0, 10);
  return monday < from ? from : monday;
}

function expectedPoints(emulator: AceDataEmulator, apiId: string, from: string, to: string, granularity: string) {
  const buckets = new Map<string, { start: string; end: string; value: number }>();
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) {
    const date = new Date(t).toISOString().slice(0, 10);
    const key = bucketStart(date, granularity, from);
    const b = buckets.get(key) ?? { start: date, end: date, value: 0 };
    b.end = date;
    b.value += emulator.amount(date, apiId);
    buckets.set(key, b);
  }
  return [...buckets.values()];
}

describe("Ace Data Cloud end to end over HTTP", () => {
  let s: RunningServer;
  let emulator: AceDataEmulator;

  beforeAll(async () => {
    s = await startServer();
    emulator = s.emulator<AceDataEmulator>("acedata");
  });
  afterAll(() => s.stop());
  beforeEach(() => {
    emulator.clearFaults().resetLog();
    emulator.shape = "documented";
  });

  describe.each(["documented", "live"] as const)("with the %s response shape", (shape) => {
    // Each shape asks for its own days so that no answer comes from the other shape's (cached) units.
    const from = shape === "documented" ? utcDay(-40) : utcDay(-120);
    const to = shape === "documented" ? utcDay(-1) : utcDay(-81);
    it.each(["DAY", "WEEK", "MONTH", "TOTAL"])("matches the emulator's data point by point at %s granularity", async (granularity) => {
      emulator.shape = shape;
      const res = await s.gql(USAGE, { input: { from, to, granularity, providers: ["ACEDATA"], groupBy: ["api"] } });
      expect(res.status).toBe(200);
      expect(res.body.errors).toBeUndefined();
      const { series, sources } = res.body.data.organization.usage;
      expect(sources[0].upstreamRequests + sources[0].cachedResponses).toBe(1);
      expect(sources).toEqual([expect.objectContaining({ provider: "ACEDATA", state: "OK", error: null, finalizedThrough: utcDay(-1) })]);
      const used = ACEDATA_APIS.filter((a) => expectedPoints(emulator, a.id, from, to, "TOTAL")[0]!.value > 0);
      expect(series).toHaveLength(used.length);
      for (const api of used) {
        const one = series.find((x: any) => x.dimensions[0].value === api.id);
        expect(one.metric).toEqual({ key: "acedata.credits", kind: "COUNTER", unit: "credits" });
        expect(one.dimensions).toEqual([{ key: "api", value: api.id, label: api.name }]);
        const expected = expectedPoints(emulator, api.id, from, to, granularity);
        expect(one.points.map((p: any) => [p.start, p.end])).toEqual(expected.map((p) => [p.start, p.end]));
        one.points.forEach((p: any, i: number) => {
          expect(p.value).toBeCloseTo(expected[i]!.value, 9);
          expect(p.final).toBe(true);
        });
        expect(one.total).toBeCloseTo(
          expected.reduce((a, p) => a + p.value, 0),
          9,
        );
      }
    });

    it("returns the native rows exactly as the emulator lists them", async () => {
      emulator.shape = shape;
      const res = await s.gql(RECORDS, { input: { from, to, providers: ["ACEDATA"] } });
      expect(res.body.errors).toBeUndefined();
      // The usage tests above already fetched this range in this shape: records come from the same answer.
      expect(emulator.requests).toHaveLength(0);
      const rows = res.body.data.organization.records;
      const expected = emulator.rows(from, to);
      expect(rows).toHaveLength(expected.length);
      rows.forEach((r: any, i: number) => {
        const api = ACEDATA_APIS.find((a) => a.id === expected[i]!.api_id)!;
        expect(r).toEqual({
          __typename: "AceDataApiUsage",
          date: expected[i]!.date,
          apiId: api.id,
          apiName: api.name,
          apiPath: shape === "documented" ? api.path : null,
          amount: expected[i]!.amount,
        });
      });
    });
  });

  it("sums every API into one series when not grouped, and sends the api filter upstream", async () => {
    const api = ACEDATA_APIS[1]!;
    // Days no earlier test asked for: the filtered call must really go upstream.
    const from = utcDay(-160);
    const to = utcDay(-131);
    const res = await s.gql(USAGE, {
      input: { from, to, granularity: "TOTAL", providers: ["ACEDATA"], where: [{ key: "api", in: [api.id] }] },
    });
    const series = res.body.data.organization.usage.series;
    expect(series).toHaveLength(1);
    expect(series[0].dimensions).toEqual([]);
    expect(series[0].total).toBeCloseTo(expectedPoints(emulator, api.id, from, to, "TOTAL")[0]!.value, 9);
    expect(emulator.requests).toHaveLength(1);
    expect(emulator.requests[0]!.query.getAll("api_id")).toEqual([api.id]);
  });

  it("reports an API asked for in where that Ace Data's answer does not name as a PARTIAL source, with the other API's numbers", async () => {
    const from = utcDay(-170);
    const to = utcDay(-165);
    const api = ACEDATA_APIS.find((a) => expectedPoints(emulator, a.id, from, to, "TOTAL")[0]!.value > 0)!;
    const res = await s.gql(USAGE, {
      input: { from, to, granularity: "TOTAL", providers: ["ACEDATA"], groupBy: ["api"], where: [{ key: "api", in: [api.id, "Claude Messages"] }] },
    });
    const { series, sources } = res.body.data.organization.usage;
    expect(series).toHaveLength(1);
    expect(series[0].dimensions).toEqual([{ key: "api", value: api.id, label: api.name }]);
    expect(series[0].total).toBeCloseTo(expectedPoints(emulator, api.id, from, to, "TOTAL")[0]!.value, 9);
    expect(sources[0]).toMatchObject({
      provider: "ACEDATA",
      state: "PARTIAL",
      error: { code: "UPSTREAM_PARTIAL_DATA", message: expect.stringContaining('the API "Claude Messages" asked for in where was not in') },
    });
    expect(res.body.errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: "UPSTREAM_PARTIAL_DATA", provider: "ACEDATA" }) })]);
  });

  it("sends the documented request: Bearer token, ISO range, GET", async () => {
    await s.gql(USAGE, { input: { from: utcDay(-200), to: utcDay(-199), providers: ["ACEDATA"] } });
    expect(emulator.requests).toHaveLength(1);
    const r = emulator.requests[0]!;
    expect(r.method).toBe("GET");
    expect(r.headers.authorization).toBe(`Bearer ${ACEDATA_DEMO_TOKEN}`);
    expect(r.query.get("created_at_from")).toBe(`${utcDay(-200)}T00:00:00Z`);
    expect(r.query.get("created_at_to")).toBe(`${utcDay(-199)}T23:59:59Z`);
  });

  const failures: Array<[string, () => void, string]> = [
    [
      "an upstream 401",
      () =>
        emulator.inject({
          kind: "status",
          status: 401,
          body: { error: { code: "invalid_token", message: `token ${ACEDATA_DEMO_TOKEN} UPSTREAM-SECRET-BODY` }, trace_id: "x" },
        }),
      "UPSTREAM_AUTH_FAILED",
    ],
    [
      "an upstream 500",
      () => emulator.inject({ kind: "status", status: 500, body: { detail: `UPSTREAM-SECRET-BODY ${ACEDATA_DEMO_TOKEN}` } }),
      "UPSTREAM_UNAVAILABLE",
    ],
    ["a malformed body", () => emulator.inject({ kind: "malformed" }), "UPSTREAM_BAD_RESPONSE"],
  ];
  it.each(failures)("reports %s as FAILED with the contract code and leaks nothing", async (name, inject, code) => {
    inject();
    // Days of its own per case: a failure no retry can fix is remembered for the same request.
    const offset = -250 - 2 * failures.findIndex(([n]) => n === name);
    const res = await s.gql(USAGE, { input: { from: utcDay(offset), to: utcDay(offset + 1), providers: ["ACEDATA"] } });
    expect(res.status).toBe(200);
    const usage = res.body.data.organization.usage;
    expect(usage.series).toEqual([]);
    expect(usage.sources[0]).toMatchObject({ provider: "ACEDATA", state: "FAILED", error: { code } });
    expect(res.body.errors).toEqual([
      expect.objectContaining({ path: ["organization", "usage"], extensions: expect.objectContaining({ code, provider: "ACEDATA" }) }),
    ]);
    expect(res.text).not.toContain(ACEDATA_DEMO_TOKEN);
    expect(res.text).not.toContain("UPSTREAM-SECRET-BODY");
    expect(res.text).not.toContain(emulator.url);
    expect(res.text).not.toMatch(/stacktrace|\bat \S+ \(/);
  });
});
