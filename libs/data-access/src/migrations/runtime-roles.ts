import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

import { Client, escapeIdentifier, escapeLiteral } from 'pg';

import { redactUrl } from './database-admin';

// The least-privilege roles migration 20261203010000_database_roles creates and grants to
// (docs/architecture.md, "Database roles"). Migrations run as the owner; the api and signal do not.

export const API_DATABASE_ROLE = 'switchboard_api';
export const SIGNAL_DATABASE_ROLE = 'switchboard_signal';
export const RUNTIME_DATABASE_ROLES: readonly string[] = [API_DATABASE_ROLE, SIGNAL_DATABASE_ROLE];

/** The same server, database and options as `databaseUrl`, as `role` (no password: trust auth, tests). */
export function withDatabaseUser(databaseUrl: string, role: string): string {
  const url = new URL(databaseUrl);
  url.username = role;
  url.password = '';
  return url.toString();
}

// Postgres's own defaults for a SCRAM-SHA-256 verifier (scram_build_secret in src/common/scram-common.c).
const SCRAM_ITERATIONS = 4096;
const SCRAM_SALT_BYTES = 16;

/**
 * The SCRAM-SHA-256 verifier Postgres stores for `password` (RFC 5802 / 7677), built here so the
 * plain password never travels in an ALTER ROLE statement that the server might log. NFKC stands in
 * for SASLprep, as node-postgres's client side does.
 */
export function scramSha256Verifier(
  password: string,
  salt: Buffer = randomBytes(SCRAM_SALT_BYTES),
  iterations = SCRAM_ITERATIONS,
): string {
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  const b64 = (bytes: Buffer) => bytes.toString('base64');
  return `SCRAM-SHA-256$${iterations}:${b64(salt)}$${b64(storedKey)}:${b64(serverKey)}`;
}

export type RuntimeRoleOutcome = 'password-set' | 'no-password' | 'not-a-runtime-role';

/**
 * Gives each runtime role the password its service's connection URL carries, through the owner's
 * connection `adminUrl`, so compose and Kubernetes set the passwords from their secrets on every
 * migrate. A URL naming any other role (an operator's own, or the owner) is left alone; a runtime
 * role that does not exist is an error, since its service could not connect.
 */
export async function setRuntimeRolePasswords(
  adminUrl: string,
  runtimeUrls: readonly string[],
  roles: readonly string[] = RUNTIME_DATABASE_ROLES,
): Promise<Map<string, RuntimeRoleOutcome>> {
  const outcomes = new Map<string, RuntimeRoleOutcome>();
  const client = new Client({ connectionString: adminUrl, application_name: 'switchboard-migrate' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    for (const runtimeUrl of runtimeUrls) {
      const url = new URL(runtimeUrl);
      const role = decodeURIComponent(url.username);
      const password = decodeURIComponent(url.password);
      if (!roles.includes(role)) {
        outcomes.set(role, 'not-a-runtime-role');
        continue;
      }
      const { rowCount } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
      if (!rowCount) {
        throw new Error(
          `${redactUrl(runtimeUrl)} names role ${role}, which does not exist: the migrations create it ` +
            'when the migrating role has CREATEROLE; otherwise create it by hand',
        );
      }
      if (password === '') {
        outcomes.set(role, 'no-password');
        continue;
      }
      await client.query(
        `ALTER ROLE ${escapeIdentifier(role)} LOGIN PASSWORD ${escapeLiteral(scramSha256Verifier(password))}`,
      );
      outcomes.set(role, 'password-set');
    }
  } finally {
    await client.end();
  }
  return outcomes;
}
