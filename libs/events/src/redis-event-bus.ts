import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';

import { Redis, type RedisOptions } from 'ioredis';
import pino from 'pino';

import { type Registry } from '@switchboard/observability';

import { validatePayload } from './envelope';
import {
  type EventBusLogger,
  type EventHandler,
  type EventPublisher,
  type EventSubscriber,
  type ResyncHandler,
} from './event-bus';
import { type EventPayload, type EventType } from './event-map';
import { createEventMetrics } from './event-metrics';
import { type EventSigningKey, type EventVerifyKey } from './event-signing';
import { SequencedDispatcher } from './sequenced-dispatcher';

export const DEFAULT_EVENTS_PREFIX = 'switchboard:events';

export interface RedisEventBusOptions {
  /** A redis:// URL or ioredis options; the bus opens its own two connections from it. */
  redis: string | RedisOptions;
  /** Channel name, and prefix of the sequence key (`<prefix>:seq`). Tests pass a unique one. */
  prefix?: string;
  /** Required to publish: the api's key (EVENTS_SIGNING_KEY). Subscribing then verifies with its public half. */
  signingKey?: EventSigningKey;
  /** Required to subscribe unless `signingKey` is given: frames not signed by its private half are dropped. */
  verifyKey?: EventVerifyKey;
  logger?: EventBusLogger;
  now?: () => Date;
  /** Wait before retrying a resync whose handler (or Redis read) failed. */
  resyncRetryDelayMs?: number;
  /** A subscriber's metrics go here (event-metrics.ts); a bus that only publishes needs none. */
  registry?: Registry;
}

// The signature covers the seq, so the publisher must know it before signing: it reads the seq,
// signs the envelope for seq+1, and this script publishes it only if the seq is still what was read
// (else it answers the current seq and the publisher signs again). Redis runs scripts one at a time,
// so seq N still reaches the channel before seq N+1 whichever api replica sent them.
// A publisher that loses the race claims the next turn (KEYS[2], with a short expiry in case it dies):
// while the claim stands only its owner may publish. Without it, a publisher that publishes
// back to back can win every round, since its next attempt is already on its way while the loser
// learns the new seq (seen with two buses in one process: one lost 100 times running).
const PUBLISH_SCRIPT = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local claim = redis.call('GET', KEYS[2])
if claim and claim ~= ARGV[4] then return {2, current} end
if current ~= tonumber(ARGV[1]) then
  redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[5])
  return {0, current}
