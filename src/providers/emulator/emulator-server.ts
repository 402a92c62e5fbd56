import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { EmulatorHandle } from "../provider";

/** One request as the emulator saw it: what tests count and inspect. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** The query string as sent (without `?`), for checks that must see repeated parameters as sent. */
  rawQuery: string;
  /** The body as sent. */
  rawBody: string;
  headers: IncomingMessage["headers"];
  body: unknown;
  /** Arrival time, epoch ms. */
  at: number;
  /** Requests this emulator had received and not yet answered when this one arrived. */
  concurrent: number;
  status?: number;
}

export interface EmulatorResponse {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/**
 * Faults a test (or the demo) injects; each applies to the next `times` requests (default: all).
 * A `status` fault answers with a body that should still be one the vendor's contract allows (the
 * vendor's own error envelope, say); a test that breaks the contract on purpose (a negative count,
 * a missing field) says why in `offContract`. `hang`, `malformed`, `html` and `drip` are off the
 * contract by their nature.
 */
export type Fault =
  | { kind: "status"; status: number; body?: unknown; headers?: Record<string, string>; offContract?: string }
  | { kind: "hang" }
  | { kind: "malformed" }
  | { kind: "html"; status?: number }
  /** The normal answer, one byte every `intervalMs` (a slow-loris upstream). */
  | { kind: "drip"; intervalMs: number }
  /** A 200 body of `bytes` bytes of valid-looking JSON, streamed (an upstream gone wild). */
  | { kind: "oversized"; bytes: number };

/** The contract an emulator plays (`schema/upstream/contracts/`). */
export type EmulatedContract = "jiandaoyun" | "acedata" | "aiStudio" | "pipefy" | "adverity";

/** One request and the answer an emulator gave it, as an exchange observer sees them. */
export interface Exchange {
  contract: EmulatedContract;
  request: RecordedRequest;
  status: number;
  /** The body as sent (a string), or undefined when no answer was sent (a hang). */
  body: string | undefined;
  /** Why this answer is off the contract on purpose; undefined for answers that must conform. */
  offContract?: string;
}

export interface EmulatorOptions {
  port?: number;
  /** Added before every answer, ms. */
  latencyMs?: number;
  /** Clock, injectable for tests. */
  now?: () => number;
  /**
   * Keeps every request in `requests`, for tests and the benchmark that count and inspect them.
   * Off by default: a long-running demo would otherwise hold every request it ever served.
   */
  recordRequests?: boolean;
  /**
   * For a vendor that documents a request rate (Jiandaoyun): the rate the emulator enforces
   * instead of the documented one. Tests that are not about pacing raise it, together with the
   * client's `rateLimit`, so that they do not wait on the vendor's clock.
   */
  requestsPerSecond?: number;
}

/**
 * A loopback HTTP server that plays a vendor. It answers with deterministic data, keeps a log of
 * the requests when asked to, and takes fault knobs so tests can make the vendor misbehave on purpose.
 */
export abstract class EmulatorServer implements EmulatorHandle {
  /**
   * Sees every exchange of every emulator of this process: the test suite checks each one against
   * the upstream contract (test/support/contract-check.ts). Unset in demo mode and the benchmark.
   */
  static observer: ((exchange: Exchange) => void) | undefined;

  /** Which vendor contract this emulator plays. */
  abstract readonly contract: EmulatedContract;
  latencyMs: number;
  protected readonly now: () => number;
  private server?: Server;
  private faults: Array<{ fault: Fault; remaining: number }> = [];
  private readonly hanging = new Set<ServerResponse>();
  /** The request log; undefined when the emulator does not record (demo mode). */
  private readonly log?: RecordedRequest[];
  /** Requests received and not answered yet: what `RecordedRequest.concurrent` counts. */
  private readonly unanswered = new Set<RecordedRequest>();

  constructor(options: EmulatorOptions = {}) {
    this.latencyMs = options.latencyMs ?? 0;
    this.now = options.now ?? Date.now;
    this.port = options.port ?? 0;
    if (options.recordRequests) this.log = [];
  }

