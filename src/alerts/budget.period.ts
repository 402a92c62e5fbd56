import { addDays, daysInRange, isoWeekStart, monthEnd, monthStart, type CalendarDate, type DateRange } from "../common/dates";
import type { BudgetPeriod } from "./alert.model";

/** The period of `period` kind that holds `day`: the day itself, its ISO week (Monday first) or its calendar month. */
export function periodOf(day: CalendarDate, period: BudgetPeriod): DateRange {
  switch (period) {
    case "DAY":
      return { from: day, to: day };
    case "WEEK": {
      const from = isoWeekStart(day);
      return { from, to: addDays(from, 6) };
    }
    case "MONTH":
      return { from: monthStart(day), to: monthEnd(day) };
    default: {
      const unreachable: never = period;
      throw new Error(`unknown budget period ${String(unreachable)}`);
    }
  }
}

/** The periods that overlap `range`, oldest first. */
export function periodsOver(range: DateRange, period: BudgetPeriod): DateRange[] {
  const out: DateRange[] = [];
  for (let p = periodOf(range.from, period); p.from <= range.to; p = periodOf(addDays(p.to, 1), period)) out.push(p);
  return out;
}

/**
 * What the period will have used at its end if the rest of it goes as it went so far: `used` plus
 * the mean daily use of the period's days through `at` (all of them, days without use included)
 * times the days left after `at`.
 */
export function forecastOf(used: number, period: DateRange, at: CalendarDate): number {
  const elapsed = daysInRange(period.from, at);
  const left = daysInRange(addDays(at, 1), period.to);
  return elapsed === 0 ? used : used + (used / elapsed) * left;
}
