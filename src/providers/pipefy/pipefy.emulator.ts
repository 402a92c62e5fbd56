import { execute, GraphQLError, parse, validate, type DocumentNode, type GraphQLSchema } from "graphql";
import { addDays, eachDay, monthStart, todayIn, type CalendarDate, type DateRange } from "../../common/dates";
import { pipefyContractSchema } from "../../contracts/upstream-contracts";
import { bearerToken, EmulatorServer, seeded, type EmulatorOptions, type EmulatorResponse, type RecordedRequest } from "../emulator/emulator-server";

// The emulator's own types, read from the contract SDL: nothing here comes from the client's wire
// types, so that a misreading of the contract on either side shows up as a failing test.

/** `PeriodFilter` of the contract. */
export type PipefyPeriod = "current_month" | "last_month" | "last_3_months";
/** `GroupedAPIDimension` of the contract. */
export type PipefyDimension = "operation_name" | "token";
/** `MetricItem` of the contract, as this emulator fills it. */
export interface PipefyMetricItem {
  dimension: string;
  metric: number;
}

export const PIPEFY_DEMO_TOKEN = "demo-pipefy-service-account-token";
export const PIPEFY_DEMO_ORGANIZATION = { id: "300123", uuid: "7d1c4a52-9e3b-4f6a-8c21-5b0e9d7f3a61" } as const;

/** Rows Pipefy returns per dimension at most: the documented top 10. */
export const PIPEFY_TOP_N = 10;

/** The emulated organization's API-call quota for a period (`limit`), unless told otherwise. */
export const PIPEFY_DEFAULT_QUOTA = 50_000;

/** Pipefy's documented 401 body (vendor public docs, in the contract's transport notes). */
const UNAUTHORIZED_BODY = { errors: [{ title: "Unauthorized", detail: "You are not authorized to access this page" }] };

/** Operation names the emulated organization's calls carry, busiest first (on average). */
export const PIPEFY_OPERATIONS: readonly string[] = [
  "Not specified",
  "GetCards",
  "GetUsage",
  "CreateCard",
  "UpdatePipe",
  "UpdateCardField",
  "MoveCardToPhase",
  "GetPipe",
  "SearchRecords",
  "CreateComment",
  "DeleteCard",
  "GetOrganizationMembers",
];

/** Tokens the emulated organization's calls are made with. */
export const PIPEFY_TOKENS: readonly string[] = ["John - Python Integration", "HR Integration Bot", "Finance Sync", "Zapier Connector"];

const OPERATION_WEIGHTS = [60, 44, 36, 30, 25, 21, 17, 14, 11, 8, 6, 4];
const TOKEN_WEIGHTS = [1, 0.7, 0.45, 0.25];

/** How `last_3_months` is emulated: the three calendar months before the current one (default), or through today. */
export type LastThreeMonths = "previous" | "throughToday";

export interface PipefyEmulatorOptions extends EmulatorOptions {
  token?: string;
  /** Organization id → uuid. */
  organizations?: Readonly<Record<string, string>>;
  lastThreeMonths?: LastThreeMonths;
  /** The organization's API-call quota for a period (`limit`); null: not reported. */
  quota?: number | null;
  /** Leave filterDate out (null), as the vendor document's samples do. */
  withoutFilterDate?: boolean;
  /** Answers HTTP 429 past `requests` calls within `windowMs`. */
  rateLimit?: { requests: number; windowMs: number; retryAfterSeconds?: number };
}

/**
 * Pipefy's GraphQL API on loopback: a real GraphQL server that executes the contract SDL
 * (schema/upstream/contracts/pipefy.graphql) with its own resolvers, so that it answers exactly what
 * the contract allows: an operation selecting anything else fails validation, and operation names,
 * aliases and response keys behave per spec. Bearer auth (HTTP 401 with the documented body), an
 * optional rate limit (HTTP 429), and GraphQL errors as HTTP 200 with `errors[].extensions.code`.
 *
 * Data: calls per UTC day, operation and token (deterministic), so a day's total is the sum over
 * operations and also the sum over tokens. Periods are calendar months in UTC: current_month is
 * the 1st through today, last_month the previous month, last_3_months the three months before the
 * current one (or, with `lastThreeMonths: "throughToday"`, the 1st of two months ago through today).
 * `apiUsageStats` (and its twin `apiUsageStatsGroupedBy`) lists the top 10 rows, busiest first, with
 * the period's filterDate and the quota as `limit`; `apiUsageStatsDaily` lists every day of the
 * period, newest first, and nothing else.
 */
