import { Field, Float, ID, ObjectType } from "type-graphql";
import { DateScalar } from "../common/scalars";
import { AlertKind, ProviderId } from "./enums";
import { DimensionValue, Metric } from "./usage.type";

@ObjectType({ description: "Something about an organization's usage a person should know: a budget threshold crossed, an anomaly, a failing source." })
export class Alert {
  @Field(() => ID, { description: "Stable: the same alert has the same id whoever computes it, whenever." })
  id!: string;

  @Field(() => AlertKind)
  kind!: AlertKind;

  @Field(() => DateScalar)
  day!: string;

  @Field(() => ProviderId)
  provider!: ProviderId;

  @Field(() => Metric, { nullable: true })
  metric!: Metric | null;

  @Field(() => [DimensionValue])
  dimensions!: DimensionValue[];

  @Field(() => Float, { nullable: true, description: "The use on that day (BUDGET_THRESHOLD: since the period's start)." })
  value!: number | null;

  @Field(() => Float, { nullable: true, description: "The threshold amount, or the expected value (the median of the 14 days before)." })
  reference!: number | null;

  @Field({ description: "One sentence for a person." })
  message!: string;
}
