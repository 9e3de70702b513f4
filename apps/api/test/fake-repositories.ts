import {
  ApiKeyPrefixTakenError,
  type ApiKeyListQuery,
  type ApiKeyPage,
  type ApiKeyRecord,
  type AuditAppendInput,
  type BanStamp,
  type DeviceDetails,
  DeviceIdTakenError,
  type DevicePatch,
  type LockedDevice,
  type ManagedUser,
  type NewApiKey,
  type NewManagedUser,
  type UserProfileChange,
  UsernameTakenError,
} from '@switchboard/data-access';

import { type Change, type Changes, type PendingEvent } from '../src/changes/change-runner';
import { type Repositories } from '../src/database/repositories';
import { type DenySetSync } from '../src/devices/device-deny-set';
import { type RandomSource } from '../src/random/random-source';

/*
 * In-memory stand-ins for the repository interfaces, for unit tests of a service's rules. They model
 * only the state those rules read; the real repositories are covered against Postgres by the
 * integration tests. A method no unit test needs rejects, so a test never passes by accident on one.
 */

// `implements` takes a name, not an indexed access type.
type DeviceAdminStore = Repositories['devices'];
type UserAdminStore = Repositories['userAdmin'];
type UserStore = Repositories['users'];
type ApiKeyStore = Repositories['apiKeys'];

function notFaked(name: string): () => Promise<never> {
  return () => Promise.reject(new Error(`${name} is not faked`));
}

/** A repository no test of this service touches: every call rejects. */
function unfaked<T extends object>(name: string): T {
  return new Proxy({} as T, {
    // `then` stays undefined so the object is never mistaken for a promise.
    get: (_target, method) => (method === 'then' ? undefined : notFaked(`${name}.${String(method)}`)),
  });
}

/** A full bundle: the given fakes, and rejecting stand-ins for the rest. */
export function fakeRepositories(given: Partial<Repositories>): Repositories {
  return {
    users: given.users ?? unfaked('users'),
    userAdmin: given.userAdmin ?? unfaked('userAdmin'),
    credentials: given.credentials ?? unfaked('credentials'),
    recoveryCodes: given.recoveryCodes ?? unfaked('recoveryCodes'),
    sessions: given.sessions ?? unfaked('sessions'),
    refreshTokens: given.refreshTokens ?? unfaked('refreshTokens'),
    apiKeys: given.apiKeys ?? unfaked('apiKeys'),
    devices: given.devices ?? unfaked('devices'),
    registrationTokens: given.registrationTokens ?? unfaked('registrationTokens'),
    relayIpLists: given.relayIpLists ?? unfaked('relayIpLists'),
    settings: given.settings ?? unfaked('settings'),
    userGroups: given.userGroups ?? unfaked('userGroups'),
    deviceGroups: given.deviceGroups ?? unfaked('deviceGroups'),
    clientAccess: given.clientAccess ?? unfaked('clientAccess'),
    deviceSync: given.deviceSync ?? unfaked('deviceSync'),
    strategies: given.strategies ?? unfaked('strategies'),
    addressBooks: given.addressBooks ?? unfaked('addressBooks'),
    deviceStats: given.deviceStats ?? unfaked('deviceStats'),
  };
}

/**
 * ChangeRunner without Postgres or Redis: runs the work on the given repositories and keeps what a
 * committed change would have appended and announced. There is no rollback: the services under test
 * refuse before they write, which is what the tests check.
 */
export class FakeChangeRunner implements Changes {
  readonly audit: AuditAppendInput[] = [];
  readonly events: PendingEvent[] = [];

  constructor(private readonly repositories: Repositories) {}

  async run<T>(work: (repositories: Repositories) => Promise<Change<T>>): Promise<T> {
    const change = await work(this.repositories);
    this.audit.push(...change.audit);
    await change.beforeEvents?.();
    this.events.push(...(change.events ?? []));
    return change.result;
  }

  actions(): string[] {
    return this.audit.map((entry) => entry.action);
  }
}

/** The relays' deny set: records which ids each change asked to re-sync. */
export class FakeDenySet implements DenySetSync {
  readonly synced: string[][] = [];

  sync(rustdeskIds: readonly string[]): Promise<void> {
    this.synced.push([...rustdeskIds]);
    return Promise.resolve();
  }
}

interface FakeDevice {
  rowId: string;
  rustdeskId: string;
  admission: LockedDevice['admission'];
  banned: boolean;
  banReason: string | null;
  bannedAt: Date | null;
  bannedBy: string | null;
  deletedAt: Date | null;
  revokedAt: Date | null;
  createdAt: Date;
}

