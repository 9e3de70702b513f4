import { randomBytes, randomUUID } from 'node:crypto';

import { Redis } from 'ioredis';

import { createTestDatabase, type TestDatabase } from '@switchboard/testing';

import { type ApiProcess, E2E_ADMIN_USERNAME, startApi } from '../../support/api-process';
import { type SignalProcess, startSignal } from '../../support/signal-process';

// What the console's browser tests run against: the real api (serving the built console from
// dist/apps/web), the real signal, one database and one Redis prefix of their own. Operators are made
// through the api's own HTTP API, as an admin would make them.

export type ConsoleRole = 'admin' | 'operator' | 'viewer';

export interface ConsoleAccount {
  readonly username: string;
  readonly password: string;
  readonly role: ConsoleRole;
}

export interface ConsoleStack {
  readonly api: ApiProcess;
  readonly signal: SignalProcess;
  /** The console's address: `localhost`, where browsers keep Secure cookies on plain http. */
  readonly consoleUrl: string;
  readonly admin: ConsoleAccount;
  /** Bearer header of the first admin, for arranging state through the API. */
  authorization(): Promise<string>;
  /** A new user of `role` with a password of the test's choosing (no forced change unless asked). */
  createAccount(role: ConsoleRole, options?: { mustChange?: boolean }): Promise<ConsoleAccount>;
  /** Calls the operator API as the first admin; throws unless the status is 2xx. */
  call<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  /** An access token of `account`, signed in through the API (no second factor). */
  userToken(account: Pick<ConsoleAccount, 'username' | 'password'>): Promise<string>;
  /** As `call`, with the bearer token of another user (from userToken). */
  callAs<T = unknown>(token: string, method: string, path: string, body?: unknown): Promise<T>;
  stop(): Promise<void>;
}

export interface ConsoleStackOptions {
  /** Signal's REGISTRATION_POLICY (default open); `approval` leaves new devices pending for an admin. */
  readonly registrationPolicy?: 'open' | 'token' | 'approval' | 'locked';
}

export async function startConsoleStack(
  env: Record<string, string> = {},
  options: ConsoleStackOptions = {},
): Promise<ConsoleStack> {
  const prefix = `e2e-console-${randomUUID()}`;
  const database: TestDatabase = await createTestDatabase();
  const signal = await startSignal({
    DATABASE_URL: database.url,
    REDIS_KEY_PREFIX: prefix,
    REGISTRATION_POLICY: options.registrationPolicy ?? 'open',
  });
  const api = await startApi({
    DATABASE_URL: database.url,
    REDIS_KEY_PREFIX: prefix,
    // The key clients are given, for Settings' client configuration (as compose mounts it).
    SIGNAL_PUBLIC_KEY_FILE: signal.publicKeyFile,
    ...env,
  });
  const consoleUrl = api.baseUrl.replace('127.0.0.1', 'localhost');
  let token: { value: string; at: number } | undefined;

  const authorization = async (): Promise<string> => {
    // Access tokens live 15 minutes; a long test file outlives one.
    if (token === undefined || Date.now() - token.at > 5 * 60_000) {
      token = { value: await api.adminToken(), at: Date.now() };
    }
    return `Bearer ${token.value}`;
  };

  const callWith = async <T>(bearer: string, method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${api.baseUrl}${path}`, {
      method,
      headers: {
        authorization: bearer,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  };
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> =>
    callWith<T>(await authorization(), method, path, body);

  let accounts = 0;
  return {
    api,
    signal,
    consoleUrl,
    admin: { username: E2E_ADMIN_USERNAME, password: api.adminPassword, role: 'admin' },
    authorization,
    call,
    async userToken({ username, password }) {
      const response = await fetch(`${api.baseUrl}/api/v1/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password }),
      });
      const body = (await response.json()) as { accessToken?: string };
      if (body.accessToken === undefined)
        throw new Error(`token: ${response.status} ${JSON.stringify(body)}`);
      return body.accessToken;
    },
    callAs: (token, method, path, body) => callWith(`Bearer ${token}`, method, path, body),
    async createAccount(role, options = {}) {
      accounts += 1;
      const username = `${role}-${accounts}-${randomBytes(3).toString('hex')}`;
      const password = `pw-${randomBytes(12).toString('base64url')}`;
      await call('POST', '/api/v1/users', {
        username,
        password,
        role,
        passwordMustChange: options.mustChange ?? false,
      });
      return { username, password, role };
    },
    async stop() {
      const redis = new Redis('redis://127.0.0.1:6379');
      try {
        await Promise.all([api.stop(), signal.stop()]);
        const keys = await redis.keys(`${prefix}:*`);
        if (keys.length > 0) await redis.del(...keys);
      } finally {
        await redis.quit();
        await database.drop();
      }
    },
  };
}
