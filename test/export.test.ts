import { parse } from "csv-parse/sync";
import { resolveConfig } from "../src/config/config";
import { ACEDATA_DEMO_TOKEN, AceDataEmulator } from "../src/providers/acedata/acedata.emulator";
import { ADVERITY_DEMO_KEY, ADVERITY_WORKSPACES, AdverityEmulator, type AdverityWorkspace } from "../src/providers/adverity/adverity.emulator";
import { providerDemo } from "../src/providers/demo-registry";
import type { EmulatorServer } from "../src/providers/emulator/emulator-server";
import { startEmulator } from "./support/emulators";
import { startServer, USAGE_QUERY, utcDay, type RunningServer } from "./support/server-harness";
import { requestCount } from "./support/emulators";

interface Report {
  series: Array<{
    provider: string;
    metric: { key: string; kind: string; unit: string };
    dimensions: Array<{ key: string; value: string; label: string }>;
    points: Array<{ start: string; end: string; value: number; final: boolean }>;
  }>;
  sources: Array<{ provider: string; state: string }>;
}

/** The rows /export must hold for a report: one per point, in the report's order. */
function expectedRows(organization: string, report: Report, groupBy: readonly string[]): string[][] {
  return report.series.flatMap((s) =>
    s.points.map((p) => [
      organization,
      s.provider,
      s.metric.key,
      s.metric.unit,
      s.metric.kind,
      ...groupBy.map((k) => s.dimensions.find((d) => d.key === k)?.label ?? ""),
      p.start,
      p.end,
      String(p.value),
      String(p.final),
    ]),
  );
}

const QUIET = { USAGEGRAPH_LOG_LEVEL: process.env.USAGEGRAPH_LOG_LEVEL };
const exportUrl = (base: string, params: Record<string, string>) => `${base}/export/usage.csv?${new URLSearchParams(params)}`;

