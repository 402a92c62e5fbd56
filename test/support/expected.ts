/**
 * Expectations computed independently of src/: plain calendar arithmetic and the rollup rules of
 * DESIGN.md §3, applied to the emulators' own per-day data. Deliberately shares no code with
 * src/usage/rollup.ts or src/common/dates.ts, so a bug there cannot hide in the expectation.
 */

export type GranularityName = "DAY" | "WEEK" | "MONTH" | "TOTAL";
export const GRANULARITIES: readonly GranularityName[] = ["DAY", "WEEK", "MONTH", "TOTAL"];

/** One day of one series, as the emulator's data says it should be. */
export interface DayValue {
  date: string;
  value: number;
  final: boolean;
}

export interface ExpectedPoint {
  start: string;
  end: string;
  value: number;
  final: boolean;
}

const DAY_MS = 86_400_000;

export function shiftDay(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/** Every day from `from` to `to`, inclusive. */
export function dates(from: string, to: string): string[] {
  const out: string[] = [];
  for (let d = from; d <= to; d = shiftDay(d, 1)) out.push(d);
  return out;
}

export function firstOfMonth(date: string): string {
  return `${date.slice(0, 7)}-01`;
}

export function lastOfMonth(date: string): string {
  const [y, m] = date.split("-").map(Number) as [number, number];
  return new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10);
}

/** The key of the bucket that holds `date`: the day, its ISO week's Monday, its month, or one for all. */
function bucketKey(date: string, granularity: GranularityName): string {
  switch (granularity) {
    case "DAY":
      return date;
    case "WEEK": {
      const weekday = (new Date(`${date}T00:00:00Z`).getUTCDay() + 6) % 7; // Monday = 0
      return shiftDay(date, -weekday);
    }
    case "MONTH":
      return date.slice(0, 7);
    case "TOTAL":
      return "all";
  }
}

/**
 * Rolls consecutive days up the way DESIGN.md §3 says: COUNTER buckets sum, GAUGE buckets take the
 * last day; a bucket runs from the first to the last day it really holds (so weeks and months are
 * cut to the range), and is final only when each of its days is.
 */
export function rollUpDays(days: readonly DayValue[], kind: "COUNTER" | "GAUGE", granularity: GranularityName): ExpectedPoint[] {
  const buckets = new Map<string, ExpectedPoint>();
  for (const day of [...days].sort((a, b) => (a.date < b.date ? -1 : 1))) {
    const key = bucketKey(day.date, granularity);
    const b = buckets.get(key);
    if (!b) {
      buckets.set(key, { start: day.date, end: day.date, value: day.value, final: day.final });
      continue;
    }
    b.end = day.date;
    b.value = kind === "COUNTER" ? b.value + day.value : day.value;
    b.final &&= day.final;
  }
  return [...buckets.values()];
}

/** A series' total: the sum of its points for COUNTER, its last point for GAUGE. */
export function totalOf(points: readonly ExpectedPoint[], kind: "COUNTER" | "GAUGE"): number {
  return kind === "COUNTER" ? points.reduce((s, p) => s + p.value, 0) : points[points.length - 1]!.value;
}

/** Shape of a series as the USAGE queries of the e2e tests select it. */
export interface SeriesJson {
  provider: string;
  metric: { key: string; kind: string; unit: string };
  dimensions: Array<{ key: string; value: string; label: string }>;
  points: Array<{ start: string; end: string; value: number; final: boolean }>;
  total: number | null;
}

/** Asserts a series point by point (start, end, final exactly; value to 9 decimals) and its total. */
export function expectSeries(series: SeriesJson | undefined, expected: readonly ExpectedPoint[], kind: "COUNTER" | "GAUGE"): void {
  expect(series).toBeDefined();
  expect(series!.metric.kind).toBe(kind);
  expect(series!.points.map((p) => [p.start, p.end, p.final])).toEqual(expected.map((p) => [p.start, p.end, p.final]));
  series!.points.forEach((p, i) => expect(p.value).toBeCloseTo(expected[i]!.value, 9));
  expect(series!.total).toBeCloseTo(totalOf(expected, kind), 9);
}

/** The one series of `metric` whose dimensions are exactly `dims` (order of dimensions ignored). */
export function findSeries(series: readonly SeriesJson[], metric: string, dims: Record<string, string> = {}): SeriesJson | undefined {
  const wanted = Object.entries(dims).sort();
  const matches = series.filter((s) => s.metric.key === metric && JSON.stringify(s.dimensions.map((d) => [d.key, d.value]).sort()) === JSON.stringify(wanted));
  expect(matches.length).toBeLessThanOrEqual(1);
  return matches[0];
}
