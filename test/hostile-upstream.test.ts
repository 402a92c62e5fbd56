import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { deadlineAfter } from "../src/common/deadline";
import type { EmulatorServer } from "../src/providers/emulator/emulator-server";
import { postGraphQL, startServer, utcDay, type RunningServer } from "./support/server-harness";

/**
 * Upstreams that misbehave on purpose, through the real server: a body too large to read, a body
 * drip-fed past the request deadline, a failure that no retry can fix asked again and again. Each
 * ends as a coded source outcome, never as a number, and never as a flood of upstream calls.
 */
const PROVIDERS: ReadonlyArray<[key: string, id: string]> = [
  ["jiandaoyun", "JIANDAOYUN"],
  ["acedata", "ACEDATA"],
  ["aiStudio", "AI_STUDIO"],
  ["pipefy", "PIPEFY"],
  ["adverity", "ADVERITY"],
];

const DEADLINE_MS = 2_500;

describe("hostile upstreams", () => {
  let s: RunningServer;
  let fresh = 10;
  /** A one-day report over a day no earlier report of this suite asked for (no cache). */
  const report = (id: string) => {
    fresh += 1;
    const day = utcDay(-fresh);
    return `{ organization(id: "demo") { usage(input: { from: "${day}", to: "${day}", providers: [${id}] }) {
      series { provider total } sources { provider state error { code message } upstreamRequests cachedResponses } } } }`;
  };
  const emulator = (key: string): EmulatorServer => s.emulator(key);

  beforeAll(async () => {
    s = await startServer({
      mutate: (raw) => {
        raw.limits = { deadlineMs: DEADLINE_MS };
        for (const key of Object.keys(raw.organizations[0].providers)) {
          // A per-attempt timeout longer than the request deadline: only the deadline can end a drip.
          // No failure memory: one fault after another on the same calls (the memory has its own suite below).
          raw.organizations[0].providers[key] = {
            ...raw.organizations[0].providers[key],
            timeoutMs: 20_000,
            maxRetries: 0,
            maxBodyBytes: 256 * 1024,
            failureMemoryMs: 0,
          };
        }
      },
    });
  });
  afterAll(() => s.stop());
  beforeEach(() => s.demo!.emulators.forEach((e) => e.clearFaults().resetLog()));

  it.each(PROVIDERS)("refuses an oversized %s body as UPSTREAM_BAD_RESPONSE without reading it all", async (key, id) => {
    emulator(key).inject({ kind: "oversized", bytes: 8 * 1024 * 1024 });
    const res = await postGraphQL(s.url, report(id));
    const source = res.body.data.organization.usage.sources[0];
    expect(source).toMatchObject({
      provider: id,
      state: "FAILED",
      error: { code: "UPSTREAM_BAD_RESPONSE", message: expect.stringMatching(/larger than 256 KiB/) },
    });
    expect(res.body.data.organization.usage.series).toEqual([]);
  });

  it.each(PROVIDERS)("ends a drip-fed %s answer at the request deadline with DEADLINE_EXCEEDED", async (key, id) => {
    emulator(key).inject({ kind: "drip", intervalMs: 200 });
    const res = await postGraphQL(s.url, report(id));
    const source = res.body.data.organization.usage.sources[0];
    // The drip would take far longer than the deadline (every body here is > 100 bytes at 5 bytes/s):
    // the coded outcome proves the deadline fired, not the per-attempt timeout (20 s) or the drip's end.
    expect(source).toMatchObject({ provider: id, state: "FAILED", error: { code: "DEADLINE_EXCEEDED" } });
    expect(res.body.data.organization.usage.series).toEqual([]);
    expect(res.body.errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: "DEADLINE_EXCEEDED", provider: id }) })]);
  });
});

describe("failures no retry can fix", () => {
  let s: RunningServer;
  let fresh = 40;
  const emulator = (key: string): EmulatorServer => s.emulator(key);

  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(() => s.stop());
  beforeEach(() => s.demo!.emulators.forEach((e) => e.clearFaults().resetLog()));

  it.each([
    ["credentials Ace Data refuses", "acedata", "ACEDATA", { kind: "status", status: 401 } as const, "UPSTREAM_AUTH_FAILED"],
    [
      "a query Pipefy rejects",
      "pipefy",
      "PIPEFY",
      { kind: "status", status: 200, body: { errors: [{ message: "Cannot query field", extensions: { code: "GRAPHQL_VALIDATION_FAILED" } }] } } as const,
      "UPSTREAM_BAD_RESPONSE",
    ],
  ])("asks the vendor at most twice when %s, asked 50 times by clients", async (_name, key, id, fault, code) => {
    emulator(key).inject(fault);
    const day = utcDay(-fresh++);
    const query = `{ organization(id: "demo") { usage(input: { from: "${day}", to: "${day}", providers: [${id}] }) {
      sources { provider state error { code message } upstreamRequests cachedResponses } } } }`;
    const answers: Array<{ state: string; error: { code: string; message: string }; upstreamRequests: number; cachedResponses: number }> = [];
    // Five dashboards refreshing ten times each, every 200 ms: 50 asks in about 2 s.
    for (let round = 0; round < 10; round++) {
      const batch = await Promise.all(Array.from({ length: 5 }, () => postGraphQL(s.url, query)));
      answers.push(...batch.map((r) => r.body.data.organization.usage.sources[0]));
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(answers).toHaveLength(50);
    expect(emulator(key).requests.length).toBeLessThanOrEqual(2);
    expect(new Set(answers.map((a) => `${a.state} ${a.error.code} ${a.error.message}`))).toEqual(new Set([`FAILED ${code} ${answers[0]!.error.message}`]));
    // Served from memory: it says so, as an answer that did not reach the vendor.
    expect(answers.filter((a) => a.upstreamRequests === 0 && a.cachedResponses > 0).length).toBeGreaterThanOrEqual(48);
  });
});

describe("the request deadline", () => {
  it("fires even when nothing but its listener references it and the garbage collector runs (nodejs/node#57736)", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const fired = new Promise<string>((resolve) => {
      // Nothing keeps the Deadline object: only the listener on its signal.
      deadlineAfter(150).signal.addEventListener("abort", () => resolve("aborted"), { once: true });
    });
    const collect = setInterval(gc, 10);
    const outcome = await Promise.race([fired, new Promise<string>((r) => setTimeout(() => r("never fired"), 3_000))]);
    clearInterval(collect);
    expect(outcome).toBe("aborted");
  });

  it("follows its parent and stops listening to it once cleared", () => {
    const parent = new AbortController();
    const child = deadlineAfter(60_000, parent.signal);
    parent.abort();
    expect(child.signal.aborted).toBe(true);
    expect(child.timedOut).toBe(false);
    child.clear();
    const second = deadlineAfter(60_000, new AbortController().signal);
    second.clear();
    expect(second.signal.aborted).toBe(false);
  });
});
