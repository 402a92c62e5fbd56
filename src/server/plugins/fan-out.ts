import type { ApolloServerPlugin } from "@apollo/server";
import { Kind, valueFromASTUntyped, type DocumentNode, type FragmentDefinitionNode, type OperationDefinitionNode, type SelectionSetNode } from "graphql";
import { daysInRange, isCalendarDate } from "../../common/dates";
import { BadUserInputError } from "../../common/errors";
import { PROVIDER_MODULES } from "../../providers/registry";

/** Fields whose cost is upstream work: providers × days each. */
const REPORT_FIELDS = new Set(["usage", "records"]);

/**
 * The upstream fan-out of an operation: for every `usage` and `records` field (aliases and
 * fragments included), the providers it may ask (all when unspecified) times its days. Computed
 * from the document and variables alone, before any resolver runs.
 */
export function upstreamFanOut(document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown> = {}): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  const seen = new Set<string>();
  const walk = (set: SelectionSetNode | undefined): number => {
    let cost = 0;
    for (const sel of set?.selections ?? []) {
      if (sel.kind === Kind.FIELD) {
        if (REPORT_FIELDS.has(sel.name.value)) {
          const arg = sel.arguments?.find((a) => a.name.value === "input");
          const input = arg ? (valueFromASTUntyped(arg.value, variables) as { from?: unknown; to?: unknown; providers?: unknown[] } | null) : null;
          // Invalid dates are refused by validation with a clearer message; they cost nothing here.
          if (input && isCalendarDate(input.from) && isCalendarDate(input.to)) {
            const providers = Array.isArray(input.providers) && input.providers.length > 0 ? new Set(input.providers).size : PROVIDER_MODULES.length;
            cost += providers * daysInRange(input.from, input.to);
          }
        }
        cost += walk(sel.selectionSet);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        cost += walk(sel.selectionSet);
      } else {
        const fragment = fragments.get(sel.name.value);
        // A fragment spread twice is counted twice (it runs twice); a cycle is a validation error.
        if (fragment && !seen.has(sel.name.value)) {
          seen.add(sel.name.value);
          cost += walk(fragment.selectionSet);
          seen.delete(sel.name.value);
        }
      }
    }
    return cost;
  };
  return walk(operation.selectionSet);
}

/** Refuses, with HTTP 400 before execution, an operation whose upstream fan-out is over `max`. */
export function fanOutLimit(max: number): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operation, request }) {
          if (!operation) return;
          const cost = upstreamFanOut(document, operation, request.variables ?? {});
          if (cost > max) {
            throw new BadUserInputError(
              `This operation would read ${cost} provider-days upstream (providers × days over its usage and records fields); at most ${max} are allowed per request. Ask for fewer days, fewer providers or fewer reports at once.`,
            );
          }
        },
      };
    },
  };
}
