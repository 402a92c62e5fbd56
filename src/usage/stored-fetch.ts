import { LRUCache } from "lru-cache";
import { addDays, describeDays, eachDay, overlaps, widestWithoutOverlaps, type CalendarDate, type DateRange } from "../common/dates";
import { ErrorCode } from "../common/errors";
import type { Logger } from "../common/logger";
import {
  noteExpiry,
  type CallContext,
  type DimensionKey,
  type DimensionValue,
  type Observation,
  type Provider,
  type ProviderQuery,
  type ProviderResult,
  type SourceIssue,
} from "../providers/provider";
import type { StoredObservation, UsageStore } from "../store/store";

/** A provider's answer with the number of its days that came from the store. */
export interface StoredResult extends ProviderResult {
  storedDays: number;
}

/**
 * The store between the usage service and a provider (DESIGN §6): the days of a query's range that
 * the store covers as final are read from it, only the rest (the gaps) is asked of the provider,
 * through its usual loaders, queues and cache, and what comes back final is written.
 *
 * The fetch scope is the query's shape without its range: the grouping, the filters and the
 * granularity, which decide what a provider fetches and at which resolution it answers. Rows are
 * stored per scope, so a filtered and an unfiltered answer never add up on read; a report of
 * another shape asks upstream and stores its own rows. Every metric of the provider is asked when
 * the store is on (no provider call costs more for it), so that coverage is per scope, not per
 * metric list.
 *
 * A store that fails at runtime is skipped: the query goes upstream as without a store, and the
 * failure is logged (and seen by /readyz); nothing already written is touched.
 */
/** What the store held for one (organization, provider, scope, range): final rows never change. */
interface StoreRead {
  covered: Set<CalendarDate>;
  stored: StoredObservation[];
  /** Until when the read is served from memory (product clock); a write of this process ends it sooner. */
  expiresAt?: number;
  /** The store's write count when it was read: any write of this process since makes it stale. */
  generation?: number;
}

const READ_MEMO_MS = 5 * 60_000;

export class StoredFetch {
  /**
   * Reads of final data, kept in memory: a dashboard asks the same closed range again and again,
   * and what the store holds as final never changes, it only grows. Any write of this process to
   * the store (a report's or a collection's) ends every read kept before it; another replica's write
   * is seen when a read expires (its days are then asked upstream, through the cache, in the
   * meantime: never wrong).
   */
  private readonly reads = new LRUCache<string, StoreRead>({ max: 500, ttl: READ_MEMO_MS });

  constructor(
    private readonly store: UsageStore,
    private readonly log: Logger,
  ) {}

  /**
   * The store's writes in this process (reports' and collection's alike: they share the store
   * object): a read kept from before a write may be stale.
   */
  get generation(): number {
    return this.store.writes.count;
  }

  async fetch(organization: string, provider: Provider, query: ProviderQuery, call: CallContext): Promise<StoredResult> {
    const key = provider.catalog.key;
    const scope = fetchScope(query);
    const full: ProviderQuery = { ...query, metrics: provider.catalog.metrics.map((m) => m.key) };
    const read = await this.read(organization, key, scope, query.range, call.now());
    noteExpiry(call.stats, read.expiresAt);
    const restate = provider.restateIssues?.bind(provider);
    const { covered, stored } = consistent(read, query.range, restate !== undefined);

    const gaps = gapsOf(query.range, covered);
    const answers = await Promise.all(gaps.map((range) => provider.fetch({ ...full, range }, call)));
    // Fresh observations first: a window that reaches into stored days (a Pipefy period) is fresh
    // as a whole, and a stored window it overlaps gives way to it; a stored row is used only where
    // every day of it (inside the range) is stored. Two gaps answered by one window list it once,
    // and two gaps answered by overlapping windows (two Pipefy periods) keep the wider one.
    const unique = uniqueObservations(answers.flatMap((a) => a.observations)).filter((o) => !withinDays(o, query.range, covered));
    const freshWindows = widestWithoutOverlaps(windowsOf(unique), rangeOf);
    const keptWindows = new Set(freshWindows.map((w) => `${w.start}|${w.end}`));
    const fresh = unique.filter((o) => keptWindows.has(`${o.start}|${o.end}`));
    const freshDays = new Set(freshWindows.flatMap((w) => eachDay(w.start, w.end)));
    const displaced = new Set(stored.filter((o) => eachDay(o.start, o.end).some((d) => freshDays.has(d))));
    const kept = stored.filter((o) => withinDays(o, query.range, covered) && !displaced.has(o)).map(toObservation);
    const observations = [...kept, ...fresh];
    // Days some answer had a number for, but that the windows kept do not cover: said, never silent.
    const lost = [...windowsOf([...displaced]), ...windowsOf(unique).filter((w) => !keptWindows.has(`${w.start}|${w.end}`))];
    // Restatable issues are said of the whole answer against the query's range, not of each gap's
    // answer against its gap ("covers more than asked" of a gap may be exactly the range).
    const issues = [
      ...answers.flatMap((a) => a.issues).filter((i) => !(restate && i.restatable)),
      ...lostDaysIssues(provider, query.range, lost, [...freshWindows, ...windowsOf(kept)]),
      ...(restate?.(query, observations, call.now()) ?? []),
    ];
    const finalized = [...answers.map((a) => a.finalizedThrough), covered.size > 0 ? [...covered].sort().at(-1)! : null].filter(
      (d): d is CalendarDate => d !== null,
    );

    await Promise.all(gaps.map((range, i) => this.remember(organization, key, scope, range, answers[i]!)));
    return {
      observations,
      records: answers.flatMap((a) => a.records),
      // Quotas are not stored: only an answer asked for now reports one.
      quotas: answers.flatMap((a) => a.quotas ?? []),
      issues: [...new Map(issues.map((i) => [`${i.code}\n${i.message}`, i])).values()],
      finalizedThrough: finalized.length > 0 ? finalized.sort().at(-1)! : null,
      storedDays: covered.size,
    };
  }

