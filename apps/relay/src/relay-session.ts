import { type SessionBudget } from './bandwidth';
import { RelayPipe } from './pipe';
import { type CloseReason, type RelayConnection } from './relay-connection';

/** Which end a byte came from: the side whose RequestRelay named a peer id is the controller. */
export type Direction = 'from-controller' | 'from-controlled';

export interface SessionEnd {
  readonly connection: RelayConnection;
  /** Bytes it sent after its RequestRelay, before the pair existed. */
  readonly buffered: Buffer;
  readonly isController: boolean;
}

/**
 * Two paired connections and the two pipes between them. Either side closing ends both (hbbr); the
 * core watches activity, limits and bans from its sweep and closes the session when they say so.
 */
export class RelaySession {
  readonly devices: Set<string>;
  readonly startedAt: number;
  downgraded = false;
  /** Activity bookkeeping for the idle sweep: the byte count seen last and when it last changed. */
  lastSeenBytes = 0;
  lastActiveAt: number;
  /** Bytes already added to the metrics, per direction. */
  readonly reported = { 'from-controller': 0, 'from-controlled': 0 };
  private readonly forward: RelayPipe;
  private readonly backward: RelayPipe;
  private closing = false;

  constructor(
    readonly uuid: string,
    readonly first: SessionEnd,
    readonly second: SessionEnd,
    devices: Iterable<string>,
    readonly budget: SessionBudget,
    now: number,
  ) {
    this.devices = new Set(devices);
    this.startedAt = now;
    this.lastActiveAt = now;
    this.forward = new RelayPipe(first.connection.reader, second.connection.stream, budget);
    this.backward = new RelayPipe(second.connection.reader, first.connection.stream, budget);
  }

  get connections(): readonly [RelayConnection, RelayConnection] {
    return [this.first.connection, this.second.connection];
  }

  get bytes(): number {
    return this.forward.bytes + this.backward.bytes;
  }

  bytesFrom(direction: Direction): number {
    const fromFirst = this.first.isController === (direction === 'from-controller');
    return fromFirst ? this.forward.bytes : this.backward.bytes;
  }

  start(): void {
    this.first.connection.phase = 'paired';
    this.second.connection.phase = 'paired';
    this.forward.start(this.first.buffered);
    this.backward.start(this.second.buffered);
  }

  /** Stops relaying and closes both ends; `from` (the end that went away) is not waited for. */
  close(reason: CloseReason, from?: RelayConnection): void {
    if (this.closing) return;
    this.closing = true;
    this.forward.stop();
    this.backward.stop();
    for (const connection of this.connections) {
      if (connection === from) continue;
      // What one side sent before leaving still reaches the other, as hbbr's loop delivers it first.
      if (from !== undefined) connection.close('partner-closed');
      else connection.destroy(reason);
    }
  }
}
