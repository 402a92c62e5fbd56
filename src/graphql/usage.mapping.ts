import { responsePathAsArray, type GraphQLResolveInfo } from "graphql";
import { ProviderFailureError } from "../common/errors";
import type { RequestContext } from "../context";
import type { ProviderIssue, RecordsQuery, UsageQuery } from "../usage/usage.model";
import type { RecordsInput, UsageInput } from "./usage.input";

/** The validated `UsageInput` as the usage service's query. */
export function toUsageQuery(input: UsageInput): UsageQuery {
  return {
    from: input.from,
    to: input.to,
    timeZone: input.timeZone,
    granularity: input.granularity,
    providers: input.providers,
    metrics: input.metrics,
    groupBy: input.groupBy,
    where: input.where?.map((f) => ({ key: f.key, in: f.in })),
  };
}

/** The validated `RecordsInput` as the usage service's query. */
export function toRecordsQuery(input: RecordsInput): RecordsQuery {
  return { from: input.from, to: input.to, providers: input.providers };
}

/**
 * Puts each provider issue of an answer into the response's `errors`, at the path of the field
 * that asked for it, without failing the field: the data beside it stays (DESIGN §3, partial results).
 */
export function reportIssues(ctx: RequestContext, issues: readonly ProviderIssue[], info: GraphQLResolveInfo): void {
  if (issues.length === 0) return;
  const path = responsePathAsArray(info.path);
  for (const i of issues) {
    ctx.reportError(new ProviderFailureError(i.code as ProviderFailureError["code"], i.provider, i.message, i.retryAfterSeconds, path));
  }
}