  /** Every request since the last resetLog(), in arrival order. Only with `recordRequests`. */
  get requests(): readonly RecordedRequest[] {
    // Thrown rather than an empty list: a test asserting that nothing was called must not pass
    // because nothing was recorded.
    if (!this.log) throw new Error(`the ${this.contract} emulator does not record its requests: start it with recordRequests: true`);
    return this.log;
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
    if (this.log) this.log.length = 0;
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
    this.unanswered.clear();
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
      rawQuery: url.search.replace(/^\?/, ""),
      rawBody: raw,
      headers: req.headers,
      body: raw ? safeJson(raw) : undefined,
      at: Date.now(),
      concurrent: this.unanswered.size,
    };
    this.unanswered.add(recorded);
    this.log?.push(recorded);
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));

    const fault = this.takeFault();
    if (fault) {
      switch (fault.kind) {
        case "hang":
          // Never answered: counted out at once, so that one hang does not make every later request concurrent.
          this.unanswered.delete(recorded);
          this.observe(recorded, 0, undefined, "a hanging upstream (injected)");
          this.hanging.add(res);
          res.on("close", () => this.hanging.delete(res));
          return;
        case "malformed":
          this.sendRaw(res, recorded, 200, "application/json", '{"results": [ {"date": "2026-', "truncated JSON (injected)");
          return;
        case "html":
          this.sendRaw(
            res,
            recorded,
            fault.status ?? 502,
            "text/html",
            "<html><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>",
            "an HTML gateway page (injected)",
          );
          return;
        case "status":
          this.send(
            res,
            recorded,
            { status: fault.status, body: fault.body ?? this.errorBody(fault.status, "injected fault"), headers: fault.headers },
            fault.offContract,
          );
          return;
        case "drip":
          await this.drip(res, recorded, fault.intervalMs);
          return;
        case "oversized":
          await this.oversized(res, recorded, fault.bytes);
          return;
      }
    }
    let answer: EmulatorResponse;
    try {
      answer = await this.handle(recorded);
    } catch {
      answer = { status: 500, body: this.errorBody(500, "emulator error") };
    }
    this.send(res, recorded, answer);
  }

  /** The vendor's error envelope for a status and a message (what an injected status fault answers by default). */
  protected abstract errorBody(status: number, message: string): unknown;

  private send(res: ServerResponse, recorded: RecordedRequest, answer: EmulatorResponse, offContract?: string): void {
    const text = typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body);
    this.sendRaw(res, recorded, answer.status, "application/json", text, offContract, answer.headers);
  }

  private sendRaw(
    res: ServerResponse,
    recorded: RecordedRequest,
    status: number,
    contentType: string,
    text: string,
    offContract?: string,
    headers?: Record<string, string>,
  ): void {
    this.unanswered.delete(recorded);
    recorded.status = status;
    this.observe(recorded, status, text, offContract);
    res.writeHead(status, { "content-type": contentType, ...headers });
    res.end(text);
  }

  private observe(request: RecordedRequest, status: number, body: string | undefined, offContract?: string): void {
    EmulatorServer.observer?.({ contract: this.contract, request, status, body, offContract });
  }

  /** The normal answer, drip-fed one byte at a time until it is sent or the client goes away. */
  private async drip(res: ServerResponse, recorded: RecordedRequest, intervalMs: number): Promise<void> {
    const answer = await this.handle(recorded);
    const text = typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body);
    this.unanswered.delete(recorded);
    recorded.status = answer.status;
    this.observe(recorded, answer.status, text, "drip-fed (injected)");
    this.hanging.add(res);
    res.on("close", () => this.hanging.delete(res));
    res.writeHead(answer.status, { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) });
    for (const byte of Buffer.from(text)) {
      if (res.destroyed) return;
      res.write(Buffer.of(byte));
      await new Promise((r) => setTimeout(r, intervalMs));
    }
    res.end();
  }

  /** A JSON array of zeros `bytes` long, streamed in 64 KiB chunks: valid JSON, far too large. */
  private async oversized(res: ServerResponse, recorded: RecordedRequest, bytes: number): Promise<void> {
    this.unanswered.delete(recorded);
    recorded.status = 200;
    this.observe(recorded, 200, undefined, "an oversized body (injected)");
    res.writeHead(200, { "content-type": "application/json" });
    const chunk = "0,".repeat(32 * 1024);
    res.write("[");
    for (let sent = 1; sent < bytes && !res.destroyed; sent += chunk.length) {
      if (!res.write(chunk)) await drainOrClose(res);
    }
    res.end("0]");
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

/** Resolves when the response can take more, or is gone; leaves no listener behind either way. */
function drainOrClose(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
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
