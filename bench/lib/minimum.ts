import type { AdverityEmulator } from "../../src/providers/adverity/adverity.emulator";
import { PIPEFY_TOP_N, type PipefyEmulator } from "../../src/providers/pipefy/pipefy.emulator";
import { daysOf, firstOfMonth, isWholeMonths, length, merge, runs, shift, type Day, type Span } from "./days";
import type { Panel, ProviderName } from "./report";

export type ProviderKey = "jiandaoyun" | "acedata" | "aiStudio" | "pipefy" | "adverity";
export const PROVIDER_KEYS: readonly ProviderKey[] = ["jiandaoyun", "acedata", "aiStudio", "pipefy", "adverity"];
export const KEY_OF: Readonly<Record<ProviderName, ProviderKey>> = {
  JIANDAOYUN: "jiandaoyun",
  ACEDATA: "acedata",
  AI_STUDIO: "aiStudio",
  PIPEFY: "pipefy",
  ADVERITY: "adverity",
};

export type Counts = Record<ProviderKey, number>;

export const zero = (): Counts => ({ jiandaoyun: 0, acedata: 0, aiStudio: 0, pipefy: 0, adverity: 0 });
export const total = (c: Counts): number => PROVIDER_KEYS.reduce((n, k) => n + c[k], 0);
export function add(a: Counts, b: Counts): Counts {
  const out = zero();
  for (const k of PROVIDER_KEYS) out[k] = a[k] + b[k];
  return out;
}

/** What the fewest calls of one request are, provider by provider. */
export interface Minimum {
  calls: Counts;
  /** Pipefy needed its organization-uuid lookup first (a call the period queries wait for). */
  pipefyUuid: boolean;
}

type Scope = "all" | ReadonlySet<string>;
type PeriodFilter = "current_month" | "last_month" | "last_3_months";
const PERIODS: readonly PeriodFilter[] = ["current_month", "last_month", "last_3_months"];
const AI_STUDIO_MAX_DAYS = 31;
const ADVERITY_PAGE = 100;

/**
 * The fewest upstream calls a request can cost, given everything earlier requests of the same run
 * fetched (all days asked are closed days, so nothing fetched goes stale during a run).
 *
 * The rule: a call may ask only for what the request itself asks, i.e. days inside the merged date
 * ranges of its panels and the filters its panels use, and whatever an earlier call returned is
 * held. Within those rules each provider's documented call shape decides the count (bench/README.md
 * has the formulas). Concurrent requests that arrive together are passed as one batch: a server can
 * coalesce them, so their minimum is that of their union.
 *
 * This model reads the emulators only for data sizes (Adverity rows, Pipefy period windows and
 * top-10 caps); it shares no planning code with the server.
 */
export class MinimumCalls {
  private readonly jiandaoyunDays = new Set<Day>();
  private readonly aceData = new Map<Day, Scope>();
  private readonly aiStudioDays = new Set<Day>();
  private readonly adverityDays = new Set<Day>();
  private readonly adverityMonths = new Set<Day>();
  private pipefyUuidHeld = false;
  private readonly pipefyDays = new Set<Day>();
  private readonly pipefyUnits = new Set<string>();

  constructor(private readonly emulators: { adverity: AdverityEmulator; pipefy: PipefyEmulator }) {}

  /** The fewest calls of `panels` (one request, or one batch of concurrent requests); then holds what they fetch. */
  request(panels: readonly Panel[]): Minimum {
    const of = (name: ProviderName) => panels.filter((p) => !p.providers || p.providers.includes(name));
    const calls = zero();
    calls.jiandaoyun = this.jiandaoyun(of("JIANDAOYUN"));
    calls.acedata = this.acedata(of("ACEDATA"));
    calls.aiStudio = this.aiStudio(of("AI_STUDIO"));
    calls.adverity = this.adverity(of("ADVERITY"));
    const pipefy = this.pipefy(of("PIPEFY"));
    calls.pipefy = pipefy.calls;
    return { calls, pipefyUuid: pipefy.uuid };
  }

  /**
   * A new server process on the same store: what the process held (its cache, Pipefy's
   * organization uuid) is gone, what the store holds stays held. The model holds days, not fetch
   * scopes, so this is exact only for requests in a scope the store holds entirely; the bench's
   * restart phases ask only the daily report scope (DAY, no grouping, no filter) that the fill wrote
   * for every day they read, and they pass the fill's panels to a fresh model before this call.
   */
  restart(): void {
    this.pipefyUuidHeld = false;
  }

