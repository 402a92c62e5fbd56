import { Writable } from "node:stream";
import pino from "pino";
import { resolveConfig } from "../src/config/config";
import { AceDataEmulator } from "../src/providers/acedata/acedata.emulator";
import type { Fault } from "../src/providers/emulator/emulator-server";
import { createServer, type UsageGraphServer } from "../src/server/server";
import { startEmulator } from "./support/emulators";
import { postGraphQL, utcDay } from "./support/server-harness";

/** Tenancy, and the leak canary: credentials and upstream bodies never reach a response or a log. */
const ACME_TOKEN = "acme-upstream-token-SECRET-91c2";
const GLOBEX_TOKEN = "globex-upstream-token-SECRET-77ad";
const ACME_KEY = "acme-dashboard-key-0123456789";
const GLOBEX_KEY = "globex-dashboard-key-9876543210";
const CANARY = "CANARY-4f1d9e";

describe("auth, tenancy and what never leaks", () => {
  let acme: AceDataEmulator;
  let globex: AceDataEmulator;
  let server: UsageGraphServer;
  let url: string;
  const logLines: string[] = [];

  beforeAll(async () => {
    acme = await startEmulator(AceDataEmulator, { token: ACME_TOKEN });
    globex = await startEmulator(AceDataEmulator, { token: GLOBEX_TOKEN });
    const config = resolveConfig(
      {
        server: { host: "127.0.0.1", port: 0 },
        auth: {
          apiKeys: [
            { name: "acme-dashboard", key: "${ACME_KEY}", organizations: ["acme"] },
            { name: "globex-dashboard", key: "${GLOBEX_KEY}", organizations: ["globex"] },
          ],
        },
        organizations: [
          {
            id: "acme",
            name: "Acme",
            providers: {
              // A failure after failure on purpose: neither the breaker nor the failure memory may hide the next one.
              acedata: {
                baseUrl: acme.url,
                token: "${ACME_TOKEN}",
                maxRetries: 1,
                timeoutMs: 1_000,
                failureMemoryMs: 0,
                circuitBreaker: { failures: 100, halfOpenAfterMs: 1_000 },
              },
            },
          },
          { id: "globex", name: "Globex", providers: { acedata: { baseUrl: globex.url, token: "${GLOBEX_TOKEN}" } } },
        ],
      },
      { ACME_KEY, GLOBEX_KEY, ACME_TOKEN, GLOBEX_TOKEN },
    );
    const sink = new Writable({
      write(chunk, _enc, done) {
        logLines.push(...chunk.toString().split("\n").filter(Boolean));
        done();
      },
    });
    server = await createServer(config, { log: pino({ level: "trace" }, sink) });
    url = await server.listen();
  });
  afterAll(() => server.stop());
  beforeEach(() => {
    acme.clearFaults().resetLog();
    globex.clearFaults().resetLog();
  });

  const as = (key: string) => ({ authorization: `Bearer ${key}` });
  // Each report asks for days no earlier report asked for: a cached answer would hide the fault.
  let fresh = 10;
  const usage = (org: string) => {
    fresh += 3;
    return `{ organization(id: "${org}") { usage(input: { from: "${utcDay(-fresh)}", to: "${utcDay(-fresh + 2)}" }) { sources { state error { code message } } } } }`;
  };

  it("refuses a request without a key, or with a wrong one, as UNAUTHENTICATED (401)", async () => {
    for (const headers of [{}, as("not-a-valid-key-at-all"), { authorization: `Basic ${ACME_KEY}` }]) {
      const res = await postGraphQL(url, "{ organizations { id } }", undefined, headers);
      expect(res.status).toBe(401);
      expect(res.body.errors![0]!.extensions!.code).toBe("UNAUTHENTICATED");
      expect(res.body.data).toBeUndefined();
    }
  });

  it("lists only the organizations a key may see", async () => {
    const res = await postGraphQL(url, "{ organizations { id name } }", undefined, as(ACME_KEY));
    expect(res.body).toEqual({ data: { organizations: [{ id: "acme", name: "Acme" }] } });
  });

  it("forbids reading another organization by organization(id), and calls none of its providers", async () => {
    const res = await postGraphQL(url, usage("globex"), undefined, as(ACME_KEY));
    expect(res.body.data).toEqual({ organization: null });
    expect(res.body.errors![0]!.extensions!.code).toBe("FORBIDDEN");
    expect(globex.requests).toHaveLength(0);
    const own = await postGraphQL(url, usage("acme"), undefined, as(ACME_KEY));
    expect(own.body.data.organization.usage.sources).toEqual([{ state: "OK", error: null }]);
  });

  it("forbids reading another organization through federation _entities", async () => {
    const res = await postGraphQL(
      url,
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Organization { id name usage(input: { from: "${utcDay(-4)}", to: "${utcDay(-2)}" }) { series { total } } } } }`,
      {
        r: [
          { __typename: "Organization", id: "globex" },
          { __typename: "Organization", id: "acme" },
        ],
      },
      as(ACME_KEY),
    );
    expect(res.body.data._entities[0]).toBeNull();
    expect(res.body.data._entities[1]).toMatchObject({ id: "acme", name: "Acme" });
    expect(res.body.errors!.map((e) => e.extensions!.code)).toEqual(["FORBIDDEN"]);
    expect(globex.requests).toHaveLength(0);
  });

  it("does not reveal whether an organization it may not see exists", async () => {
    const missing = await postGraphQL(url, `{ organization(id: "initech") { id } }`, undefined, as(ACME_KEY));
    const hidden = await postGraphQL(url, `{ organization(id: "globex") { id } }`, undefined, as(ACME_KEY));
    expect(missing.body.errors![0]!.extensions!.code).toBe("FORBIDDEN");
    expect(missing.body.errors![0]!.message.replace("initech", "X")).toBe(hidden.body.errors![0]!.message.replace("globex", "X"));
  });

  const canaries: Array<[string, Fault]> = [
    [
      "a 401 that echoes the credential",
      { kind: "status", status: 401, body: { error: { code: `${CANARY}-${ACME_TOKEN}`, message: `${CANARY} bad token ${ACME_TOKEN}` }, trace_id: CANARY } },
    ],
    [
      "a 500 with a stack trace in its body",
      { kind: "status", status: 500, body: { detail: `${CANARY} Traceback: at handler (/srv/app.py:12) token=${ACME_TOKEN}` } },
    ],
    [
      "a 429 with an echoing body",
      {
        kind: "status",
        status: 429,
        body: { error: { code: "too_many_requests", message: `${CANARY} ${ACME_TOKEN}` }, trace_id: CANARY },
        headers: { "retry-after": "1" },
      },
    ],
    [
      "a 400 that names the query string",
      {
        kind: "status",
        status: 400,
        body: { error: { code: "invalid_parameter", message: `${CANARY} /api/v1/usage/apis/aggregate/?token=${ACME_TOKEN}` }, trace_id: CANARY },
      },
    ],
    [
      "a 200 whose body is not the documented shape",
      { kind: "status", status: 200, body: { results: `${CANARY} ${ACME_TOKEN}` }, offContract: "results is a string, not the documented array" },
    ],
    ["an HTML error page", { kind: "html", status: 502 }],
  ];
  it.each(canaries)("never shows %s in a response or a log line", async (_name, fault) => {
    acme.inject(fault);
    logLines.length = 0;
    const res = await postGraphQL(url, usage("acme"), undefined, as(ACME_KEY));
    expect(res.status).toBe(200);
    expect(res.body.data.organization.usage.sources[0].state).toBe("FAILED");
    expect(acme.requests.length).toBeGreaterThan(0);
    const everything = [res.text, ...logLines].join("\n");
    expect(logLines.length).toBeGreaterThan(0);
    for (const secret of [CANARY, ACME_TOKEN, ACME_KEY, "Traceback", "nginx", acme.url, "/api/v1/usage/apis/aggregate/?"]) {
      expect(everything).not.toContain(secret);
    }
    expect(res.text).not.toMatch(/stacktrace|\s+at\s+\S+\s+\(/);
  });

  it("keeps the upstream failure's code and provider in errors, with our own message", async () => {
    acme.inject({ kind: "status", status: 503, body: { detail: CANARY } });
    const res = await postGraphQL(url, usage("acme"), undefined, as(ACME_KEY));
    expect(res.body.errors).toEqual([
      {
        message: expect.stringMatching(/^Ace Data Cloud is unavailable \(HTTP 503\)$/),
        path: ["organization", "usage"],
        extensions: { code: "UPSTREAM_UNAVAILABLE", provider: "ACEDATA" },
      },
    ]);
  });
});
