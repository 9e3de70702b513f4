import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { promisify } from 'node:util';

// A PostgreSQL cluster of its own for a test, made with Debian's postgresql-common exactly as a fresh
// `apt-get install postgresql` makes `main`: peer authentication on the local socket, scram-sha-256
// over TCP, nobody trusted. Needs root (pg_createcluster, and `runuser -u postgres` in start.sh).

const run = promisify(execFile);
const POSTGRES_LIB = '/usr/lib/postgresql';
const TOOL_TIMEOUT_MS = 120_000;

export interface ScratchCluster {
  readonly version: string;
  readonly name: string;
  readonly port: number;
  /** Stops and deletes the cluster, data and configuration; calling it again is a no-op. */
  drop(): Promise<void>;
}

/** Why no scratch cluster can be made here, or undefined when one can. */
export function scratchClusterUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'creating a PostgreSQL cluster needs root';
  if (!commandOnPath('pg_createcluster'))
    return 'pg_createcluster (Debian postgresql-common) is not installed';
  if (installedMajorVersion() === undefined) return `no PostgreSQL server under ${POSTGRES_LIB}`;
  return undefined;
}

export interface ScratchClusterOptions {
  /**
   * TCP authentication: Debian's default (scram-sha-256) unless a test needs the services to connect
   * as their runtime roles without passwords, as they do on the shared test server (trust).
   */
  hostAuth?: 'scram-sha-256' | 'trust';
}

export async function createScratchCluster(
  name: string,
  port: number,
  options: ScratchClusterOptions = {},
): Promise<ScratchCluster> {
  const version = installedMajorVersion();
  if (version === undefined) throw new Error(`no PostgreSQL server under ${POSTGRES_LIB}`);
  // The auth methods Debian's createcluster.conf defaults to, spelled out so a customised one on this
  // machine cannot make the cluster friendlier than a stock one.
  await run(
    'pg_createcluster',
    [
      version,
      name,
      '-p',
      String(port),
      '--start',
      '--',
      '--auth-local=peer',
      `--auth-host=${options.hostAuth ?? 'scram-sha-256'}`,
    ],
    { timeout: TOOL_TIMEOUT_MS },
  );
  let dropped: Promise<void> | undefined;
  return {
    version,
    name,
    port,
    drop: () =>
      (dropped ??= run('pg_dropcluster', ['--stop', version, name], { timeout: TOOL_TIMEOUT_MS }).then(
        () => undefined,
      )),
  };
}

/** The newest PostgreSQL major version installed (the directory Debian gives each one). */
function installedMajorVersion(): string | undefined {
  if (!existsSync(POSTGRES_LIB)) return undefined;
  return readdirSync(POSTGRES_LIB)
    .filter((entry) => /^\d+$/.test(entry) && existsSync(`${POSTGRES_LIB}/${entry}/bin/postgres`))
    .sort((a, b) => Number(a) - Number(b))
    .pop();
}

/** Whether `command` is an executable on PATH. */
export function commandOnPath(command: string): boolean {
  return (process.env['PATH'] ?? '').split(':').some((dir) => dir !== '' && existsSync(`${dir}/${command}`));
}
