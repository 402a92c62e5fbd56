import DataLoader from "dataloader";
import { canSee, type Principal } from "../auth/api-keys";
import { ForbiddenError, UnknownOrganizationError, type UsageGraphError } from "../common/errors";
import type { LoaderRegistry } from "../common/loaders";
import type { OrganizationRegistry, OrganizationRuntime } from "./organization.registry";

/** What a caller may read of an organization itself. */
export interface OrganizationData {
  readonly id: string;
  readonly name: string;
}

/** Organizations as a caller may see them: tenancy is decided here and nowhere else. */
export class OrganizationService {
  constructor(private readonly registry: OrganizationRegistry) {}

  visibleTo(principal: Principal): OrganizationData[] {
    return this.registry
      .all()
      .filter((o) => canSee(principal, o.id))
      .map(toData);
  }

  /**
   * Loads organizations by id for one request (`organization(id)`, aliases and `_entities` alike).
   * An id the caller may not see is FORBIDDEN whether or not it exists, so ids cannot be probed.
   */
  loader(principal: Principal, loaders: LoaderRegistry): DataLoader<string, OrganizationData | null> {
    return loaders.get(
      "organization",
      () =>
        new DataLoader<string, OrganizationData | null>(async (ids) =>
          ids.map((id) => {
            if (!canSee(principal, id)) return new ForbiddenError(`You may not read organization "${id}".`);
            const org = this.registry.get(id);
            return org ? toData(org) : null;
          }),
        ),
    );
  }

  /**
   * Why `id` could not be loaded when the loader found nothing. A caller who may read everything
   * (no auth: demo mode or a loopback server) is told the ids that exist; a key is told FORBIDDEN,
   * as for an organization it may not read, so that unknown and forbidden stay indistinguishable.
   */
  unknown(principal: Principal, id: string): UsageGraphError {
    if (principal.organizations !== "all") return new ForbiddenError(`You may not read organization "${id}".`);
    return new UnknownOrganizationError(
      id,
      this.registry.all().map((o) => o.id),
    );
  }

  /** The runtime (providers) of an organization the caller was already allowed to load. */
  runtime(principal: Principal, id: string): OrganizationRuntime {
    const org = this.registry.get(id);
    if (!org || !canSee(principal, id)) throw new ForbiddenError(`You may not read organization "${id}".`);
    return org;
  }
}

function toData(org: OrganizationRuntime): OrganizationData {
  return { id: org.id, name: org.name };
}
