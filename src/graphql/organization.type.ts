import { Directive, Field, ID, ObjectType } from "type-graphql";

@Directive('@key(fields: "id")')
@ObjectType({ description: "An organization whose SaaS usage usagegraph reports." })
export class Organization {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;
}
