import { GraphQLError } from "graphql";

/** Every `extensions.code` a client can see. Anything else is masked to INTERNAL_SERVER_ERROR. */
export enum ErrorCode {
  BAD_USER_INPUT = "BAD_USER_INPUT",
  UNAUTHENTICATED = "UNAUTHENTICATED",
  FORBIDDEN = "FORBIDDEN",
  UPSTREAM_AUTH_FAILED = "UPSTREAM_AUTH_FAILED",
  UPSTREAM_RATE_LIMITED = "UPSTREAM_RATE_LIMITED",
  UPSTREAM_TIMEOUT = "UPSTREAM_TIMEOUT",
  UPSTREAM_UNAVAILABLE = "UPSTREAM_UNAVAILABLE",
  UPSTREAM_BAD_RESPONSE = "UPSTREAM_BAD_RESPONSE",
  OUT_OF_RETENTION = "OUT_OF_RETENTION",
  DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED",
  /** The provider answered, but not exactly what was asked (a coarser window, a top-N cap). */
  UPSTREAM_PARTIAL_DATA = "UPSTREAM_PARTIAL_DATA",
  INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR",
}

export type UpstreamErrorCode =
  | ErrorCode.UPSTREAM_AUTH_FAILED
  | ErrorCode.UPSTREAM_RATE_LIMITED
  | ErrorCode.UPSTREAM_TIMEOUT
  | ErrorCode.UPSTREAM_UNAVAILABLE
  | ErrorCode.UPSTREAM_BAD_RESPONSE
  | ErrorCode.OUT_OF_RETENTION
  | ErrorCode.DEADLINE_EXCEEDED
  | ErrorCode.UPSTREAM_PARTIAL_DATA;

/** Base of every error whose message and code are safe to show a client as they are. */
export abstract class UsageGraphError extends GraphQLError {
  abstract readonly code: ErrorCode;
}

export class BadUserInputError extends UsageGraphError {
  readonly code = ErrorCode.BAD_USER_INPUT;
  constructor(
    message: string,
    readonly field?: string,
  ) {
    // HTTP 400: the request itself is wrong, whatever else it asked for.
    super(message, { extensions: { code: ErrorCode.BAD_USER_INPUT, ...(field ? { field } : {}), http: { status: 400 } } });
  }
}

export class UnauthenticatedError extends UsageGraphError {
  readonly code = ErrorCode.UNAUTHENTICATED;
  constructor(message = "A valid API key is required: send Authorization: Bearer <key>.") {
    super(message, { extensions: { code: ErrorCode.UNAUTHENTICATED, http: { status: 401 } } });
  }
}

export class ForbiddenError extends UsageGraphError {
  readonly code = ErrorCode.FORBIDDEN;
  constructor(message: string) {
    super(message, { extensions: { code: ErrorCode.FORBIDDEN } });
  }
}

/**
 * An organization id that does not exist, told only to a caller who may read every organization
 * (no auth). The field answers null beside it; the rest of the response stands (no HTTP 400).
 */
export class UnknownOrganizationError extends UsageGraphError {
  readonly code = ErrorCode.BAD_USER_INPUT;
  constructor(id: string, known: readonly string[]) {
    const shown = known
      .slice(0, 20)
      .map((k) => `"${k}"`)
      .join(", ");
    const more = known.length > 20 ? ` and ${known.length - 20} more (Query.organizations lists them)` : "";
    super(`There is no organization "${id}". Known organizations: ${shown}${more}.`, { extensions: { code: ErrorCode.BAD_USER_INPUT } });
  }
}

/**
 * A provider call that failed. The message is written by usagegraph, never copied from the upstream
 * body, so it is safe to show; `status` and `detail` are for logs only and never reach a client.
 */
export class UpstreamError extends Error {
  constructor(
    readonly code: UpstreamErrorCode,
    message: string,
    readonly options: {
      retryAfterSeconds?: number;
      /** HTTP status seen, for logs and metrics. */
      status?: number;
      /** Vendor error code (e.g. Jiandaoyun 8304), for logs. */
      vendorCode?: string | number;
      /** Whether trying again may succeed. */
      retryable?: boolean;
      /** How long to wait before trying again, when retryable (set by the datasource's retry plan). */
      retryDelayMs?: number;
    } = {},
  ) {
    super(message);
    this.name = "UpstreamError";
  }

  get retryable(): boolean {
    return this.options.retryable ?? false;
  }
}

/** The client-visible form of a provider failure: in `errors` with `extensions.provider`. */
export class ProviderFailureError extends UsageGraphError {
  constructor(
    readonly code: UpstreamErrorCode | ErrorCode.INTERNAL_SERVER_ERROR,
    provider: string,
    message: string,
    retryAfterSeconds?: number,
    path?: ReadonlyArray<string | number>,
  ) {
    super(message, {
      path,
      extensions: {
        code,
        provider,
        ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
      },
    });
  }
}

/** Ends an exhaustive switch: the compiler proves it unreachable, the runtime reports it if not. */
export class UnreachableCaseError extends Error {
  constructor(value: never) {
    super(`Unreachable case: ${JSON.stringify(value)}`);
  }
}
