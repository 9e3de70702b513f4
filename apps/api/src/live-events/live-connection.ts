import { type WebSocket } from 'ws';

import { type LiveViewer } from './live-admission';
import { LIVE_CLOSE, type LiveMessageType } from './live-message';
import { type LiveDropReason } from './live-metrics';

export interface LiveConnectionLimits {
  /** Bytes queued in the socket before the client counts as too slow and is dropped. */
  readonly maxBufferedBytes: number;
}

export interface LiveConnectionEvents {
  sent(type: LiveMessageType): void;
  dropped(reason: LiveDropReason): void;
}

/**
 * One console's socket: `opening` until its hello is sent (frames broadcast before that are not for
 * it: it fetches after the hello), then `open` until either side ends it. Every send checks the queue
 * first, so a console that stops reading costs at most maxBufferedBytes, then it is dropped.
 */
export class LiveConnection {
  private state: 'opening' | 'open' | 'closing' = 'opening';
  /** Pings sent since the last pong. */
  private missedPongs = 0;
  /** A heartbeat tick has passed since the close began. */
  private closeWaited = false;

  constructor(
    readonly socket: WebSocket,
    readonly viewer: LiveViewer,
    private readonly limits: LiveConnectionLimits,
    private readonly events: LiveConnectionEvents,
  ) {
    socket.on('pong', () => (this.missedPongs = 0));
  }

  get open(): boolean {
    return this.state === 'open';
  }

  /** Sends the first frame; from now on broadcasts reach this connection. */
  greet(type: LiveMessageType, frame: string): void {
    if (this.state !== 'opening') return;
    this.state = 'open';
    this.deliver(type, frame);
  }

  /** Sends `frame` if this viewer may receive `type`. */
  deliver(type: LiveMessageType, frame: string): void {
    if (this.state !== 'open' || !this.viewer.receives.has(type)) return;
    if (this.socket.bufferedAmount + frame.length > this.limits.maxBufferedBytes) {
      this.end('too_slow', LIVE_CLOSE.tooSlow, 'too slow: reconnect and refetch');
      return;
    }
    this.socket.send(frame);
    this.events.sent(type);
  }

  /**
   * One heartbeat tick: false (and the socket terminated) when the last two pings went unanswered, or
   * when a close begun before the previous tick never completed (a peer that stopped reading cannot
   * finish it); a close begun since then gets until the next tick, so its frame can still go out.
   */
  heartbeat(): boolean {
    if (this.state === 'closing') {
      if (this.closeWaited) this.socket.terminate();
      this.closeWaited = true;
      return false;
    }
    if (this.missedPongs >= 2) {
      this.state = 'closing';
      this.events.dropped('no_pong');
      this.socket.terminate();
      return false;
    }
    this.missedPongs += 1;
    this.socket.ping();
    return true;
  }

  /** The socket is gone (either side closed it): nothing more to send. */
  closed(): void {
    this.state = 'closing';
  }

  /** Closes with `code` and stops sending; the next heartbeat tick terminates it if the close hangs. */
  end(reason: LiveDropReason, code: number, text: string): void {
    if (this.state === 'closing') return;
    this.state = 'closing';
    this.events.dropped(reason);
    this.socket.close(code, text);
  }
}
