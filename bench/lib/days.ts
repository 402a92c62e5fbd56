/**
 * Calendar-day arithmetic for the bench. Deliberately independent of src/common/dates.ts: the
 * minimum-call model must not inherit a bug from the code it measures.
 */
export type Day = string;

export interface Span {
  from: Day;
  to: Day;
}

const DAY_MS = 86_400_000;

const epochDay = (d: Day): number => Math.round(Date.parse(`${d}T00:00:00Z`) / DAY_MS);
const fromEpoch = (n: number): Day => new Date(n * DAY_MS).toISOString().slice(0, 10);

export function shift(d: Day, days: number): Day {
  return fromEpoch(epochDay(d) + days);
}

/** The UTC calendar day `offset` days from today. */
export function utcDay(offset = 0, now = Date.now()): Day {
  return shift(new Date(now).toISOString().slice(0, 10), offset);
}

export function daysOf(span: Span): Day[] {
  const out: Day[] = [];
  for (let n = epochDay(span.from), end = epochDay(span.to); n <= end; n++) out.push(fromEpoch(n));
  return out;
}

export function length(span: Span): number {
  return Math.max(0, epochDay(span.to) - epochDay(span.from) + 1);
}

export function firstOfMonth(d: Day): Day {
  return `${d.slice(0, 7)}-01`;
}

export function lastOfMonth(d: Day): Day {
  const [y, m] = d.split("-").map(Number) as [number, number];
  return new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10);
}

/** The first day of the month `months` calendar months before `d`'s month. */
export function monthsBefore(d: Day, months: number): Day {
  let m = firstOfMonth(d);
  for (let i = 0; i < months; i++) m = firstOfMonth(shift(m, -1));
  return m;
}

export function isWholeMonths(span: Span): boolean {
  return span.from === firstOfMonth(span.from) && span.to === lastOfMonth(span.to);
}

/** Sorted spans, merged where they overlap or touch. */
export function merge(spans: readonly Span[]): Span[] {
  const sorted = [...spans].sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0));
  const out: Span[] = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && epochDay(s.from) <= epochDay(last.to) + 1) last.to = s.to > last.to ? s.to : last.to;
    else out.push({ ...s });
  }
  return out;
}

/** Consecutive runs of a set of days, as spans. */
export function runs(days: Iterable<Day>): Span[] {
  return merge([...days].map((d) => ({ from: d, to: d })));
}
