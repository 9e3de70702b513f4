import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { type EventSigningKey, RedisEventBus, type ResyncReason } from '@switchboard/events';
import { type Logger } from '@switchboard/observability';

import { API_CONFIG, API_EVENT_SIGNING_KEY, API_LOGGER } from '../../app.tokens';
import { type ApiConfig } from '../../config';
import { MetricsRegistry } from '../../metrics/metrics.registry';
import { type LiveSource, LiveHub } from '../live-hub';

/** How long start waits for the subscription before the hello goes out anyway (Redis may be down). */
const READY_WAIT_MS = 3_000;

/**
 * Device changes from the signed event bus (libs/events), the one every api replica publishes on, so a
 * ban made through one replica reaches consoles on all of them as soon as Redis delivers it. Frames are
 * verified with the api's own key: nobody else who can write to Redis can make one. Subscribed from the
 * first console on, then for the life of the process (one Redis connection; events with no console
 * connected cost nothing).
 */
@Injectable()
export class DeviceEventFeed implements LiveSource, OnApplicationShutdown {
  readonly name = 'events';
  private bus: RedisEventBus | undefined;
  private readonly log: Logger;

  constructor(
    private readonly hub: LiveHub,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(API_EVENT_SIGNING_KEY) private readonly signingKey: EventSigningKey,
    @Inject(API_LOGGER) logger: Logger,
    private readonly metrics: MetricsRegistry,
  ) {
    this.log = logger.child({ component: 'live' });
    hub.addSource(this);
  }

  async start(): Promise<void> {
    const bus = (this.bus ??= this.subscribe());
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      bus.whenReady().catch(() => undefined),
      new Promise((resolve) => (timer = setTimeout(resolve, READY_WAIT_MS))),
    ]);
    clearTimeout(timer);
  }

  async stop(): Promise<void> {
    // Stays subscribed: see the class comment.
  }

  async onApplicationShutdown(): Promise<void> {
    await this.bus?.stop();
  }

  private subscribe(): RedisEventBus {
    const bus = new RedisEventBus({
      redis: this.config.REDIS_URL,
      prefix: `${this.config.REDIS_KEY_PREFIX}:events`,
      verifyKey: this.signingKey.verifyKey,
      logger: this.log,
      registry: this.metrics.registry,
    });
    const { hub } = this;
    bus.on('DeviceBanned', ({ payload }) =>
      hub.send('device.banned', {
        id: payload.deviceId,
        reason: payload.reason ?? null,
        actor: payload.actor,
      }),
    );
    bus.on('DeviceUnbanned', ({ payload }) =>
      hub.send('device.unbanned', { id: payload.deviceId, actor: payload.actor }),
    );
    bus.on('DeviceApproved', ({ payload }) =>
      hub.send('device.approved', { id: payload.deviceId, actor: payload.actor }),
    );
    bus.on('DeviceDeleted', ({ payload }) =>
      hub.send('device.deleted', { id: payload.deviceId, hard: payload.hard, actor: payload.actor }),
    );
    bus.on('DeviceRevoked', ({ payload }) =>
      hub.send('device.revoked', { id: payload.deviceId, cascade: payload.cascade, actor: payload.actor }),
    );
    bus.on('DeviceIdChanged', ({ payload }) =>
      hub.send('device.id-changed', {
        oldId: payload.oldDeviceId,
        newId: payload.newDeviceId,
        actor: payload.actor,
      }),
    );
    // Password change, user disabled or deleted, sessions revoked by an admin: end those streams now.
    bus.on('UserSessionsRevoked', ({ payload }) => hub.recheckUser(payload.userId));
    bus.onResync((reason: ResyncReason) => {
      if (reason !== 'start') hub.send('resync', { reason: 'events-gap', scope: ['devices'] });
    });
    bus.start().catch((error: unknown) => {
      this.log.warn({ err: error }, 'live event subscription stopped');
    });
    return bus;
  }
}
