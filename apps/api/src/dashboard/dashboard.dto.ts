import { z } from 'zod';

import { auditEntryViewSchema } from '../audit/audit.dto';
import { responseSchema } from '../http/response-schemas';

// Response shapes of the dashboard routes, registered response schemas (http/response-schemas.ts) so
// /api/docs/json describes them and the console's generated client is typed. Times are ISO 8601
// strings; counts are numbers.

const relayNodeSchema = z.object({
  nodeId: z.string(),
  /** What signal hands to clients (host:port). */
  address: z.string(),
  wsAddress: z.string().nullable(),
  sessions: z.number().int(),
  capacity: z.number().int(),
  /** sessions / capacity. */
  load: z.number(),
  bytesPerSecond: z.number(),
  draining: z.boolean(),
  /** When the node last wrote its record (its own clock). */
  lastHeartbeatAt: z.iso.datetime(),
  /** Left of the record's TTL: a node that stops refreshing lapses when this reaches 0. */
  expiresInMs: z.number().int(),
});

export const relayNodesViewSchema = responseSchema(
  'RelayNodes',
  z.object({
    /** False when the registry key is unknown to the api or Redis could not be read; `problem` says which. */
    available: z.boolean(),
    problem: z.string().nullable(),
    nodes: z.array(relayNodeSchema),
    /** Records present but not trusted (bad MAC, bad shape): a sign of a misconfigured or hostile writer. */
    malformed: z.number().int(),
  }),
);

const seriesPointSchema = z.object({
  /** Start of the sample's bucket. */
  at: z.iso.datetime(),
  /** Devices online when sampled; null where no api replica took a sample. */
  online: z.number().int().nullable(),
});

const devicesSchema = z.object({
  total: z.number().int(),
  online: z.number().int(),
  pending: z.number().int(),
  banned: z.number().int(),
  /** A device counts as online when last seen within this many seconds (DEVICE_ONLINE_WINDOW_SECONDS). */
  onlineWindowSeconds: z.number().int(),
});

const online24hSchema = z.object({
  intervalSeconds: z.number().int(),
  points: z.array(seriesPointSchema),
});

const refusals24hSchema = z.object({
  /** Start of the oldest hour counted (the current hour and the 23 before it). */
  since: z.iso.datetime(),
  total: z.number().int(),
  /** Refused registration attempts by reason (banned, pending, unknown-device, too-frequent, ...). */
  byReason: z.record(z.string(), z.number().int()),
});

const instanceHealthSchema = z.object({
  service: z.enum(['signal', 'relay']),
  instanceId: z.string(),
  eventsReady: z.boolean(),
  appliedSeq: z.number().int(),
  /** publishedSeq − appliedSeq (0 when in sync); null when publishedSeq is unknown. */
  lag: z.number().int().nullable(),
  reportedAt: z.iso.datetime(),
});

const eventHealthSchema = z.object({
  /** The api publishes and never subscribes: this is its Redis link, which events and the deny set need. */
  apiRedisConnected: z.boolean(),
  /** The last sequence number published by any api replica (`<prefix>:events:seq`). */
  publishedSeq: z.number().int().nullable(),
  /** Signal and relay instances that reported within their record's TTL (30 s). */
  instances: z.array(instanceHealthSchema),
  /** Largest lag among instances; bans reach an instance once it has applied their seq. */
  maxLag: z.number().int().nullable(),
  /** Instances not subscribed and resynchronised, or behind. */
  unhealthy: z.number().int(),
});

const auditSchema = z.object({
  /** The latest `audit.verified` entry (POST /api/v1/audit/verify records each run); null if never run. */
  lastVerification: z
    .object({
      at: z.iso.datetime(),
      seq: z.string(),
      actorId: z.string().nullable(),
      ok: z.boolean(),
      checked: z.number().int().nullable(),
      headSeq: z.string().nullable(),
      brokenSeq: z.string().nullable(),
    })
    .nullable(),
  /** The 10 newest entries, details cut to what the caller's role may read. */
  latest: z.array(auditEntryViewSchema),
});

/**
 * GET /api/v1/dashboard. A section the caller's role may not see is absent; a section whose source
 * failed (Redis, Postgres) is null and named in `unavailable`.
 */
export const dashboardViewSchema = responseSchema(
  'Dashboard',
  z.object({
    generatedAt: z.iso.datetime(),
    /** device.view (the route's own permission). */
    devices: devicesSchema.nullable(),
    online24h: online24hSchema.nullable(),
    refusals24h: refusals24hSchema.nullable(),
    /** setting.view. */
    relays: relayNodesViewSchema.nullable().optional(),
    /** setting.view. */
    events: eventHealthSchema.nullable().optional(),
    /** audit.view. */
    audit: auditSchema.nullable().optional(),
    unavailable: z.array(z.object({ section: z.string(), reason: z.string() })),
  }),
);

const nullableText = z.string().nullable();

/** GET /api/v1/server-info: what a RustDesk client must be given to use this server. */
export const serverInfoViewSchema = responseSchema(
  'ServerInfo',
  z.object({
    /** Signal's Ed25519 public key, base64 as RustDesk shows it; null when the api cannot read it. */
    publicKey: nullableText,
    /** Why publicKey is null. */
    publicKeyProblem: nullableText,
    /** ID server (host or host:port): setting client.id_server, else PUBLIC_URL's host. */
    idServer: nullableText,
    /** Relay for clients: setting client.relay_server, else null (clients pick the ID host on 21117, signal hands out live relays). */
    relayServer: nullableText,
    /** Relays announced right now (not draining), for information. */
    liveRelays: z.array(z.string()),
    /** API server URL: setting client.api_server, else PUBLIC_URL. */
    apiServer: nullableText,
    /** Where each value came from. */
    sources: z.object({
      idServer: z.enum(['setting', 'public_url', 'none']),
      relayServer: z.enum(['setting', 'none']),
      apiServer: z.enum(['setting', 'public_url', 'none']),
    }),
    /** The string Settings → Network → "Import server config" takes; null without an ID server. */
    configString: nullableText,
    /** `rustdesk --config <configString>` (an installed client, run as administrator). */
    configCommand: nullableText,
  }),
);

export type DashboardView = z.output<typeof dashboardViewSchema>;
export type RelayNodesView = z.output<typeof relayNodesViewSchema>;
export type ServerInfoView = z.output<typeof serverInfoViewSchema>;
export type EventHealthView = z.output<typeof eventHealthSchema>;
export type AuditSummaryView = z.output<typeof auditSchema>;
