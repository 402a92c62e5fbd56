import { ErrorCode, UpstreamError } from "../../src/common/errors";
import type { EmulatorServer, Fault } from "../../src/providers/emulator/emulator-server";
import type { ProviderModule } from "../../src/providers/module";
import type { ProviderQuery } from "../../src/providers/provider";
import { QueueRegistry } from "../../src/providers/http/queue";
import { PROVIDER_MODULES } from "../../src/providers/registry";
import { callContext, providerDeps } from "../support/provider-harness";

/**
 * The shared provider contract: every provider, through its real datasource and its emulator over
 * loopback HTTP, maps the same upstream behaviours to the same contract codes.
 */
const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

function query(module: ProviderModule): ProviderQuery {
  // One closed day that every provider has (Jiandaoyun's UTC+8 yesterday included): one fetch unit.
  return {
    range: { from: day(-3), to: day(-3) },
    metrics: module.catalog.metrics.map((m) => m.key),
    groupBy: [],
    where: [],
    granularity: "DAY",
    records: false,
  };
}

describe.each(PROVIDER_MODULES.map((m) => [m.catalog.key, m] as const))("provider contract: %s", (_key, module) => {
  let emulator: EmulatorServer;
  // Queues are per process in production: sharing one here keeps the vendor's pacing across runs.
  const queues = new QueueRegistry();
  beforeAll(async () => {
    emulator = await module.startEmulator();
  });
  afterAll(() => emulator.stop());
  beforeEach(() => emulator.clearFaults().resetLog());

  /** Runs one fetch with fresh process state (no cache) and returns its outcome code. */
  async function run(settings: Record<string, unknown> = {}) {
    const provider = module.create(
      Object.assign(new module.Settings(), module.demoSettings(emulator.url), { timeoutMs: 2_000, maxRetries: 1 }, settings),
      { ...providerDeps(), queues },
    );
    const call = callContext();
    try {
      const result = await provider.fetch(query(module), call);
      return { code: result.issues[0]?.code ?? "OK", result, error: undefined, call };
    } catch (error) {
      if (!(error instanceof UpstreamError)) throw error;
      return { code: error.code, result: undefined, error, call };
    }
  }

  async function baseline() {
    const ok = await run();
    const calls = emulator.requests.length;
    emulator.resetLog();
    return { ok, calls };
  }

  it("answers with observations on success", async () => {
    const { code, result, call } = await run();
    expect(code).toBe("OK");
    expect(result!.observations.length).toBeGreaterThan(0);
    for (const o of result!.observations) expect(o.metric.startsWith(`${module.catalog.key}.`)).toBe(true);
    expect(call.stats.upstreamRequests).toBe(emulator.requests.length);
  });

  const cases: Array<[string, (m: ProviderModule) => Fault, ErrorCode]> = [
    ["the vendor's auth failure", (m) => ({ kind: "status", ...m.errorSamples.authFailure }), ErrorCode.UPSTREAM_AUTH_FAILED],
    ["the vendor's bad-parameter envelope", (m) => ({ kind: "status", ...m.errorSamples.badParameter }), ErrorCode.UPSTREAM_BAD_RESPONSE],
    ["a 5xx", () => ({ kind: "status", status: 503 }), ErrorCode.UPSTREAM_UNAVAILABLE],
    ["an HTML error page", () => ({ kind: "html", status: 502 }), ErrorCode.UPSTREAM_UNAVAILABLE],
    ["a malformed body", () => ({ kind: "malformed" }), ErrorCode.UPSTREAM_BAD_RESPONSE],
    ["a hang", () => ({ kind: "hang" }), ErrorCode.UPSTREAM_TIMEOUT],
  ];
  it.each(cases)("maps %s to its contract code", async (_name, fault, code) => {
    emulator.inject(fault(module));
    const outcome = await run({ timeoutMs: 300 });
    expect(outcome.code).toBe(code);
    const message = outcome.error?.message ?? outcome.result?.issues[0]?.message ?? "";
    expect(message).not.toContain(String(module.demoSettings(emulator.url)[module.secretFields[0]!]));
    expect(message).not.toContain(emulator.url);
  });

  it("retries a 5xx a bounded number of times", async () => {
    emulator.inject({ kind: "status", status: 500 });
    const outcome = await run({ maxRetries: 2 });
    expect(outcome.code).toBe(ErrorCode.UPSTREAM_UNAVAILABLE);
    // The first fetch unit is tried 1 + maxRetries times, then the provider gives up.
    expect(emulator.requests.length).toBeGreaterThanOrEqual(3);
    expect(outcome.call.stats.upstreamRequests).toBe(emulator.requests.length);
  });

  it("retries a 429 without Retry-After and then answers", async () => {
    const { calls } = await baseline();
    emulator.inject({ kind: "status", ...module.errorSamples.rateLimited }, 1);
    const outcome = await run();
    expect(outcome.code).toBe("OK");
    expect(emulator.requests.length).toBe(calls + 1);
  });

  it("retries a 429 with Retry-After and then answers", async () => {
    const { calls } = await baseline();
    const sample = module.errorSamples.rateLimited;
    emulator.inject({ kind: "status", ...sample, headers: { ...sample.headers, "retry-after": "1" } }, 1);
    const outcome = await run();
    expect(outcome.code).toBe("OK");
    expect(emulator.requests.length).toBe(calls + 1);
  });

  it("reports a lasting 429 as UPSTREAM_RATE_LIMITED with the Retry-After it was given", async () => {
    const sample = module.errorSamples.rateLimited;
    emulator.inject({ kind: "status", ...sample, headers: { ...sample.headers, "retry-after": "7" } });
    const outcome = await run({ maxRetries: 0 });
    expect(outcome.code).toBe(ErrorCode.UPSTREAM_RATE_LIMITED);
    const retryAfter = outcome.error?.options.retryAfterSeconds ?? outcome.result?.issues[0]?.retryAfterSeconds;
    expect(retryAfter).toBe(7);
  });
});
