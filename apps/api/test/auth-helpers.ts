import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { type UserRecord, UserRepository, type UserRole } from '@switchboard/data-access';
import { type InjectOptions, type Response as InjectResponse } from 'light-my-request';
import { generate } from 'otplib';

import { PasswordHasher } from '../src/auth/password-hasher';
import { CSRF_COOKIE, SESSION_COOKIE } from '../src/auth/session-cookies';
import { type ManualClock } from './manual-clock';

// Helpers for the auth flows' integration tests: real users in the database, real HTTP through
// app.inject(), cookies carried by hand the way a browser would.

export const ORIGIN = 'http://localhost';

let created = 0;

export interface TestUser {
  readonly user: UserRecord;
  readonly username: string;
  readonly password: string;
}

export async function createUser(
  app: NestFastifyApplication,
  role: UserRole = 'admin',
  options: { passwordMustChange?: boolean } = {},
): Promise<TestUser> {
  created += 1;
  const username = `user-${created}-${process.pid}`;
  const password = `a long test password ${created}`;
  const user = await app.get(UserRepository).create({
    username,
    passwordHash: await app.get(PasswordHasher).hash(password),
    role,
    ...options,
  });
  return { user, username, password };
}

/** A browser's view of a session: its cookies and the CSRF token it echoes. */
export interface BrowserSession {
  readonly session: string;
  readonly csrf: string;
  /** `Cookie` header value. */
  readonly cookie: string;
}

export function cookieValue(response: InjectResponse, name: string): string | undefined {
  return response.cookies.find((cookie) => cookie.name === name)?.value;
}

export function browserSessionOf(response: InjectResponse): BrowserSession {
  const session = cookieValue(response, SESSION_COOKIE);
  const csrf = cookieValue(response, CSRF_COOKIE);
  if (session === undefined || csrf === undefined) {
    throw new Error(`no session cookies in ${response.statusCode} ${response.body}`);
  }
  return { session, csrf, cookie: `${SESSION_COOKIE}=${session}; ${CSRF_COOKIE}=${csrf}` };
}

/** Headers of a well-behaved console request: cookies, CSRF echo and same Origin. */
export function consoleHeaders(browser: BrowserSession): Record<string, string> {
  return { cookie: browser.cookie, 'x-csrf-token': browser.csrf, origin: ORIGIN };
}

export function inject(
  app: NestFastifyApplication,
  options: InjectOptions & { ip?: string },
): Promise<InjectResponse> {
  const { ip, ...rest } = options;
  return app.inject({ ...rest, remoteAddress: ip ?? '10.0.0.1' });
}

export async function panelLogin(
  app: NestFastifyApplication,
  credentials: { username: string; password: string; rememberMe?: boolean },
  ip?: string,
): Promise<InjectResponse> {
  return inject(app, {
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: credentials,
    headers: { origin: ORIGIN },
    ...(ip === undefined ? {} : { ip }),
  });
}

export async function signInBrowser(app: NestFastifyApplication, user: TestUser): Promise<BrowserSession> {
  const response = await panelLogin(app, user);
  if (response.statusCode !== 200) throw new Error(`login failed: ${response.statusCode} ${response.body}`);
  return browserSessionOf(response);
}

/** The code an authenticator app would show `offsetSteps` 30-second steps from the clock's now. */
export function totpCode(secret: string, clock: ManualClock, offsetSteps = 0): Promise<string> {
  return generate({ secret, epoch: Math.floor(clock.now().getTime() / 1000) + offsetSteps * 30 });
}

/** Turns TOTP on for a user through the real enrolment endpoints; returns the secret and codes. */
export async function enableTotp(
  app: NestFastifyApplication,
  user: TestUser,
  clock: ManualClock,
): Promise<{ secret: string; recoveryCodes: string[] }> {
  const token = await inject(app, {
    method: 'POST',
    url: '/api/v1/auth/token',
    payload: { username: user.username, password: user.password },
    ip: '10.255.255.1',
  });
  const authorization = `Bearer ${token.json().accessToken}`;
  const enroll = await inject(app, {
    method: 'POST',
    url: '/api/v1/auth/totp/enroll',
    headers: { authorization },
    payload: { password: user.password },
  });
  if (enroll.statusCode !== 200) throw new Error(`enroll: ${enroll.statusCode} ${enroll.body}`);
  const { secret } = enroll.json<{ secret: string }>();
  const confirm = await inject(app, {
    method: 'POST',
    url: '/api/v1/auth/totp/confirm',
    headers: { authorization },
    payload: { code: await totpCode(secret, clock) },
  });
  if (confirm.statusCode !== 200) throw new Error(`confirm: ${confirm.statusCode} ${confirm.body}`);
  // The confirming code's step is now used; later codes in a test come from later steps.
  clock.advanceSeconds(30);
  return { secret, recoveryCodes: confirm.json<{ recoveryCodes: string[] }>().recoveryCodes };
}