end
local seq = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', ARGV[3], ARGV[2])
if claim then redis.call('DEL', KEYS[2]) end
return {1, seq}
`;

/** Whoever publishes when: published, the seq had moved (turn claimed), another publisher's turn. */
const PUBLISHED = 1;
const ANOTHER_TURN = 2;
/** How long a publisher that lost a round holds the next turn for itself. */
const TURN_CLAIM_MS = 500;
/** A publish gives up after this long (Redis answering, but the turn never coming). */
const PUBLISH_TIMEOUT_MS = 10_000;

interface PublishingRedis extends Redis {
  publishEvent(
    seqKey: string,
    turnKey: string,
    expectedSeq: number,
    frame: string,
    channel: string,
    publisherId: string,
    turnClaimMs: number,
  ): Promise<[outcome: number, seq: number]>;
}

/**
 * Events over Redis pub/sub with a global sequence number. One instance can publish, subscribe, or both;
 * it owns a command connection (publish, read the seq) and a subscriber connection, both opened lazily.
 */
export class RedisEventBus implements EventPublisher, EventSubscriber {
  readonly channel: string;
  readonly seqKey: string;
  /** Who holds the next publish turn (PUBLISH_SCRIPT), and this instance's name in it. */
  private readonly turnKey: string;
  private readonly publisherId = randomUUID();
  private readonly commands: PublishingRedis;
  private readonly subscriber: Redis;
  private readonly dispatcher: SequencedDispatcher;
  private readonly logger: EventBusLogger;
  private readonly now: () => Date;
  private readonly signingKey: EventSigningKey | undefined;
  private readonly verifyKey: EventVerifyKey | undefined;
  private publishing: Promise<unknown> = Promise.resolve();
  private knownSeq: number | undefined;
  private subscriberWasReady = false;
  private stopped = false;

  constructor(options: RedisEventBusOptions) {
    const prefix = options.prefix ?? DEFAULT_EVENTS_PREFIX;
    this.channel = prefix;
    this.seqKey = `${prefix}:seq`;
    this.turnKey = `${prefix}:publish-turn`;
    this.logger = options.logger ?? pino({ name: 'events' });
    this.now = options.now ?? (() => new Date());
    this.signingKey = options.signingKey;
    this.verifyKey = options.verifyKey ?? options.signingKey?.verifyKey;

    const base = typeof options.redis === 'string' ? { url: options.redis } : { options: options.redis };
    const name = (typeof options.redis === 'string' ? undefined : options.redis.connectionName) ?? prefix;
    this.commands = openConnection(base, { connectionName: `${name}:commands` }) as PublishingRedis;
    this.commands.defineCommand('publishEvent', { numberOfKeys: 2, lua: PUBLISH_SCRIPT });
    // We subscribe again ourselves inside every resync, so ioredis must not do it behind our back.
    this.subscriber = openConnection(base, { connectionName: `${name}:subscriber`, autoResubscribe: false });

    this.dispatcher = new SequencedDispatcher({
      logger: this.logger,
      resyncRetryDelayMs: options.resyncRetryDelayMs ?? 1000,
      readBaseline: () => this.readBaseline(),
      authenticate: (frame) =>
        this.verifyKey ? this.verifyKey.open(this.channel, frame) : { problem: 'no verify key configured' },
      ...(options.registry && {
        metrics: createEventMetrics(options.registry, this, () => this.now().getTime()),
      }),
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

  /** As a subscriber: the seq its state reflects (service-health.ts reports it as lag behind the seq key). */
  get appliedSeq(): number {
    return this.dispatcher.appliedSeq;
  }

  /** Frames dropped because their signature did not hold (forged, or signed with another key). */
  get rejectedFrames(): number {
    return this.dispatcher.rejectedFrames;
  }

  async publish<T extends EventType>(type: T, payload: EventPayload<T>): Promise<number> {
    if (this.stopped) throw new Error('event bus stopped');
    const signingKey = this.signingKey;
    if (!signingKey) throw new Error('event bus has no signing key: it cannot publish');
    const valid = validatePayload(type, payload);
    // One at a time per instance: concurrent publishes from one process would only fight over the seq.
    const published = this.publishing.then(() => this.publishSigned(signingKey, type, valid));
    this.publishing = published.catch(() => undefined);
    return published;
  }

  on<T extends EventType>(type: T, handler: EventHandler<T>): () => void {
    return this.dispatcher.on(type, handler);
  }

  onResync(handler: ResyncHandler): () => void {
    return this.dispatcher.onResync(handler);
  }

  async start(): Promise<void> {
    if (this.stopped) throw new Error('event bus stopped');
    if (!this.verifyKey) throw new Error('event bus has no verify key: it cannot subscribe');
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

  private async publishSigned<T extends EventType>(
    signingKey: EventSigningKey,
    type: T,
    payload: EventPayload<T>,
  ): Promise<number> {
    const at = this.now().toISOString();
    // A guess; when another publisher moved the seq since, the script says where it is now.
    this.knownSeq ??= await this.readSeq();
    const deadline = performance.now() + PUBLISH_TIMEOUT_MS;
    for (let attempt = 1; ; attempt += 1) {
      const body = JSON.stringify({ type, seq: this.knownSeq + 1, at, payload });
      const frame = signingKey.seal(this.channel, body);
      const [outcome, seq] = await this.commands.publishEvent(
        this.seqKey,
        this.turnKey,
        this.knownSeq,
        frame,
        this.channel,
        this.publisherId,
        TURN_CLAIM_MS,
      );
      this.knownSeq = seq;
      if (outcome === PUBLISHED) return seq;
      if (performance.now() > deadline) {
        throw new Error(`could not publish ${type}: no turn to publish in ${attempt} attempts`);
      }
      // Our turn comes once the claimant has published: let it.
      if (outcome === ANOTHER_TURN) await delay(1);
    }
  }

  private async readBaseline(): Promise<number> {
    // Subscribed first: anything published after the GET below is then sure to reach us.
    await this.subscriber.subscribe(this.channel);
    return this.readSeq();
  }

  private async readSeq(): Promise<number> {
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
