import autocannon from "autocannon";

export interface LoadRequest {
  body: string;
  /** GET /graphql?query=…&variables=… instead of a POST of `body` (which must then be {query, variables}). */
  get?: boolean;
}

export interface LoadResult {
  requestsPerSecond: number;
  latencyMs: { p50: number; p99: number; max: number };
  requests: number;
  ok2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Responses whose body failed verification (GraphQL `errors`, no data, or not the expected body). */
  mismatches: number;
  durationSeconds: number;
}

/**
 * autocannon against POST {base}/graphql with the given bodies (each connection cycles through
 * them). `verify` sees every response body: a false counts in `mismatches`.
 */
export async function load(
  base: string,
  requests: readonly LoadRequest[],
  options: { connections: number; durationSeconds: number; verify?: (body: string) => boolean; title?: string },
): Promise<LoadResult> {
  const instance = autocannon({
    url: `${base}/graphql`,
    title: options.title,
    connections: options.connections,
    duration: options.durationSeconds,
    timeout: 20,
    headers: { "content-type": "application/json" },
    requests: requests.map((r) =>
      r.get ? getRequest(r.body) : { method: "POST" as const, path: "/graphql", body: r.body, headers: { "content-type": "application/json" } },
    ),
    ...(options.verify ? { verifyBody: (body: string | Buffer | undefined) => options.verify!(String(body ?? "")) } : {}),
  });
  const result = await instance;
  return {
    requestsPerSecond: result.requests.average,
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
    requests: result.requests.total,
    ok2xx: result["2xx"],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    mismatches: result.mismatches,
    durationSeconds: result.duration,
  };
}

/** A body check for GraphQL answers: JSON with data and without `errors`. */
export function noGraphQLErrors(body: string): boolean {
  try {
    const parsed = JSON.parse(body) as { data?: unknown; errors?: unknown };
    return parsed.data !== undefined && parsed.data !== null && parsed.errors === undefined;
  } catch {
    return false;
  }
}

/** One POST /graphql, timed. */
export async function postGraphQL<T = unknown>(
  base: string,
  query: string,
  variables?: Record<string, unknown>,
): Promise<{ status: number; body: T; text: string; ms: number }> {
  const started = performance.now();
  const res = await fetch(`${base}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  const ms = performance.now() - started;
  let body: T;
  try {
    body = JSON.parse(text) as T;
  } catch {
    body = {} as T;
  }
  return { status: res.status, body, text, ms };
}

/** Prometheus text → the value of one unlabelled sample, or undefined. */
export function metricValue(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+|NaN)$`, "m").exec(text);
  return m ? Number(m[1]) : undefined;
}

export async function scrapeMetrics(base: string): Promise<string> {
  const res = await fetch(`${base}/metrics`);
  return res.text();
}

/** Nearest-rank percentile of a list of numbers. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** A GraphQL GET of a {query, variables} body; Apollo's CSRF prevention wants a preflight header on it. */
function getRequest(body: string) {
  const { query, variables } = JSON.parse(body) as { query: string; variables?: unknown };
  const search = new URLSearchParams({ query, ...(variables === undefined ? {} : { variables: JSON.stringify(variables) }) });
  return { method: "GET" as const, path: `/graphql?${search}`, headers: { "apollo-require-preflight": "true" } };
}
