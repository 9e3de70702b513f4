import { Inject, Injectable } from '@nestjs/common';
import { rateLimitKey } from '@switchboard/transport';
import { type Redis } from 'ioredis';

import { API_CLOCK, API_CONFIG } from '../app.tokens';
import { type ApiConfig } from '../config';
import { TooManyRequestsException } from '../errors/too-many-requests.exception';
import { RedisConnection } from '../redis/redis.connection';
import { type Clock } from '../time/clock';
import { sha256 } from './opaque-token';

/*
 * The login backoff ladders (docs/architecture.md "Login"), in Redis so every api replica sees the same
 * counters. A source network is rateLimitKey(ip): an IPv4 address, or an IPv6 /64 (configurable).
 *   ip       per source network, every name it tries: a hard lock (a password spray)
 *   pair     per (account, source network): a hard lock (one place guessing one account)
 *   account  per account, all networks together: when it locks, the account is under attack and the
 *            lock is audited, but it refuses only networks that have failed against the account since
 *            its ladder was last reset; the correct password (and second factor) from anywhere else
 *            still gets in, so nobody can keep an account locked from a botnet
 * State per ladder is one hash:
 *   count, windowStart   failures in the current window (before the first lock)
 *   rung                 -1, or the index into LOGIN_LOCK_STEPS_SECONDS of the last lock imposed
 *   lockedUntil          epoch ms; attempts before it are refused without looking at the password
 *   lastFailure          epoch ms; a ladder quiet for LOGIN_LADDER_RESET_SECONDS is forgotten
 * All times come from the api's Clock (passed in), never from Redis, so tests can move time.
 * Attempts in flight are counted too: a burst of parallel guesses cannot all slip past the check
 * while the first is still inside argon2.
 */

/** Attempts for one account from one network that may run at once (a person never needs two). */
export const MAX_CONCURRENT_ATTEMPTS_PER_ACCOUNT_NETWORK = 1;
/** Attempts from one network that may run at once (a NAT may hide a few people logging in together). */
export const MAX_CONCURRENT_ATTEMPTS_PER_IP = 4;
/** An in-flight marker outlives any real attempt; it only matters if a replica dies mid-login. */
const IN_FLIGHT_TTL_MS = 30_000;

/** `account_network` is the pair ladder; `account` the account-wide one. */
export type ThrottleScope = 'ip' | 'account' | 'account_network';

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

// KEYS: ip ladder, account ladder, pair ladder, in-flight per ip, in-flight per pair.
// ARGV: now, max in flight per ip, max in flight per pair, in-flight ttl, ladder memory.
const BEGIN_SCRIPT = `
local now = tonumber(ARGV[1])
local function wait(key)
  local lockEnd = tonumber(redis.call('HGET', key, 'lockedUntil') or '0')
  if lockEnd > now then return lockEnd - now end
  return 0
end
local waitMs = math.max(wait(KEYS[1]), wait(KEYS[3]))
local accountWait = wait(KEYS[2])
if accountWait > 0 then
  local lastFailure = tonumber(redis.call('HGET', KEYS[3], 'lastFailure') or '-1')
  if lastFailure >= 0 and now - lastFailure <= tonumber(ARGV[5]) then waitMs = math.max(waitMs, accountWait) end
end
if waitMs > 0 then return {'locked', waitMs} end
if tonumber(redis.call('GET', KEYS[4]) or '0') >= tonumber(ARGV[2])
  or tonumber(redis.call('GET', KEYS[5]) or '0') >= tonumber(ARGV[3]) then
  return {'busy', 0}
end
for i = 4, 5 do
  redis.call('INCR', KEYS[i])
  redis.call('PEXPIRE', KEYS[i], ARGV[4])
end
return {'ok', 0}
`;

// KEYS as BEGIN's. ARGV: now, outcome, max failures per ip, per account (and pair), window, memory,
// lock steps (ms, comma-separated).
const FINISH_SCRIPT = `
local now = tonumber(ARGV[1])
local outcome = ARGV[2]
local windowMs = tonumber(ARGV[5])
local memoryMs = tonumber(ARGV[6])
local steps = {}
for step in string.gmatch(ARGV[7], '[^,]+') do steps[#steps + 1] = tonumber(step) end
for i = 4, 5 do
  if redis.call('DECR', KEYS[i]) <= 0 then redis.call('DEL', KEYS[i]) end
end
if outcome == 'success' then
  redis.call('DEL', KEYS[2], KEYS[3])
  return {0, -1, 0, -1, 0, -1}
end
if outcome ~= 'failure' then return {0, -1, 0, -1, 0, -1} end
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
local pair = fail(KEYS[3], tonumber(ARGV[4]))
return {ip[1], ip[2], account[1], account[2], pair[1], pair[2]}
`;

type Outcome = 'success' | 'failure' | 'neutral';

