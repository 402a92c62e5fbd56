import { createHash, timingSafeEqual } from "node:crypto";
import type { ApiKeyConfig } from "../config/config";
import { UnauthenticatedError } from "../common/errors";

/** Who is asking: a named API key scoped to organizations, or anyone (no auth, loopback only). */
export interface Principal {
  readonly name: string;
  /** "all" when the server runs without auth. */
  readonly organizations: ReadonlySet<string> | "all";
}

export const ANONYMOUS: Principal = Object.freeze({ name: "anonymous", organizations: "all" as const });

/**
 * API keys are kept only as SHA-256 digests, and a presented key is compared with every digest in
 * constant time, so neither a memory dump nor response timing tells a key.
 */
export class ApiKeyAuthenticator {
  private readonly keys: ReadonlyArray<{ digest: Buffer; principal: Principal }>;

  constructor(keys: readonly ApiKeyConfig[]) {
    this.keys = keys.map((k) => ({ digest: digest(k.key), principal: { name: k.name, organizations: new Set(k.organizations) } }));
  }

  /** The principal of an `Authorization: Bearer <key>` header; throws UNAUTHENTICATED otherwise. */
  authenticate(header: string | undefined): Principal {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
    if (!match) throw new UnauthenticatedError();
    const presented = digest(match[1]!);
    let found: Principal | undefined;
    for (const key of this.keys) {
      // No early exit: every key is compared, whichever matches.
      if (timingSafeEqual(presented, key.digest)) found = key.principal;
    }
    if (!found) throw new UnauthenticatedError("The API key is not valid.");
    return found;
  }
}

export function canSee(principal: Principal, organizationId: string): boolean {
  return principal.organizations === "all" || principal.organizations.has(organizationId);
}

function digest(key: string): Buffer {
  return createHash("sha256").update(key, "utf8").digest();
}
