import { LRUCache } from "lru-cache";
import { addDays, eachDay, type CalendarDate, type DateRange } from "../common/dates";
import type { Logger } from "../common/logger";
import type { CallContext, DimensionKey, DimensionValue, Observation, Provider, ProviderQuery, ProviderResult } from "../providers/provider";
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
}

export class StoredFetch {
  /**
   * Reads of final data, kept in memory: a dashboard asks the same closed range again and again,
   * and what the store holds as final never changes, it only grows. A write of this process drops
   * the reads of its (organization, provider, scope); another replica's write is seen when a read
   * expires (its days are then asked upstream, through the cache, in the meantime: never wrong).
   */
  private readonly reads = new LRUCache<string, StoreRead>({ max: 500, ttl: 5 * 60_000 });

  constructor(
    private readonly store: UsageStore,
    private readonly log: Logger,
  ) {}

  async fetch(organization: string, provider: Provider, query: ProviderQuery, call: CallContext): Promise<StoredResult> {
    const key = provider.catalog.key;
    const scope = fetchScope(query);
    const full: ProviderQuery = { ...query, metrics: provider.catalog.metrics.map((m) => m.key) };
    const { covered, stored } = await this.read(organization, key, scope, query.range);

    const gaps = gapsOf(query.range, covered);
    const answers = await Promise.all(gaps.map((range) => provider.fetch({ ...full, range }, call)));
    // Fresh observations first: a window that reaches into stored days (a Pipefy month) is fresh
    // as a whole; a stored row is used only where every day of it (inside the range) is stored.
    const fresh = answers.flatMap((a) => a.observations).filter((o) => !withinDays(o, query.range, covered));
    const kept = stored.filter((o) => withinDays(o, query.range, covered)).map(toObservation);
    const issues = answers.flatMap((a) => a.issues);
    const finalized = [...answers.map((a) => a.finalizedThrough), covered.size > 0 ? [...covered].sort().at(-1)! : null].filter(
      (d): d is CalendarDate => d !== null,
    );

    await Promise.all(gaps.map((range, i) => this.remember(organization, key, scope, range, answers[i]!)));
    return {
      observations: [...kept, ...fresh],
      records: answers.flatMap((a) => a.records),
      // Quotas are not stored: only an answer asked for now reports one.
      quotas: answers.flatMap((a) => a.quotas ?? []),
      issues,
      finalizedThrough: finalized.length > 0 ? finalized.sort().at(-1)! : null,
      storedDays: covered.size,
    };
  }

  private async read(organization: string, provider: string, scope: string, range: DateRange): Promise<StoreRead> {
    const memo = `${organization}\n${provider}\n${scope}\n${range.from}\n${range.to}`;
    const known = this.reads.get(memo);
    if (known) return known;
    try {
      const covered = await this.store.finalDays(organization, provider, scope, range);
      const stored = covered.size > 0 ? await this.store.observations(organization, provider, scope, range) : [];
      const read = { covered, stored };
      this.reads.set(memo, read);
      return read;
    } catch (error) {
      this.storeFailed(error, "read");
      return { covered: new Set(), stored: [] };
    }
  }

  /**
   * Writes what a gap's answer holds as final: its final rows, and as covered the days of the gap
   * the provider has closed that no non-final window touches. An answer with issues is not
   * written at all: which of its days it really answered is not known.
   */
  private async remember(organization: string, provider: string, scope: string, range: DateRange, answer: ProviderResult): Promise<void> {
    if (answer.issues.length > 0 || answer.finalizedThrough === null) return;
    const open = answer.observations.filter((o) => !o.final);
    const days = eachDay(range.from, range.to).filter((d) => d <= answer.finalizedThrough! && !open.some((o) => o.start <= d && o.end >= d));
    if (days.length === 0) return;
    const rows = answer.observations.filter((o) => o.final).map(toStored);
    try {
      await this.store.write(organization, provider, scope, days, rows, true);
      const prefix = `${organization}\n${provider}\n${scope}\n`;
      for (const memo of [...this.reads.keys()]) if (memo.startsWith(prefix)) this.reads.delete(memo);
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