const EPOCH = new Date('2026-01-01T00:00:00Z');

export class FakeDeviceAdminRepository implements DeviceAdminStore {
  private readonly rows = new Map<string, FakeDevice>();
  private readonly links = new Set<string>();
  private nextRow = 1;

  /** Seeds a device; admitted and clean unless told otherwise. */
  add(rustdeskId: string, state: Partial<Omit<FakeDevice, 'rowId' | 'rustdeskId'>> = {}): FakeDevice {
    const device: FakeDevice = {
      rowId: `row-${this.nextRow++}`,
      rustdeskId,
      admission: 'admitted',
      banned: false,
      banReason: null,
      bannedAt: null,
      bannedBy: null,
      deletedAt: null,
      revokedAt: null,
      createdAt: EPOCH,
      ...state,
    };
    this.rows.set(device.rowId, device);
    return device;
  }

  /** Seeds a link between two seeded devices. */
  addLink(rustdeskId: string, otherId: string): void {
    this.links.add(linkKey(this.row(rustdeskId).rowId, this.row(otherId).rowId));
  }

  find(rustdeskId: string): FakeDevice | undefined {
    return [...this.rows.values()].find((row) => row.rustdeskId === rustdeskId);
  }

  private row(rustdeskId: string): FakeDevice {
    const device = this.find(rustdeskId);
    if (device === undefined) throw new Error(`no fake device ${rustdeskId}`);
    return device;
  }

  private byRow(rowId: string): FakeDevice {
    const device = this.rows.get(rowId);
    if (device === undefined) throw new Error(`no fake device row ${rowId}`);
    return device;
  }

  list = notFaked('devices.list');
  directLinks = notFaked('devices.directLinks');
  admitDeployed = notFaked('devices.admitDeployed');
  listGroups = notFaked('devices.listGroups');
  createGroup = notFaked('devices.createGroup');
  deleteGroup = notFaked('devices.deleteGroup');
  findGroup = notFaked('devices.findGroup');
  findUser = notFaked('devices.findUser');

  findDetails(rustdeskId: string): Promise<DeviceDetails | null> {
    const device = this.find(rustdeskId);
    return Promise.resolve(device === undefined ? null : details(device));
  }

  lock(rustdeskId: string): Promise<LockedDevice | null> {
    const device = this.find(rustdeskId);
    return Promise.resolve(device === undefined ? null : locked(device));
  }

  lockMany(rustdeskIds: readonly string[]): Promise<LockedDevice[]> {
    const wanted = new Set(rustdeskIds);
    const found = [...this.rows.values()].filter((row) => wanted.has(row.rustdeskId));
    return Promise.resolve(found.sort((a, b) => a.rustdeskId.localeCompare(b.rustdeskId)).map(locked));
  }

  readMany(rustdeskIds: readonly string[]): Promise<LockedDevice[]> {
    return this.lockMany(rustdeskIds);
  }

  lockOrCreate(rustdeskId: string): Promise<{ device: LockedDevice; created: boolean }> {
    const existing = this.find(rustdeskId);
    const device = existing ?? this.add(rustdeskId, { admission: 'pending' });
    return Promise.resolve({ device: locked(device), created: existing === undefined });
  }

  update(_rowId: string, _patch: DevicePatch): Promise<void> {
    return Promise.resolve();
  }

  approve(rowId: string): Promise<void> {
    this.byRow(rowId).admission = 'admitted';
    return Promise.resolve();
  }

  ban(rowIds: readonly string[], stamp: BanStamp): Promise<void> {
    for (const rowId of rowIds) {
      Object.assign(this.byRow(rowId), {
        banned: true,
        banReason: stamp.reason,
        bannedAt: stamp.at,
        bannedBy: stamp.actor,
      });
    }
    return Promise.resolve();
  }

  unban(rowId: string): Promise<void> {
    Object.assign(this.byRow(rowId), { banned: false, banReason: null, bannedAt: null, bannedBy: null });
    return Promise.resolve();
  }

  softDelete(rowId: string, at: Date): Promise<void> {
    this.byRow(rowId).deletedAt = at;
    return Promise.resolve();
  }

  hardDelete(rowId: string): Promise<void> {
    this.rows.delete(rowId);
    for (const link of [...this.links]) if (link.split('|').includes(rowId)) this.links.delete(link);
    return Promise.resolve();
  }

  /** As the repository does: an earlier ban keeps its stamp. */
  revoke(rowIds: readonly string[], stamp: BanStamp): Promise<void> {
    for (const rowId of rowIds) {
      const device = this.byRow(rowId);
      if (!device.banned) {
        Object.assign(device, {
          banned: true,
          banReason: stamp.reason,
          bannedAt: stamp.at,
          bannedBy: stamp.actor,
        });
      }
      device.revokedAt ??= stamp.at;
      device.deletedAt ??= stamp.at;
    }
    return Promise.resolve();
  }

