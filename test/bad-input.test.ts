import type { EmulatorServer } from "../src/providers/emulator/emulator-server";
import { postGraphQL, startServer, utcDay, type RunningServer } from "./support/server-harness";
import { requestCount } from "./support/emulators";

/**
 * The bad-input suite: every malformed, impossible or oversized request gets a clear 4xx before any
 * resolver runs, costs zero upstream calls, and leaves the server healthy.
 */
describe("bad input", () => {
  let s: RunningServer;
  let emulators: EmulatorServer[];
  const upstreamCalls = () => requestCount(emulators);

  beforeAll(async () => {
    s = await startServer({ mutate: (raw) => (raw.graphql = { maxDepth: 4, maxAliases: 10, maxTokens: 1_000, maxDirectives: 10, maxFanOut: 4_000 }) });
    emulators = [...s.demo!.emulators.values()];
  });
  afterAll(() => s.stop());
  beforeEach(() => emulators.forEach((e) => e.resetLog()));
  afterEach(async () => {
    expect(upstreamCalls()).toBe(0);
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
  });

  const report = (alias: string, from: string, to: string) => `${alias}: usage(input: { from: "${from}", to: "${to}" }) { sources { state } }`;

  it.each([
    ["an impossible date", `{ organization(id: "demo") { ${report("a", "2026-02-30", "2026-03-01")} } }`, /"2026-02-30" is not a calendar date/],
    ["a malformed date", `{ organization(id: "demo") { ${report("a", "2026/01/01", "2026-01-02")} } }`, /not a calendar date/],
    ["from after to", `{ organization(id: "demo") { ${report("a", "2026-03-02", "2026-03-01")} } }`, /must be on or after from/],
    ["a range over 366 days", `{ organization(id: "demo") { ${report("a", "2024-01-01", "2025-12-31")} } }`, /at most 366 days/],
    [
      "an invalid time zone",
      `{ organization(id: "demo") { usage(input: { from: "2026-01-01", to: "2026-01-02", timeZone: "Nowhere/Else" }) { series { total } } } }`,
      /IANA time zone/,
    ],
    [
      "an unknown provider id",
      `{ organization(id: "demo") { usage(input: { from: "2026-01-01", to: "2026-01-02", providers: [STRIPE] }) { series { total } } } }`,
      /STRIPE/,
    ],
    ["an unknown field", `{ organization(id: "demo") { invoices } }`, /Cannot query field "invoices"/],
    ["a syntax error", `{ organization(id: "demo") { usage(input: { from: } }`, /Syntax Error/],
    // organization > usage > sources > error > code is 5 deep, over this server's 4; fragments do not hide depth.
    [
      "a too deep document",
      `{ ...Q } fragment Q on Query { organization(id: "demo") { usage(input: { from: "2026-01-01", to: "2026-01-02" }) { sources { error { code } } } } }`,
      /depth limit of 4 exceeded/i,
    ],
    ["too many aliases", `{ ${Array.from({ length: 12 }, (_, i) => `a${i}: providers { id }`).join(" ")} }`, /aliases limit of 10 exceeded/i],
    ["too many directives", `{ __typename ${"@include(if: true) ".repeat(12)} }`, /directives/i],
    ["a huge document", `{ ${"__typename ".repeat(1_200)} }`, /token/i],
    [
      "an upstream fan-out over the limit",
      `{ organization(id: "demo") { ${report("a", utcDay(-365), utcDay(-1))} ${report("b", utcDay(-364), utcDay(-2))} ${report("c", utcDay(-363), utcDay(-3))} } }`,
      /would read 5445 provider-days upstream \(providers × days over its usage and records fields\); at most 4000 are allowed/,
    ],
  ])("refuses %s with a clear 4xx", async (_name, query, message) => {
    const res = await postGraphQL(s.url, query);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.body.errors![0]!.message).toMatch(message);
    expect(res.body.data?.organization?.a).toBeUndefined();
    expect(res.text).not.toMatch(/stacktrace|\s+at\s+\S+\s+\(/);
  });

  it("refuses a body that is not JSON, with 400", async () => {
    const res = await fetch(`${s.url}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"query": "{ __typename }"' });
    expect(res.status).toBe(400);
  });

  it.each(["text/plain", "application/xml", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"])(
    "refuses a POST sent as %s with a 4xx",
    async (type) => {
      const res = await fetch(`${s.url}/graphql`, { method: "POST", headers: { "content-type": type }, body: '{"query": "{ __typename }"}' });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    },
  );

  it("refuses a body over 1 MB with 413", async () => {
    const res = await fetch(`${s.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: `{ __typename }`, pad: "x".repeat(1_100_000) }),
    });
    expect(res.status).toBe(413);
  });

  it("refuses a GET without a query, and an unknown path, with 4xx", async () => {
    expect((await fetch(`${s.url}/graphql`, { headers: { "apollo-require-preflight": "1" } })).status).toBe(400);
    expect((await fetch(`${s.url}/nope`)).status).toBe(404);
    expect((await fetch(`${s.url}/graphql`, { method: "PUT" })).status).toBe(405);
  });

  it("still answers a valid request afterwards", async () => {
    const res = await postGraphQL(s.url, "{ providers { id } }");
    expect(res.status).toBe(200);
    expect(res.body.data.providers).toHaveLength(5);
  });
});
