import {
  ArrayMaxSize,
  ArrayNotEmpty,
  IsIn,
  IsOptional,
  IsTimeZone,
  MaxLength,
  registerDecorator,
  ValidateNested,
  type ValidationArguments,
} from "class-validator";
import { Field, InputType } from "type-graphql";
import { daysInRange } from "../common/dates";
import { nearest } from "../common/suggest";
import { ALL_METRIC_KEYS } from "../providers/registry";
import { DIMENSION_KEYS, type DimensionKey } from "../providers/provider";
import { Granularity, ProviderId } from "./enums";
import { DateScalar } from "../common/scalars";

export const MAX_RANGE_DAYS = 366;

/**
 * The values of a list argument that are not among the known ones, each with the nearest known
 * key when one is close: `metrics: acedata.calls is not a metric key (did you mean `acedata.credits`?); known keys: …`.
 */
function unknownKeys(field: string, kind: string, values: unknown, known: readonly string[]): string {
  const described = (Array.isArray(values) ? values : [values])
    .filter((v) => !known.includes(v))
    .map((v) => {
      const hint = nearest(String(v), known);
      return `${String(v)} is not a ${kind} key${hint ? ` (did you mean \`${hint}\`?)` : ""}`;
    });
  return `${field}: ${described.join(", ")}; known keys: ${known.join(", ")}`;
}

/** What is wrong with the range from..to, if anything: `to` before `from`, or more than MAX_RANGE_DAYS days. */
export function rangeProblem(from: string, to: string): string | undefined {
  if (to < from) return `to (${to}) must be on or after from (${from})`;
  const days = daysInRange(from, to);
  return days > MAX_RANGE_DAYS ? `the range ${from}..${to} is ${days} days; at most ${MAX_RANGE_DAYS} days may be asked at once` : undefined;
}

/** `to` on or after `from`, and the range at most MAX_RANGE_DAYS days long. */
function IsRangeEnd() {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: "isRangeEnd",
      target: target.constructor,
      propertyName,
      validator: {
        validate(to: string, args: ValidationArguments) {
          const from = (args.object as { from?: string }).from;
          return typeof from !== "string" || rangeProblem(from, to) === undefined;
        },
        defaultMessage(args: ValidationArguments) {
          return rangeProblem((args.object as { from: string }).from, args.value) ?? "";
        },
      },
    });
}

@InputType({ description: "Keep only rows whose dimension `key` has one of the values `in`." })
export class DimensionFilter {
  @Field(() => String)
  @IsIn(DIMENSION_KEYS, { message: `where.key must be one of ${DIMENSION_KEYS.join(", ")}` })
  key!: DimensionKey;

  @Field(() => [String])
  @ArrayNotEmpty({ message: "where.in must name at least one value" })
  @ArrayMaxSize(100)
  @MaxLength(200, { each: true })
  in!: string[];
}

@InputType({ description: "What usage to report." })
export class UsageInput {
  @Field(() => DateScalar, { description: "First day, inclusive." })
  from!: string;

  @Field(() => DateScalar, { description: `Last day, inclusive; at most ${MAX_RANGE_DAYS} days after from.` })
  @IsRangeEnd()
  to!: string;

  @Field({ nullable: true, description: 'IANA time zone, default "UTC": decides today and WEEK/MONTH boundaries.' })
  @IsOptional()
  @IsTimeZone({ message: "timeZone must be an IANA time zone name such as Europe/Berlin" })
  timeZone?: string;

  @Field(() => Granularity, { nullable: true, description: "Default DAY." })
  granularity?: Granularity;

  @Field(() => [ProviderId], { nullable: true, description: "Default: every provider configured for the organization." })
  @IsOptional()
  @ArrayMaxSize(10)
  providers?: ProviderId[];

  @Field(() => [String], { nullable: true, description: 'Metric keys such as "acedata.credits". Default: all.' })
  @IsOptional()
  @ArrayMaxSize(50)
  @IsIn(ALL_METRIC_KEYS, { each: true, message: (a) => unknownKeys("metrics", "metric", a.value, ALL_METRIC_KEYS) })
  metrics?: string[];

  @Field(() => [String], { nullable: true, description: `Dimension keys: ${DIMENSION_KEYS.join(", ")}.` })
  @IsOptional()
  @ArrayMaxSize(DIMENSION_KEYS.length)
  @IsIn(DIMENSION_KEYS, { each: true, message: (a) => unknownKeys("groupBy", "dimension", a.value, DIMENSION_KEYS) })
  groupBy?: DimensionKey[];

  @Field(() => [DimensionFilter], { nullable: true })
  @IsOptional()
  @ArrayMaxSize(10)
  @ValidateNested({ each: true })
  where?: DimensionFilter[];
}

@InputType({ description: "Which native rows to return." })
export class RecordsInput {
  @Field(() => DateScalar)
  from!: string;

  @Field(() => DateScalar)
  @IsRangeEnd()
  to!: string;

  @Field(() => [ProviderId], { nullable: true })
  @IsOptional()
  @ArrayMaxSize(10)
  providers?: ProviderId[];
}
