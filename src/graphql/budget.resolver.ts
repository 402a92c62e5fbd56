import type { GraphQLResolveInfo } from "graphql";
import { Arg, Args, ArgsType, Ctx, Field, FieldResolver, Info, Resolver, Root } from "type-graphql";
import { BadUserInputError } from "../common/errors";
import { DateScalar } from "../common/scalars";
import type { RequestContext } from "../context";
import { Alert } from "./alert.type";
import { BudgetStatus } from "./budget.type";
import { Organization } from "./organization.type";
import { MAX_RANGE_DAYS, rangeProblem } from "./usage.input";
import { reportIssues } from "./usage.mapping";

/** `alerts(from, to)`: a class, so that the arguments keep their order in the schema. */
@ArgsType()
class AlertsArgs {
  @Field(() => DateScalar)
  from!: string;

  @Field(() => DateScalar)
  to!: string;
}

/** `Organization.budgets` and `Organization.alerts` (DESIGN §7). */
@Resolver(() => Organization)
export class BudgetResolver {
  @FieldResolver(() => [BudgetStatus], { description: "Each budget through `at` (default: today in the budget's time zone)." })
  async budgets(
    @Root() org: Organization,
    @Arg("at", () => DateScalar, { nullable: true }) at: string | null | undefined,
    @Ctx() ctx: RequestContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<BudgetStatus[]> {
    const runtime = ctx.services.organizations.runtime(ctx.principal, org.id);
    const { budgets, issues } = await ctx.services.budgets.statuses(runtime, at ?? undefined, ctx);
    reportIssues(ctx, issues, info);
    return budgets as BudgetStatus[];
  }

  @FieldResolver(() => [Alert], { description: `Alerts of the days from..to, inclusive (at most ${MAX_RANGE_DAYS} days), newest first.` })
  async alerts(@Root() org: Organization, @Args() { from, to }: AlertsArgs, @Ctx() ctx: RequestContext, @Info() info: GraphQLResolveInfo): Promise<Alert[]> {
    const problem = rangeProblem(from, to);
    if (problem) throw new BadUserInputError(problem);
    const runtime = ctx.services.organizations.runtime(ctx.principal, org.id);
    const { alerts, issues } = await ctx.services.alerts.alerts(runtime, { from, to }, ctx);
    reportIssues(ctx, issues, info);
    return alerts;
  }
}
