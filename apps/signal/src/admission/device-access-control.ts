import {
  type DeviceAccessRow,
  type DeviceAccessSnapshotOptions,
  type DeviceAccessSnapshotSummary,
  uuidDigest,
} from '@switchboard/data-access';
import { REGISTRATION_POLICY_KEY } from '@switchboard/domain';
import { type EventSubscriber, type ResyncReason } from '@switchboard/events';
import { type Logger, type Registry } from '@switchboard/observability';

import {
  type AccessDecision,
  type DeviceAccessPort,
  type Refusal,
  type RegistrationPolicy,
  type StoredIdentity,
  type StoredUuidMatch,
} from '../ports';
import { AccessIndex } from './access-index';
import {
  BANNED,
  decide,
  DELETED,
  PENDING,
  REVOKED,
  stateOfRow,
  uuidDigestOf,
  withUuidDigest,
} from './access-state';
import { type AccessMetrics, createAccessMetrics } from './admission-metrics';
import { isStricterPolicy, parseRegistrationPolicy } from './registration-policy';
import { StoredIdentityReader, type StoredIdentitySource } from './stored-identity-reader';

/** What the index is loaded from; DeviceRepository is one. */
export interface DeviceAccessSource extends StoredIdentitySource {
  loadAccessSnapshot(
    visit: (page: readonly DeviceAccessRow[]) => void,
    options?: DeviceAccessSnapshotOptions,
  ): Promise<DeviceAccessSnapshotSummary>;
  findAccess(rustdeskId: string): Promise<DeviceAccessRow | null>;
}

/** The relays' deny set in Redis (RelayAccessLists is one): every id banned, revoked or deleted. */
export interface DeniedDeviceSource {
  deniedDevices(): Promise<Set<string>>;
}

/** Writes the row of a device that asked to register under `approval` (DeviceWriteBehind is one). */
export interface PendingDeviceRecorder {
  recordPending(id: string, uuid: Uint8Array, at: Date): void;
}

export type DeniedListener = (ids: readonly string[], refusal: Refusal) => void;
export type RenamedListener = (oldId: string, newId: string) => void;

export interface DeviceAccessControlOptions {
  readonly devices: DeviceAccessSource;
  readonly events: EventSubscriber;
  readonly logger: Logger;
  readonly registry: Registry;
  /** REGISTRATION_POLICY from the config: in force while the settings table holds no `registration.policy`. */
  readonly defaultPolicy: RegistrationPolicy;
  /** Where a new device asking to register under `approval` is recorded as pending. */
  readonly pending?: PendingDeviceRecorder;
  /** Runs before every full reload, e.g. a write-behind flush so the snapshot holds our own rows. */
  readonly beforeReload?: () => Promise<void>;
  readonly snapshotPageSize?: number;
  /**
   * Read before Postgres at start and on every reload, and refused as banned whatever Postgres says:
   * bans are known in the first moments even while Postgres is slow or down.
   */
  readonly denySet?: DeniedDeviceSource;
  /** Longest wait for the deny set; past it the reload goes on without it. Default 2 s. */
  readonly denySetTimeoutMs?: number;
  /** Batching and the cap of stored-identity reads (stored-identity-reader.ts). */
  readonly identityReadBatch?: number;
  readonly maxIdentityReadsWaiting?: number;
  /**
   * If no resync has loaded the index this long after start() (Redis down or slow), load it without
   * the event stream, so known devices are served while Redis is away. Default 3 s.
   */
  readonly loadWithoutEventsAfterMs?: number;
  /** Wait between attempts of that load while Postgres is down. Default 2 s. */
  readonly retryDelayMs?: number;
  readonly now?: () => Date;
}

