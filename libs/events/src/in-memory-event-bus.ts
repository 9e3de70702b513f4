import { AsyncLocalStorage } from 'node:async_hooks';

import pino from 'pino';

import { validatePayload, type EventEnvelope } from './envelope';
import {
  type EventBusLogger,
  type EventHandler,
  type EventPublisher,
  type EventSubscriber,
  type ResyncHandler,
} from './event-bus';
import { type EventPayload, type EventType } from './event-map';
import { EventSigningKey } from './event-signing';
import { SequencedDispatcher } from './sequenced-dispatcher';

const CHANNEL = 'in-memory';

export interface InMemoryEventBusOptions {
  /** Defaults to a fresh key: frames the bus publishes are signed like the Redis bus's. */
  signingKey?: EventSigningKey;
  logger?: EventBusLogger;
  now?: () => Date;
  resyncRetryDelayMs?: number;
}

/**
 * The Redis bus's semantics without Redis, for unit tests of publishers and subscribers: same
 * validation, same wire encoding, same ordering and resync rules, plus hooks to provoke a gap or a
 * reconnect. `publish` resolves after the event has been handled (and any resync it caused has run),
 * except when called from inside a handler, where waiting would deadlock.
 */
export class InMemoryEventBus implements EventPublisher, EventSubscriber {
  private readonly dispatcher: SequencedDispatcher;
  /** Set (for handlers and whatever they start) while a handler runs: see settleUnlessInsideHandler. */
  private readonly insideHandler = new AsyncLocalStorage<true>();
  private readonly now: () => Date;
  private readonly signingKey: EventSigningKey;
  private seq = 0;
  private toDrop = 0;

  constructor(options: InMemoryEventBusOptions = {}) {
    this.now = options.now ?? (() => new Date());
    this.signingKey = options.signingKey ?? EventSigningKey.generate();
    const verifyKey = this.signingKey.verifyKey;
    this.dispatcher = new SequencedDispatcher({
      logger: options.logger ?? pino({ name: 'events' }),
      resyncRetryDelayMs: options.resyncRetryDelayMs ?? 10,
      readBaseline: () => Promise.resolve(this.seq),
      authenticate: (frame) => verifyKey.open(CHANNEL, frame),
      aroundHandler: (call) => this.insideHandler.run(true, call),
    });
  }

  /** The last sequence number handed out. */
  get currentSeq(): number {
    return this.seq;
  }

  get ready(): boolean {
    return this.dispatcher.ready;
  }

  async publish<T extends EventType>(type: T, payload: EventPayload<T>): Promise<number> {
    const valid = validatePayload(type, payload);
    const envelope: EventEnvelope<T> = {
      type,
      seq: ++this.seq,
      at: this.now().toISOString(),
      payload: valid,
    };
    if (this.toDrop > 0) {
      this.toDrop -= 1;
      return envelope.seq;
    }
    // Through JSON like the Redis bus, so subscribers never see publisher-owned objects.
    await this.receiveSigned(JSON.stringify(envelope));
    return envelope.seq;
  }

  on<T extends EventType>(type: T, handler: EventHandler<T>): () => void {
    return this.dispatcher.on(type, handler);
  }

  onResync(handler: ResyncHandler): () => void {
    return this.dispatcher.onResync(handler);
  }

  async start(): Promise<void> {
    this.dispatcher.start();
    await this.dispatcher.whenReady();
  }

  whenReady(): Promise<void> {
    return this.dispatcher.whenReady();
  }

  stop(): Promise<void> {
    return this.dispatcher.stop();
  }

  /** Test hook: the next `count` events take a seq but are lost, as a dropped pub/sub message would be. */
  dropNext(count = 1): void {
    this.toDrop += count;
  }

  /** Test hook: as if the subscriber connection dropped and came back; resolves after the resync. */
  async simulateReconnect(): Promise<void> {
    this.dispatcher.markDisconnected();
    this.dispatcher.requestResync('reconnect');
    await this.settleUnlessInsideHandler();
  }

  /** Test hook: takes the next seq without publishing, for a hand-made message passed to `receiveRaw`. */
  reserveSeq(): number {
    return ++this.seq;
  }

  /** Test hook: a raw message as read off the channel (unsigned or malformed ones are logged and dropped). */
  async receiveRaw(message: string): Promise<void> {
    this.dispatcher.receive(message);
    await this.settleUnlessInsideHandler();
  }

  /** Test hook: a hand-made envelope, signed with the bus's key as the api would sign it. */
  receiveSigned(envelopeJson: string): Promise<void> {
    return this.receiveRaw(this.signingKey.seal(CHANNEL, envelopeJson));
  }

  /** Frames dropped because their signature did not hold. */
  get rejectedFrames(): number {
    return this.dispatcher.rejectedFrames;
  }

  /** Resolves once every event so far has been handled and no resync is pending. */
  flush(): Promise<void> {
    return this.dispatcher.whenIdle();
  }

  private async settleUnlessInsideHandler(): Promise<void> {
    if (this.insideHandler.getStore() !== true) await this.dispatcher.whenIdle();
  }
}
