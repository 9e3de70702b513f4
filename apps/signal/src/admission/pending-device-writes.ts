/**
 * What the device write-behind has not written yet, coalesced per id so its size is bounded by the
 * number of devices, never by the number of messages: a device's latest registration replaces the
 * previous one, and heartbeats only move one timestamp forward.
 */

export interface PendingRegistration {
  readonly uuid: Uint8Array;
  /** null: keep the stored value (a pending record carries no key or address yet). */
  readonly pk: Uint8Array | null;
  readonly ip: string | null;
  /** Epoch milliseconds; heartbeats after the registration move it forward. */
  seenAt: number;
  readonly admissionIfNew: 'admitted' | 'pending';
  /** Set when an id change moved this record: the id it was recorded under. */
  renamedFrom?: string;
}

export interface PendingSeen {
  ip: string;
  at: number;
  renamedFrom?: string;
}

export interface IdChange {
  readonly oldId: string;
  readonly newId: string;
}

/** A flush's share of the pending writes. The flush deletes what it wrote; restore() takes back the rest. */
export interface DeviceWriteBatch {
  readonly idChanges: IdChange[];
  readonly registrations: Map<string, PendingRegistration>;
  readonly seen: Map<string, PendingSeen>;
}

export class PendingDeviceWrites {
  private registrations = new Map<string, PendingRegistration>();
  private seen = new Map<string, PendingSeen>();
  private idChanges: IdChange[] = [];
  /** Renames recorded while a batch is out, to re-key whatever that batch gives back. */
  private renamesSinceTake: IdChange[] | undefined;

  get size(): number {
    return this.registrations.size + this.seen.size + this.idChanges.length;
  }

  get registrationCount(): number {
    return this.registrations.size + this.idChanges.length;
  }

  get seenCount(): number {
    return this.seen.size;
  }

  /** The latest registration of an id wins; a heartbeat recorded meanwhile is folded into it. */
  register(id: string, registration: PendingRegistration): void {
    const seen = this.seen.get(id);
    if (seen !== undefined) {
      registration.seenAt = Math.max(registration.seenAt, seen.at);
      this.seen.delete(id);
    }
    // Still the renamed device: if its rename fails, this must not land on the id's other owner.
    registration.renamedFrom ??= this.registrations.get(id)?.renamedFrom ?? seen?.renamedFrom;
    this.registrations.set(id, registration);
  }

  /** For a pending-approval record: never replaces a real registration of the same id. */
  registerIfAbsent(id: string, registration: PendingRegistration): void {
    if (!this.registrations.has(id)) this.register(id, registration);
  }

  see(id: string, ip: string, at: number): void {
    const registration = this.registrations.get(id);
    if (registration !== undefined) {
      registration.seenAt = Math.max(registration.seenAt, at);
      return;
    }
    const seen = this.seen.get(id);
    if (seen === undefined) {
      this.seen.set(id, { ip, at });
    } else if (at >= seen.at) {
      // Updated in place: a heartbeat allocates nothing once its device has an entry.
      seen.at = at;
      seen.ip = ip;
    }
  }

  /** Queues the rename and moves the id's unwritten records to the new id. */
  rename(oldId: string, newId: string): void {
    const change = { oldId, newId };
    this.idChanges.push(change);
    this.renamesSinceTake?.push(change);
    const registration = this.registrations.get(oldId);
    if (registration !== undefined) {
      this.registrations.delete(oldId);
      registration.renamedFrom = oldId;
      this.registrations.set(newId, registration);
    }
    const seen = this.seen.get(oldId);
    if (seen !== undefined) {
      this.seen.delete(oldId);
      seen.renamedFrom = oldId;
      this.seen.set(newId, seen);
    }
  }

  /** Hands everything over to a flush (heartbeats only when `includeSeen`), leaving this empty. */
  take(includeSeen: boolean): DeviceWriteBatch {
    const batch = {
      idChanges: this.idChanges,
      registrations: this.registrations,
      seen: includeSeen ? this.seen : new Map<string, PendingSeen>(),
    };
    this.idChanges = [];
    this.registrations = new Map();
    if (includeSeen) this.seen = new Map();
    this.renamesSinceTake = [];
    return batch;
  }

  /** The flush wrote its whole batch. */
  settle(): void {
    this.renamesSinceTake = undefined;
  }

  /**
   * Gives back what a failed flush did not write, under anything recorded since (newer wins, and
   * timestamps only move forward). Renames recorded since apply to what comes back, and its
   * unapplied id changes go before the newer ones, so the order of events is kept.
   */
  restore(batch: DeviceWriteBatch): void {
    const renames = this.renamesSinceTake ?? [];
    this.renamesSinceTake = undefined;
    const currentId = (id: string) =>
      renames.reduce((key, change) => (change.oldId === key ? change.newId : key), id);
    this.idChanges = [...batch.idChanges, ...this.idChanges];
    for (const [id, registration] of batch.registrations) {
      const key = currentId(id);
      const newer = this.registrations.get(key);
      if (newer !== undefined) {
        newer.seenAt = Math.max(newer.seenAt, registration.seenAt);
        continue;
      }
      this.register(key, registration);
    }
    for (const [id, seen] of batch.seen) this.see(currentId(id), seen.ip, seen.at);
  }
}
