import { ExponentialBackoff, handleWhen, retry } from "cockatiel";
import { deadlineAfter } from "../common/deadline";

/** How a webhook POST is retried (cockatiel's ExponentialBackoff with its decorrelated jitter). */
export interface WebhookRetry {
  /** Retries after the first attempt. */
  retries: number;
  initialDelayMs: number;
  maxDelayMs: number;
  /** Per attempt. */
  timeoutMs: number;
}

export const DEFAULT_WEBHOOK_RETRY: WebhookRetry = { retries: 3, initialDelayMs: 250, maxDelayMs: 10_000, timeoutMs: 10_000 };

export interface DeliveryResult {
  delivered: boolean;
  /** The receiver's last HTTP status; null when it never answered (refused, timed out). */
  status: number | null;
  attempts: number;
  /** Why the last attempt failed, fit for a log line: a status or a socket error code, never the URL. */
  reason: string | null;
}

/** One failed attempt; retryable when the receiver may answer otherwise next time. */
class AttemptFailed extends Error {
  constructor(
    readonly status: number | null,
    readonly reason: string,
    readonly retryable: boolean,
  ) {
    super(reason);
  }
}

/**
 * POSTs `body` as JSON to `url` until a 2xx, retrying network errors, timeouts, 408, 429 and 5xx
 * with exponential backoff; any other status (a 404 of a deleted Slack hook) is final at once.
 * Never throws, and never puts the URL (a secret: Slack's carries its token) into what it returns.
 * Redirects are not followed: a hook that moved is a configuration to fix, not a place to resend to.
 */
export async function postWebhook(url: string, body: unknown, options: WebhookRetry = DEFAULT_WEBHOOK_RETRY): Promise<DeliveryResult> {
  let attempts = 0;
  const policy = retry(
    handleWhen((e) => e instanceof AttemptFailed && e.retryable),
    { maxAttempts: options.retries, backoff: new ExponentialBackoff({ initialDelay: options.initialDelayMs, maxDelay: options.maxDelayMs }) },
  );
  const payload = JSON.stringify(body);
  try {
    const status = await policy.execute(async () => {
      attempts++;
      const deadline = deadlineAfter(options.timeoutMs);
      let res: Response;
      try {
        res = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", "user-agent": "usagegraph" },
          body: payload,
          redirect: "manual",
          signal: deadline.signal,
        });
        // The body is not needed; reading it frees the connection for the next POST.
        await res.arrayBuffer().catch(() => undefined);
      } catch (error) {
        throw new AttemptFailed(null, deadline.timedOut ? "timeout" : socketReason(error), true);
      } finally {
        deadline.clear();
      }
      if (res.status >= 200 && res.status < 300) return res.status;
      throw new AttemptFailed(res.status, `HTTP ${res.status}`, res.status === 408 || res.status === 429 || res.status >= 500);
    });
    return { delivered: true, status, attempts, reason: null };
  } catch (error) {
    if (error instanceof AttemptFailed) return { delivered: false, status: error.status, attempts, reason: error.reason };
    return { delivered: false, status: null, attempts, reason: "error" };
  }
}

/** `ECONNREFUSED` and the like: the code of fetch's cause, never its message (which names the address). */
function socketReason(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } })?.cause;
  return typeof cause?.code === "string" ? cause.code : "network error";
}
