// Per-IP limits of the rendezvous core. Every table is capped (`maxKeys`): UDP source addresses can
// be spoofed, so an attacker must not be able to grow them without bound. When a table is full the
// oldest key is forgotten, which at worst gives that address a fresh allowance.

import { rateLimitKey } from '@switchboard/transport';

export interface RegisterPkLimits {
  /** RegisterPk requests per IP before TOO_FREQUENT (hbbs: more than 30). */
  readonly maxRequests: number;
  /** The request counter resets after this long without a request (hbbs IP_BLOCK_DUR, 60 s). */
  readonly requestIdleResetMs: number;
  /** Distinct ids per IP before new ones get TOO_FREQUENT (hbbs: more than 300). */
  readonly maxIds: number;
  /** The id set resets after this long without a request (hbbs DAY_SECONDS). */
  readonly idsIdleResetMs: number;
  readonly maxKeys: number;
  /** An IPv6 source counts by its network of this prefix (rateLimitKey), not by its own address. */
  readonly ipv6PrefixLength: number;
}

interface IpRecord {
  requests: number;
  lastRequest: number;
  ids: Set<string>;
  lastIds: number;
}

/** hbbs's IP_BLOCKER for UDP RegisterPk (rustdesk-server src/rendezvous_server.rs check_ip_blocker). */
export class RegisterPkIpLimiter {
  private readonly ips = new Map<string, IpRecord>();
  private lastSweep = Number.NEGATIVE_INFINITY;

  constructor(private readonly limits: RegisterPkLimits) {}

  get trackedIps(): number {
    return this.ips.size;
  }

  allow(ip: string, id: string, now: number): boolean {
    const key = rateLimitKey(ip, this.limits.ipv6PrefixLength);
    const record = this.ips.get(key);
    if (record === undefined) {
      // As upstream: the first request from an IP opens its record and is not counted.
      this.sweep(now);
      evictOldest(this.ips, this.limits.maxKeys);
      this.ips.set(key, { requests: 0, lastRequest: now, ids: new Set(), lastIds: now });
      return true;
    }
    if (now - record.lastRequest > this.limits.requestIdleResetMs) record.requests = 0;
    else if (record.requests > this.limits.maxRequests) return false;
    record.requests++;
    record.lastRequest = now;

    const isNew = !record.ids.has(id);
    if (now - record.lastIds > this.limits.idsIdleResetMs) record.ids.clear();
    else if (record.ids.size > this.limits.maxIds) return !isNew;
    if (isNew) record.ids.add(id);
    record.lastIds = now;
    return true;
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < this.limits.requestIdleResetMs) return;
    this.lastSweep = now;
    for (const [ip, record] of this.ips) {
      const requestsIdle = now - record.lastRequest > this.limits.requestIdleResetMs;
      const idsIdle = record.ids.size === 0 || now - record.lastIds > this.limits.idsIdleResetMs;
      if (requestsIdle && idsIdle) this.ips.delete(ip);
    }
  }
}

export interface WindowLimits {
  /** Units allowed per key per window (requests, or ids for the online query). */
  readonly max: number;
  readonly windowMs: number;
  readonly maxKeys: number;
}

/** A fixed-window budget per key: `allow(key, cost)` spends `cost` units if they are left. */
export class WindowLimiter {
  private readonly windows = new Map<string, { start: number; used: number }>();
  private lastSweep = Number.NEGATIVE_INFINITY;

  constructor(private readonly limits: WindowLimits) {}

  get trackedKeys(): number {
    return this.windows.size;
  }

  allow(key: string, cost: number, now: number): boolean {
    let window = this.windows.get(key);
    if (window === undefined || now - window.start >= this.limits.windowMs) {
      if (window === undefined) {
        this.sweep(now);
        evictOldest(this.windows, this.limits.maxKeys);
      }
      window = { start: now, used: 0 };
      this.windows.set(key, window);
    }
    if (window.used + cost > this.limits.max) return false;
    window.used += cost;
    return true;
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < this.limits.windowMs) return;
    this.lastSweep = now;
    for (const [key, window] of this.windows) {
      if (now - window.start >= this.limits.windowMs) this.windows.delete(key);
    }
  }
}

/**
 * Forgets the oldest eighth of the keys once the table is full. In batches, because a Map keeps the
 * slots of deleted entries until it rehashes, so finding "the first key" after many single deletes
 * from the front walks all of them: one at a time would make a flood quadratic.
 */
function evictOldest(map: Map<string, unknown>, maxKeys: number): void {
  if (map.size < maxKeys) return;
  let excess = map.size - maxKeys + Math.max(1, Math.ceil(maxKeys / 8));
  for (const key of map.keys()) {
    if (excess-- <= 0) break;
    map.delete(key);
  }
}