  private async read(organization: string, provider: string, scope: string, range: DateRange, now: number): Promise<StoreRead> {
    const memo = `${organization}\n${provider}\n${scope}\n${range.from}\n${range.to}`;
    const known = this.reads.get(memo);
    if (known && known.expiresAt! > now && known.generation === this.generation) return known;
    const generation = this.generation;
    try {
      const covered = await this.store.finalDays(organization, provider, scope, range);
      const stored = covered.size > 0 ? await this.store.observations(organization, provider, scope, range) : [];
      const read = { covered, stored, expiresAt: now + READ_MEMO_MS, generation };
      this.reads.set(memo, read);
      return read;
    } catch (error) {
      this.storeFailed(error, "read");
      return { covered: new Set(), stored: [] };
    }
  }

  /**
   * Writes what a gap's answer holds as final: its final rows, and as covered the days of the gap
   * the provider has closed that no non-final window touches. A final window reaching past the gap
   * (a Pipefy period) covers its other days too, since it answered them, unless one of them is
   * covered already: two windows of one scope must never overlap, or a read would count their days
   * twice, so such a window is not written at all (nor are the gap's days under it). An answer with
   * an issue that may hide unknown days (not `restatable`) is not written: which of its days it
   * really answered is not known.
   */
  private async remember(organization: string, provider: string, scope: string, range: DateRange, answer: ProviderResult): Promise<void> {
    if (answer.issues.some((i) => !i.restatable) || answer.finalizedThrough === null) return;
    const closed = answer.finalizedThrough;
    const open = answer.observations.filter((o) => !o.final);
    const days = new Set(eachDay(range.from, range.to).filter((d) => d <= closed && !open.some((o) => o.start <= d && o.end >= d)));
    let rows = answer.observations.filter((o) => o.final);
    try {
      for (const window of windowsOf(rows)) {
        const outside = eachDay(window.start, window.end).filter((d) => d < range.from || d > range.to);
        if (outside.length === 0) continue;
        const taken = await this.store.finalDays(organization, provider, scope, { from: outside[0]!, to: outside.at(-1)! });
        const inWindow = (o: Observation) => o.start === window.start && o.end === window.end;
        if (outside.some((d) => taken.has(d))) {
          rows = rows.filter((o) => !inWindow(o));
          for (const d of eachDay(window.start, window.end)) days.delete(d);
        } else {
          for (const d of outside) if (d <= closed) days.add(d);
        }
      }
      if (days.size === 0) return;
      await this.store.write(organization, provider, scope, [...days].sort(), rows.map(toStored), true);
    } catch (error) {
      this.storeFailed(error, "write");
    }
  }

  private storeFailed(error: unknown, what: "read" | "write"): void {
    this.log.warn(
      { store: this.store.kind, err: { name: (error as Error)?.name, message: String((error as Error)?.message).slice(0, 200) } },
      `store ${what} failed: asking upstream`,
    );
  }
}

