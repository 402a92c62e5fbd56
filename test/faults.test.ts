import type { EmulatorServer, Fault } from "../src/providers/emulator/emulator-server";
import { postGraphQL, startServer, utcDay, type RunningServer } from "./support/server-harness";

/**
 * The fault suite, through the real server: each upstream misbehaviour becomes its contract code on
 * the provider that misbehaved, while every other provider's data arrives intact.
 */
describe("upstream faults", () => {
  let s: RunningServer;
  let fresh = 20;
  /** A report over days no earlier report asked for, so nothing comes from the cache. */
  const report = (providers: string[]) => {
    fresh += 3;
    return `{ organization(id: "demo") { usage(input: { from: "${utcDay(-fresh)}", to: "${utcDay(-fresh + 2)}", providers: [${providers.join(", ")}] }) {
      series { provider } sources { provider state error { code message retryAfterSeconds } upstreamRequests } } } }`;
  };
  const emulator = (key: string): EmulatorServer => s.emulator(key);

  beforeAll(async () => {
    s = await startServer({
      mutate: (raw) => {
        const p = raw.organizations[0].providers;
        // One fault after another on the same calls: the failure memory would answer the next test
        // with the last one's failure (test/hostile-upstream.test.ts tests the memory itself).
        for (const key of Object.keys(p)) p[key].failureMemoryMs = 0;
        p.acedata = { ...p.acedata, timeoutMs: 400, maxRetries: 1, circuitBreaker: { failures: 3, halfOpenAfterMs: 1_500 } };
        p.aiStudio = { ...p.aiStudio, timeoutMs: 400, maxRetries: 0 };
        p.pipefy = { ...p.pipefy, maxRetries: 0 };
        p.adverity = { ...p.adverity, maxRetries: 1 };
      },
    });
  });
  afterAll(() => s.stop());
  beforeEach(() => s.demo!.emulators.forEach((e) => e.clearFaults().resetLog()));

  async function expectFault(key: string, id: string, fault: Fault, code: string) {
    emulator(key).inject(fault);
    const res = await postGraphQL(s.url, report([id, "ADVERITY"]));
    expect(res.status).toBe(200);
    const [failing, healthy] = res.body.data.organization.usage.sources;
    expect(failing).toMatchObject({ provider: id, state: "FAILED", error: { code } });
    expect(healthy).toMatchObject({ provider: "ADVERITY", state: "OK", error: null });
    expect(res.body.data.organization.usage.series.some((x: any) => x.provider === "ADVERITY")).toBe(true);
    expect(res.body.errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code, provider: id }) })]);
    return { res, failing };
  }

  it("reports a timeout as UPSTREAM_TIMEOUT", async () => {
    await expectFault("aiStudio", "AI_STUDIO", { kind: "hang" }, "UPSTREAM_TIMEOUT");
  });

  it("reports a hang as UPSTREAM_TIMEOUT without holding the other providers", async () => {
    const { failing } = await expectFault("aiStudio", "AI_STUDIO", { kind: "hang" }, "UPSTREAM_TIMEOUT");
    expect(failing.upstreamRequests).toBe(1);
  });

  it("reports malformed JSON as UPSTREAM_BAD_RESPONSE", async () => {
    await expectFault("aiStudio", "AI_STUDIO", { kind: "malformed" }, "UPSTREAM_BAD_RESPONSE");
  });

  it("reports an HTML error page as UPSTREAM_UNAVAILABLE", async () => {
    await expectFault("aiStudio", "AI_STUDIO", { kind: "html", status: 502 }, "UPSTREAM_UNAVAILABLE");
  });

  it("maps Pipefy's HTTP 200 with errors[] by extensions.code", async () => {
    const body = { data: null, errors: [{ message: "Permission denied", extensions: { code: "PERMISSION_DENIED" } }] };
    await expectFault("pipefy", "PIPEFY", { kind: "status", status: 200, body }, "UPSTREAM_AUTH_FAILED");
  });

  it("opens the circuit in a 5xx storm: calls stop reaching the vendor, then one probe closes it again", async () => {
    const ace = emulator("acedata");
    ace.inject({ kind: "status", status: 503 });
    // Three failed calls (each with one retry) open the circuit...
    for (let i = 0; i < 3; i++) await expectFault("acedata", "ACEDATA", { kind: "status", status: 503 }, "UPSTREAM_UNAVAILABLE");
    const reached = ace.requests.length;
    expect(reached).toBe(6);
    // ...and while it is open, reports fail fast without a single upstream call.
    for (let i = 0; i < 5; i++) {
      const res = await postGraphQL(s.url, report(["ACEDATA", "ADVERITY"]));
      const [failing, healthy] = res.body.data.organization.usage.sources;
      expect(failing).toMatchObject({
        state: "FAILED",
        error: { code: "UPSTREAM_UNAVAILABLE", message: expect.stringMatching(/circuit open/) },
        upstreamRequests: 0,
      });
      expect(healthy.state).toBe("OK");
    }
    expect(ace.requests.length).toBe(reached);
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toMatch(/usagegraph_circuit_breaker_state\{provider="acedata",organization="demo"\} 2/);

    // Once half-open, one probe goes through; the vendor has recovered, so the circuit closes.
    ace.clearFaults();
    await new Promise((resolve) => setTimeout(resolve, 1_600));
    const probe = await postGraphQL(s.url, report(["ACEDATA"]));
    expect(probe.body.data.organization.usage.sources[0]).toMatchObject({ state: "OK", upstreamRequests: 1 });
    expect(await (await fetch(`${s.url}/metrics`)).text()).toMatch(/usagegraph_circuit_breaker_state\{provider="acedata",organization="demo"\} 0/);
  });

  // The 429 cases come last: a Retry-After pauses that provider's queue, as it should.
  it("reports a lasting 429 with Retry-After in seconds as UPSTREAM_RATE_LIMITED with retryAfterSeconds", async () => {
    const { failing } = await expectFault("aiStudio", "AI_STUDIO", { kind: "status", status: 429, headers: { "retry-after": "30" } }, "UPSTREAM_RATE_LIMITED");
    expect(failing.error.retryAfterSeconds).toBe(30);
    // The queue now waits out the pause: the next report does not call AI Studio at all.
    emulator("aiStudio").clearFaults().resetLog();
    const next = await postGraphQL(s.url, report(["AI_STUDIO"]));
    expect(next.body.data.organization.usage.sources[0]).toMatchObject({ state: "FAILED", error: { code: "UPSTREAM_RATE_LIMITED" }, upstreamRequests: 0 });
    expect(next.body.data.organization.usage.sources[0].error.retryAfterSeconds).toBeGreaterThanOrEqual(28);
    expect(emulator("aiStudio").requests).toHaveLength(0);
  });

  it("reads a Retry-After given as an HTTP-date", async () => {
    const at = new Date(Date.now() + 45_000).toUTCString();
    const { failing } = await expectFault("pipefy", "PIPEFY", { kind: "status", status: 429, headers: { "retry-after": at } }, "UPSTREAM_RATE_LIMITED");
    expect(failing.error.retryAfterSeconds).toBeGreaterThanOrEqual(43);
    expect(failing.error.retryAfterSeconds).toBeLessThanOrEqual(46);
  });

  it("retries a 429 whose Retry-After has passed, and answers", async () => {
    const before = (await postGraphQL(s.url, report(["ADVERITY"]))).body.data.organization.usage.sources[0].upstreamRequests;
    s.demo!.emulators.forEach((e) => e.resetLog());
    emulator("adverity").inject({ kind: "status", status: 429, body: { detail: "Request was throttled." }, headers: { "retry-after": "0" } }, 1);
    const res = await postGraphQL(s.url, report(["ADVERITY"]));
    expect(res.body.data.organization.usage.sources[0]).toMatchObject({ state: "OK", upstreamRequests: before + 1 });
  });

  it("counts upstream calls by provider and outcome in /metrics", async () => {
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toMatch(/usagegraph_upstream_calls_total\{provider="adverity",outcome="ok"\} \d+/);
    expect(metrics).toMatch(/usagegraph_upstream_calls_total\{provider="aiStudio",outcome="UPSTREAM_TIMEOUT"\} \d+/);
    expect(metrics).toMatch(/usagegraph_cache_lookups_total\{provider="adverity",result="miss"\} \d+/);
    expect(metrics).toMatch(/usagegraph_queue_wait_seconds_bucket/);
    expect(metrics).toMatch(/usagegraph_queue_length\{queue="Adverity"\} 0/);
  });
});
