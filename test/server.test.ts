import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ACEDATA_DEMO_TOKEN, AceDataEmulator } from "../src/providers/acedata/acedata.emulator";
import { resolveConfig } from "../src/config/config";
import { createServer } from "../src/server/server";
import { startEmulator } from "./support/emulators";
import { postGraphQL, startServer, utcDay, type RunningServer } from "./support/server-harness";

const ENTRY = join(__dirname, "..", "dist", "index.js");

describe("HTTP endpoints", () => {
  let s: RunningServer;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(() => s.stop());

  it("answers /healthz and /readyz with JSON", async () => {
    const health = await fetch(`${s.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });
    const ready = await fetch(`${s.url}/readyz`);
    expect(await ready.json()).toMatchObject({ status: "ready", cache: { kind: "memory", healthy: true } });
  });

  it("serves Prometheus text at /metrics", async () => {
    await fetch(`${s.url}/healthz`);
    const res = await fetch(`${s.url}/metrics`);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(await res.text()).toMatch(/usagegraph_http_requests_total\{route="\/healthz",status="200"\} \d+/);
  });

  it("gives a browser a GraphiQL IDE that loads nothing from the internet", async () => {
    const res = await fetch(`${s.url}/graphql`, { headers: { accept: "text/html" } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toMatch(/graphiql/i);
    expect(html).not.toMatch(/<script[^>]+src=["']https?:/i);
    expect(html).not.toMatch(/<link[^>]+href=["']https?:/i);
  });

  it("answers queries sent with GET", async () => {
    const res = await fetch(`${s.url}/graphql?query=${encodeURIComponent("{ providers { id } }")}`, {
      headers: { "apollo-require-preflight": "true" },
    });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.data.providers.map((p: { id: string }) => p.id)).toContain("ACEDATA");
  });

  it("refuses a body that is not JSON with 400", async () => {
    const res = await fetch(`${s.url}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: "{ query: " });
    expect(res.status).toBe(400);
    expect((await res.json()).errors[0].message).toBe("The request body is not valid JSON.");
  });

  it("refuses a POST body that is not JSON-typed with 415, before reading it", async () => {
    const res = await fetch(`${s.url}/graphql`, { method: "POST", headers: { "content-type": "application/xml" }, body: "<query/>" });
    expect(res.status).toBe(415);
    expect((await res.json()).errors[0]).toEqual({ message: "Send the request body as application/json.", extensions: { code: "BAD_REQUEST" } });
  });

  it("answers a wrong method with 405 and Allow, and an unknown path with 404 and the endpoints", async () => {
    const put = await fetch(`${s.url}/graphql`, { method: "PUT" });
    expect(put.status).toBe(405);
    expect(put.headers.get("allow")).toBe("GET, POST");
    expect((await put.json()).errors[0].message).toBe("Use GET or POST for /graphql.");
    const post = await fetch(`${s.url}/healthz`, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    const missing = await fetch(`${s.url}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({
      error: "not found",
      endpoints: ["/graphql", "/healthz", "/readyz", "/metrics", "/export/usage.csv", "/", "/dashboard", "/dashboard/assets/:file"],
    });
  });

  it("echoes a well-formed x-request-id on every answer, and makes one up otherwise", async () => {
    const echoed = await fetch(`${s.url}/healthz`, { headers: { "x-request-id": "dash-42.a_b" } });
    expect(echoed.headers.get("x-request-id")).toBe("dash-42.a_b");
    const replaced = await fetch(`${s.url}/nope`, { headers: { "x-request-id": "not ok\u00e9" } });
    expect(replaced.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    const refused = await fetch(`${s.url}/graphql`, { method: "POST", headers: { "content-type": "application/json", "x-request-id": "r1" }, body: "{" });
    expect(refused.status).toBe(400);
    expect(refused.headers.get("x-request-id")).toBe("r1");
  });

  it("refuses batched requests", async () => {
    const res = await fetch(`${s.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify([{ query: "{ __typename }" }, { query: "{ __typename }" }]),
    });
    expect(res.status).toBe(400);
  });

  it("turns introspection off when NODE_ENV=production, while _service stays available for composition", async () => {
    const raw = JSON.parse(JSON.stringify(s.server.config));
    const production = resolveConfig({ organizations: raw.organizations, log: raw.log, server: { host: "127.0.0.1", port: 0 } }, { NODE_ENV: "production" });
    expect(production.graphql.introspection).toBe(false);
    expect(s.server.config.graphql.introspection).toBe(true);
    expect(resolveConfig({ organizations: raw.organizations, graphql: { introspection: true } }, { NODE_ENV: "production" }).graphql.introspection).toBe(true);
    const server = await createServer(production);
    const url = await server.listen();
    try {
      const schema = await postGraphQL(url, "{ __schema { types { name } } }");
      expect(schema.status).toBe(400);
      expect(schema.body.errors![0]!.message).toMatch(/introspection is not allowed/i);
      const service = await postGraphQL(url, "{ _service { sdl } }");
      expect(service.body.data._service.sdl).toContain("type Organization");
      const typo = await postGraphQL(url, `{ organizaton(id: "demo") { id } }`);
      expect(typo.status).toBe(400);
      expect(typo.body.errors![0]!.message).not.toMatch(/Did you mean/);
    } finally {
      await server.stop();
    }
  });

  it("describes every provider in the catalog with its metrics and limits", async () => {
    const res = await s.gql(
      `{ providers { id key metrics { key kind unit } rateLimit { requestsPerSecond maxConcurrent } retentionDays finalizationLagDays timeZone resolution } }`,
    );
    const ace = res.body.data.providers.find((p: { id: string }) => p.id === "ACEDATA");
    expect(ace).toMatchObject({ key: "acedata", metrics: [{ key: "acedata.credits", kind: "COUNTER", unit: "credits" }], timeZone: "UTC" });
  });
});

