/**
 * How long a computed answer may be served again without computing it anew: no longer than the
 * shortest-lived part it is made of (an upstream answer's cache entry, a read of the store), and
 * not at all when a part was not reusable (an upstream call made for it, a failed source). Filled
 * while a request is computed; read by the response cache (src/server/response-cache.ts).
 */
export class Lifetime {
  /** Epoch ms, product clock. */
  expiresAt = Infinity;
  reusable = true;

  note(expiresAt: number): void {
    if (expiresAt < this.expiresAt) this.expiresAt = expiresAt;
  }

  refuse(): void {
    this.reusable = false;
  }
}

/**
 * The next quarter hour after `now`: every time zone's midnight falls on one (offsets are whole
 * quarter hours), and a report's "today" (its clipped range, its non-final days) changes only then.
 */
export function nextQuarterHour(now: number): number {
  const quarter = 15 * 60_000;
  return (Math.floor(now / quarter) + 1) * quarter;
}
