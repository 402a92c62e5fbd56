import type { ApolloServerPlugin } from "@apollo/server";
import type { RequestContext } from "../../context";

/** Appends the provider failures of a report to `errors`, beside the partial data. */
export function providerErrorsPlugin(): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response, contextValue }) {
          if (response.body.kind !== "single" || contextValue.providerErrors.length === 0) return;
          const result = response.body.singleResult;
          result.errors = [...(result.errors ?? []), ...contextValue.providerErrors.map((e) => e.toJSON())];
        },
      };
    },
  };
}
