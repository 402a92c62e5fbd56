import type { CalendarDate } from "../common/dates";
import type { Metric, SeriesDimension } from "../usage/usage.model";

/**
 * The messages of alerts: one sentence a person reads in a chat channel without knowing the API,
 * numbers grouped the English way (4,120), days as yyyy-MM-dd.
 */

const NUMBER = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });
const WHOLE = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

export function formatNumber(value: number): string {
  return NUMBER.format(value);
}

/** " for Claude Messages", " for Workspace A / (none)", or "" without dimensions. */
export function forDimensions(dimensions: readonly SeriesDimension[]): string {
  return dimensions.length === 0 ? "" : ` for ${dimensions.map((d) => d.label).join(" / ")}`;
}

/** "Ace Data credits for Claude Messages: 4,120 of 5,000 (82 %) on 2026-11-24, forecast 5,310 by 2026-11-30". */
export function thresholdMessage(input: {
  name: string;
  dimensions: readonly SeriesDimension[];
  used: number;
  amount: number;
  day: CalendarDate;
  threshold: number;
  forecast: number;
  periodEnd: CalendarDate;
}): string {
  // Floored, so that a budget that just reached 80 % never reads as 79 % nor 99.6 % as 100 %.
  const percent = Math.floor((input.used / input.amount) * 100 + 1e-9);
  const over = input.threshold >= 1 ? ", over budget" : "";
  const forecast = input.day < input.periodEnd ? `, forecast ${WHOLE.format(input.forecast)} by ${input.periodEnd}` : "";
  return `${input.name}${forDimensions(input.dimensions)}: ${NUMBER.format(input.used)} of ${NUMBER.format(input.amount)} (${percent} %) on ${input.day}${over}${forecast}`;
}

/** "Ace Data Cloud Credits spent for Claude Messages: 412 credits on 2026-11-24, 5.2 × the median of the 14 days before (79 credits)". */
export function anomalyMessage(input: {
  providerName: string;
  metric: Metric;
  dimensions: readonly SeriesDimension[];
  day: CalendarDate;
  value: number;
  median: number;
  days: number;
}): string {
  const { metric } = input;
  const times = NUMBER.format(Math.floor((input.value / input.median) * 10) / 10);
  return (
    `${input.providerName} ${metric.name}${forDimensions(input.dimensions)}: ${NUMBER.format(input.value)} ${metric.unit} on ${input.day}, ` +
    `${times} × the median of the ${input.days} days before (${NUMBER.format(input.median)} ${metric.unit})`
  );
}

/** "Ace Data Cloud: collection failed on 2 consecutive runs, the last at 2026-11-24T02:30:05.000Z (UPSTREAM_TIMEOUT: …)". */
export function sourceFailingMessage(input: { providerName: string; runs: number; at: string; errorCode: string | null; errorMessage: string | null }): string {
  const reason = input.errorCode || input.errorMessage ? ` (${[input.errorCode, input.errorMessage].filter(Boolean).join(": ")})` : "";
  return `${input.providerName}: collection failed on ${input.runs} consecutive runs, the last at ${input.at}${reason}`;
}
