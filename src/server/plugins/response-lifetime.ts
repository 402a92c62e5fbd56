import type { ApolloServerPlugin } from "@apollo/server";
import type { RequestContext } from "../../context";

/**
 * An answer with an error of its own (a refused input, a forbidden organization, a failed field)
 * is never replayed by the response cache: only the providers' issues, which are part of a report
 * and reported beside it (providerErrorsPlugin), may be in a replayed answer.
 */
export function responseLifetimePlugin(): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ contextValue }) {
          contextValue.lifetime?.refuse();
        },
      };
    },
  };
}
