import { Prisma } from '../generated/prisma/client';

// Raw SQL of the client API's device sync (docs/client-api.md §6), kept beside the repository.

export interface SyncIdentityRow {
  id: string;
  uuid: Buffer | null;
  owner_id: string | null;
  group_id: string | null;
  admission: 'admitted' | 'pending' | 'rejected';
  banned: boolean;
  deleted_at: Date | null;
  revoked_at: Date | null;
  sysinfo_hash: string | null;
}

export function syncIdentitySql(rustdeskId: string): Prisma.Sql {
  return Prisma.sql`SELECT d.id, d.uuid, d.owner_id, d.group_id, d.admission, d.banned, d.deleted_at,
      d.revoked_at, s.sysinfo_hash
    FROM devices d LEFT JOIN device_sync_states s ON s.device_id = d.id
    WHERE d.rustdesk_id = ${rustdeskId}`;
}

/** The report and its fingerprint in one statement (one round trip, one commit in a storm). */
export function storeSysinfoSql(
  rowId: string,
  sysinfo: {
    cpu: string | null;
    memory: string | null;
    os: string | null;
    hostname: string | null;
    osUsername: string | null;
    version: string | null;
  },
  hash: string,
  at: Date,
): Prisma.Sql {
  return Prisma.sql`WITH stored AS (
      UPDATE devices SET cpu = ${sysinfo.cpu}, memory = ${sysinfo.memory}, os = ${sysinfo.os},
        hostname = ${sysinfo.hostname}, os_username = ${sysinfo.osUsername}, version = ${sysinfo.version},
        updated_at = ${at}
      WHERE id = ${rowId}::uuid RETURNING id
    )
    INSERT INTO device_sync_states (device_id, sysinfo_hash, sysinfo_at)
    SELECT id, ${hash}, ${at} FROM stored
    ON CONFLICT (device_id) DO UPDATE SET sysinfo_hash = EXCLUDED.sysinfo_hash, sysinfo_at = EXCLUDED.sysinfo_at`;
}

export interface HeartbeatWrite {
  readonly deviceRowId: string;
  readonly at: Date;
  readonly conns: readonly number[];
  readonly clientVersion: bigint | null;
}

/**
 * One statement for a whole batch of heartbeats: the sync state upserted and the device's last-seen
 * moved forward (never back: signal's write-behind may hold a later time). Conns travel as one JSON
 * array of arrays, since Postgres cannot unnest a ragged int[][] parameter.
 */
export function flushHeartbeatsSql(writes: readonly HeartbeatWrite[]): Prisma.Sql {
  const ids = writes.map((write) => write.deviceRowId);
  const ats = writes.map((write) => write.at);
  const conns = JSON.stringify(writes.map((write) => write.conns));
  const versions = writes.map((write) =>
    write.clientVersion === null ? null : write.clientVersion.toString(),
  );
  return Prisma.sql`WITH batch AS (
      SELECT b.device_id, b.at, b.version,
        ARRAY(SELECT jsonb_array_elements_text(c.conns)::int) AS conns
      FROM unnest(${ids}::uuid[], ${ats}::timestamptz[], ${versions}::bigint[])
        WITH ORDINALITY AS b(device_id, at, version, n)
      JOIN jsonb_array_elements(${conns}::jsonb) WITH ORDINALITY AS c(conns, n) ON c.n = b.n
    ), upserted AS (
      INSERT INTO device_sync_states (device_id, last_heartbeat_at, conns, client_version)
      SELECT batch.device_id, batch.at, batch.conns, batch.version FROM batch
        JOIN devices d ON d.id = batch.device_id
      ON CONFLICT (device_id) DO UPDATE SET
        last_heartbeat_at = GREATEST(device_sync_states.last_heartbeat_at, EXCLUDED.last_heartbeat_at),
        conns = EXCLUDED.conns,
        client_version = EXCLUDED.client_version
      RETURNING device_id
    )
    UPDATE devices SET last_seen_at = GREATEST(devices.last_seen_at, batch.at)
      FROM batch WHERE devices.id = batch.device_id`;
}

export interface PendingDisconnectRow {
  device_id: string;
}

export function devicesWithPendingDisconnectsSql(now: Date): Prisma.Sql {
  return Prisma.sql`SELECT DISTINCT device_id FROM device_disconnects
    WHERE delivered_at IS NULL AND expires_at > ${now}`;
}

export interface ConnIdRow {
  conn_id: number;
}

/** Marks a device's pending disconnects delivered and returns them: one replica wins each row. */
export function claimDisconnectsSql(deviceRowId: string, now: Date): Prisma.Sql {
  return Prisma.sql`UPDATE device_disconnects SET delivered_at = ${now}
    WHERE device_id = ${deviceRowId}::uuid AND delivered_at IS NULL AND expires_at > ${now}
    RETURNING conn_id`;
}

export interface AssigneeRow {
  id: string;
  rustdesk_id: string;
  owner_id: string | null;
  group_id: string | null;
  note: string | null;
}

/** A device's assignable fields, locked for the change that assigns it. */
export function lockAssigneeSql(rustdeskId: string): Prisma.Sql {
  return Prisma.sql`SELECT id, rustdesk_id, owner_id, group_id, note FROM devices
    WHERE rustdesk_id = ${rustdeskId} FOR UPDATE`;
}
