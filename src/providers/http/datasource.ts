import { createHash } from "node:crypto";
import {
  BrokenCircuitError,
  circuitBreaker,
  CircuitState,
  ConsecutiveBreaker,
  DelegateBackoff,
  handleWhen,
  retry,
  wrap,
  type CircuitBreakerPolicy,
  type IPolicy,
  type IRetryContext,
} from "cockatiel";
import { LRUCache } from "lru-cache";
import { todayIn } from "../../common/dates";
import { deadlineAfter } from "../../common/deadline";
import { ErrorCode, UpstreamError } from "../../common/errors";
import { noteExpiry, type CallContext, type ProviderCatalog, type ProviderDeps, type UpstreamMetrics } from "../provider";
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
  /** How long a failure that a retry cannot fix is answered from memory, ms; 0 = never. */
  failureMemoryMs?: number;
  /** Largest response body read, bytes: a larger one is refused without buffering it. */
  maxBodyBytes?: number;
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

/** Defaults of the settings above: the config's defaults are these, and nothing else repeats them. */
export const HTTP_DEFAULTS = {
  timeoutMs: 10_000,
  maxRetries: 2,
  circuitBreaker: { failures: 5, halfOpenAfterMs: 15_000 },
  failureMemoryMs: 60_000,
  maxBodyBytes: 5 * 1024 * 1024,
  /** Calls a credential's queue holds before refusing more. */
  maxQueued: 1_000,
} as const;

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
  /** The breaker around the retries: one failed call, after its retries, counts once. Built once per credential. */
  private readonly resilience: IPolicy<IRetryContext>;
  /**
   * Retry budget of this credential (a token bucket): retries may add at most ~20% to the calls
   * made, so a vendor in trouble sees its normal load, not a multiple of it, while the breaker
   * decides whether to stop calling altogether.
   */
  private retryBudget = RETRY_BUDGET_BURST;
  /**
   * Failures that no retry can fix (credentials refused, a query the vendor rejects, a body that
   * breaks the contract), per request, for `failureMemoryMs`. A dashboard left open asks the same
   * thing every few seconds; without this each ask would be a new upstream call that fails the same
   * way, and some vendors (Pipefy) bill every answered call.
   */
  private readonly failures?: LRUCache<string, UpstreamError>;
  /** The last failure the breaker counted: an open circuit reports its code, not a generic one. */
  private lastBreakerFailure?: UpstreamError;

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
    const breakerSettings = settings.circuitBreaker ?? HTTP_DEFAULTS.circuitBreaker;
    const failureMemoryMs = settings.failureMemoryMs ?? HTTP_DEFAULTS.failureMemoryMs;
    if (failureMemoryMs > 0) this.failures = new LRUCache({ max: 1_000, ttl: failureMemoryMs });
    // Our deadline and the vendor's throttling say nothing about the vendor's health: not counted.
    this.breaker = circuitBreaker(
      handleWhen((e) => e instanceof UpstreamError && BREAKER_CODES.has(e.code)),
      { halfOpenAfter: breakerSettings.halfOpenAfterMs, breaker: new ConsecutiveBreaker(breakerSettings.failures) },
    );
    this.breaker.onFailure(({ handled, reason }) => {
      if (handled && "error" in reason && reason.error instanceof UpstreamError) this.lastBreakerFailure = reason.error;
    });
    // A failure carries its own plan (fetchOnce): retryable or not, and after how long.
    const retries = retry(
      handleWhen((e) => e instanceof UpstreamError && e.retryable && this.retryBudget >= 1),
      {
        maxAttempts: settings.maxRetries,
        backoff: new DelegateBackoff((context) =>
          "error" in context.result && context.result.error instanceof UpstreamError ? (context.result.error.options.retryDelayMs ?? 0) : 0,
        ),
      },
    );
    retries.onRetry(() => {
      this.retryBudget -= 1;
    });
    this.resilience = wrap(this.breaker, retries);
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
      maxQueued: HTTP_DEFAULTS.maxQueued,
    });
  }

  /** Value of the Authorization header. */
  protected abstract authorization(): string;

  /** The vendor's own error code in an error body (for logs and metrics), if its envelope has one. */
  protected vendorCode(_body: unknown): string | number | undefined {
    return undefined;
  }

  /**
   * Maps a response to an error, or undefined when it carries data. The default reads the HTTP
   * status (and the vendor code through `vendorCode`); providers override it for their own envelopes
   * (Jiandaoyun's 400 with a throttle code, Pipefy's HTTP 200 with `errors[]`) and fall back to
   * `super.errorFor`.
   */
  protected errorFor(res: UpstreamResponse): UpstreamError | undefined {
    const name = this.catalog.name;
    const { status } = res;
    if (status >= 200 && status < 300) {
      return res.json === undefined
        ? new UpstreamError(ErrorCode.UPSTREAM_BAD_RESPONSE, `${name} answered with a body that is not JSON`, { status })
        : undefined;
    }
    const vendorCode = res.json === undefined ? undefined : this.vendorCode(res.json);
    if (status === 401 || status === 403) {
      return new UpstreamError(ErrorCode.UPSTREAM_AUTH_FAILED, `${name} rejected the configured credentials (HTTP ${status})`, { status, vendorCode });
    }
    if (status === 429) return this.rateLimited(res, vendorCode);
    if (status === 408 || status === 504) {
      return new UpstreamError(ErrorCode.UPSTREAM_TIMEOUT, `${name} timed out (HTTP ${status})`, { status, vendorCode, retryable: true });
    }
    if (status >= 500) {
      return new UpstreamError(ErrorCode.UPSTREAM_UNAVAILABLE, `${name} is unavailable (HTTP ${status})`, { status, vendorCode, retryable: true });
    }
    return new UpstreamError(ErrorCode.UPSTREAM_BAD_RESPONSE, `${name} refused the request (HTTP ${status})`, { status, vendorCode });
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
      noteExpiry(call.stats, cached.expiresAt);
      return parse(cached.value);
    }
    const remembered = this.failures?.get(key);
    if (remembered) {
      // The same coded failure as the call that found it, without asking the vendor again.
      call.stats.cachedResponses++;
      throw new UpstreamError(remembered.code, remembered.message, { status: remembered.options.status, vendorCode: remembered.options.vendorCode });
    }
    // Identical calls already under way (another request, another alias) share one upstream call.
    let shared = this.inFlight.get(key);
    if (shared) {
      call.stats.cachedResponses++;
      // Shared now, cached from when it lands: about as long as its cache entry will live.
      noteExpiry(call.stats, call.now() + req.ttlMs);
    } else {
      shared = this.fetchGuarded(req, call, parse)
        .catch((error: unknown) => {
          if (isDeterministic(error)) this.failures?.set(key, error);
          throw error;
        })
        .finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, shared);
      shared.then((body) => (req.ttlMs > 0 ? this.cache.set(key, body, req.ttlMs) : undefined)).catch(() => undefined);
    }
    return parse(await raceDeadline(shared, call));
  }

  /**
   * The call through the breaker and the retries: while the circuit is open, fail fast without
   * touching the vendor; otherwise each attempt waits its turn in the credential's queue.
   */
  private async fetchGuarded<T>(req: UpstreamRequest, call: CallContext, parse: (body: unknown) => T): Promise<unknown> {
    this.retryBudget = Math.min(RETRY_BUDGET_BURST, this.retryBudget + RETRY_BUDGET_RATIO);
    try {
      return await this.resilience.execute(({ attempt }) => {
        const queued = Date.now();
        return this.queue.schedule(call.deadline, () => {
          this.metrics?.queueWait(this.catalog.key, (Date.now() - queued) / 1000);
          return this.fetchOnce(req, call, parse, attempt);
        });
      });
    } catch (error) {
      if (error instanceof BrokenCircuitError) {
        const retryAfterSeconds = Math.ceil((this.settings.circuitBreaker?.halfOpenAfterMs ?? HTTP_DEFAULTS.circuitBreaker.halfOpenAfterMs) / 1000);
        const last = this.lastBreakerFailure;
        // Refused credentials stay "refused credentials" while the circuit is open: the fix is the
        // customer's, and calling it an outage would send them looking in the wrong place.
        if (last && isDeterministic(last)) {
          throw new UpstreamError(last.code, `${last.message} (calls are paused for a while after repeated failures)`, {
            status: last.options.status,
            retryAfterSeconds,
          });
        }
        throw new UpstreamError(ErrorCode.UPSTREAM_UNAVAILABLE, `${this.catalog.name} is failing repeatedly: calls are paused for a while (circuit open)`, {
          retryAfterSeconds,
        });
      }
      throw error;
    }
  }

  /**
   * Decides whether a retryable failure of attempt `attempt` (0 = the first) is retried, and after how
   * long: a Retry-After from the vendor wins; otherwise full jitter (a random wait up to the
   * exponential cap, so clients that failed together do not retry together). A retry that could not
   * start before the caller's deadline is not worth waiting for: the failure is final.
   */
  private planRetry(failure: UpstreamError, attempt: number, call: CallContext): UpstreamError {
    if (!failure.retryable) return failure;
    const retryAfterMs = failure.options.retryAfterSeconds !== undefined ? failure.options.retryAfterSeconds * 1000 : undefined;
    const retryDelayMs = retryAfterMs ?? Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt + 1));
    const retryable = Date.now() + retryDelayMs < call.deadline;
    return new UpstreamError(failure.code, failure.message, { ...failure.options, retryable, retryDelayMs });
  }

  private async fetchOnce<T>(req: UpstreamRequest, call: CallContext, parse: (body: unknown) => T, attempt: number): Promise<unknown> {
    const url = new URL(this.settings.baseUrl.replace(/\/+$/, "") + req.path);
    for (const [k, v] of req.query ?? []) url.searchParams.append(k, v);
    // One timer for the whole attempt, body included: a vendor that drip-feeds its answer is cut off.
    const timer = deadlineAfter(this.settings.timeoutMs, call.signal);
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
        signal: timer.signal,
      });
      const text = await this.readBody(response);
      res = { status: response.status, headers: response.headers, json: parseJson(text) };
    } catch (error) {
      const failure =
        error instanceof UpstreamError
          ? error
          : timer.timedOut
            ? new UpstreamError(ErrorCode.UPSTREAM_TIMEOUT, `${this.catalog.name} did not answer within ${this.settings.timeoutMs} ms`, { retryable: true })
            : call.signal.aborted
              ? new UpstreamError(ErrorCode.DEADLINE_EXCEEDED, `${this.catalog.name}: the request deadline passed while waiting for the answer`)
              : new UpstreamError(ErrorCode.UPSTREAM_UNAVAILABLE, `${this.catalog.name} could not be reached`, { retryable: true });
      this.logCall(req, call, started, undefined, failure, error);
      throw this.planRetry(failure, attempt, call);
    } finally {
      timer.clear();
    }
    const failure = this.errorFor(res);
    if (failure) {
      if (failure.code === ErrorCode.UPSTREAM_RATE_LIMITED) {
        this.queue.pause((failure.options.retryAfterSeconds ?? 1) * 1000);
      }
      this.logCall(req, call, started, res.status, failure);
      throw this.planRetry(failure, attempt, call);
    }
    // Parse once here so a malformed body fails the call (and is never cached).
    parse(res.json);
    this.logCall(req, call, started, res.status);
    return res.json;
  }

  /** The body as text, refused (without reading the rest) once it passes `maxBodyBytes`. */
  private async readBody(response: Response): Promise<string> {
    const cap = this.settings.maxBodyBytes ?? HTTP_DEFAULTS.maxBodyBytes;
    const tooLarge = () =>
      new UpstreamError(ErrorCode.UPSTREAM_BAD_RESPONSE, `${this.catalog.name} answered with a body larger than ${Math.round(cap / 1024)} KiB: refused`, {
        status: response.status,
      });
    const declared = Number(response.headers.get("content-length"));
    if (Number.isFinite(declared) && declared > cap) {
      await response.body?.cancel().catch(() => undefined);
      throw tooLarge();
    }
    if (!response.body) return "";
    const reader = response.body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > cap) {
        await reader.cancel().catch(() => undefined);
        throw tooLarge();
      }
      chunks.push(value);
    }
    return Buffer.concat(chunks).toString("utf8");
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
    const query = [...(req.query ?? [])]
      .map(([k, v]) => `${k}=${v}`)
      .sort()
      .join("&");
    return `${this.scope}:${req.method} ${req.path}?${query}#${req.body === undefined ? "" : JSON.stringify(req.body)}`;
  }
}

/** Codes the breaker counts: the vendor is down, or answers in a way no retry changes. */
const BREAKER_CODES: ReadonlySet<string> = new Set([
  ErrorCode.UPSTREAM_UNAVAILABLE,
  ErrorCode.UPSTREAM_TIMEOUT,
  ErrorCode.UPSTREAM_AUTH_FAILED,
  ErrorCode.UPSTREAM_BAD_RESPONSE,
]);

/** A failure that the same request would meet again: credentials refused, a query or a body off the contract. */
function isDeterministic(error: unknown): error is UpstreamError {
  return (
    error instanceof UpstreamError && !error.retryable && (error.code === ErrorCode.UPSTREAM_AUTH_FAILED || error.code === ErrorCode.UPSTREAM_BAD_RESPONSE)
  );
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
