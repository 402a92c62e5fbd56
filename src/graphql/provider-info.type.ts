import { Field, Float, Int, ObjectType } from "type-graphql";
import { ProviderId } from "./enums";
import { Metric } from "./usage.type";

@ObjectType({ description: "A dimension a provider's metrics can be grouped or filtered by." })
export class DimensionInfo {
  @Field()
  key!: string;

  @Field()
  name!: string;

  @Field()
  description!: string;
}

@ObjectType({ description: "A provider's documented rate limit, which usagegraph keeps to." })
export class RateLimitInfo {
  @Field(() => Float, { nullable: true })
  requestsPerSecond!: number | null;

  @Field(() => Int, { nullable: true })
  maxConcurrent!: number | null;

  @Field()
  description!: string;
}

@ObjectType({ description: "What a provider is and what it can answer." })
export class ProviderInfo {
  @Field(() => ProviderId)
  id!: ProviderId;

  @Field({ description: "Key in config files and metric keys, e.g. aiStudio." })
  key!: string;

  @Field()
  name!: string;

  @Field()
  vendor!: string;

  @Field(() => [Metric])
  metrics!: Metric[];

  @Field(() => [DimensionInfo])
  dimensions!: DimensionInfo[];

  @Field({ description: "Finest resolution of the data, e.g. DAY." })
  resolution!: string;

  @Field({ description: "The time zone the provider counts its days in." })
  timeZone!: string;

  @Field(() => Int, { nullable: true, description: "How far back the provider answers, in days." })
  retentionDays!: number | null;

  @Field(() => Int, { description: "Days until a day's numbers are final (1: yesterday is final)." })
  finalizationLagDays!: number;

  @Field(() => RateLimitInfo)
  rateLimit!: RateLimitInfo;

  @Field(() => Int, { nullable: true, description: "Longest range one upstream call may cover, in days." })
  maxDaysPerCall!: number | null;

  @Field(() => [String], { description: "Limits to know, e.g. a top-10 cap." })
  notes!: string[];
}