/** The 429 of an attempt the ladders refused: `locked` by a lock, or `busy` with attempts in flight. */
export class LoginThrottledException extends TooManyRequestsException {
  constructor(
    readonly reason: 'locked' | 'busy',
    message: string,
    retryAfterSeconds: number,
  ) {
    super(message, retryAfterSeconds);
  }
}

/** One login attempt admitted by the throttle. Settle it exactly once; `release` is a safe default. */
export class LoginAttempt {
  private settled = false;

  constructor(private readonly finish: (outcome: Outcome) => Promise<LockImposed[]>) {}

  /** Counts a failure on every ladder; returns the locks this failure imposed, for the audit log. */
  failed(): Promise<LockImposed[]> {
    return this.settle('failure');
  }

  /**
   * The account's ladders start over, account-wide and for this network (the network's own does not:
   * one good account must not clear a spray).
   */
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
    this.prefix = loginKeyPrefix(config.REDIS_KEY_PREFIX);
  }

  /** Admits an attempt, or throws 429 with Retry-After while a ladder that applies to it is locked. */
  async begin(subject: LoginSubject): Promise<LoginAttempt> {
    const keys = this.keysOf(subject);
    const [state, waitMs] = (await this.redis.client.eval(
      BEGIN_SCRIPT,
      keys.length,
      ...keys,
      this.clock.now().getTime(),
      MAX_CONCURRENT_ATTEMPTS_PER_IP,
      MAX_CONCURRENT_ATTEMPTS_PER_ACCOUNT_NETWORK,
      IN_FLIGHT_TTL_MS,
      this.config.LOGIN_LADDER_RESET_SECONDS * 1000,
    )) as [string, number];
    if (state === 'locked') {
      throw new LoginThrottledException(
        'locked',
        'Too many failed login attempts; try again later',
        Math.max(1, Math.ceil(waitMs / 1000)),
      );
    }
    if (state === 'busy') {
      throw new LoginThrottledException('busy', 'Another login attempt is in progress; try again', 1);
    }
    return new LoginAttempt((outcome) => this.finish(keys, outcome));
  }

  /**
   * Forgets every ladder of one account: account-wide and per network (an operator who has dealt
   * with an attack). Network ladders stay: they are about the sources, not the account. Returns how
   * many ladders were cleared.
   */
  clearAccountLadders(username: string): Promise<number> {
    return clearAccountLadders(this.redis.client, this.config.REDIS_KEY_PREFIX, username);
  }

  private async finish(keys: string[], outcome: Outcome): Promise<LockImposed[]> {
    const steps = this.config.LOGIN_LOCK_STEPS_SECONDS;
    const result = (await this.redis.client.eval(
      FINISH_SCRIPT,
      keys.length,
      ...keys,
      this.clock.now().getTime(),
      outcome,
      this.config.LOGIN_IP_MAX_FAILURES,
      this.config.LOGIN_ACCOUNT_MAX_FAILURES,
      this.config.LOGIN_FAILURE_WINDOW_SECONDS * 1000,
      this.config.LOGIN_LADDER_RESET_SECONDS * 1000,
      steps.map((seconds) => seconds * 1000).join(','),
    )) as number[];
    const scopes: ThrottleScope[] = ['ip', 'account', 'account_network'];
    return scopes.flatMap((scope, index) => {
      const lockMs = result[index * 2] ?? 0;
      const rung = result[index * 2 + 1] ?? -1;
      return lockMs > 0 ? [{ scope, seconds: lockMs / 1000, rung }] : [];
    });
  }

  private keysOf(subject: LoginSubject): string[] {
    const account = accountKeyOf(subject.username);
    const network = rateLimitKey(subject.ip, this.config.RATE_LIMIT_IPV6_PREFIX);
    return [
      `${this.prefix}:ip:${network}`,
      `${this.prefix}:account:${account}`,
      `${this.prefix}:pair:${account}:${network}`,
      `${this.prefix}:inflight:ip:${network}`,
      `${this.prefix}:inflight:pair:${account}:${network}`,
    ];
  }
}

/** Usernames are hashed into keys: any text a client types is a safe, fixed-length key (no glob characters). */
function loginKeyPrefix(redisKeyPrefix: string): string {
  return `${redisKeyPrefix}:login`;
}

/**
 * The account's ladders, cleared without the Nest app: `reset-admin` runs as a one-off command and
 * the admin it recovers must not stay locked out by the attack that locked them out.
 */
export async function clearAccountLadders(
  redis: Redis,
  redisKeyPrefix: string,
  username: string,
): Promise<number> {
  const prefix = loginKeyPrefix(redisKeyPrefix);
  const account = accountKeyOf(username);
  const keys = [`${prefix}:account:${account}`];
  for (const pattern of [`${prefix}:pair:${account}:*`, `${prefix}:inflight:pair:${account}:*`]) {
    for await (const batch of redis.scanStream({ match: pattern, count: 500 })) {
      keys.push(...(batch as string[]));
    }
  }
  return redis.del(...keys);
}

function accountKeyOf(username: string): string {
  return sha256(username.toLowerCase()).toString('hex');
}
