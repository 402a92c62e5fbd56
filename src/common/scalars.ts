import { GraphQLScalarType, Kind } from "graphql";
import { DateTimeISOResolver } from "graphql-scalars";
import { isCalendarDate } from "./dates";
import { BadUserInputError } from "./errors";

function parseDate(value: unknown): string {
  if (!isCalendarDate(value)) {
    throw new BadUserInputError(`${JSON.stringify(value)} is not a calendar date in yyyy-MM-dd form`);
  }
  return value;
}

/** A calendar date, `yyyy-MM-dd`: a real date (2026-02-30 is refused), no time, no zone. */
export const DateScalar = new GraphQLScalarType<string, string>({
  name: "Date",
  description: "Calendar date, yyyy-MM-dd.",
  specifiedByURL: "https://www.rfc-editor.org/rfc/rfc3339#section-5.6",
  // Outgoing dates are made by usagegraph from validated calendar dates: a type check is enough on
  // this hot path (a report serializes thousands of them).
  serialize: (value) => {
    if (typeof value !== "string" || value.length !== 10) throw new TypeError("Date: not a yyyy-MM-dd string");
    return value;
  },
  parseValue: (value) => parseDate(value),
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) throw new BadUserInputError("a Date must be a string in yyyy-MM-dd form");
    return parseDate(ast.value);
  },
});

/** An ISO 8601 instant. */
export const DateTimeScalar = new GraphQLScalarType({
  ...DateTimeISOResolver.toConfig(),
  name: "DateTime",
  description: "ISO 8601 instant, e.g. 2026-11-22T08:00:00.000Z.",
});
