import { Field, Float, ID, ObjectType } from "type-graphql";
import { DateScalar } from "../common/scalars";
import { BudgetState, Granularity } from "./enums";
import { Metric, SourceStatus } from "./usage.type";

@ObjectType({ description: "A budget's use through a day: configured per organization, or a vendor's quota (id `pipefy.quota`)." })
export class BudgetStatus {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field(() => Metric)
  metric!: Metric;

  @Field(() => Granularity, { description: "DAY, WEEK (ISO, Monday first) or MONTH, in the budget's time zone." })
  period!: Granularity;

  @Field(() => Float)
  amount!: number;

  @Field(() => DateScalar)
  periodStart!: string;

  @Field(() => DateScalar, { description: "Inclusive." })
  periodEnd!: string;

  @Field(() => Float, { description: "Used from periodStart through the day asked for." })
  used!: number;

  @Field(() => Float, { description: "amount − used; 0 once exceeded." })
  remaining!: number;

  @Field(() => Float, { description: "used / amount." })
  usedRatio!: number;

  @Field(() => Float, { nullable: true, description: "used + the mean daily use of the period's days so far × the days left; null before any day has data." })
  forecast!: number | null;

  @Field(() => BudgetState)
  state!: BudgetState;

  @Field(() => SourceStatus, { description: "How the budget's provider answered the period." })
  source!: SourceStatus;
}
