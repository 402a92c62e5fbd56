import { addDays, chunkRange, daysInRange, maxDate, mergeRanges, minDate, overlaps, type DateRange } from "../../common/dates";
import { noteExpiry, type CallContext, type CallStats } from "../provider";

/** One asked fetch: a day range with the provider's filter, from one report. */
export interface RangeKey<F> {
  range: DateRange;
  filter: F;
  call: CallContext;
}

/**
 * An upstream unit that serves a key: the unit's own range and filter, its answer (or failure), and
 * `use`, the days of the answer this key must read. Units may overlap; the `use` ranges of one key
 * never do, so a provider that reads only `use` from each answer counts every day once.
 */
export type ServedUnit<F, R> = { use: DateRange; range: DateRange; filter: F } & ({ ok: true; answer: R } | { ok: false; error: unknown });

export interface RangeCoalescerOptions<F, R> {
  /** The filter that serves every one of `filters` (a union; "no filter" wins). */
  mergeFilters(filters: readonly F[]): F;
  /** Whether an answer fetched with filter `unit` holds everything a key with filter `key` needs. */
  covers(unit: F, key: F): boolean;
  /** One upstream unit, made on behalf of `call`. */
  fetch(range: DateRange, filter: F, call: CallContext): Promise<R>;
  /** How long an answered unit may serve later keys, ms: its cache lifetime (final or fresh). */
  keepFor(range: DateRange, call: CallContext): number;
  /** Longest range one upstream call may cover. */
  maxDays?: number;
  /**
   * Where one call costs the same whatever its range (Ace Data, AI Studio within 31 days), the gaps
   * of one key are joined into one unit up to this many days, held days between them included: two
   * calls become one. Unset for providers whose cost grows with the range (Adverity's pages).
   */
  joinGapsUpToDays?: number;
  /**
   * Keys are collected until none has arrived for `quietMs`, or for `maxWaitMs` at most, then
   * merged: a burst of concurrent requests becomes one batch, a lone request waits only `quietMs`.
   */
  quietMs?: number;
  maxWaitMs?: number;
}

/** The answers of the units with the days to read from each, or the first failure among them. */
export function answersOf<F, R>(units: readonly ServedUnit<F, R>[]): Array<{ use: DateRange; answer: R }> {
  return units.map((u) => {
    if (!u.ok) throw u.error;
    return u;
  });
}

interface BoardEntry<F, R> {
  range: DateRange;
  filter: F;
  /** Upstream requests the unit took (pages, retries), known once it settled. */
  responses: number;
  /** Reports already counted for this unit: each report counts a unit once. */
  credited: WeakSet<CallContext>;
  settled: Promise<{ ok: true; answer: R } | { ok: false; error: unknown }>;
  /** Epoch ms after which the entry no longer serves new keys; Infinity while in flight. */
  until: number;
  /** The earliest expiry of the cached answers the unit was made of (see CallStats.expiresAt). */
  expiresAt?: number;
}

interface Pending<F> {
  key: RangeKey<F>;
  gap: DateRange;
  resolve: (units: ServedUnit<F, unknown>[]) => void;
}

/**
 * The board is short-term memory: at most this many units, each for at most 10 minutes (or its
 * cache lifetime if shorter). The response cache, bounded and shareable through Redis, keeps
 * answers for longer.
 */
const MAX_BOARD_ENTRIES = 100;
const MAX_KEEP_MS = 10 * 60_000;

/**
 * Coalesces one provider instance's range fetches, across every request of the process, into the
 * fewest upstream calls. It sits between the providers and the datasource, and keeps
 * a board of units in flight or answered (for as long as the response cache would keep them):
 *
 * - The days of a key that units on the board already hold are read from them (shared, not asked
 *   again): 50 dashboards asking overlapping windows of one month cost the days once, however their
 *   requests interleave, and a week asked after the month is not asked again.
 * - The remaining days (gaps) are collected while keys keep arriving (a burst of requests is one
 *   batch), then merged across keys: overlapping or adjacent gaps become one range, filters one
 *   filter, cut into units of at most `maxDays`.
 * - Each key is answered with the units that cover it and, for each, the days to read from it, by
 *   range, never by position.
 *
 * Counting stays exact per report: the report whose gap first needs a unit pays its upstream
 * request; every other report served by a unit (in flight or on the board) counts a shared answer.
 */
export class RangeCoalescer<F, R> {
  private pending: Pending<F>[] = [];
  private quietTimer?: NodeJS.Timeout;
  private maxTimer?: NodeJS.Timeout;
  private readonly board: BoardEntry<F, R>[] = [];

  constructor(
    readonly name: string,
    private readonly options: RangeCoalescerOptions<F, R>,
  ) {}

