import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import {
  type AuditCheckpoint,
  type CheckpointReading,
  isAuthenticChainHead,
  isAuthenticCheckpoint,
  signCheckpoint,
} from '@switchboard/audit';
import { type Logger } from '@switchboard/observability';

import { API_CLOCK, API_CONFIG, API_LOGGER, API_RANDOM, API_SECRETS } from '../app.tokens';
import { type ApiConfig } from '../config';
import { type RandomSource } from '../random/random-source';
import { RedisConnection } from '../redis/redis.connection';
import { type ApiSecrets } from '../secrets';
import { type Clock } from '../time/clock';
import {
  type CheckpointStore,
  checkpointRedisKey,
  FileCheckpointStore,
  formatCheckpoint,
  RedisCheckpointStore,
} from './audit-checkpoint-stores';
import { AuditLog } from './audit-log';

/**
 * Anchors the audit chain's head outside Postgres: every AUDIT_CHECKPOINT_INTERVAL_SECONDS the MAC'd
 * head record becomes a checkpoint in Redis, in AUDIT_CHECKPOINT_FILE when set, and in the log. Someone
 * who can rewrite the database (cut the tail and roll the head record back to an older copy, or empty
 * both) then still has to reach every checkpoint, and the log, to hide it.
 *
 * A checkpoint only moves forward: one that is ahead of the head, from another chain, or not ours is
 * evidence, left in place for verify to report (an operator clears it after looking into it).
 */
@Injectable()
export class AuditCheckpoints implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log: Logger;
  private readonly stores: readonly CheckpointStore[];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly audit: AuditLog,
    redis: RedisConnection,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(API_SECRETS) private readonly secrets: ApiSecrets,
    @Inject(API_CLOCK) private readonly clock: Clock,
    @Inject(API_LOGGER) logger: Logger,
    @Inject(API_RANDOM) random: RandomSource,
  ) {
    this.log = logger.child({ component: 'audit-checkpoints' });
    const file = config.AUDIT_CHECKPOINT_FILE;
    this.stores = [
      new RedisCheckpointStore(redis.client, checkpointRedisKey(config.REDIS_KEY_PREFIX)),
      ...(file === undefined ? [] : [new FileCheckpointStore(file, random)]),
    ];
  }

  onApplicationBootstrap(): void {
    // Not awaited: an api whose database is down still starts (readiness reports it).
    this.ensureHeadRecord().catch((error: unknown) =>
      this.log.warn({ err: error }, 'audit head record not checked at start'),
    );
    this.timer = setInterval(() => {
      this.running ??= this.checkpoint()
        .then(() => undefined)
        .catch((error: unknown) => this.log.error({ err: error }, 'audit checkpoint failed'))
        .finally(() => (this.running = undefined));
    }, this.config.AUDIT_CHECKPOINT_INTERVAL_SECONDS * 1000);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /**
   * A chain written before the head record existed (an upgrade) gets one through an ordinary append,
   * recorded as `audit.head_created`, so verify does not report it missing until the next change. A head
   * record deleted on purpose is re-created the same way only by a restart, and that entry, the
   * checkpoints and the logged heads all show it.
   */
  async ensureHeadRecord(): Promise<void> {
    const repository = this.audit.repository;
    if ((await repository.readHeadRecord()) !== null || (await repository.firstHash()) === null) return;
    this.log.warn('the audit chain has no head record; appending audit.head_created to create it');
    await this.audit.record({ actorType: 'system', actorId: 'api', action: 'audit.head_created' });
  }

  /** Every store's checkpoint; a store that cannot be reached is left out (and logged), not a failure. */
  async readAll(): Promise<CheckpointReading[]> {
    const readings: CheckpointReading[] = [];
    for (const store of this.stores) {
      try {
        const checkpoint = await store.read();
        if (checkpoint !== null) readings.push({ source: store.source, checkpoint });
      } catch (error) {
        this.log.warn({ err: error, source: store.source }, 'audit checkpoint unavailable to verify');
      }
    }
    return readings;
  }

  /** Writes the current head to every store that does not hold a later or conflicting one. */
  async checkpoint(): Promise<AuditCheckpoint | null> {
    const keyring = this.secrets.auditKeyring;
    const head = await this.audit.repository.readHeadRecord();
    const firstHash = await this.audit.repository.firstHash();
    if (head === null || firstHash === null) return null;
    if (!isAuthenticChainHead(head, keyring)) {
      this.log.error({ seq: head.seq.toString() }, 'audit head record is not authentic; not checkpointed');
      return null;
    }
    const checkpoint = signCheckpoint(
      { seq: head.seq, hash: head.hash, firstHash, at: this.clock.now() },
      keyring,
    );
    // The log line is an anchor too: shipped logs are out of the database operators' reach.
    this.log.info(
      { auditCheckpoint: JSON.parse(formatCheckpoint(checkpoint)) as unknown },
      'audit checkpoint',
    );
    for (const store of this.stores) {
      try {
        const conflict = this.conflictWith(await store.read(), checkpoint);
        if (conflict === null) await store.write(checkpoint);
        else this.log.error({ source: store.source, conflict }, 'audit checkpoint kept: the chain disagrees');
      } catch (error) {
        this.log.warn({ err: error, source: store.source }, 'audit checkpoint not written');
      }
    }
    return checkpoint;
  }

  private conflictWith(stored: AuditCheckpoint | 'unreadable' | null, next: AuditCheckpoint): string | null {
    if (stored === null) return null;
    if (stored === 'unreadable' || !isAuthenticCheckpoint(stored, this.secrets.auditKeyring))
      return 'the stored checkpoint is not one this server signed';
    if (!stored.firstHash.equals(next.firstHash)) return 'the chain restarted since the stored checkpoint';
    if (stored.seq > next.seq)
      return `the head (seq ${next.seq}) is behind the checkpoint (seq ${stored.seq})`;
    return null;
  }
}
