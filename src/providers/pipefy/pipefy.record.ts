import { Field, Float, ObjectType } from "type-graphql";
import { DateScalar } from "../../common/scalars";

@ObjectType({
  description:
    'One Pipefy apiUsageStats row: the API calls of one day (dimension "day"), of one operation or token over a period ' +
    '("operation", "token": top 10 only), or of a whole period ("total").',
})
export class PipefyApiUsage {
  @Field(() => DateScalar, { description: "First day the row covers (UTC)." })
  start!: string;

  @Field(() => DateScalar, { description: "Last day the row covers (UTC); the same as start for a day." })
  end!: string;

  @Field(() => String, { description: '"day", "operation", "token" or "total".' })
  dimension!: "day" | "operation" | "token" | "total";

  @Field(() => String, { description: 'The date for a day, the operation or token name, or "Counter" for a total.' })
  key!: string;

  @Field(() => Float, { description: "API calls." })
  calls!: number;

  static of(values: PipefyApiUsage): PipefyApiUsage {
    return Object.assign(new PipefyApiUsage(), values);
  }
}
