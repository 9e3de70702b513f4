// The raw SQL of the client audit's write path (docs/client-api.md §7), kept together for review.
// Every batch statement takes its rows as one array per column, so its text is the same whatever the
// batch size and Postgres plans it once.

/** A statement for pg's `query`, outside Prisma (see prisma-client.ts, poolOf). */
export interface PgStatement {
  readonly text: string;
  readonly values: unknown[];
}

/** What a connection record sets; null leaves the column as it is. */
export interface ConnectionRecordRow {
  readonly deviceId: string;
  readonly rustdeskId: string;
  readonly connId: number;
  /** The u64 as its exact decimal text. */
  readonly sessionId: string;
  readonly nonce: string | null;
  readonly ip: string | null;
  readonly peerId: string | null;
  readonly peerName: string | null;
  readonly connType: number | null;
  readonly primaryAuth: number | null;
  readonly twoFactor: number | null;
  readonly userId: string | null;
  readonly username: string | null;
  readonly openedAt: Date | null;
  readonly authorizedAt: Date | null;
  readonly closedAt: Date | null;
}

/**
 * Applies records to their connection rows, creating a row on a connection's first record. Fields a
 * record carries overwrite (a retry carries the same ones), times and the controlling user keep their
 * first value. A record whose nonce the row already holds changes nothing: the conflict branch sees the
 * latest committed row, so concurrent retries of one record are applied once. Rows must have distinct
 * (device, session, conn) keys: ON CONFLICT cannot touch a row twice in one statement.
 */
export function applyConnectionRecordsStatement(rows: readonly ConnectionRecordRow[]): PgStatement {
  const column = <T>(pick: (row: ConnectionRecordRow) => T): T[] => rows.map(pick);
  return {
    text: `
  INSERT INTO connection_audits AS c (device_id, rustdesk_id, conn_id, session_id, nonces, ip, peer_id,
    peer_name, conn_type, primary_auth, two_factor, user_id, username, opened_at, authorized_at, closed_at)
  SELECT v.device_id, v.rustdesk_id, v.conn_id, v.session_id::numeric(20,0),
    CASE WHEN v.nonce IS NULL THEN ARRAY[]::text[] ELSE ARRAY[v.nonce] END,
    v.ip, v.peer_id, v.peer_name, v.conn_type, v.primary_auth, v.two_factor, v.user_id, v.username,
    v.opened_at, v.authorized_at, v.closed_at
  FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
    $9::int[], $10::int[], $11::int[], $12::uuid[], $13::text[], $14::timestamptz[], $15::timestamptz[],
    $16::timestamptz[])
    AS v(device_id, rustdesk_id, conn_id, session_id, nonce, ip, peer_id, peer_name, conn_type,
      primary_auth, two_factor, user_id, username, opened_at, authorized_at, closed_at)
  ON CONFLICT (device_id, session_id, conn_id) DO UPDATE SET
    nonces = c.nonces || EXCLUDED.nonces,
    ip = COALESCE(EXCLUDED.ip, c.ip),
    peer_id = COALESCE(EXCLUDED.peer_id, c.peer_id),
    peer_name = COALESCE(EXCLUDED.peer_name, c.peer_name),
    conn_type = COALESCE(EXCLUDED.conn_type, c.conn_type),
    primary_auth = COALESCE(EXCLUDED.primary_auth, c.primary_auth),
    two_factor = COALESCE(EXCLUDED.two_factor, c.two_factor),
    user_id = COALESCE(c.user_id, EXCLUDED.user_id),
    username = CASE WHEN c.user_id IS NULL THEN EXCLUDED.username ELSE c.username END,
    opened_at = COALESCE(c.opened_at, EXCLUDED.opened_at),
    authorized_at = COALESCE(c.authorized_at, EXCLUDED.authorized_at),
    closed_at = COALESCE(c.closed_at, EXCLUDED.closed_at),
    updated_at = now()
  WHERE NOT (c.nonces && EXCLUDED.nonces)`,
    values: [
      column((row) => row.deviceId),
      column((row) => row.rustdeskId),
      column((row) => row.connId),
      column((row) => row.sessionId),
      column((row) => row.nonce),
      column((row) => row.ip),
      column((row) => row.peerId),
      column((row) => row.peerName),
      column((row) => row.connType),
      column((row) => row.primaryAuth),
      column((row) => row.twoFactor),
      column((row) => row.userId),
      column((row) => row.username),
      column((row) => row.openedAt),
      column((row) => row.authorizedAt),
      column((row) => row.closedAt),
    ],
  };
}

