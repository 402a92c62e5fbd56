import { eachDay, type CalendarDate, type DateRange } from "../../common/dates";
import type { Observation } from "../provider";
import { AiStudioUsage } from "./aiStudio.record";
import { COUNT_FIELDS, type AiStudioUsageBody } from "./aiStudio.wire";

/**
 * One observation per asked metric and day of the range the call covered. By the assumed contract
 * a day of the asked range without a daily row had no usage, so it is an explicit 0.
 */
export function toObservations(
  body: AiStudioUsageBody,
  covered: DateRange,
  metrics: readonly string[],
  isFinal: (d: CalendarDate) => boolean,
): Observation[] {
  const byDate = new Map(body.daily.map((r) => [r.date, r]));
  const out: Observation[] = [];
  for (const field of COUNT_FIELDS) {
    const metric = `aiStudio.${field}`;
    if (!metrics.includes(metric)) continue;
    for (const date of eachDay(covered.from, covered.to)) {
      out.push({ metric, dimensions: {}, start: date, end: date, value: byDate.get(date)?.[field] ?? 0, final: isFinal(date) });
    }
  }
  return out;
}

/** The vendor's own rows, by date: days without a row have none. */
export function toRecords(body: AiStudioUsageBody): AiStudioUsage[] {
  return [...body.daily].sort((a, b) => (a.date < b.date ? -1 : 1)).map((r) =>
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
