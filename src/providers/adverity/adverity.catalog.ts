import { MetricKind, ProviderId, type ProviderCatalog } from "../provider";

export const ADVERITY_CATALOG: ProviderCatalog = {
  id: ProviderId.ADVERITY,
  key: "adverity",
  name: "Adverity",
  vendor: "Adverity Management API — workspace row usage",
  metrics: [
    {
      key: "adverity.unique_rows",
      name: "Unique rows",
      unit: "rows",
      kind: MetricKind.COUNTER,
      description: "Unique rows processed per workspace, datastream and UTC day.",
      dimensions: ["workspace", "datastream"],
    },
    {
      key: "adverity.total_rows",
      name: "Total rows",
      unit: "rows",
      kind: MetricKind.COUNTER,
      description: "Rows processed per workspace, datastream and UTC day, duplicates included.",
      dimensions: ["workspace", "datastream"],
    },
  ],
  dimensions: [
    { key: "workspace", name: "Workspace", description: "Adverity workspace UUID; the label is the workspace's name." },
    { key: "datastream", name: "Datastream", description: 'Adverity datastream UUID; "(none)" for rows not attributable to a datastream.' },
  ],
  resolution: "DAY",
  timeZone: "UTC",
  retentionDays: null,
  finalizationLagDays: 1,
  rateLimit: { requestsPerSecond: null, maxConcurrent: 1, description: "The vendor asks for one task at a time: one call in flight per key." },
  maxDaysPerCall: null,
  notes: [
    "Monthly data is available: usagegraph asks for it when a MONTH or TOTAL report covers whole calendar months.",
    'Rows with no datastream (datastream_id null) form their own bucket, datastream "(none)"; it cannot be filtered upstream.',
    "The vendor caps date_to to yesterday (UTC): today is never available, and every returned day is final.",
    "The vendor document does not say what a missing item means: a (workspace, datastream) bucket without an item on a day has no point (never a 0), and a day the answer lists no rows for at all is reported missing (source PARTIAL, UPSTREAM_PARTIAL_DATA).",
  ],
};
