import { buildSubgraphSchema, printSubgraphSchema } from "@apollo/subgraph";
import { printSchemaWithDirectives } from "@graphql-tools/utils";
import { parse, type GraphQLSchema } from "graphql";
import { buildSchema, createResolversMap } from "type-graphql";
import type { RequestContext } from "../context";
import { PROVIDER_MODULES } from "../providers/registry";
import "./enums";
import { BudgetResolver } from "./budget.resolver";
import { CollectionResolver } from "./collection.resolver";
import { loadOrganization, OrganizationResolver } from "./organization.resolver";
import { ProviderResolver } from "./provider.resolver";
import { validateArgument } from "./validation";

const FEDERATION_LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])';

export interface SubgraphSchema {
  schema: GraphQLSchema;
  /** The printed subgraph SDL: what `schema/schema.graphql` holds. */
  sdl: string;
}

let built: Promise<SubgraphSchema> | undefined;

/**
 * Builds the federated subgraph schema from the type-graphql classes: type-graphql builds a plain
 * schema, its SDL (with @key) gets the federation @link, and @apollo/subgraph adds `_service`,
 * `_entities` and the reference resolver. Built once per process: the classes never change.
 */
export function buildUsageGraphSchema(): Promise<SubgraphSchema> {
  built ??= build();
  return built;
}

async function build(): Promise<SubgraphSchema> {
  const typeSchema = await buildSchema({
    resolvers: [OrganizationResolver, BudgetResolver, CollectionResolver, ProviderResolver],
    orphanedTypes: PROVIDER_MODULES.flatMap((m) => m.recordTypes) as never,
    validate: true,
    validateFn: validateArgument,
    emitSchemaFile: false,
  });
  const resolvers = createResolversMap(typeSchema) as Record<string, Record<string, unknown>>;
  resolvers.Organization = {
    ...resolvers.Organization,
    // Federation `_entities` goes through the same per-request loader as `organization(id)`.
    __resolveReference: (ref: { id: string }, ctx: RequestContext) => loadOrganization(ctx, ref.id),
  };
  const schema = buildSubgraphSchema({
    typeDefs: parse(`${FEDERATION_LINK}\n\n${printSchemaWithDirectives(typeSchema)}`),
    resolvers: resolvers as never,
  });
  return { schema, sdl: printSubgraphSchema(schema) };
}
