import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { QueueRegistry } from "../providers/http/queue";
import type { ProviderKey, UpstreamMetrics } from "../providers/provider";

const BREAKER_VALUE = { closed: 0, half_open: 1, open: 2 } as const;

/** Prometheus metrics of one server instance, served at GET /metrics. */
export class ServerMetrics implements UpstreamMetrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({
    name: "usagegraph_http_requests_total",
    help: "HTTP requests by route and status",
    labelNames: ["route", "status"] as const,
    registers: [this.registry],
  });
  /** Response cache lookups of POST /graphql: hit (replayed), miss (executed), kept (stored after executing). */
  readonly responseCache = new Counter({
    name: "usagegraph_response_cache_total",
    help: "GraphQL response cache lookups by result (hit, miss) and answers kept (kept)",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });
  readonly graphqlDuration = new Histogram({
    name: "usagegraph_graphql_request_duration_seconds",
    help: "Time to answer a GraphQL request",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25],
    registers: [this.registry],
  });
  private readonly upstreamCalls = new Counter({
    name: "usagegraph_upstream_calls_total",
    help: "Upstream HTTP attempts by provider and outcome (ok or the contract error code)",
    labelNames: ["provider", "outcome"] as const,
    registers: [this.registry],
  });
  private readonly upstreamLatency = new Histogram({
    name: "usagegraph_upstream_call_duration_seconds",
    help: "Upstream HTTP attempt latency by provider",
    labelNames: ["provider"] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  private readonly cacheLookups = new Counter({
    name: "usagegraph_cache_lookups_total",
    help: "Upstream response cache lookups by provider and result (hit, miss)",
    labelNames: ["provider", "result"] as const,
    registers: [this.registry],
  });
  private readonly queueWaitSeconds = new Histogram({
    name: "usagegraph_queue_wait_seconds",
    help: "Time an upstream call waited in its provider queue (rate limit, concurrency)",
    labelNames: ["provider"] as const,
    buckets: [0.001, 0.01, 0.1, 0.5, 1, 2, 5, 10, 20],
    registers: [this.registry],
  });
  private readonly breaker = new Gauge({
    name: "usagegraph_circuit_breaker_state",
    help: "Circuit breaker state per provider and organization: 0 closed, 1 half-open, 2 open",
    labelNames: ["provider", "organization"] as const,
    registers: [this.registry],
  });

  constructor(queues: QueueRegistry) {
    collectDefaultMetrics({ register: this.registry, prefix: "usagegraph_" });
    new Gauge({
      name: "usagegraph_queue_length",
      help: "Upstream calls waiting in provider queues, per queue",
      labelNames: ["queue"] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const q of queues.all()) this.inc({ queue: q.name }, q.queued);
      },
    });
  }

  upstreamCall(provider: ProviderKey, outcome: string, seconds: number): void {
    this.upstreamCalls.inc({ provider, outcome });
    this.upstreamLatency.observe({ provider }, seconds);
  }

  cacheLookup(provider: ProviderKey, hit: boolean): void {
    this.cacheLookups.inc({ provider, result: hit ? "hit" : "miss" });
  }

  queueWait(provider: ProviderKey, seconds: number): void {
    this.queueWaitSeconds.observe({ provider }, seconds);
  }

  breakerState(provider: ProviderKey, organization: string, state: keyof typeof BREAKER_VALUE): void {
    this.breaker.set({ provider, organization }, BREAKER_VALUE[state]);
  }
}
