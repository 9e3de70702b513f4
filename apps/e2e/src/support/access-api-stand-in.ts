import { createHash, randomBytes } from 'node:crypto';

import { Redis } from 'ioredis';

import { createPrismaClient, type PrismaClient } from '@switchboard/data-access';
import { REGISTRATION_POLICY_KEY } from '@switchboard/domain';
import { type EventPayload, type EventType, RedisEventBus } from '@switchboard/events';
import { createLogger } from '@switchboard/observability';
import { E2E_EVENT_SIGNING_KEY } from './control-keys';

// What the api will do to devices, done as docs/architecture.md "Ban / revoke" says:
// write Postgres first, then publish the typed event on the same Redis prefix the signal process
// listens on. Every change can also be made with no event, as when the event is lost (pub/sub is
// fire-and-forget), so a test can show that signal's resync finds it in Postgres on its own.

export type Policy = 'open' | 'token' | 'approval' | 'locked';

export interface ApiStandInOptions {
  readonly databaseUrl: string;
  readonly redisUrl: string;
  /** The signal process's REDIS_KEY_PREFIX; its events live under `<prefix>:events`. */
  readonly redisKeyPrefix: string;
}

export interface Change {
  /** false: Postgres only, as when the api's event never reaches the subscriber. */
  readonly event?: boolean;
}

export interface DeviceSnapshot {
  readonly rustdeskId: string;
  readonly admission: string;
  readonly uuid: Uint8Array | null;
  readonly pk: Uint8Array | null;
  readonly banned: boolean;
  readonly deletedAt: Date | null;
  readonly revokedAt: Date | null;
}

const ACTOR = 'user:e2e-admin';

export class ApiStandIn {
  private constructor(
    readonly prisma: PrismaClient,
    private readonly events: RedisEventBus,
    private readonly redis: Redis,
  ) {}

  static create(options: ApiStandInOptions): ApiStandIn {
    const events = new RedisEventBus({
      redis: options.redisUrl,
      prefix: `${options.redisKeyPrefix}:events`,
      signingKey: E2E_EVENT_SIGNING_KEY,
      logger: createLogger({ name: 'e2e-api-stand-in', level: 'silent' }),
    });
    return new ApiStandIn(
      createPrismaClient(options.databaseUrl, { applicationName: 'e2e-api-stand-in', maxConnections: 2 }),
      events,
      new Redis(options.redisUrl, { lazyConnect: true }),
    );
  }

  /**
   * Opens the Postgres and Redis connections with a change nobody acts on (a setting signal does not
   * read), so the first timed change measures the path to the device, not connection set-up.
   */
  async warmUp(): Promise<void> {
    const key = 'e2e.warm-up';
    await this.prisma.setting.upsert({
      where: { key },
      create: { key, value: true, updatedBy: ACTOR },
      update: { value: true, updatedBy: ACTOR },
    });
    await this.events.publish('ConfigChanged', { key, value: true, actor: ACTOR });
  }

  async ban(id: string, change: Change = {}): Promise<void> {
    await this.prisma.device.update({
      where: { rustdeskId: id },
      data: { banned: true, banReason: 'e2e', bannedAt: new Date(), bannedBy: ACTOR },
    });
    await this.publish(change, 'DeviceBanned', { deviceId: id, reason: 'e2e', actor: ACTOR });
  }

  async unban(id: string, change: Change = {}): Promise<void> {
    await this.prisma.device.update({
      where: { rustdeskId: id },
      data: { banned: false, banReason: null, bannedAt: null, bannedBy: null },
    });
    await this.publish(change, 'DeviceUnbanned', { deviceId: id, actor: ACTOR });
  }

  /** Revokes `id` and the devices linked to it, in one transaction, then one event naming them all. */
  async revoke(id: string, cascade: readonly string[], change: Change = {}): Promise<void> {
    await this.prisma.device.updateMany({
      where: { rustdeskId: { in: [id, ...cascade] } },
      data: { revokedAt: new Date() },
    });
    await this.publish(change, 'DeviceRevoked', { deviceId: id, cascade: [...cascade], actor: ACTOR });
  }

  /** Soft delete keeps the row (so the id cannot come back); hard delete removes it. */
  async delete(id: string, hard: boolean, change: Change = {}): Promise<void> {
    if (hard) await this.prisma.device.delete({ where: { rustdeskId: id } });
    else await this.prisma.device.update({ where: { rustdeskId: id }, data: { deletedAt: new Date() } });
    await this.publish(change, 'DeviceDeleted', { deviceId: id, hard, actor: ACTOR });
  }

