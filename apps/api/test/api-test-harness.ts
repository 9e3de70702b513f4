import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';

import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { type Environment, parseConfig } from '@switchboard/config';
import { EventSigningKey } from '@switchboard/events';
import { type NewUser, type UserRecord, UserRepository, type UserRole } from '@switchboard/data-access';
import { createLogger, type Logger } from '@switchboard/observability';
import { type TlsCredentials } from '@switchboard/tls';

import { AccessTokens } from '../src/auth/access-tokens';
import { PasswordHasher } from '../src/auth/password-hasher';
import { apiConfigSchema, type ApiConfig } from '../src/config';
import { createApiApp, type CreateAppOptions } from '../src/create-app';
import { type MetricsRegistry } from '../src/metrics/metrics.registry';
import { type ApiSecrets, generateSecrets, resolveApiSecrets, SecretsFile } from '../src/secrets';
import { type Clock } from '../src/time/clock';

// Shared by the api's integration tests: an in-process app for inject(), and real child processes.

export const REPO_ROOT = join(__dirname, '..', '..', '..');

/**
 * A test's config: quiet, and on a Redis prefix of its own unless the test names one, so its events,
 * audit queue worker and relay deny set never touch another run's (or a local dev stack's) keys.
 */
export function testApiConfig(env: Environment): ApiConfig {
  return parseConfig(apiConfigSchema, {
    LOG_LEVEL: 'silent',
    REDIS_KEY_PREFIX: `test-api-${process.pid}-${randomUUID()}`,
    ...env,
  });
}

/** Fresh secrets given as if from the environment, so no secrets file is involved. */
export async function testSecrets(): Promise<ApiSecrets> {
  const unused = new SecretsFile('/nonexistent/never-read.json');
  return (await resolveApiSecrets(generateSecrets(), unused)).secrets;
}

/** Signs the events of every in-process test app; subscribers in tests verify with its public half. */
export const TEST_EVENT_SIGNING_KEY = EventSigningKey.generate();

export interface TestAppOptions {
  /** A clock the test moves (ManualClock) instead of sleeping. */
  readonly clock?: Clock;
  /** Mounted beside the feature modules, e.g. a probe controller behind a permission. */
  readonly extraModules?: CreateAppOptions['extraModules'];
  /** Instead of a silent one, e.g. the api's own logger writing where the test reads. */
  readonly logger?: Logger;
  /** HTTPS on the app's server (loaded with `metrics`' registry, as main.ts does). */
  readonly tls?: TlsCredentials;
  readonly metrics?: MetricsRegistry;
}

export async function startTestApp(
  env: Environment,
  options: TestAppOptions = {},
): Promise<NestFastifyApplication> {
  const config = testApiConfig(env);
  const logger = options.logger ?? createLogger({ name: 'api-test', level: config.LOG_LEVEL });
  // Not listening: tests use app.inject(), which also lets them add routes to Fastify before it is ready.
  return createApiApp(
    {
      config,
      logger,
      secrets: await testSecrets(),
      eventSigningKey: TEST_EVENT_SIGNING_KEY,
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.tls ? { tls: options.tls } : {}),
      ...(options.metrics ? { metrics: options.metrics } : {}),
    },
    { extraModules: options.extraModules },
  );
}

export interface RunningProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or the signal that ended it). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Runs a TypeScript entry point of this repo the way the brief's smoke test does
 * (`node -r @swc-node/register <file>`), with exactly `env` plus PATH/HOME: nothing leaks in from the
 * developer's shell.
 */
export function runTs(
  entry: string,
  env: Record<string, string>,
  args: readonly string[] = [],
): RunningProcess {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', join(REPO_ROOT, entry), ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout: () => out, stderr: () => err, exited };
}

export interface SignedInUser {
  readonly user: UserRecord;
  readonly password: string;
  /** `Authorization` header value with a fresh access token. */
  readonly authorization: string;
}

let seededUsers = 0;

/**
 * A user of `role` straight in the database, with a real access token from the app's own signer:
 * for tests of features behind the guard (the login flow itself has its own tests).
 */
export async function signInAs(
  app: NestFastifyApplication,
  role: UserRole,
  overrides: Partial<NewUser> = {},
): Promise<SignedInUser> {
  seededUsers += 1;
  const password = `correct horse battery ${seededUsers}`;
  const user = await app.get(UserRepository).create({
    username: `${role}-${seededUsers}-${process.pid}`,
    passwordHash: await app.get(PasswordHasher).hash(password),
    role,
    ...overrides,
  });
  const token = await app.get(AccessTokens).issueAccessToken(user, randomUUID());
  return { user, password, authorization: `Bearer ${token}` };
}
