import { Field, Int, ObjectType } from "type-graphql";
import { DateScalar, DateTimeScalar } from "../common/scalars";
import { ProviderId, SourceState } from "./enums";
import { SourceError } from "./usage.type";

@ObjectType({ description: "What the usage store holds of one configured provider, and how its scheduled collection goes." })
export class CollectionStatus {
  @Field(() => ProviderId)
  provider!: ProviderId;

  @Field(() => DateScalar, { nullable: true, description: "First day the store holds as final; null when it holds none." })
  storedFrom!: string | null;

  @Field(() => DateScalar, { nullable: true, description: "Last day the store holds as final; null when it holds none." })
  storedThrough!: string | null;

  @Field(() => Int, { description: "Days the store holds as final (any report shape)." })
  storedDays!: number;

  @Field(() => Int, {
    description: "Days of the last `collect.backfillDays` (within the provider's retention, final by now) not stored yet for the default report shape.",
  })
  missingDays!: number;

  @Field(() => DateTimeScalar, { nullable: true, description: "When the latest collection run started; null before the first." })
  lastRunAt!: Date | null;

  @Field(() => SourceState, { nullable: true, description: "How the latest run ended; null while it runs, or before the first." })
  lastRunState!: SourceState | null;

  @Field(() => SourceError, { nullable: true, description: "Why the latest run was PARTIAL or FAILED." })
  lastError!: SourceError | null;

  @Field(() => DateTimeScalar, { nullable: true, description: "When the schedule runs next; null when collection is off." })
  nextRunAt!: Date | null;
}
