import { Redis, type RedisOptions } from 'ioredis';
import pino from 'pino';

import { validatePayload } from './envelope';
import {
  type EventBusLogger,
  type EventHandler,
  type EventPublisher,
  type EventSubscriber,
  type ResyncHandler,
} from './event-bus';
import { type EventPayload, type EventType } from './event-map';
import { SequencedDispatcher } from './sequenced-dispatcher';

export const DEFAULT_EVENTS_PREFIX = 'switchboard:events';

export interface RedisEventBusOptions {
  /** A redis:// URL or ioredis options; the bus opens its own two connections from it. */
  redis: string | RedisOptions;
  /** Channel name, and prefix of the sequence key (`<prefix>:seq`). Tests pass a unique one. */
  prefix?: string;
  logger?: EventBusLogger;
  now?: () => Date;
  /** Wait before retrying a resync whose handler (or Redis read) failed. */
  resyncRetryDelayMs?: number;
}

// INCR and PUBLISH in one script: Redis runs scripts one at a time, so seq N always reaches the
// channel before seq N+1 whichever publisher sent them. The envelope is assembled here because only
// the script knows the seq; the payload arrives already JSON-encoded and validated.
const PUBLISH_SCRIPT = `
local seq = redis.call('INCR', KEYS[1])
local envelope = '{"type":' .. cjson.encode(ARGV[1]) .. ',"seq":' .. seq .. ',"at":' .. cjson.encode(ARGV[2]) .. ',"payload":' .. ARGV[3] .. '}'
redis.call('PUBLISH', ARGV[4], envelope)
return seq
`;

interface PublishingRedis extends Redis {
  publishEvent(
    seqKey: string,
    type: string,
    at: string,
    payloadJson: string,
    channel: string,
  ): Promise<number>;
}

/**
 * Events over Redis pub/sub with a global sequence number. One instance can publish, subscribe, or both;
 * it owns a command connection (publish, read the seq) and a subscriber connection, both opened lazily.
 */
export class RedisEventBus implements EventPublisher, EventSubscriber {
  readonly channel: string;
  readonly seqKey: string;
  private readonly commands: PublishingRedis;
  private readonly subscriber: Redis;
  private readonly dispatcher: SequencedDispatcher;
  private readonly logger: EventBusLogger;
  private readonly now: () => Date;
  private subscriberWasReady = false;
  private stopped = false;

  constructor(options: RedisEventBusOptions) {
    const prefix = options.prefix ?? DEFAULT_EVENTS_PREFIX;
    this.channel = prefix;
    this.seqKey = `${prefix}:seq`;
    this.logger = options.logger ?? pino({ name: 'events' });
    this.now = options.now ?? (() => new Date());

    const base = typeof options.redis === 'string' ? { url: options.redis } : { options: options.redis };
    const name = (typeof options.redis === 'string' ? undefined : options.redis.connectionName) ?? prefix;
    this.commands = openConnection(base, { connectionName: `${name}:commands` }) as PublishingRedis;
    this.commands.defineCommand('publishEvent', { numberOfKeys: 1, lua: PUBLISH_SCRIPT });
    // We subscribe again ourselves inside every resync, so ioredis must not do it behind our back.
    this.subscriber = openConnection(base, { connectionName: `${name}:subscriber`, autoResubscribe: false });

    this.dispatcher = new SequencedDispatcher({
      logger: this.logger,
      resyncRetryDelayMs: options.resyncRetryDelayMs ?? 1000,
      readBaseline: () => this.readBaseline(),
    });
    this.watch(this.commands, 'commands');
    this.watch(this.subscriber, 'subscriber');
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.channel) this.dispatcher.receive(message);
    });
    this.subscriber.on('ready', () => {
      // The first 'ready' belongs to the start resync already under way; later ones are reconnects.
      if (this.subscriberWasReady) this.dispatcher.requestResync('reconnect');
      this.subscriberWasReady = true;
    });
    this.subscriber.on('close', () => {
      if (this.subscriberWasReady) this.dispatcher.markDisconnected();
    });
  }

  get ready(): boolean {
    return this.dispatcher.ready;
  }

  async publish<T extends EventType>(type: T, payload: EventPayload<T>): Promise<number> {
    if (this.stopped) throw new Error('event bus stopped');
    const valid = validatePayload(type, payload);
    const at = this.now().toISOString();
    return this.commands.publishEvent(this.seqKey, type, at, JSON.stringify(valid), this.channel);
  }

  on<T extends EventType>(type: T, handler: EventHandler<T>): () => void {
    return this.dispatcher.on(type, handler);
  }

  onResync(handler: ResyncHandler): () => void {
    return this.dispatcher.onResync(handler);
  }

  async start(): Promise<void> {
    if (this.stopped) throw new Error('event bus stopped');
    this.dispatcher.start();
    await this.dispatcher.whenReady();
  }

  whenReady(): Promise<void> {
    return this.dispatcher.whenReady();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // Close first so a resync blocked on Redis fails fast instead of holding stop() up.
    const dispatcherStopped = this.dispatcher.stop();
    await Promise.all([this.close(this.subscriber, 'subscriber'), this.close(this.commands, 'commands')]);
    await dispatcherStopped;
  }

  private async readBaseline(): Promise<number> {
    // Subscribed first: anything published after the GET below is then sure to reach us.
    await this.subscriber.subscribe(this.channel);
    const raw = await this.commands.get(this.seqKey);
    const seq = raw === null ? 0 : Number(raw);
    if (!Number.isSafeInteger(seq) || seq < 0)
      throw new Error(`${this.seqKey} holds "${raw}", not a sequence number`);
    return seq;
  }

  private watch(connection: Redis, role: string): void {
    connection.on('error', (error: Error) => {
      this.logger.warn({ err: error, role, channel: this.channel }, 'event bus redis connection error');
    });
  }

  private async close(connection: Redis, role: string): Promise<void> {
    if (connection.status === 'end') return;
    if (connection.status !== 'ready') {
      connection.disconnect();
      return;
    }
    try {
      await connection.quit();
    } catch (error) {
      this.logger.warn({ err: error, role }, 'event bus redis quit failed; disconnecting');
      connection.disconnect();
    }
  }
}

function openConnection(
  base: { url: string } | { options: RedisOptions },
  overrides: Partial<RedisOptions>,
): Redis {
  const options: RedisOptions = { ...overrides, lazyConnect: true };
  return 'url' in base ? new Redis(base.url, options) : new Redis({ ...base.options, ...options });
}
