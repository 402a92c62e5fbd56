import { existsSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";

export interface Machine {
  cpu: string;
  cores: number;
  totalMemoryGiB: number;
  os: string;
  node: string;
  /** 1-minute load average when the run started: other work on the machine skews every figure. */
  loadAverage1m: number;
}

export function machine(): Machine {
  return {
    cpu: os.cpus()[0]?.model.trim() ?? "unknown",
    cores: os.cpus().length,
    totalMemoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    loadAverage1m: Math.round(os.loadavg()[0]! * 100) / 100,
  };
}

export function describeMachine(m: Machine): string {
  return `${m.cpu}, ${m.cores} cores, ${m.totalMemoryGiB} GiB RAM, ${m.os}, Node ${m.node} (load average ${m.loadAverage1m} at start)`;
}

/** A markdown table. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const line = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

export const mib = (bytes: number): string => `${(bytes / 1024 ** 2).toFixed(0)} MiB`;
export const fixed = (n: number, digits = 2): string => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");

/** Replaces the text between `<!-- NAME:start -->` and `<!-- NAME:end -->` in a file, if both are there. */
export function replaceSection(path: string, name: string, markdown: string): boolean {
  if (!existsSync(path)) return false;
  const text = readFileSync(path, "utf8");
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < i) return false;
  writeFileSync(path, `${text.slice(0, i + start.length)}\n${markdown}\n${text.slice(j)}`);
  return true;
}
