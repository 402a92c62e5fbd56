import { addDays, daysInRange, eachDay, monthStart, type CalendarDate, type DateRange } from "../../common/dates";
import { TTL } from "../http/datasource";
import { PERIODS, type PeriodFilter } from "./pipefy.wire";

/**
 * Pipefy answers for three named periods, not for date ranges. These are the windows usagegraph
 * *expects* them to cover (calendar months in UTC, DESIGN §3; last_3_months = the three calendar
 * months before the current one), used to choose which periods to ask for, and as the window of an
 * answer that reports no filterDate (the vendor document's samples have none). What a period really
 * covered is read from each answer's filterDate when it has one.
 */
export function expectedWindow(period: PeriodFilter, today: CalendarDate): DateRange {
  const thisMonth = monthStart(today);
  const lastMonthEnd = addDays(thisMonth, -1);
  switch (period) {
    case "current_month":
      return { from: thisMonth, to: today };
    case "last_month":
      return { from: monthStart(lastMonthEnd), to: lastMonthEnd };
    case "last_3_months":
      return { from: monthsBefore(thisMonth, 3), to: lastMonthEnd };
  }
}

/**
 * The fewest periods whose expected windows cover the most days of `range`; among equal choices the
 * one whose windows are the tightest (a breakdown of last_month beats one of last_3_months for a
 * range inside last month). When no period reaches the range at all, last_3_months is still asked:
 * its filterDate, not this arithmetic, tells how far back Pipefy's data goes.
 */
export function planPeriods(range: DateRange, today: CalendarDate): PeriodFilter[] {
  const choices = [];
  for (let mask = 1; mask < 1 << PERIODS.length; mask++) {
    const periods = PERIODS.filter((_, i) => mask & (1 << i));
    const windows = periods.map((p) => expectedWindow(p, today));
    const missing = uncoveredDays(range, windows).length;
    const span = windows.reduce((s, w) => s + daysInRange(w.from, w.to), 0);
    choices.push({ periods, missing, span });
  }
  choices.sort((a, b) => a.missing - b.missing || a.periods.length - b.periods.length || a.span - b.span);
  const best = choices[0]!;
  return best.missing < daysInRange(range.from, range.to) ? best.periods : ["last_3_months"];
}

/** Days of `range` that no window covers. */
export function uncoveredDays(range: DateRange, windows: readonly DateRange[]): CalendarDate[] {
  return eachDay(range.from, range.to).filter((d) => !windows.some((w) => w.from <= d && d <= w.to));
}

/**
 * How long an answer for `period` may be cached. A period's name is relative: at UTC midnight
 * current_month gains a day, and at the month's end every period moves. The same query then means
 * other days, so a cached answer must not outlive that boundary.
 */
export function ttlFor(period: PeriodFilter, now: number): number {
  const at = new Date(now);
  const boundary =
    period === "current_month" ? Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate() + 1) : Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1);
  const ttl = period === "current_month" ? TTL.fresh : TTL.final;
  return Math.max(1, Math.min(ttl, boundary - now));
}

function monthsBefore(firstOfMonth: CalendarDate, months: number): CalendarDate {
  const y = Number(firstOfMonth.slice(0, 4));
  const m = Number(firstOfMonth.slice(5, 7));
  return new Date(Date.UTC(y, m - 1 - months, 1)).toISOString().slice(0, 10);
}
