import { Field, Float, ObjectType } from "type-graphql";
import { DateScalar } from "../../common/scalars";

@ObjectType({ description: "One Ace Data Cloud aggregate row: spend of one API on one UTC day." })
export class AceDataApiUsage {
  @Field(() => DateScalar)
  date!: string;

  @Field({ description: "Ace Data API id (api_id)." })
  apiId!: string;

  @Field({ description: "API name from the response's API map; the id when the map has none." })
  apiName!: string;

  @Field(() => String, { nullable: true, description: "API path, when the vendor gives it." })
  apiPath!: string | null;

  @Field(() => Float, { description: "Spend in credits (the vendor's amount), not a call count." })
  amount!: number;

  static of(values: AceDataApiUsage): AceDataApiUsage {
    return Object.assign(new AceDataApiUsage(), values);
  }
}