describe("the process", () => {
  const dir = mkdtempSync(join(tmpdir(), "usagegraph-process-"));
  const built = existsSync(ENTRY);

  function start(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcessWithoutNullStreams {
    return spawn(process.execPath, [ENTRY, ...args], { env: { PATH: process.env.PATH, USAGEGRAPH_LOG_LEVEL: "info", ...env } });
  }

  function collect(child: ChildProcessWithoutNullStreams): { out: () => string; exit: Promise<number | null> } {
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    return { out: () => out, exit: new Promise((resolve) => child.on("exit", (code) => resolve(code))) };
  }

  it("is built (npm test builds dist/ before jest)", () => {
    expect(built).toBe(true);
  });

  it("stops on a bad config with one line naming the variable, never a secret, and exit code 2", async () => {
    const file = join(dir, "bad.json");
    writeFileSync(
      file,
      JSON.stringify({ organizations: [{ id: "a", name: "A", providers: { acedata: { baseUrl: "http://127.0.0.1:9", token: "${ACE_TOKEN}" } } }] }),
    );
    const child = start(["--config", file]);
    const { out, exit } = collect(child);
    expect(await exit).toBe(2);
    expect(out().trim().split("\n")).toEqual([
      "usagegraph: configuration error: organizations[0].providers.acedata.token: environment variable ACE_TOKEN is not set",
    ]);
  });

  it("stops demo mode on SIGTERM, emulators included, and exits 0", async () => {
    const child = start([], { PORT: "0" });
    const { out, exit } = collect(child);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line: ${out()}`)), 15_000);
      child.stdout.on("data", () => {
        if (out().includes("usagegraph demo mode")) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    expect(out()).toMatch(/Example query:/);
    child.kill("SIGTERM");
    expect(await exit).toBe(0);
  });

  it("finishes in-flight requests on SIGTERM, then exits 0", async () => {
    const slow = await startEmulator(AceDataEmulator, { latencyMs: 1_500 });
    const file = join(dir, "good.json");
    writeFileSync(
      file,
      JSON.stringify({
        server: { host: "127.0.0.1", port: 0 },
        organizations: [{ id: "acme", name: "Acme", providers: { acedata: { baseUrl: slow.url, token: "${ACE}" } } }],
      }),
    );
    const child = start(["--config", file], { ACE: ACEDATA_DEMO_TOKEN });
    const { out, exit } = collect(child);
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line: ${out()}`)), 15_000);
      child.stdout.on("data", () => {
        const m = /"url":"(http:\/\/[^"]+)\/graphql"/.exec(out());
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
    });
    const inFlight = fetch(`${url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: `{ organization(id: "acme") { usage(input: { from: "${utcDay(-3)}", to: "${utcDay(-2)}" }) { sources { state } } } }` }),
    });
    await new Promise((r) => setTimeout(r, 300));
    child.kill("SIGTERM");
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect((await res.json()).data.organization.usage.sources).toEqual([{ state: "OK" }]);
    expect(await exit).toBe(0);
    expect(out()).not.toContain(ACEDATA_DEMO_TOKEN);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});
