import { type RelayTicketView } from './ports';
import { type RelayConnection } from './relay-connection';

/** Which of the ticket's two source networks an end came from (both when A and B share one). */
export interface TicketSides {
  readonly requester: boolean;
  readonly answerer: boolean;
}

export interface WaitingPeer {
  readonly uuid: string;
  readonly connection: RelayConnection;
  readonly buffered: Buffer;
  /** Devices its ticket (and RequestRelay) named. */
  readonly devices: ReadonlySet<string>;
  readonly isController: boolean;
  /** Strict mode: the ticket it was admitted on, which the second end is checked against too. */
  readonly admission?: { readonly ticket: RelayTicketView; readonly sides: TicketSides };
}

/** The second end must come from the side of the ticket the first end did not. */
export function completesTicket(first: TicketSides, second: TicketSides): boolean {
  return (first.requester && second.answerer) || (first.answerer && second.requester);
}

/**
 * Admitted connections waiting for their partner, by uuid (hbbr's PEERS map): the first to arrive
 * waits, the second takes it. A waiter is dropped after `timeoutMs`, as hbbr sleeps 30 s and removes it.
 */
export class WaitingRoom {
  private readonly waiting = new Map<string, { peer: WaitingPeer; timer: NodeJS.Timeout }>();

  constructor(
    private readonly timeoutMs: number,
    private readonly onTimeout: (peer: WaitingPeer) => void,
  ) {}

  get size(): number {
    return this.waiting.size;
  }

  /** Waits `peer` under its uuid; a connection already waiting there is returned to be closed. */
  wait(peer: WaitingPeer): WaitingPeer | undefined {
    const displaced = this.take(peer.uuid);
    const timer = setTimeout(() => {
      if (this.waiting.get(peer.uuid)?.peer !== peer) return;
      this.waiting.delete(peer.uuid);
      this.onTimeout(peer);
    }, this.timeoutMs);
    this.waiting.set(peer.uuid, { peer, timer });
    return displaced;
  }

  has(uuid: string): boolean {
    return this.waiting.has(uuid);
  }

  /** The peer waiting on `uuid`, left in the room. */
  peek(uuid: string): WaitingPeer | undefined {
    return this.waiting.get(uuid)?.peer;
  }

  /** The peer waiting on `uuid`, removed from the room. */
  take(uuid: string): WaitingPeer | undefined {
    const entry = this.waiting.get(uuid);
    if (!entry) return undefined;
    clearTimeout(entry.timer);
    this.waiting.delete(uuid);
    return entry.peer;
  }

  /** Forgets a connection that closed while waiting. */
  remove(connection: RelayConnection, uuid: string): void {
    if (this.waiting.get(uuid)?.peer.connection === connection) this.take(uuid);
  }

  peers(): WaitingPeer[] {
    return [...this.waiting.values()].map((entry) => entry.peer);
  }
}
