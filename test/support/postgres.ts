import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Client } from "pg";
import { freePort } from "./ports";

const run = promisify(execFile);

export interface PostgresServer {
  port: number;
  /** The password-protected role that owns the databases created by `createDatabase`. */
  user: string;
  password: string;
  /** A fresh, empty database owned by `user`; returns its postgres:// URL. */
  createDatabase(name: string): Promise<string>;
  /** The URL of database `name` for `user` with another password. */
  urlWithPassword(name: string, password: string): string;
  stop(): Promise<void>;
}

/** The newest Debian PostgreSQL (`/usr/lib/postgresql/<major>/bin`), or USAGEGRAPH_PG_BIN. */
function binDir(): string {
  const fromEnv = process.env.USAGEGRAPH_PG_BIN;
  if (fromEnv) return fromEnv;
  const root = "/usr/lib/postgresql";
  const majors = existsSync(root) ? readdirSync(root).filter((d) => /^\d+$/.test(d) && existsSync(join(root, d, "bin", "pg_ctl"))) : [];
  if (majors.length === 0) throw new Error("PostgreSQL is not installed (apt-get install postgresql; .ci/run installs it)");
  return join(root, majors.sort((a, b) => Number(b) - Number(a))[0]!, "bin");
}

/**
 * A real PostgreSQL in a temp dir on a free loopback port. initdb and postgres refuse to run as
 * root, so as root they run as the `postgres` user (runuser). Connections over TCP need a password
 * (scram-sha-256); the superuser's is random and only used here to create the role and databases.
 * Durability is off (fsync, synchronous_commit): the data dies with the test.
 */
export async function startPostgres(): Promise<PostgresServer> {
  const bin = binDir();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "usagegraph-pg-"));
  const superPassword = randomBytes(12).toString("hex");
  const user = "usagegraph";
  const password = `pw-${randomBytes(8).toString("hex")}`;
  writeFileSync(join(dir, "pwfile"), `${superPassword}\n`);
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { stdout } = await run("id", ["-u", "postgres"]);
    const { stdout: gid } = await run("id", ["-g", "postgres"]);
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
    chownSync(join(dir, "pwfile"), Number(stdout.trim()), Number(gid.trim()));
  }
  chmodSync(dir, 0o700);
  const pg = (tool: string, args: string[]) => (asRoot ? run("runuser", ["-u", "postgres", "--", join(bin, tool), ...args]) : run(join(bin, tool), args));

  const data = join(dir, "data");
  try {
    await pg("initdb", [
      "-D",
      data,
      "-U",
      "postgres",
      "--pwfile",
      join(dir, "pwfile"),
      "--auth-local=trust",
      "--auth-host=scram-sha-256",
      "--no-sync",
      "--no-instructions",
      "-E",
      "UTF8",
      "--locale=C",
    ]);
    const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
    await pg("pg_ctl", ["-D", data, "-o", options, "-l", join(dir, "log"), "-w", "-t", "20", "start"]);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`PostgreSQL did not start: ${(error as { stderr?: string }).stderr?.trim() || (error as Error).message}`);
  }

  const admin = new Client({ host: "127.0.0.1", port, user: "postgres", password: superPassword, database: "postgres" });
  await admin.connect();
  await admin.query(`create role ${user} login password '${password}'`);
  const url = (name: string, pass: string) => `postgres://${user}:${encodeURIComponent(pass)}@127.0.0.1:${port}/${name}`;

  return {
    port,
    user,
    password,
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
      await admin.query(`create database ${name} owner ${user}`);
      return url(name, password);
    },
    urlWithPassword: url,
    async stop() {
      await admin.end().catch(() => undefined);
      await pg("pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"]).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
