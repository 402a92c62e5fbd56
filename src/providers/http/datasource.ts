import { createHash } from "node:crypto";
import { BrokenCircuitError, circuitBreaker, CircuitState, ConsecutiveBreaker, DelegateBackoff, handleWhen, retry, type CircuitBreakerPolicy } from "cockatiel";
import { todayIn } from "../../common/dates";
import { ErrorCode, UpstreamError } from "../../common/errors";
import type { CallContext, ProviderCatalog, ProviderDeps, UpstreamMetrics } from "../provider";
import type { UpstreamCache } from "./cache";
import type { ProviderQueue } from "./queue";
import { parseRetryAfter } from "./retry-after";

/** Settings every provider section of the config has beside its credentials. */
export interface HttpSettings {
  baseUrl: string;
  timeoutMs: number;
  maxRetries: number;
  rateLimit?: { requestsPerSecond?: number; maxConcurrent?: number };
  circuitBreaker?: { failures: number; halfOpenAfterMs: number };
}

export interface UpstreamRequest {
  method: "GET" | "POST";
  /** Path below baseUrl, starting with `/`. */
  path: string;
  /** Query pairs in order; a key may repeat (`api_id=a&api_id=b`). */
  query?: ReadonlyArray<readonly [string, string]>;
  body?: unknown;
  /** How long the answer may be cached, in ms; 0 = never. */
  ttlMs: number;
}

export interface UpstreamResponse {
  status: number;
  headers: Headers;
  /** The parsed JSON body; undefined when the body is not JSON. */
  json: unknown;
}

/** Cache lifetimes: final data for days, data that may still change for minutes. */
export const TTL = { final: 3 * 24 * 3_600_000, fresh: 5 * 60_000 } as const;

/** Lifetime of an answer over UTC days: final once the range ended before today, fresh otherwise. */
export function ttlForUtcDays(range: { to: string }, call: CallContext): number {
  return range.to < todayIn("UTC", call.now()) ? TTL.final : TTL.fresh;
}

const BACKOFF_BASE_MS = 200;
const BACKOFF_CAP_MS = 5_000;
const DEFAULT_RATE_LIMIT_PAUSE_MS = 1_000;
/** Each first attempt earns this much retry budget; each retry spends 1. */
const RETRY_BUDGET_RATIO = 0.2;
/** Budget a credential starts with and can save up: a burst of retries after a quiet spell. */
const RETRY_BUDGET_BURST = 10;

/**
 * Base of every provider's HTTP access. It owns the auth header, the per-credential queue, the
 * timeout, retries with backoff, in-flight de-duplication, the response cache and the mapping of
 * HTTP failures to contract codes. A provider overrides the protected hooks for its vendor's error
 * envelope and exposes only domain methods.
 */
export abstract class HttpDataSource {
  protected readonly queue: ProviderQueue;
  private readonly cache: UpstreamCache;
  private readonly scope: string;
  private readonly inFlight = new Map<string, Promise<unknown>>();
  private readonly metrics?: UpstreamMetrics;
  /** Tokens of the credential that must never reach a log line, even echoed by a vendor. */
  private readonly secret: string;
  /**
   * Opens after repeated failed calls (each after its retries) of this credential, so that a vendor
   * in trouble is not hammered and callers fail fast with UPSTREAM_UNAVAILABLE; after a while it
   * lets one probe through (half-open) and closes again when that succeeds. Failures that say
   * nothing about the vendor's health (bad credentials, bad parameters, our deadline) do not count.
   */
  private readonly breaker: CircuitBreakerPolicy;
  /**
   * Retry budget of this credential (a token bucket): retries may add at most ~20% to the calls
   * made, so a vendor in trouble sees its normal load, not a multiple of it, while the breaker
   * decides whether to stop calling altogether.
   */
  private retryBudget = RETRY_BUDGET_BURST;

