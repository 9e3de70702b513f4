import { type DeviceAccessRow } from '@switchboard/data-access';

import { type Refusal } from '../ports';
import { deniedBy, DENY_MASK, stateOfRow } from './access-state';

/** Ids that became denied, grouped by the refusal they now get. */
export type NewlyDenied = Map<Refusal, string[]>;

/**
 * Every known device's packed access state (access-state.ts), by RustDesk id. Absent means nothing
 * is known, which the policy decides on (open admits, locked refuses...). A full reload builds a new
 * map beside the live one and swaps it in, so checks keep being answered while it loads.
 */
export class AccessIndex {
  private states = new Map<string, number>();

  get size(): number {
    return this.states.size;
  }

  stateOf(id: string): number {
    return this.states.get(id) ?? 0;
  }

  /** Anything is known about the id: a row, a pending record of ours, or a deny flag from an event. */
  has(id: string): boolean {
    return this.states.has(id);
  }

  set(id: string, state: number): void {
    if (state === 0) this.states.delete(id);
    else this.states.set(id, state);
  }

  update(id: string, change: (state: number) => number): number {
    const next = change(this.stateOf(id));
    this.set(id, next);
    return next;
  }

  delete(id: string): boolean {
    return this.states.delete(id);
  }

  /** Moves an id's state to a new id (a rename keeps admission and bans); false when nothing moved. */
  move(oldId: string, newId: string): boolean {
    const state = this.states.get(oldId);
    if (state === undefined || oldId === newId) return false;
    this.states.delete(oldId);
    this.states.set(newId, state);
    return true;
  }

  /** Starts a reload: returns a builder that swaps the new contents in when committed. */
  beginReload(): AccessIndexReload {
    return new AccessIndexReload((next) => this.swap(next));
  }

  private swap(next: Map<string, number>): NewlyDenied {
    const previous = this.states;
    this.states = next;
    // Bans and deletions that happened while events were lost: their live links must close now.
    const newlyDenied: NewlyDenied = new Map();
    for (const [id, state] of next) {
      if ((state & DENY_MASK) === 0) continue;
      const before = previous.get(id) ?? 0;
      if ((state & DENY_MASK & ~before) === 0) continue;
      const refusal = deniedBy(state);
      if (refusal === undefined) continue;
      const ids = newlyDenied.get(refusal) ?? [];
      ids.push(id);
      newlyDenied.set(refusal, ids);
    }
    return newlyDenied;
  }
}

export class AccessIndexReload {
  private readonly next = new Map<string, number>();
  private committed = false;

  constructor(private readonly swap: (next: Map<string, number>) => NewlyDenied) {}

  add(rows: readonly DeviceAccessRow[]): void {
    for (const row of rows) this.next.set(row.rustdeskId, stateOfRow(row));
  }

  /** Sets `flag` on each of these ids, known or not (a deny list from elsewhere). */
  flag(ids: Iterable<string>, flag: number): void {
    for (const id of ids) this.next.set(id, (this.next.get(id) ?? 0) | flag);
  }

  /** Replaces the live contents; returns the ids whose deny flags were not set before. */
  commit(): NewlyDenied {
    if (this.committed) throw new Error('reload already committed');
    this.committed = true;
    return this.swap(this.next);
  }
}
