import { type EventEnvelope } from './envelope';
import { type EventPayload, type EventType } from './event-map';

/**
 * Why a subscriber must reload its full state (the deny set) from the durable store:
 * `start` before the first event, `gap` after a missed sequence number or an unreadable event,
 * `reconnect` after its Redis subscription was re-established (pub/sub drops messages meanwhile).
 */
export type ResyncReason = 'start' | 'gap' | 'reconnect';

export type EventHandler<T extends EventType> = (event: EventEnvelope<T>) => void | Promise<void>;
export type ResyncHandler = (reason: ResyncReason) => void | Promise<void>;

/** pino-compatible; any pino logger fits. */
export interface EventBusLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface EventPublisher {
  /** Validates the payload (throws on a bad one), publishes it and resolves to its sequence number. */
  publish<T extends EventType>(type: T, payload: EventPayload<T>): Promise<number>;
}

export interface EventSubscriber {
  /** Handlers run one event at a time in seq order; their errors are logged, never rethrown. Returns an unsubscribe. */
  on<T extends EventType>(type: T, handler: EventHandler<T>): () => void;
  /**
   * Resync handlers run (awaited, in registration order) before any event after a start, gap or reconnect.
   * If one throws, the whole resync is retried after a delay and the subscriber stays not ready.
   */
  onResync(handler: ResyncHandler): () => void;
  /** Resolves once subscribed and the first resync has succeeded; rejects if stopped first. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** True while subscribed and resynchronised: what a service's /readyz reports. */
  readonly ready: boolean;
  /** Resolves the next time the subscriber is ready (at once if it is); rejects if stopped first. */
  whenReady(): Promise<void>;
}
