import { DEVICE_ID_PATTERN, RELAY_UUID_PATTERN } from '@switchboard/domain';

import {
  AUDIT_JOB_VERSION,
  type AuditJob,
  type RegistrationRefusal,
  type RelaySessionRefusal,
} from './audit-job';
import { type DataPlaneAuditFact } from './audit-sink';

export interface AuditCoalescerOptions {
  /** `signal` or `relay:<node>`: the actor of every entry. */
  readonly actorId: string;
  /** One entry per key per window (default 60 s). */
  readonly windowMs?: number;
  /**
   * Keys tracked at once (default 10,000). A client cycling through ids or addresses would otherwise
   * grow the table without bound; past the cap, occurrences fold into one entry per reason.
   */
  readonly maxKeys?: number;
  /** Epoch milliseconds. */
  readonly now?: () => number;
}

export const DEFAULT_COALESCE_WINDOW_MS = 60_000;
export const DEFAULT_MAX_COALESCED_KEYS = 10_000;
const MAX_DEVICES = 32;
// The job schema's shapes (audit-job.ts). Ids and uuids come off the wire: one that does not fit
// folds into the overflow window rather than becoming a key (or being refused by the consumer).

type Coalesced = Extract<
  DataPlaneAuditFact,
  { action: 'device.registration_refused' } | { action: 'relay.session_refused' }
>;

interface Window {
  readonly action: Coalesced['action'];
  readonly reason: RegistrationRefusal | RelaySessionRefusal;
  readonly overflow: boolean;
  windowEnd: number;
  /** Occurrences since the last entry. */
  pending: number;
  firstAt: number;
  lastAt: number;
  targetId: string | null;
  ip: string | null;
  devices: Set<string>;
}

/**
 * Turns facts into audit jobs, folding the ones a hostile client can repeat at will: a registration
 * refusal per (device id, reason), a relay refusal per (client IP, reason). The first occurrence is
 * written at once; repeats within the window are counted and written as one entry when it closes
 * (`count`, `firstAt`, `lastAt`), and a flood that goes on yields one entry per window.
 * `tick()` closes windows; the producer calls it every second.
 */
export class AuditCoalescer {
  private readonly windows = new Map<string, Window>();
  private readonly windowMs: number;
  private readonly maxKeys: number;
  private readonly now: () => number;
  private keyed = 0;

  constructor(
    private readonly emit: (job: AuditJob) => void,
    private readonly options: AuditCoalescerOptions,
  ) {
    this.windowMs = options.windowMs ?? DEFAULT_COALESCE_WINDOW_MS;
    this.maxKeys = options.maxKeys ?? DEFAULT_MAX_COALESCED_KEYS;
    this.now = options.now ?? Date.now;
  }

  /** Windows open (including the per-reason overflow ones). */
  get size(): number {
    return this.windows.size;
  }

  /** Returns true when the fact became an entry now, false when it was folded into a window. */
  add(fact: DataPlaneAuditFact): boolean {
    const now = this.now();
    switch (fact.action) {
      case 'device.link_closed':
        this.emit({
          ...this.base(now),
          action: fact.action,
          targetType: 'device',
          targetId: fact.deviceId,
          ip: fact.ip,
          details: { reason: fact.reason },
        });
        return true;
      case 'device.id_changed':
        this.emit({
          ...this.base(now),
          action: fact.action,
          targetType: 'device',
          targetId: fact.deviceId,
          ip: fact.ip,
          details: { newId: fact.newId },
        });
        return true;
      case 'relay.session_closed_by_ban':
        this.emit({
          ...this.base(now),
          action: fact.action,
          targetType: 'relay_session',
          targetId: fact.uuid,
          ip: null,
          details: { devices: fact.devices.slice(0, MAX_DEVICES) },
        });
        return true;
      case 'device.registration_refused':
        return DEVICE_ID_PATTERN.test(fact.deviceId)
          ? this.fold(`r|${fact.deviceId}|${fact.reason}`, fact, fact.deviceId, now)
          : this.fold(overflowKey(fact), fact, null, now);
      case 'relay.session_refused':
        return this.fold(
          `s|${fact.ip}|${fact.reason}`,
          fact,
          RELAY_UUID_PATTERN.test(fact.uuid) ? fact.uuid : null,
          now,
        );
    }
  }

  /** Writes the windows that have closed with repeats in them, and forgets the quiet ones. */
  tick(): void {
    const now = this.now();
    for (const [key, window] of this.windows) {
      if (window.windowEnd > now) continue;
      if (window.pending === 0) {
        this.windows.delete(key);
        if (!window.overflow) this.keyed--;
        continue;
      }
      this.emitWindow(window, now);
      window.windowEnd = now + this.windowMs;
    }
  }

  /** Writes every window's repeats now (shutdown) and forgets them all. */
  flushAll(): void {
    const now = this.now();
    for (const window of this.windows.values()) if (window.pending > 0) this.emitWindow(window, now);
    this.windows.clear();
    this.keyed = 0;
  }

  private fold(key: string, fact: Coalesced, targetId: string | null, now: number): boolean {
    let window = this.windows.get(key);
    if (window === undefined && this.keyed >= this.maxKeys) {
      key = overflowKey(fact);
      window = this.windows.get(key);
    }
    const devices =
      fact.action === 'relay.session_refused' ? fact.devices.filter((id) => DEVICE_ID_PATTERN.test(id)) : [];
    if (window !== undefined) {
      if (window.pending === 0) window.firstAt = now;
      window.pending++;
      window.lastAt = now;
      window.ip = fact.ip;
      if (!window.overflow && targetId !== null) window.targetId = targetId;
      for (const id of devices) if (window.devices.size < MAX_DEVICES) window.devices.add(id);
      return false;
    }
    const overflow = key.includes('|*|');
    window = {
      action: fact.action,
      reason: fact.reason,
      overflow,
      windowEnd: now + this.windowMs,
      pending: 1,
      firstAt: now,
      lastAt: now,
      targetId: overflow ? null : targetId,
      ip: fact.ip,
      devices: new Set(devices.slice(0, MAX_DEVICES)),
    };
    this.windows.set(key, window);
    if (!overflow) this.keyed++;
    this.emitWindow(window, now);
    return true;
  }

  private emitWindow(window: Window, now: number): void {
    const summary = {
      count: window.pending,
      firstAt: new Date(window.firstAt).toISOString(),
      lastAt: new Date(window.lastAt).toISOString(),
      ...(window.overflow ? { overflow: true as const } : {}),
    };
    window.pending = 0;
    if (window.action === 'device.registration_refused') {
      this.emit({
        ...this.base(now),
        action: window.action,
        targetType: 'device',
        targetId: window.targetId,
        ip: window.ip,
        details: { reason: window.reason as RegistrationRefusal, ...summary },
      });
    } else {
      this.emit({
        ...this.base(now),
        action: window.action,
        targetType: 'relay_session',
        targetId: window.targetId,
        ip: window.ip,
        details: { reason: window.reason as RelaySessionRefusal, devices: [...window.devices], ...summary },
      });
    }
    window.devices = new Set();
  }

  private base(now: number) {
    return {
      v: AUDIT_JOB_VERSION,
      at: new Date(now).toISOString(),
      actorType: 'system' as const,
      actorId: this.options.actorId,
    };
  }
}

/** The window of everything past the key cap, or with an id that cannot be a key: one per reason. */
function overflowKey(fact: Coalesced): string {
  return `${fact.action}|*|${fact.reason}`;
}
