import { addDays, todayIn } from "../common/dates";

/** The query the IDE opens with and the startup log prints: the last 7 full days, per day. */
export function exampleQuery(organizationId: string, now: number = Date.now()): string {
  const to = addDays(todayIn("UTC", now), -1);
  const from = addDays(to, -6);
  return `# usagegraph: one query over every provider's usage.
{
  organization(id: "${organizationId}") {
    name
    usage(input: { from: "${from}", to: "${to}", granularity: DAY, groupBy: ["api"] }) {
      series {
        provider
        metric { key unit kind }
        dimensions { key value label }
        points { start end value final }
        total
      }
      sources { provider state error { code message } finalizedThrough upstreamRequests cachedResponses }
    }
  }
}`;
}
