import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DeviceDenyStateRepository } from '@switchboard/data-access';
import { type Logger } from '@switchboard/observability';
import { RelayAccessLists } from '@switchboard/relay-registry';

import { API_CONFIG, API_LOGGER } from '../app.tokens';
import { type ApiConfig } from '../config';
import { RedisConnection } from '../redis/redis.connection';
import { RedisCopyRepair } from '../redis/redis-copy-repair';

const SYNC_BATCH = 1_000;

/**
 * The relays' durable deny set, `<REDIS_KEY_PREFIX>:relay:denied-devices` (contract in
 * libs/relay-registry relay-access-lists.ts): every RustDesk id banned, revoked or soft-deleted in
 * Postgres. Changes call `sync(ids)` from ChangeRunner's `beforeEvents`, i.e. after their commit and
 * before their event. Each sync writes what Postgres holds *now* for those ids, under per-id advisory
 * locks (DeviceDenyStateRepository), so racing changes cannot leave the set behind Postgres.
 *
 * At start the whole set is rebuilt the same way: the ids denied in Postgres plus every id already in
 * the set are re-synced in batches, so stale entries go and nothing banned meanwhile is lost (there
 * is no swap of a freshly built set that a concurrent SADD could miss). When rebuilds run (start,
 * Redis back, after a failed write) is RedisCopyRepair's.
 */
/** What a change needs of the deny set: re-sync some ids after its commit. */
export type DenySetSync = Pick<DeviceDenySet, 'sync'>;

@Injectable()
export class DeviceDenySet implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly lists: RelayAccessLists;
  private readonly log: Logger;
  private readonly repair: RedisCopyRepair;

  constructor(
    redis: RedisConnection,
    private readonly states: DeviceDenyStateRepository,
    @Inject(API_CONFIG) config: ApiConfig,
    @Inject(API_LOGGER) logger: Logger,
  ) {
    this.lists = new RelayAccessLists({ redis: redis.client, prefix: `${config.REDIS_KEY_PREFIX}:relay` });
    this.log = logger.child({ component: 'deny-set' });
    this.repair = new RedisCopyRepair({
      what: 'relay deny set',
      rebuild: () => this.rebuild(),
      redis: redis.client,
      log: this.log,
      startWaitMs: config.DENY_SET_START_WAIT_MS,
    });
  }

  onApplicationBootstrap(): Promise<void> {
    return this.repair.atStart();
  }

  onApplicationShutdown(): void {
    this.repair.stop();
  }

  /** Makes the set agree with Postgres for these ids. Never throws: a failure schedules a rebuild. */
  async sync(rustdeskIds: readonly string[]): Promise<void> {
    try {
      await this.syncBatch(rustdeskIds);
    } catch (error) {
      this.log.error(
        { err: error, ids: rustdeskIds.length },
        'relay deny set not updated; a rebuild will follow',
      );
      this.repair.soon();
    }
  }

  /** Re-syncs every id denied in Postgres or present in the set; resolves to the set's new size. */
  async rebuild(): Promise<number> {
    const started = performance.now();
    const candidates = await this.lists.deniedDevices();
    for await (const page of this.states.deniedIds()) for (const id of page) candidates.add(id);
    const ids = [...candidates].sort();
    let denied = 0;
    for (let start = 0; start < ids.length; start += SYNC_BATCH) {
      denied += await this.syncBatch(ids.slice(start, start + SYNC_BATCH));
    }
    // Only now is the set whole again: relays that kept their denials through a Redis loss let go.
    await this.lists.markDeniedDevicesRebuilt();
    this.log.info(
      { denied, checked: ids.length, ms: Math.round(performance.now() - started) },
      'relay deny set rebuilt from Postgres',
    );
    return denied;
  }

  private async syncBatch(rustdeskIds: readonly string[]): Promise<number> {
    let deniedCount = 0;
    await this.states.withDenyState(rustdeskIds, async (denied) => {
      deniedCount = denied.size;
      await this.lists.denyDevices([...denied]);
      await this.lists.allowDevices(rustdeskIds.filter((id) => !denied.has(id)));
    });
    return deniedCount;
  }
}
