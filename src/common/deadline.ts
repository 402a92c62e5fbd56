/**
 * An AbortSignal that fires after `ms`, or when `parent` aborts, whichever comes first.
 *
 * Not `AbortSignal.any([parent, AbortSignal.timeout(ms)])`: on Node 20 the composite holds its
 * sources weakly, so once nothing else references the timeout signal it can be garbage-collected
 * and the timeout never fires (nodejs/node#57736) — a request deadline that silently disappears.
 * Here the timer is an ordinary setTimeout, kept alive by the event loop until it fires or `clear()`
 * is called; the parent listener is removed on clear so long-lived parents do not collect listeners.
 */
export interface Deadline {
  readonly signal: AbortSignal;
  /** Whether the timer (not the parent) fired. */
  readonly timedOut: boolean;
  /** Stops the timer and detaches from the parent. Call it when the guarded work is done. */
  clear(): void;
}

export function deadlineAfter(ms: number, parent?: AbortSignal): Deadline {
  const controller = new AbortController();
  let timedOut = false;
  const onParentAbort = () => controller.abort(parent?.reason);
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException("deadline passed", "TimeoutError"));
  }, ms);
  if (parent?.aborted) onParentAbort();
  else parent?.addEventListener("abort", onParentAbort, { once: true });
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    clear() {
      clearTimeout(timer);
      parent?.removeEventListener("abort", onParentAbort);
    },
  };
}