describe("GET /export/usage.csv in demo mode", () => {
  let s: RunningServer;
  let emulators: EmulatorServer[];
  const upstreamCalls = () => requestCount(emulators);

  beforeAll(async () => {
    s = await startServer();
    emulators = [...s.demo!.emulators.values()];
  });
  afterAll(() => s.stop());
  beforeEach(() => emulators.forEach((e) => e.clearFaults().resetLog()));

  it("holds the numbers of the usage report for the same input, one RFC 4180 row per point", async () => {
    const input = { from: utcDay(-5), to: utcDay(-3), granularity: "DAY", timeZone: "UTC", groupBy: ["workspace", "api"] };
    const gql = await s.gql(USAGE_QUERY, { input });
    const report = gql.body.data.organization.usage as Report;
    expect(report.sources).toHaveLength(5);

    const res = await fetch(
      exportUrl(s.url, { organization: "demo", from: input.from, to: input.to, granularity: "DAY", timeZone: "UTC", groupBy: "workspace,api" }),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("content-disposition")).toBe(`attachment; filename="usage-demo-${input.from}-${input.to}.csv"`);
    expect(res.headers.get("x-usagegraph-sources")).toBe(report.sources.map((x) => `${x.provider}=${x.state}`).join(","));
    const text = await res.text();
    expect(text.split("\r\n")[0]).toBe("organization,provider,metric,unit,kind,workspace,api,start,end,value,final");
    const [header, ...rows] = parse(text) as string[][];
    expect(header).toEqual(["organization", "provider", "metric", "unit", "kind", "workspace", "api", "start", "end", "value", "final"]);
    expect(rows).toEqual(expectedRows("demo", report, ["workspace", "api"]));
    expect(rows.length).toBeGreaterThan(50);
    expect(new Set(rows.map((r) => r[1]))).toEqual(new Set(["JIANDAOYUN", "ACEDATA", "AI_STUDIO", "PIPEFY", "ADVERITY"]));
  });

  it("answers a weekly report of chosen providers and metrics as GraphQL does", async () => {
    const input = {
      from: utcDay(-20),
      to: utcDay(-2),
      granularity: "WEEK",
      providers: ["ACEDATA", "ADVERITY"],
      metrics: ["acedata.credits", "adverity.unique_rows"],
    };
    const report = (await s.gql(USAGE_QUERY, { input })).body.data.organization.usage as Report;
    const res = await fetch(
      exportUrl(s.url, {
        organization: "demo",
        from: input.from,
        to: input.to,
        granularity: "WEEK",
        providers: "ACEDATA,ADVERITY",
        metrics: "acedata.credits,adverity.unique_rows",
      }),
    );
    expect(res.headers.get("x-usagegraph-sources")).toBe("ACEDATA=OK,ADVERITY=OK");
    const [header, ...rows] = parse(await res.text()) as string[][];
    expect(header).toEqual(["organization", "provider", "metric", "unit", "kind", "start", "end", "value", "final"]);
    expect(rows).toEqual(expectedRows("demo", report, []));
  });

  it("leaves out a failed source's rows and names its state in X-Usagegraph-Sources", async () => {
    // A range no other test asked for: nothing of it is in the cache.
    s.emulator("acedata").inject({ kind: "status", ...providerDemo("acedata").errorSamples.authFailure });
    const res = await fetch(exportUrl(s.url, { organization: "demo", from: utcDay(-40), to: utcDay(-39), providers: "ACEDATA,AI_STUDIO" }));
    expect(res.status).toBe(200);
    expect(res.headers.get("x-usagegraph-sources")).toBe("ACEDATA=FAILED,AI_STUDIO=OK");
    const [, ...rows] = parse(await res.text()) as string[][];
    expect(rows.length).toBe(2 * 5);
    expect(rows.every((r) => r[1] === "AI_STUDIO")).toBe(true);
  });

  it.each([
    ["an impossible date", { from: "2026-02-30", to: "2026-03-02" }, 'Invalid input: from: "2026-02-30" is not a calendar date in yyyy-MM-dd form'],
    ["a missing date", { from: "2026-03-01" }, "Invalid input: to is required, as yyyy-MM-dd"],
    ["from after to", { from: "2026-03-05", to: "2026-03-01" }, "Invalid input: to (2026-03-01) must be on or after from (2026-03-05)"],
    [
      "a range over 366 days",
      { from: "2024-01-01", to: "2025-06-30" },
      "Invalid input: to: the range 2024-01-01..2025-06-30 is 547 days; at most 366 days may be asked at once",
    ],
    [
      "an unknown time zone",
      { from: "2026-03-01", to: "2026-03-02", timeZone: "Mars/Olympus_Mons" },
      "Invalid input: timeZone must be an IANA time zone name such as Europe/Berlin",
    ],
    [
      "an unknown granularity",
      { from: "2026-03-01", to: "2026-03-02", granularity: "HOUR" },
      "Invalid input: granularity: HOUR is not a granularity; known: DAY, WEEK, MONTH, TOTAL",
    ],
    [
      "an unknown provider",
      { from: "2026-03-01", to: "2026-03-02", providers: "ACEDATA,acedata,STRIPE" },
      "Invalid input: providers: acedata is not a provider (did you mean `ACEDATA`?); known: JIANDAOYUN, ACEDATA, AI_STUDIO, PIPEFY, ADVERITY; providers: STRIPE is not a provider; known: JIANDAOYUN, ACEDATA, AI_STUDIO, PIPEFY, ADVERITY",
    ],
    [
      "an unknown groupBy key",
      { from: "2026-03-01", to: "2026-03-02", groupBy: "workspaces" },
      "Invalid input: groupBy: workspaces is not a dimension key (did you mean `workspace`?); known keys: api, workspace, datastream, operation, token",
    ],
    [
      "an unknown parameter",
      { from: "2026-03-01", to: "2026-03-02", where: "api:x" },
      "unknown parameter where; known: organization, from, to, granularity, timeZone, providers, metrics, groupBy",
    ],
    ["a repeated single parameter", { from: ["2026-03-01", "2026-03-02"], to: "2026-03-02" }, "from may be given once"],
    ["no organization", { organization: "", from: "2026-03-01", to: "2026-03-02" }, "organization is required: the id of the organization to export"],
  ] as Array<[string, Record<string, string | string[]>, string]>)(
    "refuses %s with 400, one line of plain text and no upstream call",
    async (_name, params, reason) => {
      const query = new URLSearchParams();
      for (const [k, v] of Object.entries({ organization: "demo", ...params })) for (const item of [v].flat()) query.append(k, item);
      const res = await fetch(`${s.url}/export/usage.csv?${query}`);
      expect(res.status).toBe(400);
      expect(res.headers.get("content-type")).toBe("text/plain; charset=utf-8");
      expect(await res.text()).toBe(`${reason}\n`);
      expect(upstreamCalls()).toBe(0);
    },
  );

  it("refuses a bad metric with the very message GraphQL gives, from the one shared parser", async () => {
    const params = { organization: "demo", from: utcDay(-3), to: utcDay(-2), metrics: "acedata.calls" };
    const res = await fetch(exportUrl(s.url, params));
    const gql = await s.gql(USAGE_QUERY, { input: { from: params.from, to: params.to, metrics: ["acedata.calls"] } });
    expect(res.status).toBe(400);
    expect((await res.text()).trim()).toBe(gql.body.errors![0]!.message);
    expect(gql.body.errors![0]!.message).toMatch(
      /^Invalid input: metrics: acedata.calls is not a metric key \(did you mean `acedata.credits`\?\); known keys: /,
    );
    expect(upstreamCalls()).toBe(0);
  });

  it("answers HEAD with 405: an export costs the upstream calls of its report", async () => {
    const res = await fetch(exportUrl(s.url, { organization: "demo", from: utcDay(-3), to: utcDay(-2) }), { method: "HEAD" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET");
    expect(upstreamCalls()).toBe(0);
  });

  it("answers an organization that does not exist with 404 naming the known ones (no auth here)", async () => {
    const res = await fetch(exportUrl(s.url, { organization: "nope", from: utcDay(-3), to: utcDay(-2) }));
    expect(res.status).toBe(404);
    expect(await res.text()).toBe('There is no organization "nope". Known organizations: "demo".\n');
  });
});

describe("GET /export/usage.csv with API keys", () => {
  const KEY = "export-test-key-0123456789";
  let s: RunningServer;
  let ace: AceDataEmulator;

  beforeAll(async () => {
    ace = await startEmulator(AceDataEmulator);
    const acedata = { baseUrl: ace.url, token: ACEDATA_DEMO_TOKEN };
    const config = resolveConfig(
      {
        server: { host: "127.0.0.1", port: 0 },
        auth: { apiKeys: [{ name: "finance", key: KEY, organizations: ["acme"] }] },
        organizations: [
          { id: "acme", name: "Acme", providers: { acedata } },
          { id: "globex", name: "Globex", providers: { acedata } },
        ],
      },
      QUIET,
    );
    s = await startServer({ config });
  });
  afterAll(() => s.stop());
  beforeEach(() => ace.resetLog());

  const range = { from: utcDay(-4), to: utcDay(-2) };

  it("refuses a request without a key with 401", async () => {
    const res = await fetch(exportUrl(s.url, { organization: "acme", ...range }));
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="usagegraph"');
    expect(await res.text()).toBe("A valid API key is required: send Authorization: Bearer <key>.\n");
    expect(ace.requests).toHaveLength(0);
  });

  it("refuses a key that is not valid with 401", async () => {
    const res = await fetch(exportUrl(s.url, { organization: "acme", ...range }), { headers: { authorization: "Bearer not-a-key-of-this-server" } });
    expect(res.status).toBe(401);
    expect(await res.text()).toBe("The API key is not valid.\n");
  });

  it("refuses another organization's id with 403, and an unknown one alike", async () => {
    const headers = { authorization: `Bearer ${KEY}` };
    const other = await fetch(exportUrl(s.url, { organization: "globex", ...range }), { headers });
    expect(other.status).toBe(403);
    expect(await other.text()).toBe('You may not read organization "globex".\n');
    const unknown = await fetch(exportUrl(s.url, { organization: "nope", ...range }), { headers });
    expect(unknown.status).toBe(403);
    expect(await unknown.text()).toBe('You may not read organization "nope".\n');
    expect(ace.requests).toHaveLength(0);
  });

  it("exports the key's own organization", async () => {
    const res = await fetch(exportUrl(s.url, { organization: "acme", ...range, groupBy: "api" }), { headers: { authorization: `Bearer ${KEY}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-usagegraph-sources")).toBe("ACEDATA=OK");
    const [header, ...rows] = parse(await res.text()) as string[][];
    expect(header).toEqual(["organization", "provider", "metric", "unit", "kind", "api", "start", "end", "value", "final"]);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r[0] === "acme" && r[2] === "acedata.credits")).toBe(true);
  });
});

/** A test-only Adverity whose second workspace has a name a CSV must quote. */
const AWKWARD_NAME = 'Acme "EMEA", Berlin';
class AwkwardAdverity extends AdverityEmulator {
  override item(date: string, workspace: AdverityWorkspace, datastreamId: string | null) {
    const item = super.item(date, workspace, datastreamId);
    return item && workspace.id === ADVERITY_WORKSPACES[1]!.id ? { ...item, workspace_name: AWKWARD_NAME } : item;
  }
}

describe("GET /export/usage.csv and awkward names", () => {
  it("round-trips a workspace name with a comma and a quote through a CSV parser", async () => {
    const adverity = await startEmulator(AwkwardAdverity);
    const config = resolveConfig(
      {
        server: { host: "127.0.0.1", port: 0 },
        organizations: [{ id: "acme", name: "Acme", providers: { adverity: { baseUrl: adverity.url, apiKey: ADVERITY_DEMO_KEY, authScheme: "Token" } } }],
      },
      QUIET,
    );
    const s = await startServer({ config });
    try {
      const res = await fetch(
        exportUrl(s.url, { organization: "acme", from: utcDay(-4), to: utcDay(-2), groupBy: "workspace", metrics: "adverity.total_rows" }),
      );
      const text = await res.text();
      expect(text).toContain('"Acme ""EMEA"", Berlin"');
      const [header, ...rows] = parse(text) as string[][];
      expect(header![5]).toBe("workspace");
      const names = new Set(rows.map((r) => r[5]));
      expect(names).toEqual(new Set(["Acme Marketing", AWKWARD_NAME, "Acme Sandbox"]));
      expect(rows.every((r) => r.length === header!.length)).toBe(true);
    } finally {
      await s.stop();
    }
  });
});
