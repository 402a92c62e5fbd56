import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { analyzeDocument } from "graphql-request";
import { todayIn, type DateRange } from "../../common/dates";
import { ErrorCode, UpstreamError } from "../../common/errors";
import { HttpDataSource, TTL, type UpstreamResponse } from "../http/datasource";
import type { CallContext, ProviderDeps } from "../provider";
import { PIPEFY_CATALOG } from "./pipefy.catalog";
import { ApiUsageDailyWithWindowDocument, ApiUsageStatsDocument, OrganizationUuidDocument } from "./pipefy.generated";
import { expectedWindow } from "./pipefy.periods";
import type { PipefySettings } from "./pipefy.settings";
import {
  graphqlErrors,
  parseDailyWithWindow,
  parseOrganizationUuid,
  parseSummary,
  type GroupedApiDimension,
  type PeriodFilter,
  type PipefyDaily,
  type PipefyErrorBody,
  type PipefySummary,
} from "./pipefy.wire";

type GraphQLErrorKind = "auth" | "rateLimited" | "badInput" | "notFound" | "unavailable";

/** `errors[].extensions.code` values Pipefy (and GraphQL servers in general) answer with HTTP 200. */
const GRAPHQL_ERROR_CODES: Readonly<Record<string, GraphQLErrorKind>> = {
  UNAUTHENTICATED: "auth",
  UNAUTHORIZED: "auth",
  PERMISSION_DENIED: "auth",
  FORBIDDEN: "auth",
  // The token works, but its user is not an Admin or Super Admin of the organization.
  INVALID_ROLE: "auth",
  TOO_MANY_REQUESTS: "rateLimited",
  RATE_LIMITED: "rateLimited",
  USAGE_LIMIT_EXCEEDED: "rateLimited",
  BAD_USER_INPUT: "badInput",
  GRAPHQL_VALIDATION_FAILED: "badInput",
  NOT_FOUND: "notFound",
  RESOURCE_NOT_FOUND: "notFound",
  INTERNAL_SERVER_ERROR: "unavailable",
};

/**
 * Pipefy's GraphQL endpoint. Operations are the codegen'd TypedDocumentNodes; graphql-request's
 * `analyzeDocument` prints them and names the operation, and the POST itself goes through the
 * shared `request()` so that queue, retries, cache, in-flight sharing and error mapping stay in one
 * place (graphql-request's own client would bring a second HTTP stack with none of them).
 */
export class PipefyDataSource extends HttpDataSource {
  /** The organization's UUID, once known: it never changes, so one lookup per provider instance. */
  private uuid?: string;

  constructor(
    private readonly config: PipefySettings,
    deps: ProviderDeps,
  ) {
    super(PIPEFY_CATALOG, config, config.token, deps);
  }

  protected authorization(): string {
    return `Bearer ${this.config.token}`;
  }

  protected override errorFor(res: UpstreamResponse): UpstreamError | undefined {
    const errors = graphqlErrors(res.json);
    // Bad tokens (401), throttling (429) and outages are HTTP statuses whatever the body holds;
    // every other GraphQL error arrives with HTTP 200 and is told apart by its extensions.code.
    if (!errors || res.status === 401 || res.status === 403 || res.status === 429 || res.status >= 500) return super.errorFor(res);
    return this.graphqlError(res, errors);
  }

  /** The organization's UUID, which the usage queries take, from its configured numeric id. */
  async organizationUuid(call: CallContext): Promise<string> {
    // Concurrent first lookups share one upstream call (in-flight sharing); later ones use the memo,
    // which counts for the report as an answer served without an upstream call.
    if (this.uuid !== undefined) {
      call.stats.cachedResponses++;
      return this.uuid;
    }
    this.uuid = await this.execute(OrganizationUuidDocument, { id: this.config.organizationId }, TTL.final, call, parseOrganizationUuid);
    return this.uuid;
  }

  /** API calls of a period per operation name or per token: the top entries only. */
  summary(organizationUuid: string, period: PeriodFilter, dimension: GroupedApiDimension, ttlMs: number, call: CallContext): Promise<PipefySummary> {
    const fallback = calendarWindow(period, call);
    return this.execute(ApiUsageStatsDocument, { organizationUuid, period, dimension }, ttlMs, call, (body) => parseSummary(body, fallback));
  }

  /**
   * API calls per day of a period, with the period's window, total and quota from apiUsageStats
   * without a dimension: both root fields in one operation, so one POST, and the total is read at
   * the same moment as the days it must add up to.
   */
  dailyWithWindow(organizationUuid: string, period: PeriodFilter, ttlMs: number, call: CallContext): Promise<PipefyDaily> {
    const fallback = calendarWindow(period, call);
    return this.execute(ApiUsageDailyWithWindowDocument, { organizationUuid, period }, ttlMs, call, (body) => parseDailyWithWindow(body, fallback));
  }

  private execute<TResult, TVariables extends object, T>(
    document: TypedDocumentNode<TResult, TVariables>,
    variables: TVariables,
    ttlMs: number,
    call: CallContext,
    parse: (body: unknown) => T,
  ): Promise<T> {
    const { expression, operationName } = analyzeDocument(document);
    return this.request({ method: "POST", path: "/graphql", body: { query: expression, variables, operationName }, ttlMs }, call, parse);
  }

  private graphqlError(res: UpstreamResponse, errors: PipefyErrorBody["errors"]): UpstreamError {
    const name = this.catalog.name;
    const vendorCode = errors.map((e) => e?.extensions?.code).find((c): c is string => typeof c === "string");
    const options = { status: res.status, vendorCode };
    switch (vendorCode === undefined ? undefined : GRAPHQL_ERROR_CODES[vendorCode]) {
      case "auth":
        return new UpstreamError(
          ErrorCode.UPSTREAM_AUTH_FAILED,
          `${name} refused the configured token for this organization's usage statistics (an Admin or Super Admin token is needed)`,
          options,
        );
      case "rateLimited":
        return this.rateLimited(res, vendorCode);
      case "badInput":
        return new UpstreamError(ErrorCode.UPSTREAM_BAD_RESPONSE, `${name} refused a parameter of the usage query`, options);
      case "notFound":
        return new UpstreamError(ErrorCode.UPSTREAM_BAD_RESPONSE, `${name} found no organization with the configured organizationId`, options);
      case "unavailable":
        return new UpstreamError(ErrorCode.UPSTREAM_UNAVAILABLE, `${name} failed to answer the usage query (internal error)`, { ...options, retryable: true });
      case undefined:
        return new UpstreamError(ErrorCode.UPSTREAM_BAD_RESPONSE, `${name} answered the usage query with an error`, options);
    }
  }
}

/**
 * The window assumed for an answer without filterDate (the vendor document's samples have none):
 * the period's calendar window in UTC (DESIGN §3), as of the call's clock. The daily answer's check
 * against its period total still catches a period that really covers other days.
 */
function calendarWindow(period: PeriodFilter, call: CallContext): DateRange {
  return expectedWindow(period, todayIn("UTC", call.now()));
}
