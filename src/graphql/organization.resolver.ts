import { Arg, Ctx, FieldResolver, ID, Info, Query, Resolver, Root } from "type-graphql";
import { responsePathAsArray, type GraphQLResolveInfo } from "graphql";
import type { RequestContext } from "../context";
import { Organization } from "./organization.type";
import { UsageRecord } from "./record.union";
import { RecordsInput, UsageInput } from "./usage.input";
import { UsageReport } from "./usage.type";

@Resolver(() => Organization)
export class OrganizationResolver {
  @Query(() => [Organization], { description: "The organizations the caller may see." })
  organizations(@Ctx() ctx: RequestContext): Organization[] {
    return ctx.services.organizations.visibleTo(ctx.principal);
  }

  @Query(() => Organization, { nullable: true })
  organization(@Arg("id", () => ID) id: string, @Ctx() ctx: RequestContext): Promise<Organization | null> {
    return ctx.services.organizations.loader(ctx.principal, ctx.loaders).load(id);
  }

  @FieldResolver(() => UsageReport, { description: "Normalized usage over all providers asked for." })
  usage(@Root() org: Organization, @Arg("input") input: UsageInput, @Ctx() ctx: RequestContext, @Info() info: GraphQLResolveInfo): Promise<UsageReport> {
    const runtime = ctx.services.organizations.runtime(ctx.principal, org.id);
    return ctx.services.usage.report(runtime, input, ctx, responsePathAsArray(info.path));
  }

  @FieldResolver(() => [UsageRecord], { description: "Native rows of each provider, one GraphQL type per source." })
  records(@Root() org: Organization, @Arg("input") input: RecordsInput, @Ctx() ctx: RequestContext, @Info() info: GraphQLResolveInfo): Promise<object[]> {
    const runtime = ctx.services.organizations.runtime(ctx.principal, org.id);
    return ctx.services.usage.records(runtime, input, ctx, responsePathAsArray(info.path));
  }
}
