import { MetricKind, ProviderId, type ProviderCatalog } from "../provider";

export const PIPEFY_CATALOG: ProviderCatalog = {
  id: ProviderId.PIPEFY,
  key: "pipefy",
  name: "Pipefy",
  vendor: "Pipefy GraphQL API — apiUsageStats",
  metrics: [
    {
      key: "pipefy.api_calls",
      name: "API calls",
      unit: "calls",
      kind: MetricKind.COUNTER,
      description: "Calls to Pipefy's GraphQL API by the organization: daily totals, or per operation / token for a whole period.",
      dimensions: ["operation", "token"],
    },
  ],
  dimensions: [
    { key: "operation", name: "Operation", description: 'GraphQL operation name of the calls; "Not specified" for calls without one.' },
    { key: "token", name: "Token", description: "Token that made the calls (user token or service account name)." },
  ],
  resolution: "DAY for totals; CALENDAR_MONTH periods for breakdowns",
  timeZone: "UTC",
  // last_3_months reaches back at most about 92 days before the current month.
  retentionDays: 92,
  finalizationLagDays: 1,
  rateLimit: { requestsPerSecond: null, maxConcurrent: 2, description: "Not documented; usagegraph keeps at most 2 calls in flight." },
  maxDaysPerCall: null,
  notes: [
    "Pipefy answers for fixed periods only: current_month, last_month and last_3_months (calendar months in UTC); the window a period covers is the one Pipefy reports (filterDate), or the period's calendar window when it reports none.",
    "Daily totals are checked against Pipefy's total for the same period (asked in the same call): when they do not add up, the source is PARTIAL.",
    "Daily totals come per day. Breakdowns by operation or token come per period only: each value covers its whole period (its true start and end), never cut to the requested range and never prorated.",
    'Pipefy lists only the top 10 entries per dimension. Calls outside the top 10 are reported as one "(other)" entry, the period total minus the listed entries, and the source is PARTIAL.',
    "Asking for both operation and token returns two separate breakdowns of the same calls: each entry carries one dimension only.",
  ],
};