  protected constructor(
    protected readonly catalog: ProviderCatalog,
    protected readonly settings: HttpSettings,
    /** The credential: hashed into cache and queue keys, sent only in the auth header. */
    credential: string,
    deps: ProviderDeps,
  ) {
    this.cache = deps.cache;
    this.metrics = deps.metrics;
    this.secret = credential;
    const breakerSettings = settings.circuitBreaker ?? { failures: 5, halfOpenAfterMs: 15_000 };
    this.breaker = circuitBreaker(
      handleWhen((e) => e instanceof UpstreamError && (e.code === ErrorCode.UPSTREAM_UNAVAILABLE || e.code === ErrorCode.UPSTREAM_TIMEOUT)),
      { halfOpenAfter: breakerSettings.halfOpenAfterMs, breaker: new ConsecutiveBreaker(breakerSettings.failures) },
    );
    this.breaker.onStateChange((state) => {
      const name = state === CircuitState.Open || state === CircuitState.Isolated ? "open" : state === CircuitState.HalfOpen ? "half_open" : "closed";
      deps.log.warn({ provider: catalog.key, organization: deps.organizationId, breaker: name }, "circuit breaker state changed");
      this.metrics?.breakerState(catalog.key, deps.organizationId, name);
    });
    this.metrics?.breakerState(catalog.key, deps.organizationId, "closed");
    const credentialHash = sha256(`${settings.baseUrl}\n${credential}`).slice(0, 24);
    // Cache entries are per organization and credential: two organizations never share answers.
    this.scope = `${catalog.key}:${sha256(`${deps.organizationId}\n${credentialHash}`).slice(0, 24)}`;
    this.queue = deps.queues.get(`${catalog.key}:${credentialHash}`, catalog.name, {
      requestsPerSecond: settings.rateLimit?.requestsPerSecond ?? catalog.rateLimit.requestsPerSecond,
      maxConcurrent: settings.rateLimit?.maxConcurrent ?? catalog.rateLimit.maxConcurrent,
      maxQueued: 1_000,
    });
  }

  /** Value of the Authorization header. */
  protected abstract authorization(): string;

  /**
   * Maps a response to an error, or undefined when it carries data. The default reads the HTTP
   * status; providers override it for their own envelopes (Jiandaoyun's 400 with a throttle code,
   * Pipefy's HTTP 200 with `errors[]`) and fall back to `super.errorFor`.
   */
  protected errorFor(res: UpstreamResponse): UpstreamError | undefined {
    const name = this.catalog.name;
    const { status } = res;
    if (status >= 200 && status < 300) {
      return res.json === undefined
        ? new UpstreamError(ErrorCode.UPSTREAM_BAD_RESPONSE, `${name} answered with a body that is not JSON`, { status })
        : undefined;
    }
    if (status === 401 || status === 403) {
      return new UpstreamError(ErrorCode.UPSTREAM_AUTH_FAILED, `${name} rejected the configured credentials (HTTP ${status})`, { status });
    }
    if (status === 429) return this.rateLimited(res);
    if (status === 408 || status === 504) {
      return new UpstreamError(ErrorCode.UPSTREAM_TIMEOUT, `${name} timed out (HTTP ${status})`, { status, retryable: true });
    }
    if (status >= 500) {
      return new UpstreamError(ErrorCode.UPSTREAM_UNAVAILABLE, `${name} is unavailable (HTTP ${status})`, { status, retryable: true });
    }
    return new UpstreamError(ErrorCode.UPSTREAM_BAD_RESPONSE, `${name} refused the request (HTTP ${status})`, { status });
  }

  /** A throttling answer: retried after Retry-After (or 1 s), and the whole queue pauses. */
  protected rateLimited(res: UpstreamResponse, vendorCode?: string | number): UpstreamError {
    const retryAfterSeconds = parseRetryAfter(res.headers.get("retry-after"));
    return new UpstreamError(ErrorCode.UPSTREAM_RATE_LIMITED, `${this.catalog.name} is rate limiting requests`, {
      status: res.status,
      vendorCode,
      retryAfterSeconds: retryAfterSeconds ?? DEFAULT_RATE_LIMIT_PAUSE_MS / 1000,
      retryable: true,
    });
  }

