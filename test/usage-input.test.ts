import type { EmulatorServer } from "../src/providers/emulator/emulator-server";
import { startServer, utcDay, type RunningServer } from "./support/server-harness";
import { requestCount } from "./support/emulators";

const USAGE = `query Usage($input: UsageInput!) {
  organization(id: "demo") { usage(input: $input) { series { total } sources { provider state } } }
}`;

describe("usage input validation", () => {
  let s: RunningServer;
  let emulators: EmulatorServer[];
  const upstreamCalls = () => requestCount(emulators);

  beforeAll(async () => {
    s = await startServer();
    emulators = [...s.demo!.emulators.values()];
  });
  afterAll(() => s.stop());
  beforeEach(() => emulators.forEach((e) => e.resetLog()));

  const ok = { from: utcDay(-10), to: utcDay(-1) };
  it.each([
    ["an impossible date", { ...ok, from: "2026-02-30" }, /"2026-02-30" is not a calendar date/],
    ["a malformed date", { ...ok, to: "22/11/2026" }, /is not a calendar date in yyyy-MM-dd form/],
    ["from after to", { from: utcDay(-1), to: utcDay(-10) }, /to \(\d{4}-\d{2}-\d{2}\) must be on or after from/],
    ["a range over 366 days", { from: "2024-01-01", to: "2025-06-30" }, /is 547 days; at most 366 days/],
    ["an unknown time zone", { ...ok, timeZone: "Mars/Olympus_Mons" }, /timeZone must be an IANA time zone/],
    ["an unknown metric", { ...ok, metrics: ["acedata.calls"] }, /metrics: acedata.calls is not a metric key/],
    ["an unknown groupBy key", { ...ok, groupBy: ["country"] }, /groupBy: country is not a dimension key/],
    ["an unknown where key", { ...ok, where: [{ key: "country", in: ["DE"] }] }, /where.key must be one of/],
    ["an empty where list", { ...ok, where: [{ key: "api", in: [] }] }, /where.in must name at least one value/],
    ["an unknown provider", { ...ok, providers: ["STRIPE"] }, /ProviderId/],
    ["an unknown granularity", { ...ok, granularity: "HOUR" }, /Granularity/],
  ])("refuses %s with BAD_USER_INPUT and no upstream call", async (_name, input, message) => {
    const res = await s.gql(USAGE, { input });
    expect(res.status).toBe(400);
    expect(res.body.data?.organization?.usage).toBeUndefined();
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors![0]!.extensions!.code).toBe("BAD_USER_INPUT");
    expect(res.body.errors![0]!.message).toMatch(message);
    expect(res.text).not.toMatch(/stacktrace/);
    expect(upstreamCalls()).toBe(0);
  });

  it("refuses an impossible date written in the query itself, before any upstream call", async () => {
    const res = await s.gql(`{ organization(id: "demo") { usage(input: { from: "2026-02-30", to: "2026-03-02" }) { series { total } } } }`);
    expect(res.status).toBe(400);
    expect(res.body.errors![0]!.extensions!.code).toBe("BAD_USER_INPUT");
    expect(res.body.errors![0]!.message).toMatch(/"2026-02-30" is not a calendar date/);
    expect(upstreamCalls()).toBe(0);
  });

  it("accepts a valid input and reports every provider asked for", async () => {
    const res = await s.gql(USAGE, { input: { ...ok, timeZone: "Asia/Shanghai", providers: ["ACEDATA"] } });
    expect(res.status).toBe(200);
    expect(res.body.data.organization.usage.sources).toEqual([{ provider: "ACEDATA", state: "OK" }]);
  });

  it("answers null for an organization that does not exist, with an error naming the known ones (no auth)", async () => {
    const res = await s.gql(`{ organization(id: "nope") { id } }`);
    expect(res.body.data).toEqual({ organization: null });
    expect(res.body.errors![0]!.message).toBe('There is no organization "nope". Known organizations: "demo".');
  });
});