  /** One call per distinct UTC+8 day not fetched before (the vendor's call is one day). */
  private jiandaoyun(panels: readonly Panel[]): number {
    const missing = new Set(panels.flatMap((p) => daysOf(p)).filter((d) => !this.jiandaoyunDays.has(d)));
    missing.forEach((d) => this.jiandaoyunDays.add(d));
    return missing.size;
  }

  /**
   * One call per merged range holding a day (or an API of a day) not fetched before: a call takes
   * any range, and the union of the API filters asked (none asked = every API).
   */
  private acedata(panels: readonly Panel[]): number {
    let calls = 0;
    for (const range of merge(panels)) {
      const inRange = panels.filter((p) => p.from <= range.to && p.to >= range.from);
      const scopes = inRange.map((p) => scopeOf(p, "api"));
      const needed: Scope = scopes.some((s) => s === "all") ? "all" : new Set(scopes.flatMap((s) => [...(s as ReadonlySet<string>)]));
      const missing = inRange.flatMap((p) => daysOf(p).filter((d) => !covers(this.aceData.get(d), scopeOf(p, "api"))));
      if (missing.length === 0) continue;
      calls++;
      const span = { from: missing.reduce((a, b) => (a < b ? a : b)), to: missing.reduce((a, b) => (a > b ? a : b)) };
      for (const d of daysOf(span)) this.aceData.set(d, widen(this.aceData.get(d), needed));
    }
    return calls;
  }

  /** Per merged range, the fewest 31-day windows covering its days not fetched before (greedy is optimal). */
  private aiStudio(panels: readonly Panel[]): number {
    let calls = 0;
    for (const range of merge(panels)) {
      const missing = daysOf(range).filter((d) => !this.aiStudioDays.has(d));
      let i = 0;
      while (i < missing.length) {
        const start = missing[i]!;
        const end = [shift(start, AI_STUDIO_MAX_DAYS - 1), range.to].sort()[0]!;
        calls++;
        daysOf({ from: start, to: end }).forEach((d) => this.aiStudioDays.add(d));
        while (i < missing.length && missing[i]! <= end) i++;
      }
    }
    return calls;
  }

  /**
   * Pages of 100 rows. Per merged range, the missing days form runs; one call sequence may span
   * several runs (re-reading the held days between them) when that takes fewer pages: the cheapest
   * grouping is found by dynamic programming. A MONTH/TOTAL panel over whole months may instead read
   * monthly rows, whichever is fewer pages. Workspace/datastream filters are not modelled: the query
   * sets use none.
   */
  private adverity(panels: readonly Panel[]): number {
    for (const p of panels) {
      if (p.where?.some((f) => f.key === "workspace" || f.key === "datastream")) throw new Error("bench model: Adverity filters are not modelled");
    }
    const monthly = panels.filter((p) => (p.granularity === "MONTH" || p.granularity === "TOTAL") && isWholeMonths(p));
    const daily = panels.filter((p) => !monthly.includes(p));
    let pages = 0;
    for (const range of merge(daily)) pages += this.adverityDaily(range).pages;
    for (const range of merge(monthly)) {
      const missingDays = daysOf(range).some((d) => !this.adverityDays.has(d));
      const months = daysOf(range)
        .map(firstOfMonth)
        .filter((m, i, all) => all.indexOf(m) === i);
      if (!missingDays || months.every((m) => this.adverityMonths.has(m))) continue;
      const asDaily = this.adverityDaily(range, false);
      const asMonthly = Math.max(1, Math.ceil(this.emulators.adverity.rows(range.from, range.to, "monthly").length / ADVERITY_PAGE));
      if (asMonthly <= asDaily.pages) {
        pages += asMonthly;
        months.forEach((m) => this.adverityMonths.add(m));
      } else {
        pages += this.adverityDaily(range).pages;
      }
    }
    return pages;
  }

  private adverityDaily(range: Span, hold = true): { pages: number } {
    const gaps = runs(daysOf(range).filter((d) => !this.adverityDays.has(d)));
    if (gaps.length === 0) return { pages: 0 };
    const cost = (i: number, j: number) => Math.max(1, Math.ceil(this.emulators.adverity.rows(gaps[i]!.from, gaps[j]!.to, "daily").length / ADVERITY_PAGE));
    // best[j]: fewest pages for gaps[0..j-1]; from[j]: where its last call sequence starts.
    const best = [0];
    const from: number[] = [0];
    for (let j = 1; j <= gaps.length; j++) {
      best[j] = Infinity;
      for (let i = 1; i <= j; i++) {
        const c = best[i - 1]! + cost(i - 1, j - 1);
        if (c < best[j]!) {
          best[j] = c;
          from[j] = i;
        }
      }
    }
    if (hold) {
      for (let j = gaps.length; j > 0; j = from[j]! - 1) {
        daysOf({ from: gaps[from[j]! - 1]!.from, to: gaps[j - 1]!.to }).forEach((d) => this.adverityDays.add(d));
      }
    }
    return { pages: best[gaps.length]! };
  }

