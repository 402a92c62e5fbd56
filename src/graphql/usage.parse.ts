import { BadUserInputError } from "../common/errors";
import { DateScalar } from "../common/scalars";
import { nearest } from "../common/suggest";
import type { UsageQuery } from "../usage/usage.model";
import { Granularity, ProviderId } from "./enums";
import { DimensionFilter, UsageInput } from "./usage.input";
import { toUsageQuery } from "./usage.mapping";
import { validateArgument } from "./validation";

/** The fields of a usage request before they are checked: as GraphQL coerced them, or as a query string spelled them. */
export type UsageInputFields = { readonly [K in keyof UsageInput]?: unknown };

/**
 * The one parser of a usage request, for `Organization.usage` and `GET /export/usage.csv` alike.
 * First the shape GraphQL's own types guarantee to a GraphQL caller (calendar dates, enum values,
 * lists), so that a query string gets the same answer; then the class-validator rules of
 * `UsageInput` (known metrics and dimension keys, `to` after `from`, at most 366 days, an IANA
 * time zone). Returns the usage service's query, or throws one BAD_USER_INPUT error that names
 * everything wrong, before any upstream call.
 */
export async function parseUsageInput(fields: UsageInputFields): Promise<UsageQuery> {
  const problems: string[] = [];
  const input = Object.assign(new UsageInput(), {
    from: calendarDate("from", fields.from, problems),
    to: calendarDate("to", fields.to, problems),
    timeZone: optionalString("timeZone", fields.timeZone, problems),
    granularity:
      fields.granularity === undefined || fields.granularity === null
        ? undefined
        : enumValue("granularity", "a granularity", fields.granularity, Object.values(Granularity), problems),
    providers: list("providers", fields.providers, problems)?.map((p) => enumValue("providers", "a provider", p, Object.values(ProviderId), problems)),
    metrics: list("metrics", fields.metrics, problems),
    groupBy: list("groupBy", fields.groupBy, problems),
    where: filters(fields.where, problems),
  });
  if (problems.length > 0) throw new BadUserInputError(`Invalid input: ${problems.join("; ")}`);
  await validateArgument(input);
  return toUsageQuery(input);
}

function calendarDate(name: string, value: unknown, problems: string[]): string {
  if (value === undefined || value === null || value === "") {
    problems.push(`${name} is required, as yyyy-MM-dd`);
    return "";
  }
  try {
    return DateScalar.parseValue(value);
  } catch (error) {
    problems.push(`${name}: ${(error as Error).message}`);
    return "";
  }
}

function optionalString(name: string, value: unknown, problems: string[]): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") problems.push(`${name} must be a string`);
  return value as string;
}

function enumValue<T extends string>(name: string, what: string, value: unknown, known: readonly T[], problems: string[]): T {
  if (!known.includes(value as T)) {
    const hint = nearest(String(value), known);
    problems.push(`${name}: ${String(value)} is not ${what}${hint ? ` (did you mean \`${hint}\`?)` : ""}; known: ${known.join(", ")}`);
  }
  return value as T;
}

function list(name: string, value: unknown, problems: string[]): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) {
    problems.push(`${name} must be a list of strings`);
    return undefined;
  }
  return value as string[];
}

function filters(value: unknown, problems: string[]): DimensionFilter[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((f) => typeof f !== "object" || f === null)) {
    problems.push("where must be a list of { key, in } filters");
    return undefined;
  }
  // GraphQL hands over DimensionFilter instances already; plain objects become ones, for class-validator.
  return value.map((f) => (f instanceof DimensionFilter ? f : Object.assign(new DimensionFilter(), f)));
}
