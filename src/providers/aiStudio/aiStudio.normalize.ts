import { eachDay, type CalendarDate, type DateRange } from "../../common/dates";
import type { Observation } from "../provider";
import { AiStudioUsage } from "./aiStudio.record";
import { COUNT_FIELDS, type AiStudioDailyRow, type AiStudioUsageBody } from "./aiStudio.wire";

/** The answer's rows for the days of `use`, by date. */
function rowsIn(body: AiStudioUsageBody, use: DateRange): AiStudioDailyRow[] {
  return body.daily.filter((r) => r.date >= use.from && r.date <= use.to).sort((a, b) => (a.date < b.date ? -1 : 1));
}

/**
 * One observation per asked metric and day of `use` that the answer has a row for. A day without a
 * row gets no observation: the contract promises a row for every day up to today, so its absence
 * says the answer does not hold that day, not that the day had no usage (see `unheldDays`).
 */
export function toObservations(body: AiStudioUsageBody, use: DateRange, metrics: readonly string[], isFinal: (d: CalendarDate) => boolean): Observation[] {
  const rows = rowsIn(body, use);
  const out: Observation[] = [];
  for (const field of COUNT_FIELDS) {
    const metric = `aiStudio.${field}`;
    if (!metrics.includes(metric)) continue;
    for (const row of rows) out.push({ metric, dimensions: {}, start: row.date, end: row.date, value: row[field], final: isFinal(row.date) });
  }
  return out;
}

/** Days of `use` the answer has no row for. */
export function unheldDays(body: AiStudioUsageBody, use: DateRange): CalendarDate[] {
  const held = new Set(body.daily.map((r) => r.date));
  return eachDay(use.from, use.to).filter((d) => !held.has(d));
}

/** The vendor's own rows for the days of `use`, by date. */
export function toRecords(body: AiStudioUsageBody, use: DateRange): AiStudioUsage[] {
  return rowsIn(body, use).map((r) =>
    AiStudioUsage.of({
      date: r.date,
      parsedPages: r.parsed_pages,
      processorRuns: r.processor_runs,
      processedDocuments: r.processed_documents,
      completed: r.completed,
      failed: r.failed,
    }),
  );
}
