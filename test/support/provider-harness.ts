import { UpstreamError } from "../../src/common/errors";
import { LoaderRegistry } from "../../src/common/loaders";
import { createLogger } from "../../src/common/logger";
import { MemoryCache } from "../../src/providers/http/cache";
import { QueueRegistry } from "../../src/providers/http/queue";
import type { CallContext, ProviderDeps } from "../../src/providers/provider";

/** Process-wide deps for a provider under test: a fresh memory cache and queue registry. */
export function providerDeps(organizationId = "test-org"): ProviderDeps & { queues: QueueRegistry; cache: MemoryCache } {
  return { organizationId, cache: new MemoryCache(), queues: new QueueRegistry(), log: createLogger("silent") };
}

/** A request-scoped call context with its own counters and a deadline `ms` from now. */
export function callContext(ms = 20_000, now: () => number = Date.now): CallContext {
  return {
    deadline: Date.now() + ms,
    signal: AbortSignal.timeout(ms),
    stats: { upstreamRequests: 0, cachedResponses: 0 },
    loaders: new LoaderRegistry(),
    log: createLogger("silent"),
    now,
  };
}

/**
 * The UpstreamError a provider call must fail with. Its message is what a client may see: it
 * holds no loopback (upstream) URL and none of `absent` (credentials, the vendor's own words).
 */
export async function failure(promise: Promise<unknown>, ...absent: string[]): Promise<UpstreamError> {
  const outcome = await promise.then(
    () => ({ failed: false as const }),
    (error: unknown) => ({ failed: true as const, error }),
  );
  if (!outcome.failed) throw new Error("expected the call to fail");
  expect(outcome.error).toBeInstanceOf(UpstreamError);
  const error = outcome.error as UpstreamError;
  for (const text of ["127.0.0.1", ...absent]) expect(error.message).not.toContain(text);
  return error;
}
