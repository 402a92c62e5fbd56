import type { ApolloServerPlugin } from "@apollo/server";
import { renderGraphiQL } from "@graphql-yoga/render-graphiql";

/**
 * A browser opening /graphql gets GraphiQL from one self-contained page (no CDN scripts), so the IDE
 * works with no internet access, unlike Apollo's default landing pages.
 */
export function graphiqlLandingPage(defaultQuery: string): ApolloServerPlugin {
  const html = renderGraphiQL({ title: "usagegraph", endpoint: "/graphql", defaultQuery, isHeadersEditorEnabled: true });
  return {
    async serverWillStart() {
      return {
        async renderLandingPage() {
          return { html };
        },
      };
    },
  };
}
