import { randomUUID } from "node:crypto";
import { unwrapResolverError } from "@apollo/server/errors";
import type { GraphQLFormattedError } from "graphql";
import { ErrorCode, UsageGraphError } from "../common/errors";
import type { Logger } from "../common/logger";

/** Codes Apollo Server itself gives to request errors whose messages are safe to show. */
const SAFE_APOLLO_CODES = new Set([
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "BAD_USER_INPUT",
  "BAD_REQUEST",
  "PERSISTED_QUERY_NOT_FOUND",
  "PERSISTED_QUERY_NOT_SUPPORTED",
  "OPERATION_RESOLUTION_FAILURE",
]);

/**
 * Apollo `formatError`: usagegraph's own errors and Apollo's request errors pass as they are (without
 * stack traces); anything else is an internal error whose details stay in the log under a
 * correlation id the client can quote.
 */
export function maskErrors(log: Logger): (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError {
  return (formatted, error) => {
    const original = unwrapResolverError(error);
    const { stacktrace: _stack, ...extensions } = (formatted.extensions ?? {}) as Record<string, unknown>;
    void _stack;
    if (original instanceof UsageGraphError) return { ...formatted, extensions: { ...extensions, code: original.code } };
    // A Date literal refused during validation: graphql-js wraps our BadUserInputError.
    const inner = (original as { originalError?: unknown } | undefined)?.originalError;
    if (inner instanceof UsageGraphError) return { ...formatted, extensions: { ...extensions, code: inner.code } };
    if (typeof extensions.code === "string" && SAFE_APOLLO_CODES.has(extensions.code)) return { ...formatted, extensions };
    const correlationId = randomUUID();
    log.error({ correlationId, err: { name: (original as Error)?.name, message: String((original as Error)?.message).slice(0, 300) } }, "internal error");
    return {
      message: `Internal server error (correlation id ${correlationId}).`,
      path: formatted.path,
      locations: formatted.locations,
      extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR, correlationId },
    };
  };
}
