import { Field, Float, Int, ObjectType } from "type-graphql";
import { DateScalar, DateTimeScalar } from "../common/scalars";
import { Granularity, MetricKind, ProviderId, SourceState } from "./enums";

@ObjectType({ description: "A measured quantity of a provider." })
export class Metric {
  @Field({ description: "`<provider>.<name>`, e.g. `acedata.credits`." })
  key!: string;

  @Field()
  name!: string;

  @Field({ description: "Unit of the values, e.g. credits, calls, rows." })
  unit!: string;

  @Field(() => MetricKind)
  kind!: MetricKind;

  @Field({ description: "What the number means, from the vendor's document." })
  description!: string;
}

@ObjectType({ description: "The value of one dimension for a series." })
export class DimensionValue {
  @Field({ description: "Dimension key: api, workspace, datastream, operation or token." })
  key!: string;

  @Field({ description: "The provider's identifier, or `(none)` for rows not attributed to one." })
  value!: string;

  @Field({ description: "A human label (API or workspace name); the value when there is none." })
  label!: string;
}

@ObjectType({ description: "One bucket of a series. `start` and `end` are the days the value really covers." })
export class UsagePoint {
  @Field(() => DateScalar)
  start!: string;

  @Field(() => DateScalar, { description: "Inclusive." })
  end!: string;

  @Field(() => Float)
  value!: number;

  @Field({ description: "True when the provider will not change these numbers any more." })
  final!: boolean;
}

@ObjectType({ description: "A metric of one provider for one combination of dimension values." })
export class UsageSeries {
  @Field(() => ProviderId)
  provider!: ProviderId;

  @Field(() => Metric)
  metric!: Metric;

  @Field(() => [DimensionValue])
  dimensions!: DimensionValue[];

  @Field(() => [UsagePoint], { description: "Ordered by start." })
  points!: UsagePoint[];

  @Field(() => Float, { nullable: true, description: "Sum of the points for COUNTER, the last point for GAUGE." })
  total!: number | null;
}

@ObjectType({ description: "Why a provider's part of a report is missing or incomplete." })
export class SourceError {
  @Field({ description: "One of the contract codes, e.g. UPSTREAM_RATE_LIMITED." })
  code!: string;

  @Field()
  message!: string;

  @Field(() => Int, { nullable: true })
  retryAfterSeconds!: number | null;
}

@ObjectType({ description: "How one provider answered this report: one per provider asked for." })
export class SourceStatus {
  @Field(() => ProviderId)
  provider!: ProviderId;

  @Field(() => SourceState)
  state!: SourceState;

  @Field(() => SourceError, { nullable: true })
  error!: SourceError | null;

  @Field(() => DateScalar, { nullable: true, description: "Last day whose numbers the provider will not change." })
  finalizedThrough!: string | null;

  @Field(() => Int, { description: "Upstream HTTP requests made for this report (retries included)." })
  upstreamRequests!: number;

  @Field(() => Int, { description: "Upstream answers served from cache or shared with a concurrent identical call." })
  cachedResponses!: number;

  @Field(() => Int, { description: "Days of this report served from the usage store (final days it already holds)." })
  storedDays!: number;
}

@ObjectType({ description: "Normalized usage over all providers asked for." })
export class UsageReport {
  @Field(() => [UsageSeries])
  series!: UsageSeries[];

  @Field(() => [SourceStatus], { description: "One per provider asked for, always present." })
  sources!: SourceStatus[];

  @Field(() => DateScalar)
  from!: string;

  @Field(() => DateScalar)
  to!: string;

  @Field(() => Granularity)
  granularity!: Granularity;

  @Field({ description: "IANA time zone that decided today and the WEEK/MONTH boundaries." })
  timeZone!: string;

  @Field(() => DateTimeScalar)
  generatedAt!: Date;
}