  /**
   * One logical upstream call: cache, then in-flight sharing, then the queue with retries.
   * `parse` turns the JSON body into the wire type and throws UPSTREAM_BAD_RESPONSE when the shape
   * is wrong; only bodies that parsed are cached.
   */
  protected async request<T>(req: UpstreamRequest, call: CallContext, parse: (body: unknown) => T): Promise<T> {
    const key = this.cacheKey(req);
    const cached = req.ttlMs > 0 ? await this.cache.get(key).catch(() => undefined) : undefined;
    if (req.ttlMs > 0) this.metrics?.cacheLookup(this.catalog.key, cached !== undefined);
    if (cached !== undefined) {
      call.stats.cachedResponses++;
      return parse(cached);
    }
    // Identical calls already under way (another request, another alias) share one upstream call.
    let shared = this.inFlight.get(key);
    if (shared) {
      call.stats.cachedResponses++;
    } else {
      shared = this.fetchGuarded(req, call, parse).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, shared);
      shared.then((body) => (req.ttlMs > 0 ? this.cache.set(key, body, req.ttlMs) : undefined)).catch(() => undefined);
    }
    return parse(await raceDeadline(shared, call));
  }

  /** The call behind the circuit breaker: while it is open, fail fast without touching the vendor. */
  private async fetchGuarded<T>(req: UpstreamRequest, call: CallContext, parse: (body: unknown) => T): Promise<unknown> {
    try {
      return await this.breaker.execute(() => this.fetchWithRetries(req, call, parse));
    } catch (error) {
      if (error instanceof BrokenCircuitError) {
        throw new UpstreamError(
          ErrorCode.UPSTREAM_UNAVAILABLE,
          `${this.catalog.name} is failing repeatedly: calls are paused for a while (circuit open)`,
          { retryAfterSeconds: Math.ceil((this.settings.circuitBreaker?.halfOpenAfterMs ?? 15_000) / 1000) },
        );
      }
      throw error;
    }
  }

  private async fetchWithRetries<T>(req: UpstreamRequest, call: CallContext, parse: (body: unknown) => T): Promise<unknown> {
    let nextDelay = 0;
    let attempt = 0;
    this.retryBudget = Math.min(RETRY_BUDGET_BURST, this.retryBudget + RETRY_BUDGET_RATIO);
    const policy = retry(
      handleWhen((error) => {
        attempt++;
        if (!(error instanceof UpstreamError) || !error.retryable) return false;
        if (this.retryBudget < 1) return false;
        const retryAfterMs = error.options.retryAfterSeconds !== undefined ? error.options.retryAfterSeconds * 1000 : undefined;
        // Full jitter: a random wait up to the exponential cap, so clients that failed together do
        // not retry together. A Retry-After from the upstream wins over our own guess.
        nextDelay = retryAfterMs ?? Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt);
        // Retrying only makes sense if the retry can start before the caller's deadline.
        if (Date.now() + nextDelay >= call.deadline) return false;
        this.retryBudget -= 1;
        return true;
      }),
      { maxAttempts: this.settings.maxRetries, backoff: new DelegateBackoff(() => nextDelay) },
    );
    return policy.execute(() => {
      const queued = Date.now();
      return this.queue.schedule(call.deadline, () => {
        this.metrics?.queueWait(this.catalog.key, (Date.now() - queued) / 1000);
        return this.fetchOnce(req, call, parse);
      });
    });
  }

  private async fetchOnce<T>(req: UpstreamRequest, call: CallContext, parse: (body: unknown) => T): Promise<unknown> {
    const url = new URL(this.settings.baseUrl.replace(/\/+$/, "") + req.path);
    for (const [k, v] of req.query ?? []) url.searchParams.append(k, v);
    const timeout = AbortSignal.timeout(this.settings.timeoutMs);
    const signal = AbortSignal.any([call.signal, timeout]);
    const started = Date.now();
    call.stats.upstreamRequests++;
    let res: UpstreamResponse;
    try {
      const response = await fetch(url, {
        method: req.method,
        headers: {
          accept: "application/json",
          authorization: this.authorization(),
          ...(req.body !== undefined ? { "content-type": "application/json" } : {}),
        },
        body: req.body !== undefined ? JSON.stringify(req.body) : undefined,
        signal,
      });
      const text = await response.text();
      res = { status: response.status, headers: response.headers, json: parseJson(text) };
    } catch (error) {
      const failure = timeout.aborted
        ? new UpstreamError(ErrorCode.UPSTREAM_TIMEOUT, `${this.catalog.name} did not answer within ${this.settings.timeoutMs} ms`, { retryable: true })
        : call.signal.aborted
          ? new UpstreamError(ErrorCode.DEADLINE_EXCEEDED, `${this.catalog.name}: the request deadline passed while waiting for the answer`)
          : new UpstreamError(ErrorCode.UPSTREAM_UNAVAILABLE, `${this.catalog.name} could not be reached`, { retryable: true });
      this.logCall(req, call, started, undefined, failure, error);
      throw failure;
    }
    const failure = this.errorFor(res);
    if (failure) {
      if (failure.code === ErrorCode.UPSTREAM_RATE_LIMITED) {
        this.queue.pause((failure.options.retryAfterSeconds ?? 1) * 1000);
      }
      this.logCall(req, call, started, res.status, failure);
      throw failure;
    }
    // Parse once here so a malformed body fails the call (and is never cached).
    parse(res.json);
    this.logCall(req, call, started, res.status);
    return res.json;
  }

  private logCall(req: UpstreamRequest, call: CallContext, started: number, status?: number, failure?: UpstreamError, cause?: unknown): void {
    const seconds = (Date.now() - started) / 1000;
    this.metrics?.upstreamCall(this.catalog.key, failure?.code ?? "ok", seconds);
    // The path only: a query string can carry identifiers, and headers carry the credential.
    call.log.info(
      {
        // The call's logger already names the request, organization and provider.
        method: req.method,
        path: req.path,
        status,
        latencyMs: Math.round(seconds * 1000),
        code: failure?.code,
        vendorCode: this.loggableVendorCode(failure?.options.vendorCode),
        cause: cause instanceof Error ? cause.name : undefined,
      },
      "upstream call",
    );
  }

  /**
   * A vendor's error code is worth logging (8304, invalid_token, RESOURCE_NOT_FOUND), but it comes
   * from the upstream body: only a number or a plain identifier made of letters and underscores is
   * kept (no digits, no dashes: nothing that can carry a token or an echoed value), and never one
   * that overlaps the credential.
   */
  private loggableVendorCode(code: string | number | undefined): string | number | undefined {
    if (typeof code === "number") return Number.isFinite(code) ? code : undefined;
    if (typeof code !== "string" || !/^(?:[a-z][a-z_]{1,39}|[A-Z][A-Z_]{1,39})$/.test(code)) return undefined;
    return this.secret.includes(code) || code.includes(this.secret) ? undefined : code;
  }

  private cacheKey(req: UpstreamRequest): string {
    const query = [...(req.query ?? [])].map(([k, v]) => `${k}=${v}`).sort().join("&");
    return `${this.scope}:${req.method} ${req.path}?${query}#${req.body === undefined ? "" : JSON.stringify(req.body)}`;
  }
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Waits for a shared call, but no longer than this caller's own deadline. */
function raceDeadline<T>(promise: Promise<T>, call: CallContext): Promise<T> {
  if (call.signal.aborted) return Promise.reject(deadline());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(deadline());
    call.signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        call.signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        call.signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

function deadline(): UpstreamError {
  return new UpstreamError(ErrorCode.DEADLINE_EXCEEDED, "the request deadline passed before the provider answered");
}

/** Throws UPSTREAM_BAD_RESPONSE: for wire parsers when a body does not have the documented shape. */
export function badResponse(provider: string, what: string): never {
  throw new UpstreamError(ErrorCode.UPSTREAM_BAD_RESPONSE, `${provider} answered with an unexpected body: ${what}`);
}
