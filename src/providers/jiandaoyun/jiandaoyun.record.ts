import { Field, Float, ObjectType } from "type-graphql";
import { DateScalar } from "../../common/scalars";

@ObjectType({ description: "One Jiandaoyun platform usage overview: the organization's resource levels on one UTC+8 day." })
export class JiandaoyunResourceUsage {
  @Field(() => DateScalar, { description: "The statistics day (UTC+8)." })
  date!: string;

  @Field(() => Float, { description: "Number of apps." })
  app!: number;

  @Field(() => Float, { description: "Number of standard forms." })
  formCoop!: number;

  @Field(() => Float, { description: "Number of workflow forms." })
  formWorkflow!: number;

  @Field(() => Float, { description: "Number of dashboards." })
  dash!: number;

  @Field(() => Float, { description: "Number of Data Factories." })
  etl!: number;

  @Field(() => Float, { description: "Number of aggregate tables." })
  aggregate!: number;

  @Field(() => Float, { description: "Number of enabled public links." })
  publicLink!: number;

  @Field(() => Float, { description: "Number of Smart Assistants." })
  dataTrigger!: number;

  @Field(() => Float, { description: "Number of Smart Assistant Pro automations." })
  automation!: number;

  @Field(() => Float, { description: "Number of Process Analyses." })
  bpa!: number;

  @Field(() => Float, { description: "Total data volume." })
  data!: number;

  static of(values: JiandaoyunResourceUsage): JiandaoyunResourceUsage {
    return Object.assign(new JiandaoyunResourceUsage(), values);
  }
}