  linkedComponent(rustdeskId: string, limit: number): Promise<string[]> {
    const start = this.find(rustdeskId);
    if (start === undefined) return Promise.resolve([]);
    const seen = new Set([start.rowId]);
    const queue = [start.rowId];
    for (let rowId = queue.shift(); rowId !== undefined; rowId = queue.shift()) {
      for (const link of this.links) {
        const [a, b] = link.split('|') as [string, string];
        const other = a === rowId ? b : b === rowId ? a : undefined;
        if (other !== undefined && !seen.has(other)) {
          seen.add(other);
          queue.push(other);
        }
      }
    }
    seen.delete(start.rowId);
    const ids = [...seen].map((rowId) => this.byRow(rowId).rustdeskId).sort();
    return Promise.resolve(ids.slice(0, limit));
  }

  link(rowId: string, otherRowId: string): Promise<boolean> {
    const key = linkKey(rowId, otherRowId);
    const added = !this.links.has(key);
    this.links.add(key);
    return Promise.resolve(added);
  }

  unlink(rowId: string, otherRowId: string): Promise<boolean> {
    return Promise.resolve(this.links.delete(linkKey(rowId, otherRowId)));
  }

  changeId(rowId: string, newId: string): Promise<void> {
    if (this.find(newId) !== undefined) return Promise.reject(new DeviceIdTakenError(newId));
    this.byRow(rowId).rustdeskId = newId;
    return Promise.resolve();
  }
}

function linkKey(rowId: string, otherRowId: string): string {
  return [rowId, otherRowId].sort().join('|');
}

function locked(device: FakeDevice): LockedDevice {
  return {
    rowId: device.rowId,
    rustdeskId: device.rustdeskId,
    admission: device.admission,
    banned: device.banned,
    deleted: device.deletedAt !== null,
    revoked: device.revokedAt !== null,
    uuid: null,
    registrationTokenId: null,
  };
}

function details(device: FakeDevice): DeviceDetails {
  return {
    rustdeskId: device.rustdeskId,
    hostname: null,
    os: null,
    osFamily: null,
    version: null,
    lastIp: null,
    lastSeenAt: null,
    tags: [],
    note: null,
    group: null,
    owner: null,
    admission: device.admission,
    banned: device.banned,
    banReason: device.banReason,
    deletedAt: device.deletedAt,
    revokedAt: device.revokedAt,
    uuid: null,
    pk: null,
    osUsername: null,
    cpu: null,
    memory: null,
    admittedAt: null,
    admittedBy: null,
    registrationToken: null,
    bannedAt: device.bannedAt,
    bannedBy: device.bannedBy,
    createdAt: device.createdAt,
    updatedAt: device.createdAt,
    links: [],
    strategy: null,
  };
}

export class FakeUserAdminRepository implements UserAdminStore {
  private readonly rows = new Map<string, ManagedUser>();
  private nextId = 1;

  /** Seeds a user: an enabled operator unless told otherwise. */
  add(username: string, state: Partial<Omit<ManagedUser, 'id' | 'username'>> = {}): ManagedUser {
    const user: ManagedUser = {
      id: `00000000-0000-4000-8000-${String(this.nextId++).padStart(12, '0')}`,
      username,
      displayName: null,
      email: null,
      note: null,
      role: 'operator',
      disabled: false,
      totpEnabled: false,
      passwordMustChange: false,
      passwordChangedAt: EPOCH,
      lastLoginAt: null,
      createdAt: EPOCH,
      updatedAt: EPOCH,
      ...state,
    };
    this.rows.set(user.id, user);
    return user;
  }

  list = notFaked('userAdmin.list');

  findById(id: string): Promise<ManagedUser | null> {
    const user = this.rows.get(id);
    return Promise.resolve(user === undefined ? null : { ...user });
  }

  findByIdForUpdate(id: string): Promise<ManagedUser | null> {
    return this.findById(id);
  }

  lockAdminRemoval(): Promise<string[]> {
    const admins = [...this.rows.values()].filter((user) => user.role === 'admin' && !user.disabled);
    return Promise.resolve(admins.map((user) => user.id));
  }

  create(user: NewManagedUser): Promise<ManagedUser> {
    const username = user.username.toLowerCase();
    if ([...this.rows.values()].some((row) => row.username === username)) {
      return Promise.reject(new UsernameTakenError(username));
    }
    const { passwordHash: _hash, ...profile } = user;
    return Promise.resolve({ ...this.add(username, profile) });
  }

