import { isoWeekStart, maxDate, minDate, monthEnd, monthStart, addDays, type CalendarDate, type DateRange } from "../common/dates";
import { UnreachableCaseError } from "../common/errors";
import { MetricKind } from "../providers/provider";
import { Granularity, type UsagePoint as Point } from "./usage.model";

/** The bucket of `granularity` that holds `date`, cut to the requested range. */
export function bucketOf(date: CalendarDate, granularity: Granularity, range: DateRange): DateRange {
  switch (granularity) {
    case Granularity.DAY:
      return { from: date, to: date };
    case Granularity.WEEK: {
      const monday = isoWeekStart(date);
      return { from: maxDate(monday, range.from), to: minDate(addDays(monday, 6), range.to) };
    }
    case Granularity.MONTH:
      return { from: maxDate(monthStart(date), range.from), to: minDate(monthEnd(date), range.to) };
    case Granularity.TOTAL:
      return { from: range.from, to: range.to };
    default:
      throw new UnreachableCaseError(granularity);
  }
}

/**
 * Rolls one series' points (already summed per window across the dimensions grouped away) up into
 * buckets. COUNTER buckets sum; GAUGE buckets take the value of the last day observed. A point is
 * merged into a bucket only when its whole window lies inside that bucket; a coarser point (a
 * Pipefy month) that straddles buckets is kept as it is, with its true window: it is never split
 * or prorated. A bucket's start and end are the first and last day its points really cover.
 */
export function rollUp(points: readonly Point[], kind: MetricKind, granularity: Granularity, range: DateRange): Point[] {
  // Daily points at DAY granularity are their own buckets: nothing to merge, only to order.
  if (granularity === Granularity.DAY && points.every((p) => p.start === p.end && p.start >= range.from && p.end <= range.to)) {
    return [...points].sort(byWindow);
  }
  const buckets = new Map<string, { from: CalendarDate; to: CalendarDate; points: Point[] }>();
  const passthrough: Point[] = [];
  for (const point of points) {
    const inRange = point.start >= range.from && point.end <= range.to;
    const bucket = bucketOf(point.start, granularity, range);
    if (!inRange || point.end > bucket.to) {
      passthrough.push({ ...point });
      continue;
    }
    const key = bucket.from;
    const entry = buckets.get(key) ?? { ...bucket, points: [] };
    entry.points.push(point);
    buckets.set(key, entry);
  }
  const out: Point[] = [...passthrough];
  for (const { points: members } of buckets.values()) {
    members.sort((a, b) => (a.end < b.end ? -1 : a.end > b.end ? 1 : 0));
    const start = members.reduce((m, p) => minDate(m, p.start), members[0]!.start);
    const end = members[members.length - 1]!.end;
    const value = kind === MetricKind.COUNTER ? sum(members.map((p) => p.value)) : members[members.length - 1]!.value;
    out.push({ start, end, value, final: members.every((p) => p.final) });
  }
  return out.sort(byWindow);
}

function byWindow(a: Point, b: Point): number {
  return a.start < b.start ? -1 : a.start > b.start ? 1 : a.end < b.end ? -1 : a.end > b.end ? 1 : 0;
}

/** Total of a series: sum for COUNTER, the last point for GAUGE; null when there are no points. */
export function seriesTotal(points: readonly Point[], kind: MetricKind): number | null {
  if (points.length === 0) return null;
  return kind === MetricKind.COUNTER ? sum(points.map((p) => p.value)) : points[points.length - 1]!.value;
}

/**
 * Sum that does not show binary floating-point noise (45.5 + 12.3 = 57.8, not 57.800000000000004):
 * vendor amounts are decimal, so the sum is rounded to 9 decimal places.
 */
export function sum(values: readonly number[]): number {
  let total = 0;
  for (const v of values) total += v;
  return round(total);
}

export function round(value: number): number {
  return Math.round(value * 1e9) / 1e9;
}
