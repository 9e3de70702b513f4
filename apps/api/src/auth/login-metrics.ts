import { ForbiddenException, Injectable } from '@nestjs/common';
import { Counter } from '@switchboard/observability';

import { MetricsRegistry } from '../metrics/metrics.registry';
import { LoginFailedException } from './login-failed.exception';
import { LoginThrottledException } from './login-throttle';

/** `console`: the operator API's logins (/api/v1/auth/login, /token, their TOTP steps); `client`: RustDesk's POST /api/login. */
export type LoginSurface = 'console' | 'client';

/**
 * How a login request ended:
 * - `ok`: signed in; `second_factor_required`: the password was right, the TOTP step comes next;
 * - `bad_credentials`: unknown user, disabled account or wrong password (one answer for all three);
 * - `second_factor_failed`: a wrong, replayed or used-up code, or an invalid or expired MFA token;
 * - `locked`: refused by a locked backoff ladder before any check; `throttled`: refused because
 *   another attempt for the account (or too many from the network) was in flight;
 * - `refused`: right credentials, but the role may not use this channel, or the client must first
 *   change a password in the console;
 * - `error`: anything else (Postgres or Redis down, a bug).
 */
export type LoginResult =
  | 'ok'
  | 'second_factor_required'
  | 'bad_credentials'
  | 'second_factor_failed'
  | 'locked'
  | 'throttled'
  | 'refused'
  | 'error';

const SURFACES: readonly LoginSurface[] = ['console', 'client'];
const RESULTS: readonly LoginResult[] = [
  'ok',
  'second_factor_required',
  'bad_credentials',
  'second_factor_failed',
  'locked',
  'throttled',
  'refused',
  'error',
];

/** The login series on the ops port's /metrics. */
@Injectable()
export class LoginMetrics {
  private readonly logins: Counter<'surface' | 'result'>;
  private readonly lockouts: Counter<'surface'>;

  constructor(metrics: MetricsRegistry) {
    const registers = [metrics.registry];
    this.logins = new Counter({
      name: 'switchboard_api_logins_total',
      help: 'Login requests (password and second-factor steps), by surface (console, client) and result',
      labelNames: ['surface', 'result'] as const,
      registers,
    });
    this.lockouts = new Counter({
      name: 'switchboard_api_lockouts_total',
      help: 'Failed logins or re-authentications that locked a backoff ladder (network, account or both), by surface',
      labelNames: ['surface'] as const,
      registers,
    });
    // Every series exists from the start at 0, so rate() and alerts see the first event.
    for (const surface of SURFACES) {
      this.lockouts.inc({ surface }, 0);
      for (const result of RESULTS) this.logins.inc({ surface, result }, 0);
    }
  }

  login(surface: LoginSurface, result: LoginResult): void {
    this.logins.inc({ surface, result });
  }

  lockout(surface: LoginSurface): void {
    this.lockouts.inc({ surface });
  }
}

/** The result of a login that threw: the refusals LoginService raises by class, anything else `error`. */
export function loginResultOf(error: unknown): LoginResult {
  if (error instanceof LoginFailedException) return error.result;
  if (error instanceof LoginThrottledException) return error.reason === 'locked' ? 'locked' : 'throttled';
  if (error instanceof ForbiddenException) return 'refused';
  return 'error';
}
