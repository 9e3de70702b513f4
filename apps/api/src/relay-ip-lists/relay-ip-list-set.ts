import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { type RelayIpListName, RelayIpListStateRepository } from '@switchboard/data-access';
import { type Logger } from '@switchboard/observability';
import { RelayAccessLists } from '@switchboard/relay-registry';

import { API_CONFIG, API_LOGGER } from '../app.tokens';
import { type ApiConfig } from '../config';
import { RedisConnection } from '../redis/redis.connection';
import { RedisCopyRepair } from '../redis/redis-copy-repair';

const LISTS: readonly RelayIpListName[] = ['blocklist', 'blacklist'];

/**
 * The relays' managed IP lists in Redis, `<REDIS_KEY_PREFIX>:relay:blocklist` and `:blacklist`
 * (contract in libs/relay-registry relay-access-lists.ts), kept equal to relay_ip_list_entries.
 * A change calls `sync()` after its commit and before its event; a sync and a full rebuild both run
 * under one advisory lock with the rows read after taking it (RelayIpListStateRepository), so racing
 * changes cannot leave a list behind Postgres. The lists are small (operators type them), so every
 * write makes the whole of both lists equal to the rows. After each complete write a fresh rebuild
 * id tells relays that kept their entries through a Redis data loss that the lists are whole again.
 */
@Injectable()
export class RelayIpListSet implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly lists: RelayAccessLists;
  private readonly log: Logger;
  private readonly repair: RedisCopyRepair;

  constructor(
    redis: RedisConnection,
    private readonly states: RelayIpListStateRepository,
    @Inject(API_CONFIG) config: ApiConfig,
    @Inject(API_LOGGER) logger: Logger,
  ) {
    this.lists = new RelayAccessLists({ redis: redis.client, prefix: `${config.REDIS_KEY_PREFIX}:relay` });
    this.log = logger.child({ component: 'relay-ip-lists' });
    this.repair = new RedisCopyRepair({
      what: 'relay IP lists',
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

  /** After a committed change. Never throws: a failure schedules a rebuild. */
  async sync(): Promise<void> {
    try {
      await this.rebuild();
    } catch (error) {
      this.log.error({ err: error }, 'relay IP lists not updated; a rebuild will follow');
      this.repair.soon();
    }
  }

  /** Makes both Redis lists equal to Postgres, then marks them rebuilt; resolves to their sizes. */
  async rebuild(): Promise<Record<RelayIpListName, number>> {
    const sizes = { blocklist: 0, blacklist: 0 };
    await this.states.withEntries(async (entries) => {
      for (const list of LISTS) {
        const wanted = entries[list];
        const held = await this.lists.ipList(list);
        await this.lists.addToIpList(
          list,
          [...wanted].filter((address) => !held.has(address)),
        );
        await this.lists.removeFromIpList(
          list,
          [...held].filter((address) => !wanted.has(address)),
        );
        sizes[list] = wanted.size;
      }
      await this.lists.markIpListsRebuilt();
    });
    this.log.debug(sizes, 'relay IP lists written from Postgres');
    return sizes;
  }
}
