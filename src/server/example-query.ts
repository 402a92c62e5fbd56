import { addDays, isoWeekStart, todayIn, type CalendarDate } from "../common/dates";

/** The last finished ISO week (Monday to Sunday) before the current one, in UTC. */
export function lastFinishedWeek(now: number = Date.now()): { from: CalendarDate; to: CalendarDate } {
  const from = addDays(isoWeekStart(todayIn("UTC", now)), -7);
  return { from, to: addDays(from, 6) };
}

/**
 * The query the README shows, the startup banner prints and the IDE opens with: the last finished
 * ISO week, so that every provider has published every day of it and the answer a newcomer gets
 * has the README's shape (no "not available yet"). test/front-door.test.ts keeps the README's copy equal.
 */
export function exampleQuery(organizationId: string, now: number = Date.now()): string {
  const { from, to } = lastFinishedWeek(now);
  return `# The last finished ISO week, one metric of each provider, Adverity split by workspace.
{
  organization(id: "${organizationId}") {
    usage(input: {
      from: "${from}", to: "${to}", granularity: WEEK, groupBy: ["workspace"]
      metrics: ["jiandaoyun.app", "acedata.credits", "aiStudio.parsed_pages", "pipefy.api_calls", "adverity.total_rows"]
    }) {
      series { provider metric { key kind } dimensions { label } points { start end value final } total }
      sources { provider state error { code message } finalizedThrough upstreamRequests cachedResponses }
    }
  }
}`;
}
