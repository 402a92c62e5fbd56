import { eachDay, type CalendarDate, type DateRange } from "../../common/dates";
import type { Observation } from "../provider";
import { PipefyApiUsage } from "./pipefy.record";
import type { GroupedApiDimension, PipefyDaily, PipefySummary } from "./pipefy.wire";

export const API_CALLS = "pipefy.api_calls";

/** Our dimension keys and the upstream dimension each one is broken down by. */
export type BreakdownKey = "operation" | "token";
export const UPSTREAM_DIMENSION: Readonly<Record<BreakdownKey, GroupedApiDimension>> = { operation: "operation_name", token: "token" };

/** The entry that holds a capped breakdown's calls outside the top rows. */
export const OTHER = "(other)";

/**
 * Daily answers to `pipefy.api_calls` observations for the days of `range` that a reported window
 * covers. A day inside a window without a row had no calls: it is a 0, not a gap.
 */
export function dailyObservations(answers: readonly PipefyDaily[], range: DateRange, today: CalendarDate): Observation[] {
  const calls = callsByDate(answers);
  return eachDay(range.from, range.to)
    .filter((date) => answers.some((a) => inWindow(date, a.window)))
    .map((date) => ({ metric: API_CALLS, dimensions: {}, start: date, end: date, value: calls.get(date) ?? 0, final: date < today }));
}

/**
 * One period's breakdown to observations over the period's true window: never cut to the requested
 * range, never prorated. `other` (calls outside the top rows, derived from the period total) becomes
 * one "(other)" entry when positive.
 */
export function breakdownObservations(key: BreakdownKey, summary: PipefySummary, other: number, today: CalendarDate): Observation[] {
  const { from: start, to: end } = summary.window;
  const final = end < today;
  const entry = (value: string, label: string, calls: number): Observation => ({
    metric: API_CALLS,
    dimensions: { [key]: { value, label } },
    start,
    end,
    value: calls,
    final,
  });
  const out = summary.rows.map((row) => entry(row.dimension, row.dimension, row.metric));
  if (other > 0) out.push(entry(OTHER, `All other ${key === "operation" ? "operations" : "tokens"} (outside Pipefy's top ${summary.rows.length})`, other));
  return out;
}

/**
 * Whether a period's days inside its window add up to the period's total. Both come from one POST,
 * so they should; when they do not, the days are still Pipefy's own numbers, but some are missing or
 * the window is not the one the days were counted over (an assumed calendar window, say).
 */
export function dailyAddsUp(answer: PipefyDaily): boolean {
  const days = answer.days.reduce((s, d) => (inWindow(d.date, answer.window) ? s + d.metric : s), 0);
  return days === sumOf(answer.total);
}

/** Calls of a period outside its top rows: the period total minus the rows listed. */
export function callsOutsideTop(top: PipefySummary, total: PipefySummary): number {
  return sumOf(total) - sumOf(top);
}

export function dailyRecords(answers: readonly PipefyDaily[], range: DateRange): PipefyApiUsage[] {
  return [...callsByDate(answers)]
    .filter(([date]) => range.from <= date && date <= range.to)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([date, calls]) => PipefyApiUsage.of({ start: date, end: date, dimension: "day", key: date, calls }));
}

export function summaryRecords(dimension: BreakdownKey | "total", summary: PipefySummary): PipefyApiUsage[] {
  const { from: start, to: end } = summary.window;
  return summary.rows.map((row) => PipefyApiUsage.of({ start, end, dimension, key: row.dimension, calls: row.metric }));
}

/** Calls per day of daily answers, each answer read only inside its own window. */
function callsByDate(answers: readonly PipefyDaily[]): Map<CalendarDate, number> {
  const calls = new Map<CalendarDate, number>();
  for (const answer of answers) {
    for (const { date, metric } of answer.days) {
      // Overlapping windows (two periods) list a day twice: it is one day's count, not two.
      if (inWindow(date, answer.window) && !calls.has(date)) calls.set(date, metric);
    }
  }
  return calls;
}

function inWindow(date: CalendarDate, window: DateRange): boolean {
  return window.from <= date && date <= window.to;
}

function sumOf(summary: PipefySummary): number {
  return summary.rows.reduce((s, r) => s + r.metric, 0);
}
