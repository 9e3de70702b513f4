import { Global, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import {
  type EventPayload,
  type EventPublisher,
  type EventSigningKey,
  type EventType,
  RedisEventBus,
} from '@switchboard/events';
import { type Logger } from '@switchboard/observability';

import { API_CONFIG, API_EVENT_SIGNING_KEY, API_LOGGER } from '../app.tokens';
import { type ApiConfig } from '../config';

/**
 * The api's side of libs/events: it only publishes (signal and relay subscribe). One bus, opened
 * lazily, on the deployment's `<REDIS_KEY_PREFIX>:events` channel; every frame signed with the key
 * only the api holds, so subscribers can tell its events from anything else written to Redis.
 */
@Injectable()
export class ControlEvents implements EventPublisher, OnApplicationShutdown {
  private readonly bus: RedisEventBus;

  constructor(
    @Inject(API_CONFIG) config: ApiConfig,
    @Inject(API_LOGGER) logger: Logger,
    @Inject(API_EVENT_SIGNING_KEY) signingKey: EventSigningKey,
  ) {
    this.bus = new RedisEventBus({
      redis: config.REDIS_URL,
      prefix: `${config.REDIS_KEY_PREFIX}:events`,
      signingKey,
      logger: logger.child({ component: 'events' }),
    });
  }

  publish<T extends EventType>(type: T, payload: EventPayload<T>): Promise<number> {
    return this.bus.publish(type, payload);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.bus.stop();
  }
}

@Global()
@Module({ providers: [ControlEvents], exports: [ControlEvents] })
export class EventsModule {}
