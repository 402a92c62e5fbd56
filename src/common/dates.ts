/**
 * Calendar dates as `yyyy-MM-dd` strings. Usage data is counted per calendar day of a provider,
 * not per instant, so all arithmetic here is on whole days (epoch-day numbers), never on Date
 * objects in a local time zone.
 */
export type CalendarDate = string;

const DAY_MS = 86_400_000;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** True for a real calendar date in `yyyy-MM-dd` form (2026-02-30 is not one). */
export function isCalendarDate(value: unknown): value is CalendarDate {
  if (typeof value !== "string") return false;
  const m = DATE_RE.exec(value);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}

export function toEpochDay(date: CalendarDate): number {
  return Math.floor(Date.parse(`${date}T00:00:00Z`) / DAY_MS);
}

const formatted = new Map<number, CalendarDate>();

/**
 * The date of an epoch day. Memoized: reports turn the same few hundred days into strings over and
 * over (every point of every series), and Date#toISOString showed up in profiles of cached reports.
 */
export function fromEpochDay(day: number): CalendarDate {
  let date = formatted.get(day);
  if (date === undefined) {
    date = new Date(day * DAY_MS).toISOString().slice(0, 10);
    if (formatted.size < 100_000) formatted.set(day, date);
  }
  return date;
}

export function addDays(date: CalendarDate, days: number): CalendarDate {
  return fromEpochDay(toEpochDay(date) + days);
}

/** Number of days in the inclusive range [from, to]; 0 when from is after to. */
export function daysInRange(from: CalendarDate, to: CalendarDate): number {
  return Math.max(0, toEpochDay(to) - toEpochDay(from) + 1);
}

export function eachDay(from: CalendarDate, to: CalendarDate): CalendarDate[] {
  const out: CalendarDate[] = [];
  for (let d = toEpochDay(from), end = toEpochDay(to); d <= end; d++) out.push(fromEpochDay(d));
  return out;
}

export const minDate = (a: CalendarDate, b: CalendarDate): CalendarDate => (a <= b ? a : b);
export const maxDate = (a: CalendarDate, b: CalendarDate): CalendarDate => (a >= b ? a : b);

const dayFormatters = new Map<string, Intl.DateTimeFormat>();

/** The calendar date it is now in an IANA time zone. */
export function todayIn(timeZone: string, now: number = Date.now()): CalendarDate {
  let fmt = dayFormatters.get(timeZone);
  if (!fmt) {
    // en-CA formats as yyyy-MM-dd.
    fmt = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" });
    dayFormatters.set(timeZone, fmt);
  }
  return fmt.format(now);
}

/** The calendar date it is now at a fixed UTC offset (Jiandaoyun counts days in UTC+8). */
export function todayAtOffset(offsetHours: number, now: number = Date.now()): CalendarDate {
  return new Date(now + offsetHours * 3_600_000).toISOString().slice(0, 10);
}

/** Monday of the ISO week that holds `date`. */
export function isoWeekStart(date: CalendarDate): CalendarDate {
  const day = toEpochDay(date);
  // 1970-01-01 was a Thursday: (day + 3) % 7 is 0 on Mondays.
  return fromEpochDay(day - ((((day + 3) % 7) + 7) % 7));
}

export function monthStart(date: CalendarDate): CalendarDate {
  return `${date.slice(0, 7)}-01`;
}

export function monthEnd(date: CalendarDate): CalendarDate {
  const y = Number(date.slice(0, 4));
  const m = Number(date.slice(5, 7));
  return fromEpochDay(Math.floor(Date.UTC(y, m, 1) / DAY_MS) - 1);
}

export interface DateRange {
  from: CalendarDate;
  to: CalendarDate;
}

/** Ranges sorted and merged where they overlap or touch (adjacent days). */
export function mergeRanges(ranges: readonly DateRange[]): DateRange[] {
  const sorted = [...ranges].sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0));
  const out: DateRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && toEpochDay(r.from) <= toEpochDay(last.to) + 1) last.to = maxDate(last.to, r.to);
    else out.push({ ...r });
  }
  return out;
}

/** Whether two ranges share at least one day. */
export function overlaps(a: DateRange, b: DateRange): boolean {
  return maxDate(a.from, b.from) <= minDate(a.to, b.to);
}

/**
 * The items whose ranges do not overlap, the wider one kept where two do (ties: the first given),
 * in start order. Single days are checked against a set, so a year of daily items stays linear.
 */
export function widestWithoutOverlaps<T>(items: readonly T[], rangeOf: (item: T) => DateRange): T[] {
  const width = (item: T) => daysInRange(rangeOf(item).from, rangeOf(item).to);
  const kept: T[] = [];
  const wide: DateRange[] = [];
  const days = new Set<CalendarDate>();
  // Wider first: by the time single days come, every wider range kept is in `wide`.
  for (const item of [...items].sort((a, b) => width(b) - width(a))) {
    const range = rangeOf(item);
    if (wide.some((w) => overlaps(w, range)) || days.has(range.from)) continue;
    if (range.from === range.to) days.add(range.from);
    else wide.push(range);
    kept.push(item);
  }
  return kept.sort((a, b) => (rangeOf(a).from < rangeOf(b).from ? -1 : rangeOf(a).from > rangeOf(b).from ? 1 : 0));
}

/** Days as text for messages: runs of consecutive days as from..to, separated by commas. */
export function describeDays(days: readonly CalendarDate[]): string {
  return mergeRanges(days.map((d) => ({ from: d, to: d })))
    .map((r) => (r.from === r.to ? r.from : `${r.from}..${r.to}`))
    .join(", ");
}

/** Splits [from, to] into consecutive chunks of at most `maxDays` days. */
export function chunkRange(range: DateRange, maxDays: number): DateRange[] {
  const out: DateRange[] = [];
  for (let start = range.from; start <= range.to; start = addDays(start, maxDays)) {
    out.push({ from: start, to: minDate(addDays(start, maxDays - 1), range.to) });
  }
  return out;
}
