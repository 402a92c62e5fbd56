import { ErrorCode, UpstreamError } from "../../src/common/errors";
import { providerDemos } from "../../src/providers/demo-registry";
import type { EmulatorServer, Fault } from "../../src/providers/emulator/emulator-server";
import type { ProviderDemo, ProviderModule } from "../../src/providers/module";
import type { ProviderQuery } from "../../src/providers/provider";
import { QueueRegistry } from "../../src/providers/http/queue";
import { startProviderEmulator } from "../support/emulators";
import { callContext, providerDeps } from "../support/provider-harness";

/**
 * The shared provider contract: every provider, through its real datasource and its emulator over
 * loopback HTTP, maps the same upstream behaviours to the same contract codes.
 */
const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

/**
 * None of this is about pacing: a vendor with a documented rate (Jiandaoyun, 1/s) is emulated at
 * this rate, with the client paced to match, so that the cases do not wait on the vendor's clock.
 */
const REQUESTS_PER_SECOND = 20;

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

/** The sentences of a vendor's error body (its messages, not its codes): none may reach a client. */
function vendorTexts(body: unknown): string[] {
  if (typeof body === "string") return /\s/.test(body.trim()) ? [body] : [];
  if (Array.isArray(body)) return body.flatMap(vendorTexts);
  if (typeof body === "object" && body !== null) return Object.values(body).flatMap(vendorTexts);
  return [];
}

