import { Inject, Injectable } from '@nestjs/common';
import { LiveFeedRepository } from '@switchboard/data-access';
import { type Logger } from '@switchboard/observability';

import { API_CLOCK, API_CONFIG, API_LOGGER } from '../../app.tokens';
import { type ApiConfig } from '../../config';
import { type Clock } from '../../time/clock';
import { LiveHub } from '../live-hub';
import { LiveMetrics } from '../live-metrics';
import { PollingSource } from '../polling-source';

/** What changed between two online sets. */
export interface PresenceDiff {
  readonly online: string[];
  readonly offline: string[];
}

export function diffPresence(before: ReadonlySet<string>, now: ReadonlySet<string>): PresenceDiff {
  const online: string[] = [];
  const offline: string[] = [];
  for (const id of now) if (!before.has(id)) online.push(id);
  for (const id of before) if (!now.has(id)) offline.push(id);
  return { online, offline };
}

/**
 * device.online / device.offline, as the devices list computes `online`: seen within
 * DEVICE_ONLINE_WINDOW_SECONDS (last_seen_at, written by signal and the client API's heartbeat).
 * Signal writes heartbeats late and in batches (up to a minute, with the time they were seen), so no
 * "written since" query can find every arrival: each poll reads the whole online set (one string,
 * see live-feed.sql.ts) and diffs it against the last. One poll per replica, however many consoles.
 */
@Injectable()
export class PresenceWatcher extends PollingSource {
  private online: ReadonlySet<string> = new Set();

  constructor(
    private readonly feed: LiveFeedRepository,
    private readonly hub: LiveHub,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(API_CLOCK) private readonly clock: Clock,
    @Inject(API_LOGGER) logger: Logger,
    metrics: LiveMetrics,
  ) {
    super({
      name: 'presence',
      intervalMs: config.LIVE_PRESENCE_POLL_MS,
      log: logger.child({ component: 'live' }),
      metrics,
    });
    hub.addSource(this);
  }

  protected async baseline(): Promise<void> {
    this.online = await this.read();
  }

  protected async poll(): Promise<void> {
    const now = await this.read();
    const { online, offline } = diffPresence(this.online, now);
    this.online = now;
    if (online.length + offline.length > this.config.LIVE_MAX_BATCH) {
      this.hub.send('devices.changed', { online: online.length, offline: offline.length });
      return;
    }
    for (const id of online) this.hub.send('device.online', { id });
    for (const id of offline) this.hub.send('device.offline', { id });
  }

  protected recovered(): void {
    this.hub.send('resync', { reason: 'source-recovered', scope: ['devices'] });
  }

  private async read(): Promise<Set<string>> {
    const since = this.clock.now().getTime() - this.config.DEVICE_ONLINE_WINDOW_SECONDS * 1000;
    return new Set(await this.feed.onlineDeviceIds(new Date(since)));
  }
}