export class PipefyEmulator extends EmulatorServer {
  readonly contract = "pipefy" as const;

  protected errorBody(status: number, message: string): unknown {
    if (status === 401) return UNAUTHORIZED_BODY;
    return { errors: [{ message, extensions: { code: status === 429 ? "TOO_MANY_REQUESTS" : "INTERNAL_SERVER_ERROR" } }] };
  }

  lastThreeMonths: LastThreeMonths;
  quota: number | null;
  withoutFilterDate: boolean;
  rateLimit?: PipefyEmulatorOptions["rateLimit"];
  private readonly token: string;
  private readonly organizations: Readonly<Record<string, string>>;
  private readonly schema: GraphQLSchema;
  private readonly arrivals: number[] = [];

  constructor(options: PipefyEmulatorOptions = {}) {
    super(options);
    this.token = options.token ?? PIPEFY_DEMO_TOKEN;
    this.organizations = options.organizations ?? { [PIPEFY_DEMO_ORGANIZATION.id]: PIPEFY_DEMO_ORGANIZATION.uuid };
    this.lastThreeMonths = options.lastThreeMonths ?? "previous";
    this.quota = options.quota === undefined ? PIPEFY_DEFAULT_QUOTA : options.quota;
    this.withoutFilterDate = options.withoutFilterDate ?? false;
    this.rateLimit = options.rateLimit;
    this.schema = pipefyContractSchema();
  }

  /** Calls made on one UTC day with one operation name and one token. */
  calls(date: CalendarDate, operation: string, token: string): number {
    const o = PIPEFY_OPERATIONS.indexOf(operation);
    const t = PIPEFY_TOKENS.indexOf(token);
    if (o < 0 || t < 0) return 0;
    const r = seeded(`pipefy:${date}:${operation}:${token}`);
    // Some operations are not used with some tokens on some days.
    return r < 0.15 ? 0 : Math.round(r * OPERATION_WEIGHTS[o]! * TOKEN_WEIGHTS[t]!);
  }

  operationCalls(date: CalendarDate, operation: string): number {
    return PIPEFY_TOKENS.reduce((s, t) => s + this.calls(date, operation, t), 0);
  }

  tokenCalls(date: CalendarDate, token: string): number {
    return PIPEFY_OPERATIONS.reduce((s, o) => s + this.calls(date, o, token), 0);
  }

  dailyTotal(date: CalendarDate): number {
    return PIPEFY_OPERATIONS.reduce((s, o) => s + this.operationCalls(date, o), 0);
  }

  /** The days a period covers today (what filterDate reports). */
  periodWindow(period: PipefyPeriod): DateRange {
    const today = todayIn("UTC", this.now());
    const thisMonth = monthStart(today);
    const lastMonth = monthStart(addDays(thisMonth, -1));
    switch (period) {
      case "current_month":
        return { from: thisMonth, to: today };
      case "last_month":
        return { from: lastMonth, to: addDays(thisMonth, -1) };
      case "last_3_months": {
        const twoAgo = monthStart(addDays(lastMonth, -1));
        return this.lastThreeMonths === "throughToday" ? { from: twoAgo, to: today } : { from: monthStart(addDays(twoAgo, -1)), to: addDays(thisMonth, -1) };
      }
    }
  }

  /**
   * Every entry of a breakdown over [from, to], busiest first (ties by name), before the top-N cap;
   * `null` gives the one "Counter" row with the total.
   */
  breakdown(dimension: PipefyDimension | null, from: CalendarDate, to: CalendarDate): PipefyMetricItem[] {
    const days = eachDay(from, to);
    if (dimension === null) return [{ dimension: "Counter", metric: days.reduce((s, d) => s + this.dailyTotal(d), 0) }];
    const names = dimension === "operation_name" ? PIPEFY_OPERATIONS : PIPEFY_TOKENS;
    const callsOf = (name: string, d: CalendarDate) => (dimension === "operation_name" ? this.operationCalls(d, name) : this.tokenCalls(d, name));
    return names
      .map((name) => ({ dimension: name, metric: days.reduce((s, d) => s + callsOf(name, d), 0) }))
      .filter((row) => row.metric > 0)
      .sort((a, b) => b.metric - a.metric || a.dimension.localeCompare(b.dimension));
  }

