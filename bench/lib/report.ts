import type { Day } from "./days";

export type ProviderName = "JIANDAOYUN" | "ACEDATA" | "AI_STUDIO" | "PIPEFY" | "ADVERITY";
export const ALL_PROVIDERS: readonly ProviderName[] = ["JIANDAOYUN", "ACEDATA", "AI_STUDIO", "PIPEFY", "ADVERITY"];
export type GranularityName = "DAY" | "WEEK" | "MONTH" | "TOTAL";

/** One `usage` field of a request: exactly the UsageInput it sends. */
export interface Panel {
  alias: string;
  from: Day;
  to: Day;
  granularity: GranularityName;
  /** Omitted: every configured provider. */
  providers?: readonly ProviderName[];
  groupBy?: readonly string[];
  where?: ReadonlyArray<{ key: string; in: readonly string[] }>;
}

/** One HTTP request: one GraphQL operation holding one or more panels (aliases). */
export interface BenchRequest {
  name: string;
  description: string;
  panels: readonly Panel[];
}

const REPORT_SELECTION = `
  series { provider metric { key } dimensions { key value } points { start end value final } total }
  sources { provider state upstreamRequests cachedResponses storedDays error { code } }`;

/** The operation and variables of a request: `usage(input: $<alias>)` per panel. */
export function operationOf(request: BenchRequest, organization: string): { query: string; variables: Record<string, unknown> } {
  const vars = request.panels.map((p) => `$${p.alias}: UsageInput!`).join(", ");
  const fields = request.panels.map((p) => `${p.alias}: usage(input: $${p.alias}) { ...Report }`).join("\n    ");
  const query = `query Bench(${vars}) {\n  organization(id: "${organization}") {\n    ${fields}\n  }\n}\nfragment Report on UsageReport {${REPORT_SELECTION}\n}`;
  const variables = Object.fromEntries(request.panels.map((p) => [p.alias, inputOf(p)]));
  return { query, variables };
}

export function inputOf(p: Panel): Record<string, unknown> {
  return {
    from: p.from,
    to: p.to,
    granularity: p.granularity,
    ...(p.providers ? { providers: p.providers } : {}),
    ...(p.groupBy ? { groupBy: p.groupBy } : {}),
    ...(p.where ? { where: p.where } : {}),
  };
}

export interface SourceStatusBody {
  provider: ProviderName;
  state: "OK" | "PARTIAL" | "FAILED" | "NOT_CONFIGURED";
  upstreamRequests: number;
  cachedResponses: number;
  /** Days of the report read from the usage store. */
  storedDays: number;
  error: { code: string } | null;
}

export interface GraphQLBody {
  data?: { organization: Record<string, { series: unknown[]; sources: SourceStatusBody[] }> | null } | null;
  errors?: Array<{ message: string; extensions?: { code?: string; provider?: string } }>;
}

/**
 * Problems in an answer, empty when it is a full answer. UPSTREAM_PARTIAL_DATA is not a problem:
 * Pipefy breakdowns are per period and top-10 by nature, and the server says so, as it must.
 */
export function problemsOf(status: number, body: GraphQLBody, request: BenchRequest): string[] {
  const problems: string[] = [];
  if (status !== 200) problems.push(`HTTP ${status}`);
  for (const e of body.errors ?? []) {
    if (e.extensions?.code !== "UPSTREAM_PARTIAL_DATA") problems.push(`${e.extensions?.code ?? "error"}: ${e.message}`);
  }
  const org = body.data?.organization;
  if (!org) return [...problems, "no data"];
  for (const p of request.panels) {
    const report = org[p.alias];
    if (!report) {
      problems.push(`${p.alias}: no report`);
      continue;
    }
    for (const s of report.sources) {
      if (s.state !== "OK" && !(s.state === "PARTIAL" && s.error?.code === "UPSTREAM_PARTIAL_DATA")) {
        problems.push(`${p.alias}/${s.provider}: ${s.state}${s.error ? ` ${s.error.code}` : ""}`);
      }
    }
  }
  return problems;
}

/** Sum of `sources.upstreamRequests` over every panel of an answer, per provider. */
export function reportedUpstream(body: GraphQLBody): Record<string, number> {
  const out: Record<string, number> = {};
  for (const report of Object.values(body.data?.organization ?? {})) {
    for (const s of report.sources) out[s.provider] = (out[s.provider] ?? 0) + s.upstreamRequests;
  }
  return out;
}

/** `sources.storedDays` of every panel of an answer, "alias/PROVIDER" → days. */
export function storedDaysOf(body: GraphQLBody): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [alias, report] of Object.entries(body.data?.organization ?? {})) {
    for (const s of report.sources) out[`${alias}/${s.provider}`] = s.storedDays;
  }
  return out;
}

/** The series of every panel of an answer, by alias (for comparing two answers but their sources). */
export function seriesOf(body: GraphQLBody): Record<string, unknown[]> {
  return Object.fromEntries(Object.entries(body.data?.organization ?? {}).map(([alias, report]) => [alias, report.series]));
}
