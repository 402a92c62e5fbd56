import DataLoader from "dataloader";
import { chunkRange, mergeRanges, type DateRange } from "../../common/dates";
import type { CallContext } from "../provider";

/** One asked fetch: a day range with the provider's filter, from one report. */
export interface RangeKey<F> {
  range: DateRange;
  filter: F;
  call: CallContext;
}

/** An upstream unit that served a key: its own range and filter, and its answer or its failure. */
export type ServedUnit<F, R> = { ok: true; range: DateRange; filter: F; answer: R } | { ok: false; range: DateRange; filter: F; error: unknown };

export interface RangeLoaderOptions<F, R> {
  /** The filter that serves every one of `filters` (a union; "no filter" wins). */
  mergeFilters(filters: readonly F[]): F;
  /** One upstream unit, made on behalf of `call`. */
  fetch(range: DateRange, filter: F, call: CallContext): Promise<R>;
  /** Longest range one upstream call may cover. */
  maxDays?: number;
}

/** The answers of the units, or the first failure among them. */
export function answersOf<F, R>(units: readonly ServedUnit<F, R>[]): Array<{ range: DateRange; answer: R }> {
  return units.map((u) => {
    if (!u.ok) throw u.error;
    return u;
  });
}

/**
 * A per-request loader that coalesces one provider instance's range fetches into the fewest
 * upstream calls. Keys collected in the same tick (aliases, several reports, `_entities`) are merged:
 * overlapping or adjacent ranges become one range, their filters one filter, and the result is cut
 * into units of at most `maxDays`. Each key is then answered with the units that cover it, by range,
 * never by position.
 *
 * Counting stays exact per report: the report whose key first needs a unit pays its upstream
 * request; every other report served by the same unit counts it as a shared (cached) response.
 */
export function rangeLoader<F, R>(call: CallContext, name: string, options: RangeLoaderOptions<F, R>): DataLoader<RangeKey<F>, ServedUnit<F, R>[], RangeKey<F>> {
  return call.loaders.get(name, () =>
    new DataLoader<RangeKey<F>, ServedUnit<F, R>[], RangeKey<F>>(
      async (keys) => {
        const filter = options.mergeFilters(keys.map((k) => k.filter));
        const units = mergeRanges(keys.map((k) => k.range)).flatMap((r) => (options.maxDays ? chunkRange(r, options.maxDays) : [r]));
        const settled = units.map((range) => {
          const covering = keys.filter((k) => k.range.from <= range.to && k.range.to >= range.from);
          const owner = covering[0]!;
          for (const other of new Set(covering.map((k) => k.call))) {
            if (other !== owner.call) other.stats.cachedResponses++;
          }
          return options.fetch(range, filter, owner.call).then(
            (answer): ServedUnit<F, R> => ({ ok: true, range, filter, answer }),
            (error: unknown): ServedUnit<F, R> => ({ ok: false, range, filter, error }),
          );
        });
        const results = await Promise.all(settled);
        // Each key gets the units that overlap its range; a failed unit stays a failed unit, so a
        // provider can still answer the days other units covered.
        return keys.map((key) => results.filter((r) => r.range.from <= key.range.to && r.range.to >= key.range.from));
      },
      // A key is its range, filter and report: the same key twice in one report is one load.
      { cacheKeyFn: (k) => k },
    ),
  );
}