  protected async handle(req: RecordedRequest): Promise<EmulatorResponse> {
    if (req.path !== "/graphql") return { status: 404, body: { errors: [{ message: "Not Found" }] } };
    if (req.method !== "POST") return { status: 405, body: { errors: [{ message: "Method Not Allowed" }] } };
    if (bearerToken(req) !== this.token) return { status: 401, body: UNAUTHORIZED_BODY };
    if (this.throttled(req.at)) {
      return {
        status: 429,
        headers: { "retry-after": String(this.rateLimit?.retryAfterSeconds ?? 1) },
        body: { errors: [{ message: "Too many requests", extensions: { code: "TOO_MANY_REQUESTS" } }] },
      };
    }
    const { query, variables, operationName } = (req.body ?? {}) as { query?: unknown; variables?: unknown; operationName?: unknown };
    if (typeof query !== "string") return graphqlErrors("BAD_USER_INPUT", "Must provide a query string");
    let document: DocumentNode;
    try {
      document = parse(query);
    } catch (error) {
      return graphqlErrors("GRAPHQL_PARSE_FAILED", (error as Error).message);
    }
    const invalid = validate(this.schema, document);
    if (invalid.length > 0) return graphqlErrors("GRAPHQL_VALIDATION_FAILED", ...invalid.map((e) => e.message));
    const result = await execute({
      schema: this.schema,
      document,
      rootValue: this.resolvers(),
      variableValues: typeof variables === "object" && variables !== null ? (variables as Record<string, unknown>) : undefined,
      operationName: typeof operationName === "string" ? operationName : undefined,
    });
    // Errors without data are request errors (bad variables, unknown operation name).
    if (result.data === undefined && result.errors) return graphqlErrors("BAD_USER_INPUT", ...result.errors.map((e) => e.message));
    return { status: 200, body: result };
  }

  /** Root resolvers: graphql-js calls each root field's function with its arguments. */
  private resolvers() {
    const knownUuid = (uuid: string) => {
      if (!Object.values(this.organizations).includes(uuid)) throw notFound("Organization not found");
    };
    const summary = (args: { organizationUuid: string; period: PipefyPeriod; dimension?: PipefyDimension | null }) => {
      knownUuid(args.organizationUuid);
      const window = this.periodWindow(args.period);
      const rows = this.breakdown(args.dimension ?? null, window.from, window.to);
      return { data: rows.slice(0, PIPEFY_TOP_N), filterDate: this.withoutFilterDate ? null : window, limit: this.quota };
    };
    return {
      organization: ({ id }: { id: string }) => {
        const uuid = this.organizations[id];
        if (!uuid) throw notFound("Organization not found");
        return { id, uuid, name: `Organization ${id}` };
      },
      apiUsageStats: summary,
      apiUsageStatsGroupedBy: summary,
      apiUsageStatsDaily: (args: { organizationUuid: string; period: PipefyPeriod }) => {
        knownUuid(args.organizationUuid);
        const window = this.periodWindow(args.period);
        return {
          data: eachDay(window.from, window.to)
            .reverse()
            .map((date) => ({ date, metric: this.dailyTotal(date) })),
        };
      },
    };
  }

  private throttled(at: number): boolean {
    if (!this.rateLimit) return false;
    const { requests, windowMs } = this.rateLimit;
    while (this.arrivals.length > 0 && this.arrivals[0]! <= at - windowMs) this.arrivals.shift();
    if (this.arrivals.length >= requests) return true;
    this.arrivals.push(at);
    return false;
  }
}

function notFound(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: "RESOURCE_NOT_FOUND" } });
}

function graphqlErrors(code: string, ...messages: string[]): EmulatorResponse {
  return { status: 200, body: { errors: messages.map((message) => ({ message, extensions: { code } })) } };
}