export interface FileRecordRow {
  readonly deviceId: string;
  readonly rustdeskId: string;
  readonly peerId: string | null;
  readonly connId: number | null;
  readonly direction: number;
  readonly path: string;
  readonly isFile: boolean;
  /** JSON text. */
  readonly info: string;
  readonly nonce: string | null;
}

/**
 * Inserts file records, skipping nonces already stored for the device. The controlling user is copied
 * from the device's latest connection row with the same conn_id opened in the last day: conn ids are
 * a per-process counter on the device, so an older row with the same id is another connection.
 */
export function insertFileRecordsStatement(rows: readonly FileRecordRow[]): PgStatement {
  const column = <T>(pick: (row: FileRecordRow) => T): T[] => rows.map(pick);
  return {
    text: `
  INSERT INTO file_audits (device_id, rustdesk_id, peer_id, conn_id, direction, path, is_file, info, nonce,
    user_id, username)
  SELECT v.device_id, v.rustdesk_id, v.peer_id, v.conn_id, v.direction, v.path, v.is_file, v.info::jsonb,
    v.nonce, conn.user_id, conn.username
  FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::int[], $6::text[], $7::bool[], $8::text[],
    $9::text[]) AS v(device_id, rustdesk_id, peer_id, conn_id, direction, path, is_file, info, nonce)
  LEFT JOIN LATERAL (
    SELECT c.user_id, c.username FROM connection_audits c
    WHERE c.device_id = v.device_id AND c.conn_id = v.conn_id AND c.created_at > now() - interval '1 day'
    ORDER BY c.created_at DESC LIMIT 1
  ) conn ON true
  ON CONFLICT (device_id, nonce) DO NOTHING`,
    values: [
      column((row) => row.deviceId),
      column((row) => row.rustdeskId),
      column((row) => row.peerId),
      column((row) => row.connId),
      column((row) => row.direction),
      column((row) => row.path),
      column((row) => row.isFile),
      column((row) => row.info),
      column((row) => row.nonce),
    ],
  };
}

export interface AlarmRecordRow {
  readonly deviceId: string;
  readonly rustdeskId: string;
  readonly alarmType: number;
  /** JSON text. */
  readonly info: string;
  readonly connId: number | null;
  readonly userId: string | null;
  readonly username: string | null;
  readonly nonce: string | null;
}

/** Inserts alarm records, skipping nonces already stored; returns the rows that were new. */
export function insertAlarmRecordsStatement(rows: readonly AlarmRecordRow[]): PgStatement {
  const column = <T>(pick: (row: AlarmRecordRow) => T): T[] => rows.map(pick);
  return {
    text: `
  INSERT INTO alarm_audits (device_id, rustdesk_id, alarm_type, info, conn_id, user_id, username, nonce)
  SELECT v.device_id, v.rustdesk_id, v.alarm_type, v.info::jsonb, v.conn_id, v.user_id, v.username, v.nonce
  FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[], $5::int[], $6::uuid[], $7::text[], $8::text[])
    AS v(device_id, rustdesk_id, alarm_type, info, conn_id, user_id, username, nonce)
  ON CONFLICT (device_id, nonce) DO NOTHING
  RETURNING id, device_id, nonce`,
    values: [
      column((row) => row.deviceId),
      column((row) => row.rustdeskId),
      column((row) => row.alarmType),
      column((row) => row.info),
      column((row) => row.connId),
      column((row) => row.userId),
      column((row) => row.username),
      column((row) => row.nonce),
    ],
  };
}

/** Alarms of these (device, nonce) pairs whose chain entry is still missing (a retry after a failed append). */
export function unchainedAlarmsStatement(
  deviceIds: readonly string[],
  nonces: readonly string[],
): PgStatement {
  return {
    text: `
  SELECT a.id, a.device_id, a.nonce FROM alarm_audits a
  JOIN unnest($1::uuid[], $2::text[]) AS v(device_id, nonce) ON a.device_id = v.device_id AND a.nonce = v.nonce
  WHERE a.audit_seq IS NULL`,
    values: [deviceIds, nonces],
  };
}

export interface AlarmIdRow {
  id: string;
  device_id: string;
  nonce: string | null;
}
