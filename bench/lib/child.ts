import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

export const ROOT = join(__dirname, "..", "..", "..");

export interface ServerProcess {
  /** Base URL, http://127.0.0.1:PORT (no /graphql). */
  readonly base: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last lines the process wrote (stdout and stderr), for diagnostics. */
  tail(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** A free TCP port on 127.0.0.1 (closed again at once; the child binds it a moment later). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts `node <script> ...args` and waits until it serves. The URL comes from its stdout: a JSON
 * log line with `"url"` (usagegraph's "listening" line, the bare Apollo script's line) or the
 * demo banner. With `port` set, readiness is GET /healthz answering instead (for a server that
 * logs at warn and so prints no listening line).
 */
export async function startNode(
  script: string,
  args: readonly string[],
  options: { env?: Record<string, string>; port?: number; timeoutMs?: number } = {},
): Promise<ServerProcess> {
  const child = spawn(process.execPath, [script, ...args], {
    cwd: ROOT,
    env: { ...process.env, APOLLO_TELEMETRY_DISABLED: "true", ...options.env, ...(options.port !== undefined ? { PORT: String(options.port) } : {}) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const keep = (line: string) => {
    lines.push(line);
    if (lines.length > 60) lines.shift();
  };
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  let found: (url: string) => void = () => undefined;
  const urlFromOutput = new Promise<string>((resolve) => (found = resolve));
  for (const stream of [child.stdout!, child.stderr!]) {
    let buffered = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        keep(line);
        const url = urlIn(line);
        if (url) found(url);
      }
    });
  }
  const tail = () => lines.join("\n");
  const timeoutMs = options.timeoutMs ?? 30_000;
  const ready =
    options.port !== undefined
      ? waitForHealth(`http://127.0.0.1:${options.port}`, timeoutMs, exited).then(() => `http://127.0.0.1:${options.port}`)
      : urlFromOutput;
  const base = await Promise.race([
    ready,
    exited.then(({ code, signal }) => Promise.reject(new Error(`${script} exited (${code ?? signal}) before serving:\n${tail()}`))),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${script} did not serve within ${timeoutMs} ms:\n${tail()}`)), timeoutMs).unref()),
  ]).catch((error: unknown) => {
    child.kill("SIGKILL");
    throw error;
  });
  return {
    base: base.replace(/\/graphql\/?$/, "").replace(/\/$/, ""),
    pid: child.pid!,
    child,
    exited,
    tail,
    async stop(graceMs = 15_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}

function urlIn(line: string): string | undefined {
  if (line.startsWith("{")) {
    try {
      const parsed = JSON.parse(line) as { url?: unknown };
      if (typeof parsed.url === "string" && /^http:\/\/(127\.0\.0\.1|\[::1\]|localhost):\d+/.test(parsed.url)) return parsed.url;
    } catch {
      // not a JSON line
    }
  }
  return /GraphQL IDE: (http:\/\/127\.0\.0\.1:\d+)\/graphql/.exec(line)?.[1];
}

async function waitForHealth(base: string, timeoutMs: number, exited: Promise<unknown>): Promise<void> {
  let done = false;
  void exited.then(() => (done = true));
  const until = Date.now() + timeoutMs;
  while (!done && Date.now() < until) {
    try {
      const res = await fetch(`${base}/healthz`);
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${base}/healthz did not answer`);
}

/** Resident set size of a process, bytes (Linux /proc, else `ps`); undefined once it is gone. */
export function rssOf(pid: number): { rss?: number; hwm?: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (name: string) => {
      const m = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status);
      return m ? Number(m[1]) * 1024 : undefined;
    };
    return { rss: kb("VmRSS"), hwm: kb("VmHWM") };
  } catch {
    // No /proc (macOS): ask ps, in KiB.
    try {
      const kb = Number(execFileSync("ps", ["-o", "rss=", "-p", String(pid)], { encoding: "utf8" }).trim());
      return Number.isFinite(kb) && kb > 0 ? { rss: kb * 1024 } : {};
    } catch {
      return {};
    }
  }
}

/** Samples a process's RSS every `intervalMs` and keeps the peak (and the kernel's high-water mark). */
export class RssSampler {
  peakBytes = 0;
  highWaterBytes = 0;
  samples = 0;
  /** Peak RSS of each phase, in the order `mark` was called. */
  readonly phases: Array<{ phase: string; peakBytes: number }> = [];
  private phasePeak = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    intervalMs = 200,
  ) {
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
    this.sample();
  }

  sample(): void {
    const { rss, hwm } = rssOf(this.pid);
    if (rss !== undefined) {
      this.samples++;
      this.peakBytes = Math.max(this.peakBytes, rss);
      this.phasePeak = Math.max(this.phasePeak, rss);
    }
    if (hwm !== undefined) this.highWaterBytes = Math.max(this.highWaterBytes, hwm);
  }

  /** Ends a phase: its peak is the highest sample since the previous mark. */
  mark(phase: string): void {
    this.sample();
    this.phases.push({ phase, peakBytes: this.phasePeak });
    this.phasePeak = 0;
  }

  stop(): { peakBytes: number; highWaterBytes: number; samples: number } {
    this.sample();
    clearInterval(this.timer);
    return { peakBytes: this.peakBytes, highWaterBytes: this.highWaterBytes, samples: this.samples };
  }
}
