import { Field, Float, ObjectType } from "type-graphql";
import { DateScalar } from "../../common/scalars";

@ObjectType({ description: "One Adverity usage item: rows processed by one workspace and datastream in one day or month (UTC)." })
export class AdverityRowUsage {
  @Field(() => DateScalar, { description: "Start of the period: the day, or the first day of the month for monthly items." })
  date!: string;

  @Field({ description: "The vendor's granularity of the item: daily or monthly." })
  granularity!: string;

  @Field({ description: "Adverity workspace UUID." })
  workspaceId!: string;

  @Field()
  workspaceName!: string;

  @Field(() => String, { nullable: true, description: "Adverity datastream UUID; null when the rows are not attributable to a datastream." })
  datastreamId!: string | null;

  @Field(() => Float, { description: "Unique rows processed." })
  uniqueRows!: number;

  @Field(() => Float, { description: "Rows processed, duplicates included." })
  totalRows!: number;

  static of(values: AdverityRowUsage): AdverityRowUsage {
    return Object.assign(new AdverityRowUsage(), values);
  }
}