/**
 * DeviceAccessPort over an in-memory index of every device (access-index.ts), so a check never waits
 * on Postgres or Redis. The index is loaded from Postgres and reloaded in full on every resync of the
 * event stream (start, gap, Redis reconnect) before the subscriber reports ready; in between, the
 * device events of libs/events keep it current and ban/revoke/delete events tell onDenied listeners
 * at once (a reload tells them about bans it finds that the lost events carried).
 *
 * Until the first load has succeeded (Postgres down at start), nothing is known: the open policy then
 * admits everyone but the ids the Redis deny set holds, while token, approval and locked refuse every
 * id, since none can be shown to be admitted. (RegisterPk still needs the id's stored identity,
 * storedUuidMatch: while Postgres cannot say who owns an id, nobody registers it.) After that, while
 * a resync is failing, the last known state is served and `ready` is false.
 *
 * Bans are also read from the relays' deny set in Redis, first, at start and before every reload:
 * an id either source denies is refused (a Redis writer can only add refusals here, never lift one).
 *
 * checkRegistration has one side effect: under `approval`, an unknown id presenting a uuid is
 * recorded as pending. Use checkReachable to ask about an id without registering it.
 */
export class DeviceAccessControl implements DeviceAccessPort {
  private readonly index = new AccessIndex();
  private readonly listeners: DeniedListener[] = [];
  private readonly renamedListeners: RenamedListener[] = [];
  private readonly unsubscribes: Array<() => void>;
  private readonly metrics: AccessMetrics;
  private readonly logger: Logger;
  private readonly now: () => Date;
  private readonly identities: StoredIdentityReader;
  /** The last deny set read from Redis; merged into every snapshot. */
  private deniedInRedis = new Set<string>();
  private denySetLoaded = false;
  private denySetWaiters: (() => void)[] = [];
  private policy: RegistrationPolicy;
  private loaded = false;
  private loadedWaiters: (() => void)[] = [];
  private failingSince: number | undefined;
  private reloads: Promise<void> = Promise.resolve();
  private startupTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: DeviceAccessControlOptions) {
    this.logger = options.logger.child({ component: 'admission' });
    this.now = options.now ?? (() => new Date());
    this.policy = options.defaultPolicy;
    this.identities = new StoredIdentityReader({
      source: options.devices,
      batchSize: options.identityReadBatch,
      maxWaiting: options.maxIdentityReadsWaiting,
    });
    this.metrics = createAccessMetrics(options.registry, {
      devices: () => this.index.size,
      ready: () => this.ready,
    });
    this.metrics.policy(this.policy);
    const { events } = options;
    // Registered at construction, so no event published after the subscriber starts can miss us.
    // An event that tightens access is applied at once; one that relaxes it (unban, approve, hard
    // delete, rename, a laxer policy) only as far as Postgres confirms: Redis alone never opens a door.
    this.unsubscribes = [
      events.onResync((reason) => this.reload(reason)),
      events.on('DeviceBanned', ({ payload }) => this.deny([payload.deviceId], BANNED, 'banned')),
      events.on('DeviceUnbanned', ({ payload }) => {
        // The api takes the id out of the Redis set before it publishes this event; the row decides.
        this.deniedInRedis.delete(payload.deviceId);
        return this.confirmFromDatabase(payload.deviceId, 'unban');
      }),
      events.on('DeviceRevoked', ({ payload }) =>
        this.deny([payload.deviceId, ...payload.cascade], REVOKED, 'revoked'),
      ),
      events.on('DeviceDeleted', async ({ payload }) => {
        this.deny([payload.deviceId], DELETED, 'deleted');
        // A hard-deleted row is gone: the id is unknown again once Postgres says so.
        if (payload.hard) await this.confirmFromDatabase(payload.deviceId, 'hard delete');
      }),
      events.on('DeviceApproved', ({ payload }) => this.confirmFromDatabase(payload.deviceId, 'approval')),
      events.on('DeviceIdChanged', ({ payload }) => this.rename(payload.oldDeviceId, payload.newDeviceId)),
      events.on('ConfigChanged', ({ payload }) =>
        payload.key === REGISTRATION_POLICY_KEY ? this.changePolicy(payload.value) : undefined,
      ),
    ];
  }

  /** Loaded, and resynchronised with the event stream: what /readyz reports. */
  get ready(): boolean {
    return this.loaded && this.options.events.ready;
  }

  get registrationPolicy(): RegistrationPolicy {
    return this.policy;
  }

  get devices(): number {
    return this.index.size;
  }

  /** The admission a device row created now should get (the write-behind asks). */
  admissionForNewDevices(): 'admitted' | 'pending' {
    return this.policy === 'approval' ? 'pending' : 'admitted';
  }

  /** Anything is known about this id (a row, or a ban): so it is not free to be taken by a rename. */
  isKnownDevice(id: string): boolean {
    return this.index.has(id);
  }

  /**
   * The index holds a 24-bit digest of each stored uuid: enough to tell a different machine at once
   * (and spare Postgres a read), never enough to recognise the same one (16M uuids share each value,
   * and the uuid travels in clear). Before the first load nothing is known, so Postgres must say.
   */
  storedUuidMatch(id: string, uuid: Uint8Array): StoredUuidMatch {
    if (!this.loaded) return 'maybe-same';
    const stored = uuidDigestOf(this.index.stateOf(id));
    if (stored === undefined) return 'none';
    return stored === uuidDigest(uuid) ? 'maybe-same' : 'different';
  }

  readStoredIdentity(id: string): Promise<StoredIdentity | null> {
    return this.identities.read(id);
  }

  allowsKeyChange(): boolean {
    return this.policy === 'open';
  }

  /** Resolves true once the index has been loaded from Postgres, or false after `timeoutMs`. */
  whenLoaded(timeoutMs: number): Promise<boolean> {
    if (this.loaded) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.loadedWaiters = this.loadedWaiters.filter((other) => other !== waiter);
        resolve(false);
      }, timeoutMs);
      this.loadedWaiters.push(waiter);
    });
  }

  /** Resolves true once a deny set has been read from Redis (or there is none to read), false after `timeoutMs`. */
  whenDenySetLoaded(timeoutMs: number): Promise<boolean> {
    if (this.denySetLoaded || this.options.denySet === undefined) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.denySetWaiters = this.denySetWaiters.filter((other) => other !== waiter);
        resolve(false);
      }, timeoutMs);
      this.denySetWaiters.push(waiter);
    });
  }

  /**
   * Reads the deny set from Redis at once (bans are enforced before Postgres answers) and schedules
   * the load that serves known devices when no resync has loaded the index in time.
   */
  start(): void {
    if (this.stopped || this.startupTimer !== undefined) return;
    void this.refreshDenySet('start');
    this.scheduleLoadWithoutEvents(this.options.loadWithoutEventsAfterMs ?? 3_000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.startupTimer);
    for (const unsubscribe of this.unsubscribes) unsubscribe();
    await this.reloads.catch(() => undefined);
  }

  checkRegistration(id: string, uuid?: Uint8Array): AccessDecision {
    const state = this.index.stateOf(id);
    const digest = uuid !== undefined && this.policy === 'token' ? uuidDigest(uuid) : undefined;
    const decision = decide(this.policy, state, digest);
    if (decision.allowed) return decision;
    this.metrics.refused('registration', decision.refusal);
    // Before the first load every id looks unknown: only a loaded index can tell a new one.
    if (state === 0 && this.loaded && this.policy === 'approval' && uuid !== undefined && uuid.length > 0) {
      this.recordPending(id, uuid);
    }
    return decision;
  }

  checkReachable(id: string): AccessDecision {
    const decision = decide(this.policy, this.index.stateOf(id));
    if (!decision.allowed) this.metrics.refused('reachable', decision.refusal);
    return decision;
  }

  onDenied(listener: DeniedListener): void {
    this.listeners.push(listener);
  }

  /**
   * A registration was accepted: the index learns its uuid at once, not at the next snapshot, so
   * once the peer leaves memory (an eviction) the id is still known to belong to that machine.
   */
  noteRegistered(id: string, uuid: Uint8Array): void {
    this.index.update(id, (state) => withUuidDigest(state, uuidDigest(uuid)));
  }

  /** An operator's rename, once Postgres confirmed it: the live peer record follows. */
  onRenamed(listener: RenamedListener): void {
    this.renamedListeners.push(listener);
  }

  /** The id moved (TCP RegisterPk id change accepted here): admission and bans move with it. */
  moveDevice(oldId: string, newId: string): void {
    this.index.move(oldId, newId);
  }

  /**
   * Replaces the whole index with a fresh snapshot (reloads run one at a time, each starting after the
   * previous one ended, so a resync's reload always reads Postgres after its baseline).
   */
  reload(reason: ResyncReason | 'policy-changed' | 'without-events'): Promise<void> {
    const run = this.reloads
      .catch(() => undefined)
      // The event stream may have loaded the index while this waited: then it has nothing to add.
      .then(() => (reason === 'without-events' && this.loaded ? undefined : this.loadSnapshot(reason)));
    this.reloads = run;
    return run;
  }

  private async loadSnapshot(reason: string): Promise<void> {
    if (this.options.beforeReload) {
      try {
        await this.options.beforeReload();
      } catch (error) {
        // The snapshot can still be read (and fails, and says so, if Postgres is down).
        const level = this.failingSince === undefined ? 'warn' : 'debug';
        this.logger[level]({ err: error, reason }, 'device writes could not be flushed before the reload');
      }
    }
    await this.refreshDenySet(reason);
    const started = performance.now();
    const reload = this.index.beginReload();
    let summary: DeviceAccessSnapshotSummary;
    try {
      summary = await this.options.devices.loadAccessSnapshot((page) => reload.add(page), {
        pageSize: this.options.snapshotPageSize,
      });
    } catch (error) {
      this.metrics.reloadFailed();
      // One warning per run of failures: a Postgres outage retries every second or two.
      if (this.failingSince === undefined) {
        this.failingSince = Date.now();
        this.logger.warn({ err: error, reason }, 'cannot load the admission index; serving what is known');
      }
      throw error;
    }
    this.applyPolicy(summary.registrationPolicy);
    reload.flag(this.deniedInRedis, BANNED);
    const newlyDenied = reload.commit();
    this.loaded = true;
    for (const waiter of this.loadedWaiters.splice(0)) waiter();
    const seconds = (performance.now() - started) / 1000;
    this.metrics.reloaded(seconds);
    this.logger.info(
      {
        reason,
        devices: summary.devices,
        policy: this.policy,
        ms: Math.round(seconds * 1000),
        failedForMs: this.failingSince === undefined ? undefined : Date.now() - this.failingSince,
      },
      'admission index loaded',
    );
    this.failingSince = undefined;
    for (const [refusal, ids] of newlyDenied) this.notifyDenied(ids, refusal);
  }

  /**
   * Reads the deny set from Redis into `deniedInRedis`, which the next snapshot merges. When it
   * cannot be read in time the last one read is kept (it only ever adds refusals).
   */
  private async refreshDenySet(reason: string): Promise<void> {
    const source = this.options.denySet;
    if (source === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error('deny set read timed out')),
        this.options.denySetTimeoutMs ?? 2_000,
      );
    });
    try {
      this.deniedInRedis = await Promise.race([source.deniedDevices(), timeout]);
      // Until a snapshot has loaded, the index holds only what events said: refuse these now.
      if (!this.loaded) this.applyDenySet(this.deniedInRedis);
      this.denySetLoaded = true;
      for (const waiter of this.denySetWaiters.splice(0)) waiter();
    } catch (error) {
      this.logger.warn({ err: error, reason }, 'cannot read the deny set from Redis; Postgres alone decides');
    } finally {
      clearTimeout(timer);
    }
  }

  private applyDenySet(denied: ReadonlySet<string>): void {
    const newly: string[] = [];
    for (const id of denied) {
      if ((this.index.stateOf(id) & BANNED) !== 0) continue;
      this.index.update(id, (state) => state | BANNED);
      newly.push(id);
    }
    this.logger.info({ denied: denied.size }, 'deny set loaded from Redis before Postgres');
    if (newly.length > 0) this.notifyDenied(newly, 'banned');
  }

  private scheduleLoadWithoutEvents(delayMs: number): void {
    this.startupTimer = setTimeout(() => {
      if (this.loaded || this.stopped) return;
      this.reload('without-events').catch(() => {
        if (!this.stopped) this.scheduleLoadWithoutEvents(this.options.retryDelayMs ?? 2_000);
      });
    }, delayMs);
    this.startupTimer.unref();
  }

  private deny(ids: readonly string[], flag: number, refusal: Refusal): void {
    for (const id of ids) if (flag !== 0) this.index.update(id, (state) => state | flag);
    this.notifyDenied(ids, refusal);
  }

  private notifyDenied(ids: readonly string[], refusal: Refusal): void {
    this.logger.info({ ids: ids.length, refusal, first: ids[0] }, 'devices denied');
    for (const listener of this.listeners) {
      try {
        listener(ids, refusal);
      } catch (error) {
        this.logger.error({ err: error, refusal }, 'onDenied listener failed');
      }
    }
  }

  /**
   * Sets one id from its row: how an event that relaxes access is applied. If the row cannot be
   * read, nothing is relaxed (the next resync reloads everything); no row means the id is unknown.
   */
  private async confirmFromDatabase(id: string, what: string): Promise<void> {
    let row: DeviceAccessRow | null;
    try {
      row = await this.options.devices.findAccess(id);
    } catch (error) {
      this.logger.warn({ err: error, id, what }, 'cannot read the device row; the event is not applied');
      return;
    }
    if (row === null) this.index.delete(id);
    else this.index.set(id, this.stateOf(row));
  }

  /** A row's state, with the relays' deny set in Redis merged in as every snapshot merges it. */
  private stateOf(row: DeviceAccessRow): number {
    const state = stateOfRow(row);
    return this.deniedInRedis.has(row.rustdeskId) ? state | BANNED : state;
  }

  /** Both rows as Postgres has them after the rename; a rename it does not show is not applied. */
  private async rename(oldId: string, newId: string): Promise<void> {
    let rows: [DeviceAccessRow | null, DeviceAccessRow | null];
    try {
      rows = await Promise.all([
        this.options.devices.findAccess(oldId),
        this.options.devices.findAccess(newId),
      ]);
    } catch (error) {
      this.logger.warn(
        { err: error, oldId, newId },
        'cannot read the device rows; the rename is not applied',
      );
      return;
    }
    const [oldRow, newRow] = rows;
    if (newRow === null) {
      this.logger.warn({ oldId, newId }, 'rename announced but Postgres has no row for the new id; ignored');
      return;
    }
    this.index.set(newId, this.stateOf(newRow));
    if (oldRow === null) this.index.delete(oldId);
    else this.index.set(oldId, this.stateOf(oldRow));
    for (const listener of this.renamedListeners) {
      try {
        listener(oldId, newId);
      } catch (error) {
        this.logger.error({ err: error, oldId, newId }, 'onRenamed listener failed');
      }
    }
  }

  private async changePolicy(value: unknown): Promise<void> {
    const announced = parseRegistrationPolicy(value, this.options.defaultPolicy);
    // Stricter than what is in force: safe to apply before Postgres is asked.
    if (announced !== undefined && isStricterPolicy(announced, this.policy)) this.applyPolicy(announced);
    // The stored setting decides (the reload applies it); devices that joined under the previous
    // policy may be known only to Postgres too, and a stricter policy must see them.
    try {
      await this.reload('policy-changed');
    } catch (error) {
      this.logger.error(
        { err: error, announced: value, kept: this.policy },
        'reload after a registration policy change failed; next resync retries',
      );
    }
  }

  private applyPolicy(value: unknown): void {
    const policy = parseRegistrationPolicy(value, this.options.defaultPolicy);
    if (policy === undefined) {
      this.logger.error(
        { value, kept: this.policy },
        'registration.policy is not a policy; keeping the current one',
      );
      return;
    }
    if (policy === this.policy) return;
    this.logger.info({ from: this.policy, to: policy }, 'registration policy changed');
    this.policy = policy;
    this.metrics.policy(policy);
  }

  private recordPending(id: string, uuid: Uint8Array): void {
    this.index.set(id, withUuidDigest(PENDING, uuidDigest(uuid)));
    this.options.pending?.recordPending(id, uuid, this.now());
    this.logger.info({ id }, 'new device waits for approval');
  }
}
