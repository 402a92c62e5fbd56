import { Ctx, FieldResolver, Resolver, Root } from "type-graphql";
import type { RequestContext } from "../context";
import { CollectionStatus } from "./collection.type";
import { Organization } from "./organization.type";

/** `Organization.collection` (DESIGN §6). */
@Resolver(() => Organization)
export class CollectionResolver {
  @FieldResolver(() => [CollectionStatus], { description: "One per configured provider: what the usage store holds and how collection goes." })
  async collection(@Root() org: Organization, @Ctx() ctx: RequestContext): Promise<CollectionStatus[]> {
    const runtime = ctx.services.organizations.runtime(ctx.principal, org.id);
    return ctx.services.collection.status(runtime);
  }
}