describe.each(providerDemos().map(({ module, demo }) => [module.catalog.key, module, demo] as const))(
  "provider contract: %s",
  (_key, module, demo: ProviderDemo) => {
    let emulator: EmulatorServer;
    // Queues are per process in production: sharing one here keeps the vendor's pacing across runs.
    const queues = new QueueRegistry();
    const ownQueues: QueueRegistry[] = [];
    const ownQueue = () => {
      ownQueues.push(new QueueRegistry());
      return ownQueues.at(-1)!;
    };
    const paced = module.catalog.rateLimit.requestsPerSecond !== null ? { rateLimit: { requestsPerSecond: REQUESTS_PER_SECOND } } : {};
    const secret = () => String(demo.demoSettings(emulator.url)[module.secretFields[0]!]);
    beforeAll(async () => {
      emulator = await startProviderEmulator(module.catalog.key, { requestsPerSecond: REQUESTS_PER_SECOND });
    });
    afterAll(() => Promise.all([queues, ...ownQueues].map((q) => q.stop())));
    beforeEach(() => emulator.clearFaults().resetLog());

    /** Runs one fetch with fresh process state (no cache) and returns its outcome code. */
    async function run(settings: Record<string, unknown> = {}, queueRegistry = queues) {
      const provider = module.create(
        Object.assign(new module.Settings(), demo.demoSettings(emulator.url), { timeoutMs: 2_000, maxRetries: 1 }, paced, settings),
        { ...providerDeps(), queues: queueRegistry },
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

    const messageOf = (outcome: Awaited<ReturnType<typeof run>>) => outcome.error?.message ?? outcome.result?.issues[0]?.message ?? "";

    it("answers with observations on success", async () => {
      const { code, result, call } = await run();
      expect(code).toBe("OK");
      expect(result!.observations.length).toBeGreaterThan(0);
      for (const o of result!.observations) expect(o.metric.startsWith(`${module.catalog.key}.`)).toBe(true);
      expect(call.stats.upstreamRequests).toBe(emulator.requests.length);
    });

    it("maps a credential the vendor refuses to UPSTREAM_AUTH_FAILED, without retrying or showing the credential", async () => {
      const wrong = "wrong-credential-5d2c9e71";
      const outcome = await run({ [module.secretFields[0]!]: wrong });
      expect(outcome.code).toBe(ErrorCode.UPSTREAM_AUTH_FAILED);
      expect(emulator.requests).toHaveLength(1);
      expect(messageOf(outcome)).not.toContain(wrong);
    });

    interface FaultCase {
      name: string;
      fault: (d: ProviderDemo) => Fault;
      code: ErrorCode;
      /** Requests made with maxRetries 1: 1 for a failure no retry can fix, 2 for one retried. */
      attempts: number;
    }
    const cases: FaultCase[] = [
      {
        name: "the vendor's auth failure",
        fault: (d) => ({ kind: "status", ...d.errorSamples.authFailure }),
        code: ErrorCode.UPSTREAM_AUTH_FAILED,
        attempts: 1,
      },
      {
        name: "the vendor's bad-parameter envelope",
        fault: (d) => ({ kind: "status", ...d.errorSamples.badParameter }),
        code: ErrorCode.UPSTREAM_BAD_RESPONSE,
        attempts: 1,
      },
      { name: "a 5xx", fault: () => ({ kind: "status", status: 503 }), code: ErrorCode.UPSTREAM_UNAVAILABLE, attempts: 2 },
      { name: "an HTML error page", fault: () => ({ kind: "html", status: 502 }), code: ErrorCode.UPSTREAM_UNAVAILABLE, attempts: 2 },
      { name: "a malformed body", fault: () => ({ kind: "malformed" }), code: ErrorCode.UPSTREAM_BAD_RESPONSE, attempts: 1 },
      { name: "a hang", fault: () => ({ kind: "hang" }), code: ErrorCode.UPSTREAM_TIMEOUT, attempts: 2 },
    ];
    it.each(cases)("maps $name to $code after $attempts attempt(s), showing no credential, URL or words of the vendor", async ({ fault, code, attempts }) => {
      const injected = fault(demo);
      emulator.inject(injected);
      const outcome = await run({ timeoutMs: 300, maxRetries: 1 });
      expect(outcome.code).toBe(code);
      expect(emulator.requests).toHaveLength(attempts);
      const message = messageOf(outcome);
      expect(message).not.toContain(secret());
      expect(message).not.toContain(emulator.url);
      for (const text of injected.kind === "status" ? vendorTexts(injected.body) : []) expect(message).not.toContain(text);
    });

    it("retries a 5xx a bounded number of times", async () => {
      emulator.inject({ kind: "status", status: 500 });
      const outcome = await run({ maxRetries: 2 });
      expect(outcome.code).toBe(ErrorCode.UPSTREAM_UNAVAILABLE);
      // The first fetch unit is tried 1 + maxRetries times, then the provider gives up.
      expect(emulator.requests.length).toBeGreaterThanOrEqual(3);
      expect(outcome.call.stats.upstreamRequests).toBe(emulator.requests.length);
    });

    /**
     * How the vendor throttles: its own answer, and a bare HTTP 429 in its envelope when that answer
     * is not one (Jiandaoyun's frequency limit is an HTTP 400 with code 8304).
     */
    const sample = demo.errorSamples.rateLimited;
    type Throttle = (headers?: Record<string, string>) => Fault;
    const throttles: Array<[string, Throttle]> = [
      ["the vendor's throttling answer", (headers) => ({ kind: "status", ...sample, headers: { ...sample.headers, ...headers } })],
    ];
    if (sample.status !== 429) throttles.push(["a bare HTTP 429", (headers) => ({ kind: "status", status: 429, headers })]);

    it.each(throttles)("retries %s without Retry-After and then answers", async (_name, throttle) => {
      const { calls } = await baseline();
      emulator.inject(throttle(), 1);
      const outcome = await run();
      expect(outcome.code).toBe("OK");
      expect(emulator.requests.length).toBe(calls + 1);
    });

    it.each(throttles)("retries %s with Retry-After and then answers", async (_name, throttle) => {
      const { calls } = await baseline();
      emulator.inject(throttle({ "retry-after": "1" }), 1);
      const outcome = await run();
      expect(outcome.code).toBe("OK");
      expect(emulator.requests.length).toBe(calls + 1);
    });

    // A lasting throttle pauses the credential's queue: each of these cases pauses a queue of its own.
    it.each(throttles)("reports %s that lasts, without Retry-After, as UPSTREAM_RATE_LIMITED to retry after 1 s", async (_name, throttle) => {
      emulator.inject(throttle());
      const outcome = await run({ maxRetries: 0 }, ownQueue());
      expect(outcome.code).toBe(ErrorCode.UPSTREAM_RATE_LIMITED);
      expect(outcome.error?.options.retryAfterSeconds ?? outcome.result?.issues[0]?.retryAfterSeconds).toBe(1);
    });

    it.each(throttles)("reports %s that lasts as UPSTREAM_RATE_LIMITED with the Retry-After it was given", async (_name, throttle) => {
      emulator.inject(throttle({ "retry-after": "7" }));
      const outcome = await run({ maxRetries: 0 }, ownQueue());
      expect(outcome.code).toBe(ErrorCode.UPSTREAM_RATE_LIMITED);
      expect(outcome.error?.options.retryAfterSeconds ?? outcome.result?.issues[0]?.retryAfterSeconds).toBe(7);
    });
  },
);
