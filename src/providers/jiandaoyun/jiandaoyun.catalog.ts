import { MetricKind, ProviderId, type MetricDefinition, type ProviderCatalog } from "../provider";
import type { MetricField } from "./jiandaoyun.wire";

/** Days Jiandaoyun answers for, counted back from today (UTC+8). */
export const RETENTION_DAYS = 180;

const metric = (field: MetricField, name: string, unit: string, description: string): MetricDefinition => ({
  key: `jiandaoyun.${field}`,
  name,
  unit,
  kind: MetricKind.GAUGE,
  description,
  dimensions: [],
});

export const JIANDAOYUN_CATALOG: ProviderCatalog = {
  id: ProviderId.JIANDAOYUN,
  key: "jiandaoyun",
  name: "Jiandaoyun",
  vendor: "Jiandaoyun / Jodoo open API — platform resource usage statistics",
  metrics: [
    metric("app", "Apps", "apps", "The number of apps."),
    metric("form_coop", "Standard forms", "forms", "The number of standard forms."),
    metric("form_workflow", "Workflow forms", "forms", "The number of workflow forms."),
    metric("dash", "Dashboards", "dashboards", "The number of dashboards."),
    metric("etl", "Data Factories", "data factories", "The number of Data Factories."),
    metric("aggregate", "Aggregate tables", "aggregate tables", "The number of aggregate tables."),
    metric("public_link", "Public links", "public links", "The number of enabled public links."),
    metric("data_trigger", "Smart Assistants", "smart assistants", "The number of Smart Assistants."),
    metric("automation", "Smart Assistant Pro automations", "automations", "The number of Smart Assistant Pro automations."),
    metric("bpa", "Process Analyses", "process analyses", "The number of Process Analyses."),
    metric("data", "Data volume", "records", "The total data volume of the organization."),
  ],
  dimensions: [],
  resolution: "DAY",
  timeZone: "UTC+8",
  retentionDays: RETENTION_DAYS,
  finalizationLagDays: 2,
  rateLimit: {
    requestsPerSecond: 1,
    maxConcurrent: 1,
    description:
      "1 request/second for this API (50/s per company overall). usagegraph makes one call at a time and starts the next 1 s after the previous one completed (so arrivals are always more than 1 s apart), and pauses on 8303/8304/429.",
  },
  maxDaysPerCall: 1,
  notes: [
    "All metrics are 0 if the customer never enabled usage statistics (Admin Console > Management Tools > Usage Statistics); such days are reported as 0 and flagged (source PARTIAL, UPSTREAM_PARTIAL_DATA).",
    "Days are UTC+8 calendar days (Asia/Shanghai). A day is published at T-1 and counted as final from T-2.",
    "Only the last 180 days (UTC+8) can be read, one upstream call per day.",
    "Organization-level totals only: no app- or member-level breakdown.",
  ],
};