  update(id: string, change: UserProfileChange): Promise<ManagedUser> {
    return this.patch(id, change);
  }

  setDisabled(id: string, disabled: boolean): Promise<ManagedUser> {
    return this.patch(id, { disabled });
  }

  setPassword(id: string, _hash: string, mustChange: boolean, now: Date): Promise<ManagedUser> {
    return this.patch(id, { passwordMustChange: mustChange, passwordChangedAt: now });
  }

  delete(id: string): Promise<boolean> {
    return Promise.resolve(this.rows.delete(id));
  }

  private async patch(id: string, change: Partial<ManagedUser>): Promise<ManagedUser> {
    const user = this.rows.get(id);
    if (user === undefined) return Promise.reject(new Error(`no fake user ${id}`));
    Object.assign(user, change);
    return Promise.resolve({ ...user });
  }
}

/** The login side of users: records whose logins were ended. */
export class FakeUserRepository implements UserStore {
  readonly loginsRevoked: string[] = [];

  countAdmins = notFaked('users.countAdmins');
  findById = notFaked('users.findById');
  findByUsername = notFaked('users.findByUsername');
  create = notFaked('users.create');

  revokeLogins(userId: string): Promise<{ sessions: number; refreshTokens: number }> {
    this.loginsRevoked.push(userId);
    return Promise.resolve({ sessions: 1, refreshTokens: 0 });
  }
}

export class FakeApiKeyRepository implements ApiKeyStore {
  readonly rows: ApiKeyRecord[] = [];
  private nextId = 1;

  /** Seeds a key for `ownerId`: live (no expiry, not revoked) unless told otherwise. */
  add(ownerId: string, state: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
    const key: ApiKeyRecord = {
      id: `10000000-0000-4000-8000-${String(this.nextId++).padStart(12, '0')}`,
      name: 'seeded',
      prefix: `seeded${String(this.nextId).padStart(6, '0')}`,
      role: 'operator',
      ownerId,
      ownerUsername: null,
      createdAt: EPOCH,
      expiresAt: null,
      lastUsedAt: null,
      lastUsedIp: null,
      revokedAt: null,
      ...state,
    };
    this.rows.push(key);
    return key;
  }

  findCredential = notFaked('apiKeys.findCredential');
  recordUse = notFaked('apiKeys.recordUse');

  create(key: NewApiKey): Promise<ApiKeyRecord> {
    if (this.rows.some((row) => row.prefix === key.prefix))
      return Promise.reject(new ApiKeyPrefixTakenError());
    const { keyHash: _hash, ...rest } = key;
    return Promise.resolve(this.add(key.ownerId, rest));
  }

  countLiveForUpdate(ownerId: string, now: Date): Promise<number> {
    const live = this.rows.filter(
      (row) =>
        row.ownerId === ownerId && row.revokedAt === null && (row.expiresAt === null || row.expiresAt > now),
    );
    return Promise.resolve(live.length);
  }

  findById(id: string): Promise<ApiKeyRecord | null> {
    return Promise.resolve(this.rows.find((row) => row.id === id) ?? null);
  }

  list(query: ApiKeyListQuery): Promise<ApiKeyPage> {
    const mine = this.rows.filter((row) => query.ownerId === undefined || row.ownerId === query.ownerId);
    return Promise.resolve({
      items: mine.slice(query.offset, query.offset + query.limit),
      total: mine.length,
    });
  }

  revoke(id: string, now: Date): Promise<boolean> {
    const key = this.rows.find((row) => row.id === id && row.revokedAt === null);
    if (key !== undefined) key.revokedAt = now;
    return Promise.resolve(key !== undefined);
  }

  revokeAllOf(ownerId: string, now: Date): Promise<number> {
    const live = this.rows.filter((row) => row.ownerId === ownerId && row.revokedAt === null);
    for (const key of live) key.revokedAt = now;
    return Promise.resolve(live.length);
  }
}

/** Randomness a test scripts: `int` answers from `ints` in turn (then 0), `bytes` are all `fill`. */
export class ScriptedRandom implements RandomSource {
  private readonly ints: number[];

  constructor(
    ints: readonly number[] = [],
    private readonly fill = 0x5a,
  ) {
    this.ints = [...ints];
  }

  bytes(size: number): Buffer {
    return Buffer.alloc(size, this.fill);
  }

  int(max: number): number {
    return (this.ints.shift() ?? 0) % max;
  }

  uuid(): string {
    return '00000000-0000-4000-8000-000000000000';
  }
}
