import { MetricKind, ProviderId, type ProviderCatalog } from "../provider";

export const ACEDATA_CATALOG: ProviderCatalog = {
  id: ProviderId.ACEDATA,
  key: "acedata",
  name: "Ace Data Cloud",
  vendor: "Ace Data Cloud platform API — API call volume aggregate",
  metrics: [
    {
      key: "acedata.credits",
      name: "Credits spent",
      unit: "credits",
      kind: MetricKind.COUNTER,
      description: "Spend per API and UTC day (the vendor's amount): credits, not a call count.",
      dimensions: ["api"],
    },
  ],
  dimensions: [{ key: "api", name: "API", description: "Ace Data API id; the label is the API's name." }],
  resolution: "DAY",
  timeZone: "UTC",
  retentionDays: null,
  finalizationLagDays: 1,
  rateLimit: { requestsPerSecond: null, maxConcurrent: 4, description: "Not documented; usagegraph keeps at most 4 calls in flight." },
  maxDaysPerCall: null,
  notes: [
    "The vendor does not document when a day is closed: a UTC day counts as final once it has ended.",
    "Days with no spend for an API have no row upstream; they are reported as 0 for APIs the answer names (in a row or its API map).",
    "An API asked for in where that the answer does not name (no spend in the range, or no such API id) has no series and makes the source PARTIAL (UPSTREAM_PARTIAL_DATA).",
  ],
};
