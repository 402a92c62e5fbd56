import { addDays, daysInRange, maxDate, minDate, todayAtOffset, todayIn, type CalendarDate, type DateRange } from "../common/dates";
import type { ProviderCatalog } from "../providers/provider";
import { fetchScope } from "../usage/stored-fetch";

/**
 * The fetch scope collection fills: the default report shape (no grouping, no filter, daily), the
 * one `usage(input: { from, to })` asks. A report of another shape reads its own scope.
 */
export const COLLECTION_SCOPE = fetchScope({
  range: { from: "1970-01-01", to: "1970-01-01" },
  metrics: [],
  groupBy: [],
  where: [],
  granularity: "DAY",
  records: false,
});

/** Today in the provider's own calendar: an IANA zone, or a fixed offset such as Jiandaoyun's "UTC+8". */
export function providerToday(catalog: ProviderCatalog, now: number): CalendarDate {
  const offset = /^UTC([+-]\d{1,2})(?::(\d{2}))?$/.exec(catalog.timeZone);
  if (!offset) return todayIn(catalog.timeZone, now);
  const hours = Number(offset[1]);
  const minutes = Number(offset[2] ?? 0);
  return todayAtOffset(hours + Math.sign(hours) * (minutes / 60), now);
}

/** What of a range of days a collection can ask for. */
export interface CollectableDays {
  /** The days that can be collected: final by the provider's lag and inside its retention; null when none. */
  range: DateRange | null;
  /** Days of the asked range older than the provider's retention. */
  tooOld: number;
  /** Days of the asked range the provider has not closed yet. */
  notFinal: number;
}

/**
 * Clips `asked` to the days a provider can be asked for as final: none after today minus its
 * finalization lag (a day still changing would be fetched but never stored), none before its
 * retention. The oldest retained day is left out too: a provider counts its retention from its own
 * "now", and an answer that reaches past it carries an OUT_OF_RETENTION issue, which keeps the whole
 * answer out of the store.
 */
export function collectable(catalog: ProviderCatalog, asked: DateRange, now: number): CollectableDays {
  const today = providerToday(catalog, now);
  const last = addDays(today, -catalog.finalizationLagDays);
  const oldest = catalog.retentionDays === null ? asked.from : addDays(today, -(catalog.retentionDays - 1));
  const from = maxDate(asked.from, oldest);
  const to = minDate(asked.to, last);
  return {
    range: from <= to ? { from, to } : null,
    tooOld: daysInRange(asked.from, minDate(asked.to, addDays(oldest, -1))),
    notFinal: daysInRange(maxDate(asked.from, addDays(last, 1)), asked.to),
  };
}

/** The days a scheduled run makes sure are stored: the last `backfillDays` days, as far as collectable. */
export function backfillWindow(catalog: ProviderCatalog, backfillDays: number, now: number): DateRange | null {
  const today = providerToday(catalog, now);
  return collectable(catalog, { from: addDays(today, -backfillDays), to: today }, now).range;
}
