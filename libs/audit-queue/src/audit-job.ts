import { z } from 'zod';

import { DEVICE_ID_PATTERN, RELAY_UUID_PATTERN } from '@switchboard/domain';

/*
 * The contract between the data plane (signal, relay: producers) and the api (the one consumer that
 * appends to the audit chain). Anyone who can write to Redis can add a job, so the consumer trusts
 * nothing: every job is parsed with `auditJobSchema`, which admits only the data plane's own
 * vocabulary (system actors, the five actions below, bounded fields). A forged `user.login` cannot
 * enter the chain through this queue.
 */

/** Queue name inside the BullMQ prefix. */
export const AUDIT_QUEUE_NAME = 'audit';

/** BullMQ key prefix of a deployment: `<REDIS_KEY_PREFIX>:bull`, so deployments sharing Redis never mix. */
export function auditQueuePrefix(redisKeyPrefix: string): string {
  return `${redisKeyPrefix}:bull`;
}

/** Version of the job shape; a consumer drops (never retries) a version it does not know. */
export const AUDIT_JOB_VERSION = 1 as const;

const deviceId = z.string().regex(DEVICE_ID_PATTERN, 'not a RustDesk id');
const relayUuid = z.string().regex(RELAY_UUID_PATTERN, 'not a relay session uuid');
const ip = z.string().min(1).max(45);
const instant = z.iso.datetime({ offset: true });
const count = z.number().int().min(1).max(1_000_000_000);
/** What a coalesced entry adds: how many occurrences it stands for, and when the first and last were. */
const coalesced = { count, firstAt: instant, lastAt: instant };
/** Set on the entry that stands for everything past the coalescer's key cap (targetId is then null). */
const overflow = z.literal(true).optional();

/**
 * signal's access refusals (apps/signal/src/ports.ts Refusal), and `key-changed`: an admitted device
 * presented a new key under a policy other than open (apps/signal/src/handlers/register-pk.ts).
 */
export const REGISTRATION_REFUSALS = [
  'banned',
  'revoked',
  'deleted',
  'pending',
  'not-deployed',
  'unknown-device',
  'key-changed',
] as const;
export type RegistrationRefusal = (typeof REGISTRATION_REFUSALS)[number];

/** Why a relay turned a session down that the audit log records (apps/relay/src/relay-metrics.ts). */
export const RELAY_SESSION_REFUSALS = ['no-ticket', 'wrong-relay', 'wrong-address', 'denied-device'] as const;
export type RelaySessionRefusal = (typeof RELAY_SESSION_REFUSALS)[number];

export const DENIALS = ['banned', 'revoked', 'deleted'] as const;
export type Denial = (typeof DENIALS)[number];

const common = {
  v: z.literal(AUDIT_JOB_VERSION),
  at: instant,
  actorType: z.literal('system'),
  /** `signal`, or `relay:<RELAY_NODE_ID>`. */
  actorId: z.string().regex(/^(signal|relay:[A-Za-z0-9._:-]{1,122})$/, 'not a data-plane actor'),
};

export const auditJobSchema = z.discriminatedUnion('action', [
  z.strictObject({
    ...common,
    action: z.literal('device.registration_refused'),
    targetType: z.literal('device'),
    targetId: deviceId.nullable(),
    ip: ip.nullable(),
    details: z.strictObject({ reason: z.enum(REGISTRATION_REFUSALS), ...coalesced, overflow }),
  }),
  z.strictObject({
    ...common,
    action: z.literal('device.link_closed'),
    targetType: z.literal('device'),
    targetId: deviceId,
    ip: ip.nullable(),
    details: z.strictObject({ reason: z.enum(DENIALS) }),
  }),
  z.strictObject({
    ...common,
    /** The device's own rename; the operator's is the api's `device.change_id`. targetId is the old id. */
    action: z.literal('device.id_changed'),
    targetType: z.literal('device'),
    targetId: deviceId,
    ip: ip.nullable(),
    details: z.strictObject({ newId: deviceId }),
  }),
  z.strictObject({
    ...common,
    action: z.literal('relay.session_closed_by_ban'),
    targetType: z.literal('relay_session'),
    targetId: relayUuid,
    ip: z.null(),
    details: z.strictObject({ devices: z.array(deviceId).max(32) }),
  }),
  z.strictObject({
    ...common,
    action: z.literal('relay.session_refused'),
    targetType: z.literal('relay_session'),
    /** The last refused uuid of the window (a flood uses fresh ones; the count says how many). */
    targetId: relayUuid.nullable(),
    ip: ip.nullable(),
    details: z.strictObject({
      reason: z.enum(RELAY_SESSION_REFUSALS),
      devices: z.array(deviceId).max(32),
      ...coalesced,
      overflow,
    }),
  }),
]);

/** One job's data: an audit entry as the api will append it (seq, hashes and key are the api's). */
export type AuditJob = z.output<typeof auditJobSchema>;
export type AuditJobAction = AuditJob['action'];

/**
 * BullMQ options of every job. The consumer decides the backoff (`custom`, see the api's worker);
 * many attempts so that a Postgres outage of hours delays entries rather than losing them. Completed
 * jobs are kept an hour so a producer's retried add of the same jobId is recognised and ignored.
 */
export const AUDIT_JOB_OPTIONS = {
  attempts: 1000,
  backoff: { type: 'custom' },
  removeOnComplete: { age: 3600, count: 100_000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
} as const;
