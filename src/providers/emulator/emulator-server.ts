import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { EmulatorHandle } from "../provider";

/** One request as the emulator saw it: what tests count and inspect. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage["headers"];
  body: unknown;
  /** Arrival time, epoch ms. */
  at: number;
  status?: number;
}

export interface EmulatorResponse {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** Faults a test (or the demo) injects; each applies to the next `times` requests (default: all). */
export type Fault =
  | { kind: "status"; status: number; body?: unknown; headers?: Record<string, string> }
  | { kind: "hang" }
  | { kind: "malformed" }
  | { kind: "html"; status?: number };

export interface EmulatorOptions {
  port?: number;
  /** Added before every answer, ms. */
  latencyMs?: number;
  /** Clock, injectable for tests. */
  now?: () => number;
}

/**
 * A loopback HTTP server that plays a vendor. It keeps a log of every request, answers with
 * deterministic data, and takes fault knobs so tests can make the vendor misbehave on purpose.
 */
export abstract class EmulatorServer implements EmulatorHandle {
  readonly requests: RecordedRequest[] = [];
  latencyMs: number;
  protected readonly now: () => number;
  private server?: Server;
  private faults: Array<{ fault: Fault; remaining: number }> = [];
  private readonly hanging = new Set<ServerResponse>();

  constructor(options: EmulatorOptions = {}) {
    this.latencyMs = options.latencyMs ?? 0;
    this.now = options.now ?? Date.now;
    this.port = options.port ?? 0;
  }

  private port: number;

  get url(): string {
    if (!this.server) throw new Error("emulator not started");
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Handles one request with the vendor's behaviour. */
  protected abstract handle(req: RecordedRequest): EmulatorResponse | Promise<EmulatorResponse>;

  /** Makes the next `times` requests fail with `fault` (Infinity: until clearFaults). */
  inject(fault: Fault, times = Infinity): this {
    this.faults.push({ fault, remaining: times });
    return this;
  }

  clearFaults(): this {
    this.faults = [];
    return this;
  }

  /** Clears the request log. */
  resetLog(): this {
    this.requests.length = 0;
    return this;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.onRequest(req, res));
    this.server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(this.port, "127.0.0.1", () => resolve());
    });
    return this;
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.server = undefined;
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const raw = await readBody(req);
    const recorded: RecordedRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body: raw ? safeJson(raw) : undefined,
      at: Date.now(),
    };
    this.requests.push(recorded);
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));

    const fault = this.takeFault();
    if (fault) {
      switch (fault.kind) {
        case "hang":
          this.hanging.add(res);
          res.on("close", () => this.hanging.delete(res));
          return;
        case "malformed":
          recorded.status = 200;
          res.writeHead(200, { "content-type": "application/json" }).end('{"results": [ {"date": "2026-');
          return;
        case "html":
          recorded.status = fault.status ?? 502;
          res
            .writeHead(recorded.status, { "content-type": "text/html" })
            .end("<html><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>");
          return;
        case "status":
          this.send(res, recorded, { status: fault.status, body: fault.body ?? { detail: "injected fault" }, headers: fault.headers });
          return;
      }
    }
    let answer: EmulatorResponse;
    try {
      answer = await this.handle(recorded);
    } catch {
      answer = { status: 500, body: { detail: "emulator error" } };
    }
    this.send(res, recorded, answer);
  }

  private send(res: ServerResponse, recorded: RecordedRequest, answer: EmulatorResponse): void {
    recorded.status = answer.status;
    res.writeHead(answer.status, { "content-type": "application/json", ...answer.headers });
    res.end(typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body));
  }

  private takeFault(): Fault | undefined {
    const head = this.faults[0];
    if (!head) return undefined;
    head.remaining--;
    if (head.remaining <= 0) this.faults.shift();
    return head.fault;
  }
}

/** The bearer token of a request, or undefined. */
export function bearerToken(req: RecordedRequest, scheme = "Bearer"): string | undefined {
  const header = req.headers.authorization;
  const prefix = `${scheme} `;
  return typeof header === "string" && header.startsWith(prefix) ? header.slice(prefix.length) : undefined;
}

/**
 * A deterministic pseudo-random number in [0, 1) from a string seed (FNV-1a then xorshift), so
 * that emulator data is the same in every run and tests can recompute it.
 */
export function seeded(seed: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) {
    h ^= seed.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  h ^= h << 13;
  h >>>= 0;
  h ^= h >>> 17;
  h ^= h << 5;
  return (h >>> 0) / 0x1_0000_0000;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}
