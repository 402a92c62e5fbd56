import type { GraphQLError } from "graphql";
import type { AlertService } from "./alerts/alert.service";
import type { BudgetService } from "./alerts/budget.service";
import type { Principal } from "./auth/api-keys";
import type { CollectionService } from "./collect/collection.service";
import type { ProviderFailureError } from "./common/errors";
import type { OrganizationService } from "./organizations/organization.service";
import type { UsageService, ServiceScope } from "./usage/usage.service";

/** Process-wide services the resolvers reach through the context. */
export interface AppServices {
  readonly organizations: OrganizationService;
  readonly usage: UsageService;
  readonly budgets: BudgetService;
  readonly alerts: AlertService;
  readonly collection: CollectionService;
}

/** The per-request GraphQL context. Loaders live here, one set per request. */
export interface RequestContext extends ServiceScope {
  readonly requestId: string;
  readonly principal: Principal;
  readonly services: AppServices;
  /** Provider failures reported beside partial data; appended to `errors` before sending. */
  readonly providerErrors: GraphQLError[];
  /** Adds a provider failure to the response's `errors` without failing the field. */
  reportError(error: ProviderFailureError): void;
}
