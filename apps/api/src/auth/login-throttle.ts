import { Inject, Injectable } from '@nestjs/common';

import { API_CLOCK, API_CONFIG } from '../app.tokens';
import { type ApiConfig } from '../config';
import { TooManyRequestsException } from '../errors/too-many-requests.exception';
import { RedisConnection } from '../redis/redis.connection';
import { type Clock } from '../time/clock';
import { sha256 } from './opaque-token';

/*
 * The login backoff ladder (ARCHITECTURE.md "Login"), per client IP and per account, in Redis so every
 * api replica sees the same counters. State per subject is one hash:
 *   count, windowStart   failures in the current window (before the first lock)
 *   rung                 -1, or the index into LOGIN_LOCK_STEPS_SECONDS of the last lock imposed
 *   lockedUntil          epoch ms; attempts before it are refused without looking at the password
 *   lastFailure          epoch ms; a ladder quiet for LOGIN_LADDER_RESET_SECONDS is forgotten
 * All times come from the api's Clock (passed in), never from Redis, so tests can move time.
 * Attempts in flight are counted too: a burst of parallel guesses cannot all slip past the check
 * while the first is still inside argon2.
 */

/** Attempts for one account that may run at once (a person never needs two). */
export const MAX_CONCURRENT_ATTEMPTS_PER_ACCOUNT = 1;
/** Attempts from one IP that may run at once (a NAT may hide a few people logging in together). */
export const MAX_CONCURRENT_ATTEMPTS_PER_IP = 4;
/** An in-flight marker outlives any real attempt; it only matters if a replica dies mid-login. */
const IN_FLIGHT_TTL_MS = 30_000;

export type ThrottleScope = 'ip' | 'account';

export interface LoginSubject {
  readonly ip: string;
  /** As typed (case-folded), known or not: unknown names lock exactly like real ones. */
  readonly username: string;
}

export interface LockImposed {
  readonly scope: ThrottleScope;
  readonly seconds: number;
  /** 0 for the first lock (10 s by default), then one higher per further failure. */
  readonly rung: number;
}

const BEGIN_SCRIPT = `
local now = tonumber(ARGV[1])
local function wait(key)
  local lockEnd = tonumber(redis.call('HGET', key, 'lockedUntil') or '0')
  if lockEnd > now then return lockEnd - now end
  return 0
end
local ipWait = wait(KEYS[1])
local accountWait = wait(KEYS[2])
if ipWait > 0 or accountWait > 0 then return {'locked', ipWait, accountWait} end
if tonumber(redis.call('GET', KEYS[3]) or '0') >= tonumber(ARGV[2])
  or tonumber(redis.call('GET', KEYS[4]) or '0') >= tonumber(ARGV[3]) then
  return {'busy', 0, 0}
end
for i = 3, 4 do
  redis.call('INCR', KEYS[i])
  redis.call('PEXPIRE', KEYS[i], ARGV[4])
end
return {'ok', 0, 0}
`;

const FINISH_SCRIPT = `
local now = tonumber(ARGV[1])
local outcome = ARGV[2]
local windowMs = tonumber(ARGV[5])
local memoryMs = tonumber(ARGV[6])
local steps = {}
for step in string.gmatch(ARGV[7], '[^,]+') do steps[#steps + 1] = tonumber(step) end
for i = 3, 4 do
  if redis.call('DECR', KEYS[i]) <= 0 then redis.call('DEL', KEYS[i]) end
end
if outcome == 'success' then
  redis.call('DEL', KEYS[2])
  return {0, -1, 0, -1}
end
if outcome ~= 'failure' then return {0, -1, 0, -1} end
local function fail(key, max)
  local f = redis.call('HMGET', key, 'count', 'windowStart', 'rung', 'lastFailure')
  local count = tonumber(f[1]) or 0
  local windowStart = tonumber(f[2]) or now
  local rung = tonumber(f[3]) or -1
  local last = tonumber(f[4])
  if last ~= nil and now - last > memoryMs then count = 0; windowStart = now; rung = -1 end
  local lockMs = 0
  if rung >= 0 then
    rung = math.min(rung + 1, #steps - 1)
    lockMs = steps[rung + 1]
  else
    if now - windowStart > windowMs then count = 0; windowStart = now end
    count = count + 1
    if count >= max then rung = 0; lockMs = steps[1] end
  end
  redis.call('HSET', key, 'count', count, 'windowStart', windowStart, 'rung', rung,
    'lastFailure', now, 'lockedUntil', now + lockMs)
  redis.call('PEXPIRE', key, memoryMs + steps[#steps])
  if lockMs > 0 then return {lockMs, rung} end
  return {0, -1}
end
local ip = fail(KEYS[1], tonumber(ARGV[3]))
local account = fail(KEYS[2], tonumber(ARGV[4]))
return {ip[1], ip[2], account[1], account[2]}
`;