  /**
   * POST /api/devices/deploy with a valid registration token: the device row is admitted for this id,
   * uuid and key (the client sends base64 of the same uuid bytes it puts in RegisterPk).
   */
  async deploy(device: { id: string; uuid: Uint8Array; pk: Uint8Array }, change: Change = {}): Promise<void> {
    const secret = randomBytes(24).toString('base64url');
    const token = await this.prisma.registrationToken.create({
      data: {
        name: `e2e deploy ${device.id}`,
        prefix: secret.slice(0, 12),
        tokenHash: createHash('sha256').update(secret).digest(),
        useCount: 1,
      },
    });
    const admitted = {
      uuid: Buffer.from(device.uuid),
      pk: Buffer.from(device.pk),
      admission: 'admitted' as const,
      admittedAt: new Date(),
      admittedBy: `token:${token.prefix}`,
      registrationTokenId: token.id,
    };
    await this.prisma.device.upsert({
      where: { rustdeskId: device.id },
      create: { rustdeskId: device.id, ...admitted },
      update: admitted,
    });
    await this.publish(change, 'DeviceApproved', { deviceId: device.id, actor: ACTOR });
  }

  /** An admin approves a device waiting under the approval policy. */
  async approve(id: string, change: Change = {}): Promise<void> {
    await this.prisma.device.update({
      where: { rustdeskId: id },
      data: { admission: 'admitted', admittedAt: new Date(), admittedBy: ACTOR },
    });
    await this.publish(change, 'DeviceApproved', { deviceId: id, actor: ACTOR });
  }

  /** A device row the api knows with no registration behind it yet (an admin added it by hand). */
  async addDevice(id: string, admission: 'admitted' | 'pending' | 'rejected'): Promise<void> {
    await this.prisma.device.create({ data: { rustdeskId: id, admission } });
  }

  /** PUT of the `registration.policy` setting: the row first, then ConfigChanged. */
  async setRegistrationPolicy(policy: Policy, change: Change = {}): Promise<void> {
    await this.prisma.setting.upsert({
      where: { key: REGISTRATION_POLICY_KEY },
      create: { key: REGISTRATION_POLICY_KEY, value: policy, updatedBy: ACTOR },
      update: { value: policy, updatedBy: ACTOR },
    });
    await this.publish(change, 'ConfigChanged', {
      key: REGISTRATION_POLICY_KEY,
      value: policy,
      actor: ACTOR,
    });
  }

  /** What anyone who can write to Redis can do: an unsigned event with the next seq, straight on the channel. */
  async forge<T extends EventType>(type: T, payload: EventPayload<T>): Promise<void> {
    const seq = Number((await this.redis.get(this.events.seqKey)) ?? 0) + 1;
    await this.redis.publish(
      this.events.channel,
      JSON.stringify({ type, seq, at: new Date().toISOString(), payload }),
    );
  }

  /** A correctly signed event whose change was never written to Postgres (a replay, an api bug). */
  async announceOnly<T extends EventType>(type: T, payload: EventPayload<T>): Promise<void> {
    await this.events.publish(type, payload);
  }

  /**
   * Takes a sequence number no message will carry, as a publish whose PUBLISH never reached the
   * subscriber would: the next event then arrives after a gap.
   */
  async loseNextSequenceNumber(): Promise<number> {
    return this.redis.incr(this.events.seqKey);
  }

  async device(id: string): Promise<DeviceSnapshot | null> {
    return this.prisma.device.findUnique({
      where: { rustdeskId: id },
      select: {
        rustdeskId: true,
        admission: true,
        uuid: true,
        pk: true,
        banned: true,
        deletedAt: true,
        revokedAt: true,
      },
    });
  }

  /** Polls the devices table until the row exists and satisfies `ready` (signal writes it behind). */
  async waitForDevice(
    id: string,
    ready: (row: DeviceSnapshot) => boolean = () => true,
    timeoutMs = 10_000,
  ): Promise<DeviceSnapshot> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const row = await this.device(id);
      if (row !== null && ready(row)) return row;
      if (Date.now() > deadline) {
        throw new Error(`device ${id} not as expected in Postgres after ${timeoutMs} ms: ${describe(row)}`);
      }
      await new Promise((done) => setTimeout(done, 100));
    }
  }

  async close(): Promise<void> {
    await this.events.stop();
    this.redis.disconnect();
    await this.prisma.$disconnect();
  }

  private async publish<T extends EventType>(
    change: Change,
    type: T,
    payload: EventPayload<T>,
  ): Promise<void> {
    if (change.event === false) return;
    await this.events.publish(type, payload);
  }
}

function describe(row: DeviceSnapshot | null): string {
  if (row === null) return 'no row';
  return JSON.stringify({ ...row, uuid: row.uuid?.length, pk: row.pk?.length });
}
