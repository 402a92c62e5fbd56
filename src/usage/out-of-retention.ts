import type { DateRange } from "../common/dates";
import { ErrorCode } from "../common/errors";
import type { ProviderCatalog, ProviderResult } from "../providers/provider";

/**
 * A provider that returned nothing at all because no day of the range is one it serves (older than
 * its retention, or not published yet): not a PARTIAL answer with an empty chart, but a FAILED source
 * whose message says so. Undefined when the provider returned something, or failed for another reason
 * too (that reason is its state's own story).
 */
export function wholeRangeOutOfRetention(
  catalog: ProviderCatalog,
  range: DateRange,
  result: Pick<ProviderResult, "observations" | "records" | "issues">,
): string | undefined {
  if (result.observations.length > 0 || result.records.length > 0) return undefined;
  if (result.issues.length === 0 || result.issues.some((i) => i.code !== ErrorCode.OUT_OF_RETENTION)) return undefined;
  return `${catalog.name} returned nothing: the whole range ${range.from}..${range.to} is out of retention (${result.issues.map((i) => i.message).join("; ")})`;
}
