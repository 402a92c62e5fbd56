import { Arg, Ctx, FieldResolver, ID, Info, Query, Resolver, Root } from "type-graphql";
import type { GraphQLResolveInfo } from "graphql";
import type { RequestContext } from "../context";
import { Organization } from "./organization.type";
import { UsageRecord } from "./record.union";
import { RecordsInput, UsageInput } from "./usage.input";
import { reportIssues, toRecordsQuery } from "./usage.mapping";
import { parseUsageInput } from "./usage.parse";
import { UsageReport } from "./usage.type";

/**
 * `UsageInput` is checked by parseUsageInput in the resolver, the parser GET /export/usage.csv
 * uses too, rather than by the schema-wide validateFn: one parser, one set of messages.
 */
const PARSED_BY_RESOLVER = { validateFn: () => undefined };

/** `organization(id)` and federation `_entities` alike: through the request's organization loader. */
export async function loadOrganization(ctx: RequestContext, id: string): Promise<Organization | null> {
  const org = await ctx.services.organizations.loader(ctx.principal, ctx.loaders).load(id);
  return org && Organization.of(org);
}

@Resolver(() => Organization)
export class OrganizationResolver {
  @Query(() => [Organization], { description: "The organizations the caller may see." })
  organizations(@Ctx() ctx: RequestContext): Organization[] {
    return ctx.services.organizations.visibleTo(ctx.principal).map((o) => Organization.of(o));
  }

  @Query(() => Organization, { nullable: true })
  async organization(@Arg("id", () => ID) id: string, @Ctx() ctx: RequestContext): Promise<Organization | null> {
    const org = await loadOrganization(ctx, id);
    if (!org) throw ctx.services.organizations.unknown(ctx.principal, id);
    return org;
  }

  @FieldResolver(() => UsageReport, { description: "Normalized usage over all providers asked for." })
  async usage(
    @Root() org: Organization,
    @Arg("input", PARSED_BY_RESOLVER) input: UsageInput,
    @Ctx() ctx: RequestContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<UsageReport> {
    const runtime = ctx.services.organizations.runtime(ctx.principal, org.id);
    const query = await parseUsageInput(input);
    const { issues, ...report } = await ctx.services.usage.report(runtime, query, ctx);
    reportIssues(ctx, issues, info);
    return report;
  }

  @FieldResolver(() => [UsageRecord], { description: "Native rows of each provider, one GraphQL type per source." })
  async records(@Root() org: Organization, @Arg("input") input: RecordsInput, @Ctx() ctx: RequestContext, @Info() info: GraphQLResolveInfo): Promise<object[]> {
    const runtime = ctx.services.organizations.runtime(ctx.principal, org.id);
    const { records, issues } = await ctx.services.usage.records(runtime, toRecordsQuery(input), ctx);
    reportIssues(ctx, issues, info);
    return records;
  }
}
