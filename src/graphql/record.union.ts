import { createUnionType } from "type-graphql";
import { PROVIDER_MODULES } from "../providers/registry";

/** Native rows, one GraphQL type per source. */
export const UsageRecord = createUnionType({
  name: "UsageRecord",
  description: "A provider's own row, as the vendor reports it (one type per source).",
  types: () => PROVIDER_MODULES.flatMap((m) => m.recordTypes) as never,
});
