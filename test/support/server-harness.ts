import { resolveConfig, type Config } from "../../src/config/config";
import { startDemo, type Demo } from "../../src/demo";
import type { EmulatorServer } from "../../src/providers/emulator/emulator-server";
import { createServer, type UsageGraphServer } from "../../src/server/server";

export interface GraphQLResult<T = any> {
  status: number;
  body: { data?: T; errors?: Array<{ message: string; path?: unknown[]; extensions?: Record<string, any> }> };
  text: string;
}

export interface RunningServer {
  url: string;
  server: UsageGraphServer;
  demo?: Demo;
  emulator<E extends EmulatorServer>(key: string): E;
  gql<T = any>(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<GraphQLResult<T>>;
  stop(): Promise<void>;
}

/**
 * Starts usagegraph over HTTP on a free loopback port: demo emulators unless a config is given.
 * Scheduled collection is off in the demo config unless `collect` is true: no scheduled run adds to
 * the upstream calls a test counts.
 */
export async function startServer(
  options: { config?: Config; env?: NodeJS.ProcessEnv; mutate?: (raw: any) => void; collect?: boolean } = {},
): Promise<RunningServer> {
  let demo: Demo | undefined;
  let config = options.config;
  if (!config) {
    demo = await startDemo(
      { USAGEGRAPH_LOG_LEVEL: process.env.USAGEGRAPH_LOG_LEVEL, ...options.env },
      { port: 0, recordRequests: true, collect: options.collect ?? false },
    );
    config = demo.config;
    if (options.mutate) {
      const raw = JSON.parse(JSON.stringify(config));
      options.mutate(raw);
      config = resolveConfig(
        {
          server: raw.server,
          auth: raw.auth ?? undefined,
          organizations: raw.organizations,
          limits: raw.limits,
          log: raw.log,
          cache: raw.cache,
          graphql: raw.graphql,
          collect: raw.collect,
        },
        options.env ?? {},
        { demo: true },
      );
    }
  }
  const server = await createServer(config);
  const url = await server.listen();
  return {
    url,
    server,
    demo,
    emulator<E extends EmulatorServer>(key: string): E {
      const e = demo?.emulators.get(key);
      if (!e) throw new Error(`no emulator ${key}`);
      return e as E;
    },
    gql: (query, variables, headers) => postGraphQL(url, query, variables, headers),
    async stop() {
      await server.stop();
      await demo?.stop();
    },
  };
}

export async function postGraphQL(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<GraphQLResult> {
  const res = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text), text };
}

/** The full usage report of the demo organization, for `{ input }` variables. */
export const USAGE_QUERY = `query Usage($input: UsageInput!) {
  organization(id: "demo") {
    usage(input: $input) {
      series { provider metric { key kind unit } dimensions { key value label } points { start end value final } total }
      sources { provider state error { code message retryAfterSeconds } finalizedThrough upstreamRequests cachedResponses }
    }
  }
}`;

/** `yyyy-MM-dd` of today + `days` in UTC. */
export function utcDay(days = 0): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}