  /**
   * One organization-uuid lookup per server process, before its first period call (none when
   * everything asked is held, as after a restart on a store that holds it). Daily totals: the fewest periods whose windows cover
   * the days not fetched before (any period's daily answer gives the same days). Breakdowns: for
   * each period a correct answer needs (the fewest covering the range, then the tightest), one call
   * per dimension asked, plus the period total when a breakdown is capped at the top 10. The total
   * rides in the period's daily+window call (daily totals, window and total in one POST), so a
   * period whose daily totals were fetched has its total too.
   */
  private pipefy(panels: readonly Panel[]): { calls: number; uuid: boolean } {
    if (panels.length === 0) return { calls: 0, uuid: false };
    const windows = new Map(PERIODS.map((p) => [p, this.emulators.pipefy.periodWindow(p)] as const));
    let calls = 0;

    const breakdownKeys = (p: Panel) => (["operation", "token"] as const).filter((k) => p.groupBy?.includes(k) || p.where?.some((f) => f.key === k));
    const dailyPanels = panels.filter((p) => breakdownKeys(p).length === 0);
    const coverable = (d: Day) => [...windows.values()].some((w) => w.from <= d && d <= w.to);
    const missing = new Set(dailyPanels.flatMap((p) => daysOf(p)).filter((d) => coverable(d) && !this.pipefyDays.has(d)));
    if (missing.size > 0) {
      const chosen = fewestCovering([...missing], windows);
      calls += chosen.length;
      for (const period of chosen) {
        daysOf(windows.get(period)!).forEach((d) => this.pipefyDays.add(d));
        this.take(`${period}:daily`);
      }
    }

    for (const p of panels) {
      const keys = breakdownKeys(p);
      if (keys.length === 0) continue;
      for (const period of tightestCovering(p, windows)) {
        const window = windows.get(period)!;
        let capped = false;
        for (const key of keys) {
          const dimension = key === "operation" ? "operation_name" : "token";
          if (this.take(`${period}:${dimension}`)) calls++;
          capped ||= this.emulators.pipefy.breakdown(dimension, window.from, window.to).length >= PIPEFY_TOP_N;
        }
        if (capped && this.take(`${period}:daily`)) calls++;
      }
    }
    const uuid = calls > 0 && !this.pipefyUuidHeld;
    if (uuid) {
      calls++;
      this.pipefyUuidHeld = true;
    }
    return { calls, uuid };
  }

  /** True when `unit` was not held (and holds it now). */
  private take(unit: string): boolean {
    if (this.pipefyUnits.has(unit)) return false;
    this.pipefyUnits.add(unit);
    return true;
  }
}

function scopeOf(p: Panel, key: string): Scope {
  const filter = p.where?.find((f) => f.key === key);
  return filter ? new Set(filter.in) : "all";
}

function covers(held: Scope | undefined, needed: Scope): boolean {
  if (held === undefined) return false;
  if (held === "all") return true;
  return needed !== "all" && [...needed].every((id) => held.has(id));
}

function widen(held: Scope | undefined, added: Scope): Scope {
  if (held === "all" || added === "all") return "all";
  return new Set([...(held ?? []), ...added]);
}

function subsets<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let mask = 1; mask < 1 << items.length; mask++) out.push(items.filter((_, i) => mask & (1 << i)));
  return out;
}

/** The fewest periods whose windows cover every one of `days`. */
function fewestCovering(days: readonly Day[], windows: ReadonlyMap<PeriodFilter, Span>): PeriodFilter[] {
  const ok = subsets(PERIODS).filter((set) => days.every((d) => set.some((p) => windows.get(p)!.from <= d && d <= windows.get(p)!.to)));
  return ok.sort((a, b) => a.length - b.length)[0] ?? [];
}

/** The periods a breakdown of `range` must read: fewest covering the most days, then the tightest. */
function tightestCovering(range: Span, windows: ReadonlyMap<PeriodFilter, Span>): PeriodFilter[] {
  const days = daysOf(range);
  const scored = subsets(PERIODS).map((set) => ({
    set,
    missing: days.filter((d) => !set.some((p) => windows.get(p)!.from <= d && d <= windows.get(p)!.to)).length,
    span: set.reduce((n, p) => n + length(windows.get(p)!), 0),
  }));
  scored.sort((a, b) => a.missing - b.missing || a.set.length - b.set.length || a.span - b.span);
  return scored[0]!.missing < days.length ? scored[0]!.set : [];
}