type Outcome = 'success' | 'failure' | 'neutral';

/** One login attempt admitted by the throttle. Settle it exactly once; `release` is a safe default. */
export class LoginAttempt {
  private settled = false;

  constructor(private readonly finish: (outcome: Outcome) => Promise<LockImposed[]>) {}

  /** Counts a failure on both ladders; returns the locks this failure imposed, for the audit log. */
  failed(): Promise<LockImposed[]> {
    return this.settle('failure');
  }

  /** The account's ladder starts over (the IP's does not: one good account must not clear a spray). */
  async succeeded(): Promise<void> {
    await this.settle('success');
  }

  /** Neither success nor failure (an error, a refusal unrelated to credentials). Idempotent. */
  async release(): Promise<void> {
    await this.settle('neutral');
  }

  private async settle(outcome: Outcome): Promise<LockImposed[]> {
    if (this.settled) return [];
    this.settled = true;
    return this.finish(outcome);
  }
}

@Injectable()
export class LoginThrottle {
  private readonly prefix: string;

  constructor(
    private readonly redis: RedisConnection,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(API_CLOCK) private readonly clock: Clock,
  ) {
    this.prefix = `${config.REDIS_KEY_PREFIX}:login`;
  }

  /** Admits an attempt, or throws 429 with Retry-After while either ladder is locked. */
  async begin(subject: LoginSubject): Promise<LoginAttempt> {
    const keys = this.keysOf(subject);
    const [state, ipWaitMs, accountWaitMs] = (await this.redis.client.eval(
      BEGIN_SCRIPT,
      4,
      ...keys,
      this.clock.now().getTime(),
      MAX_CONCURRENT_ATTEMPTS_PER_IP,
      MAX_CONCURRENT_ATTEMPTS_PER_ACCOUNT,
      IN_FLIGHT_TTL_MS,
    )) as [string, number, number];
    if (state === 'locked') {
      const waitMs = Math.max(ipWaitMs, accountWaitMs);
      throw new TooManyRequestsException(
        'Too many failed login attempts; try again later',
        Math.max(1, Math.ceil(waitMs / 1000)),
      );
    }
    if (state === 'busy') {
      throw new TooManyRequestsException('Another login attempt is in progress; try again', 1);
    }
    return new LoginAttempt((outcome) => this.finish(keys, outcome));
  }

  private async finish(keys: string[], outcome: Outcome): Promise<LockImposed[]> {
    const steps = this.config.LOGIN_LOCK_STEPS_SECONDS;
    const [ipLockMs, ipRung, accountLockMs, accountRung] = (await this.redis.client.eval(
      FINISH_SCRIPT,
      4,
      ...keys,
      this.clock.now().getTime(),
      outcome,
      this.config.LOGIN_IP_MAX_FAILURES,
      this.config.LOGIN_ACCOUNT_MAX_FAILURES,
      this.config.LOGIN_FAILURE_WINDOW_SECONDS * 1000,
      this.config.LOGIN_LADDER_RESET_SECONDS * 1000,
      steps.map((seconds) => seconds * 1000).join(','),
    )) as [number, number, number, number];
    const imposed: LockImposed[] = [];
    if (ipLockMs > 0) imposed.push({ scope: 'ip', seconds: ipLockMs / 1000, rung: ipRung });
    if (accountLockMs > 0) {
      imposed.push({ scope: 'account', seconds: accountLockMs / 1000, rung: accountRung });
    }
    return imposed;
  }

  // Usernames are hashed into the key: any text a client types is a safe, fixed-length key.
  private keysOf(subject: LoginSubject): string[] {
    const account = sha256(subject.username.toLowerCase()).toString('hex');
    return [
      `${this.prefix}:ip:${subject.ip}`,
      `${this.prefix}:account:${account}`,
      `${this.prefix}:inflight:ip:${subject.ip}`,
      `${this.prefix}:inflight:account:${account}`,
    ];
  }
}
