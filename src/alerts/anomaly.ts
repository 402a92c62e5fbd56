import { addDays, type CalendarDate } from "../common/dates";

/** Days of history an anomaly is judged against (DESIGN §7). */
export const ANOMALY_BASELINE_DAYS = 14;
/** A day is an anomaly above this many times its baseline's median. */
export const ANOMALY_FACTOR = 3;

export interface Anomaly {
  day: CalendarDate;
  value: number;
  /** The median of the ANOMALY_BASELINE_DAYS days before it. */
  median: number;
}

/**
 * The days of `days` whose value is more than 3 × the median of the 14 days before them, when that
 * median is above 0. `values` holds one series' daily values (COUNTER: a missing day is not a 0, it
 * is not known); a day is judged only when it and all 14 days before it are known, so that a gap in
 * the history never makes an anomaly nor hides one behind invented zeros. A median of 0 (a series
 * that is mostly idle) has no multiple to exceed: such a series never yields an anomaly.
 */
export function findAnomalies(values: ReadonlyMap<CalendarDate, number>, days: readonly CalendarDate[]): Anomaly[] {
  const out: Anomaly[] = [];
  for (const day of days) {
    const value = values.get(day);
    if (value === undefined) continue;
    const before: number[] = [];
    for (let i = 1; i <= ANOMALY_BASELINE_DAYS; i++) {
      const v = values.get(addDays(day, -i));
      if (v === undefined) break;
      before.push(v);
    }
    if (before.length < ANOMALY_BASELINE_DAYS) continue;
    const median = medianOf(before);
    if (median > 0 && value > ANOMALY_FACTOR * median) out.push({ day, value, median });
  }
  return out;
}

export function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
