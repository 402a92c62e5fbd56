import { Directive, Field, ID, ObjectType } from "type-graphql";

@Directive('@key(fields: "id")')
@ObjectType({ description: "An organization whose SaaS usage usagegraph reports." })
export class Organization {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  /** Only the fields of the type: whatever else the source object holds stays behind. */
  static of(values: Organization): Organization {
    return Object.assign(new Organization(), { id: values.id, name: values.name });
  }
}