  /**
   * The units that serve one key. No per-request DataLoader in front: every key of every request
   * already meets here within the same quiet window (aliases and `_entities` of one request arrive
   * in one tick), so a request-scoped batch would add nothing but a layer.
   */
  async load(key: RangeKey<F>): Promise<ServedUnit<F, R>[]> {
    const now = key.call.now();
    const usable = this.board.filter((e) => e.until > now && this.options.covers(e.filter, key.filter));
    // Walk the key's days: read each stretch from the board entry reaching furthest, and leave the
    // stretches no entry holds as gaps to fetch.
    let stretches: Array<{ use: DateRange; holding?: BoardEntry<F, R> }> = [];
    let day = key.range.from;
    while (day <= key.range.to) {
      const from = day;
      const holding = usable.filter((e) => e.range.from <= from && e.range.to >= from).sort((a, b) => (a.range.to < b.range.to ? 1 : -1))[0];
      if (holding) {
        stretches.push({ use: { from, to: minDate(holding.range.to, key.range.to) }, holding });
      } else {
        const next = usable
          .filter((e) => e.range.from > from)
          .reduce<string | undefined>((m, e) => (m === undefined || e.range.from < m ? e.range.from : m), undefined);
        stretches.push({ use: { from, to: next === undefined ? key.range.to : minDate(addDays(next, -1), key.range.to) } });
      }
      day = addDays(stretches[stretches.length - 1]!.use.to, 1);
    }
    const gaps = stretches.filter((x) => !x.holding);
    const join = this.options.joinGapsUpToDays;
    if (join !== undefined && gaps.length > 1 && daysInRange(gaps[0]!.use.from, gaps[gaps.length - 1]!.use.to) <= join) {
      // One call over both gaps costs less than two: the held days between them are read from it too.
      const joined = { from: gaps[0]!.use.from, to: gaps[gaps.length - 1]!.use.to };
      stretches = [...stretches.filter((x) => x.use.to < joined.from), { use: joined }, ...stretches.filter((x) => x.use.from > joined.to)];
    }
    const parts = stretches.map(({ use, holding }) =>
      holding
        ? holding.settled.then((r): ServedUnit<F, R>[] => {
            credit(holding, key.call);
            return [{ ...r, use, range: holding.range, filter: holding.filter }];
          })
        : new Promise<ServedUnit<F, R>[]>((resolve) => this.enqueue({ key, gap: use, resolve: resolve as Pending<F>["resolve"] })),
    );
    return (await Promise.all(parts)).flat();
  }

  private enqueue(pending: Pending<F>): void {
    this.pending.push(pending);
    clearTimeout(this.quietTimer);
    this.quietTimer = setTimeout(() => this.flush(), this.options.quietMs ?? 25);
    this.maxTimer ??= setTimeout(() => this.flush(), this.options.maxWaitMs ?? 250);
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    clearTimeout(this.quietTimer);
    clearTimeout(this.maxTimer);
    this.quietTimer = this.maxTimer = undefined;
    const filter = this.options.mergeFilters(batch.map((b) => b.key.filter));
    const { maxDays } = this.options;
    const ranges = mergeRanges(batch.map((b) => b.gap)).flatMap((r) => (maxDays ? chunkRange(r, maxDays) : [r]));
    const entries = ranges.map((range) => {
      const owner = batch.find((b) => overlaps(b.gap, range))!.key.call;
      // The unit's own counters: what it cost is added to its owner's report, and what it saved
      // to every other report it serves.
      const stats: CallStats = { upstreamRequests: 0, cachedResponses: 0 };
      const entry: BoardEntry<F, R> = { range, filter, until: Infinity, responses: 0, credited: new WeakSet([owner]), settled: undefined as never };
      const settle = () => {
        owner.stats.upstreamRequests += stats.upstreamRequests;
        owner.stats.cachedResponses += stats.cachedResponses;
        entry.responses = stats.upstreamRequests + stats.cachedResponses;
        entry.expiresAt = stats.expiresAt;
        noteExpiry(owner.stats, stats.expiresAt);
      };
      entry.settled = this.options.fetch(range, filter, { ...owner, stats }).then(
        (answer) => (settle(), { ok: true as const, answer }),
        (error: unknown) => (settle(), { ok: false as const, error }),
      );
      this.remember(entry, owner);
      return entry;
    });
    for (const { key, gap, resolve } of batch) {
      const serving = entries.filter((entry) => overlaps(entry.range, gap));
      void Promise.all(
        serving.map((entry) =>
          entry.settled.then((r) => {
            credit(entry, key.call);
            return { ...r, range: entry.range, filter: entry.filter, use: { from: maxDate(entry.range.from, gap.from), to: minDate(entry.range.to, gap.to) } };
          }),
        ),
      ).then(resolve as (units: ServedUnit<F, R>[]) => void);
    }
  }

  private remember(entry: BoardEntry<F, R>, owner: CallContext): void {
    this.board.push(entry);
    if (this.board.length > MAX_BOARD_ENTRIES) this.board.splice(0, this.board.length - MAX_BOARD_ENTRIES);
    void entry.settled.then((result) => {
      // A failure is never shared with later keys: they try again (through retries and the breaker).
      const keepMs = result.ok ? Math.min(this.options.keepFor(entry.range, owner), MAX_KEEP_MS) : 0;
      if (keepMs > 0) {
        entry.until = owner.now() + keepMs;
        return;
      }
      const i = this.board.indexOf(entry);
      if (i >= 0) this.board.splice(i, 1);
    });
  }
}

/** Counts a unit a report was served by, but did not pay for, as shared answers: once per report. */
function credit(entry: BoardEntry<unknown, unknown>, call: CallContext): void {
  if (entry.credited.has(call)) return;
  entry.credited.add(call);
  call.stats.cachedResponses += entry.responses;
  noteExpiry(call.stats, Math.min(entry.until, entry.expiresAt ?? Infinity));
}

/** Filter coverage for id lists where an empty list means "all". */
export function idsCover(unit: readonly string[], key: readonly string[]): boolean {
  return unit.length === 0 || (key.length > 0 && key.every((id) => unit.includes(id)));
}

/** Union of id lists where an empty list means "all": one empty list makes the union all. */
export function idsUnion(lists: ReadonlyArray<readonly string[]>): string[] {
  return lists.some((l) => l.length === 0) ? [] : [...new Set(lists.flat())].sort();
}