/** The query's shape without its range and metrics: what it fetches and at which resolution. */
export function fetchScope(query: ProviderQuery): string {
  const groupBy = [...query.groupBy].sort();
  const where = [...query.where].map((f) => ({ key: f.key, in: [...new Set(f.in)].sort() })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return JSON.stringify({ groupBy, where, granularity: query.granularity });
}

/** The maximal runs of days of `range` not in `covered`. */
export function gapsOf(range: DateRange, covered: ReadonlySet<CalendarDate>): DateRange[] {
  const gaps: DateRange[] = [];
  for (const day of eachDay(range.from, range.to)) {
    if (covered.has(day)) continue;
    const last = gaps.at(-1);
    if (last && addDays(last.to, 1) === day) last.to = day;
    else gaps.push({ from: day, to: day });
  }
  return gaps;
}

/**
 * A read whose windows do not overlap, and whose windows lie inside the range unless the provider
 * restates what a wider window means (Pipefy's periods). One writer never leaves overlapping windows
 * in a scope (see remember), but two racing writers may: the earliest window (the widest of those
 * starting on one day) is kept. A window reaching past the range, of a provider that cannot say so
 * (an Adverity month read for part of it), would add days not asked for. The days only a dropped
 * window answered count as not covered, so they are asked again.
 */
function consistent(read: StoreRead, range: DateRange, restates: boolean): StoreRead {
  const windows = windowsOf(read.stored).sort((a, b) => (a.start !== b.start ? (a.start < b.start ? -1 : 1) : a.end > b.end ? -1 : a.end < b.end ? 1 : 0));
  const kept: Window[] = [];
  const dropped: Window[] = [];
  for (const w of windows) {
    const past = w.start < range.from || w.end > range.to;
    (kept.some((k) => overlap(k, w)) || (past && !restates) ? dropped : kept).push(w);
  }
  if (dropped.length === 0) return read;
  const covered = new Set(read.covered);
  for (const w of dropped) for (const d of eachDay(w.start, w.end)) if (!kept.some((k) => k.start <= d && d <= k.end)) covered.delete(d);
  return { covered, stored: read.stored.filter((o) => !dropped.some((w) => w.start === o.start && w.end === o.end)) };
}

/**
 * An issue for days of the range that a window left out answered (a stored window a fresh one
 * displaced, a fresh window a wider one overlapped) and no window kept covers (rare: Pipefy's
 * periods moved between two answers).
 */
function lostDaysIssues(provider: Provider, range: DateRange, lost: readonly Window[], kept: readonly Window[]): SourceIssue[] {
  const missing = new Set<CalendarDate>();
  for (const w of lost) {
    for (const d of eachDay(w.start, w.end)) if (d >= range.from && d <= range.to && !kept.some((k) => k.start <= d && d <= k.end)) missing.add(d);
  }
  if (missing.size === 0) return [];
  return [
    {
      code: ErrorCode.UPSTREAM_PARTIAL_DATA,
      message: `${provider.catalog.name} answered over windows that overlap: no number for ${describeDays([...missing].sort())} in this answer`,
    },
  ];
}

/** A window of days, as observations have one. */
interface Window {
  start: CalendarDate;
  end: CalendarDate;
}

/** An observation's window as a range of days. */
function rangeOf(w: Window): DateRange {
  return { from: w.start, to: w.end };
}

function overlap(a: Window, b: Window): boolean {
  return overlaps(rangeOf(a), rangeOf(b));
}

/** The distinct windows of `items`, in first-seen order. */
function windowsOf(items: readonly Window[]): Window[] {
  const seen = new Map<string, Window>();
  for (const o of items) if (!seen.has(`${o.start}|${o.end}`)) seen.set(`${o.start}|${o.end}`, { start: o.start, end: o.end });
  return [...seen.values()];
}

/** One observation per (metric, dimensions, window), the first kept. */
function uniqueObservations(items: readonly Observation[]): Observation[] {
  const seen = new Map<string, Observation>();
  for (const o of items) {
    const dims = Object.entries(o.dimensions).map(([k, v]) => [k, (v as DimensionValue | undefined)?.value]);
    const key = JSON.stringify([o.metric, dims.sort(), o.start, o.end]);
    if (!seen.has(key)) seen.set(key, o);
  }
  return [...seen.values()];
}

/** Whether every day of the observation's window inside `range` is in `days`. */
function withinDays(o: { start: CalendarDate; end: CalendarDate }, range: DateRange, days: ReadonlySet<CalendarDate>): boolean {
  const from = o.start > range.from ? o.start : range.from;
  const to = o.end < range.to ? o.end : range.to;
  if (from > to) return false;
  for (const day of eachDay(from, to)) if (!days.has(day)) return false;
  return true;
}

function toStored(o: Observation): StoredObservation {
  const dimensions: Record<string, { value: string; label: string }> = {};
  for (const [k, v] of Object.entries(o.dimensions) as Array<[string, DimensionValue | undefined]>) if (v) dimensions[k] = { value: v.value, label: v.label };
  return { metric: o.metric, dimensions, start: o.start, end: o.end, value: o.value, final: o.final };
}

function toObservation(o: StoredObservation): Observation {
  return {
    metric: o.metric,
    dimensions: o.dimensions as Observation["dimensions"] & Record<DimensionKey, DimensionValue>,
    start: o.start,
    end: o.end,
    value: o.value,
    final: o.final,
  };
}
