import { ApolloServer, type ApolloServerPlugin } from "@apollo/server";
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginInlineTraceDisabled } from "@apollo/server/plugin/disabled";
import { ApolloArmor } from "@escape.tech/graphql-armor";
import type { Logger } from "../common/logger";
import type { Config } from "../config/config";
import type { RequestContext } from "../context";
import { buildUsageGraphSchema } from "../graphql/schema";
import { maskErrors } from "./error-masking";
import { exampleQuery } from "./example-query";
import { fanOutLimit } from "./plugins/fan-out";
import { graphiqlLandingPage } from "./plugins/landing-page";
import { providerErrorsPlugin } from "./plugins/provider-errors";
import { responseLifetimePlugin } from "./plugins/response-lifetime";

export interface ApolloOptions {
  log: Logger;
  now: () => number;
  /** Stops the HTTP server in front of Apollo when Apollo stops, after its in-flight requests. */
  drain: ApolloServerPlugin<RequestContext>;
}

/** The started Apollo Server of the subgraph: schema, operation limits, error masking, plugins. */
export async function createApollo(config: Config, { log, now, drain }: ApolloOptions): Promise<ApolloServer<RequestContext>> {
  const { schema } = await buildUsageGraphSchema();
  const limits = config.graphql;
  // Depth, aliases, tokens, directives and per-field cost: refused (HTTP 400) before execution.
  const armor = new ApolloArmor({
    maxDepth: { n: limits.maxDepth, ignoreIntrospection: true, flattenFragments: true },
    maxAliases: { n: limits.maxAliases },
    maxTokens: { n: limits.maxTokens },
    maxDirectives: { n: limits.maxDirectives },
    costLimit: { maxCost: limits.maxCost, ignoreIntrospection: true },
    // Field suggestions ("did you mean") would reveal the schema when introspection is off.
    blockFieldSuggestion: { enabled: !limits.introspection },
  }).protect();
  const apollo = new ApolloServer<RequestContext>({
    schema,
    logger: log,
    formatError: maskErrors(log),
    includeStacktraceInErrorResponses: limits.debug,
    allowBatchedHttpRequests: false,
    introspection: limits.introspection,
    csrfPrevention: true,
    // src/index.ts owns SIGTERM/SIGINT: drain, stop the emulators (demo), exit 0.
    stopOnTerminationSignals: false,
    validationRules: armor.validationRules,
    plugins: [
      ...armor.plugins,
      fanOutLimit(limits.maxFanOut),
      drain,
      ApolloServerPluginInlineTraceDisabled(),
      // No HTTP cache hints are set anywhere; without this plugin Apollo hooks every field resolution.
      ApolloServerPluginCacheControlDisabled(),
      graphiqlLandingPage(exampleQuery(config.organizations[0]!.id, now())),
      providerErrorsPlugin(),
      responseLifetimePlugin(),
    ],
  });
  await apollo.start();
  return apollo;
}
