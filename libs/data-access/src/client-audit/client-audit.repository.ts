import { type Pool, type PoolClient } from 'pg';

import { Prisma, type PrismaClient } from '../generated/prisma/client';
import { poolOf } from '../prisma-client';
import {
  type AlarmIdRow,
  type AlarmRecordRow,
  applyConnectionRecordsStatement,
  type ConnectionRecordRow,
  type FileRecordRow,
  insertAlarmRecordsStatement,
  insertFileRecordsStatement,
  unchainedAlarmsStatement,
} from './client-audit.sql';

export type { AlarmRecordRow, ConnectionRecordRow, FileRecordRow } from './client-audit.sql';

/** The device a report names, as far as checking the report needs it. */
export interface ReportingDevice {
  readonly id: string;
  readonly rustdeskId: string;
  /** RegisterPk.uuid as signal stored it; null before the device registered with signal. */
  readonly uuid: Uint8Array | null;
  readonly deleted: boolean;
}

/** A connection row as the note routes and the listing need it. */
export interface ConnectionAuditRecord {
  readonly guid: string;
  readonly rustdeskId: string;
  readonly connId: number;
  readonly sessionId: string;
  readonly ip: string | null;
  readonly peerId: string | null;
  readonly peerName: string | null;
  readonly connType: number | null;
  readonly primaryAuth: number | null;
  readonly twoFactor: number | null;
  readonly userId: string | null;
  readonly username: string | null;
  readonly note: string | null;
  readonly openedAt: Date | null;
  readonly authorizedAt: Date | null;
  readonly closedAt: Date | null;
  readonly createdAt: Date;
}

export interface FileAuditRecord {
  readonly id: string;
  readonly rustdeskId: string;
  readonly peerId: string | null;
  readonly connId: number | null;
  readonly direction: number;
  readonly path: string;
  readonly isFile: boolean;
  readonly info: unknown;
  readonly userId: string | null;
  readonly username: string | null;
  readonly createdAt: Date;
}

export interface AlarmAuditRecord {
  readonly id: string;
  readonly rustdeskId: string;
  readonly alarmType: number;
  readonly info: unknown;
  readonly connId: number | null;
  readonly userId: string | null;
  readonly username: string | null;
  readonly auditSeq: string | null;
  readonly createdAt: Date;
}

/** Filters of the operator listings; every one optional. */
export interface ClientAuditFilter {
  readonly rustdeskId?: string;
  readonly userId?: string;
  /** Inclusive lower bound on created_at. */
  readonly from?: Date;
  /** Exclusive upper bound on created_at. */
  readonly to?: Date;
  /** conn_type, file direction or alarm type. */
  readonly type?: number;
}

export interface ClientAuditPage<T> {
  readonly items: T[];
  /** The id to pass as `before` for the next (older) page; null on the last page. */
  readonly nextCursor: string | null;
}

/**
 * The audit RustDesk clients report (docs/client-api.md §7). Batch writes go through pg directly, one
 * transaction per batch; reads through Prisma.
 */
export class ClientAuditRepository {
  private readonly pool: Pool;

  constructor(private readonly prisma: PrismaClient) {
    this.pool = poolOf(prisma);
  }

  async findReportingDevice(rustdeskId: string): Promise<ReportingDevice | null> {
    const row = await this.prisma.device.findUnique({
      where: { rustdeskId },
      select: { id: true, rustdeskId: true, uuid: true, deletedAt: true },
    });
    if (row === null) return null;
    return { id: row.id, rustdeskId: row.rustdeskId, uuid: row.uuid, deleted: row.deletedAt !== null };
  }

  /**
   * Applies a batch of connection records in one transaction. Records of one connection are applied
   * in the order given, one statement per round so no statement touches a row twice.
   */
  async applyConnectionRecords(rows: readonly ConnectionRecordRow[]): Promise<void> {
    const rounds: ConnectionRecordRow[][] = [];
    const roundOfKey = new Map<string, number>();
    for (const row of rows) {
      const key = `${row.deviceId}/${row.sessionId}/${row.connId}`;
      const round = roundOfKey.get(key) ?? 0;
      roundOfKey.set(key, round + 1);
      (rounds[round] ??= []).push(row);
    }
    await this.inTransaction(async (client) => {
      for (const round of rounds) {
        // One lock order for every writer, so two replicas' batches cannot deadlock.
        round.sort((a, b) => compareKeys(a, b));
        await client.query(applyConnectionRecordsStatement(round));
      }
    });
  }

  async insertFileRecords(rows: readonly FileRecordRow[]): Promise<void> {
    await this.pool.query(insertFileRecordsStatement(rows));
  }

  /**
   * Stores alarms and answers the ids of those still lacking their chain entry: the new ones, and
   * retried ones whose first attempt stored the row but failed before chaining it.
   */
  async insertAlarmRecords(rows: readonly AlarmRecordRow[]): Promise<string[]> {
    return this.inTransaction(async (client) => {
      const inserted = await client.query<AlarmIdRow>(insertAlarmRecordsStatement(rows));
      const withNonce = rows.filter((row) => row.nonce !== null);
      const unchained = await client.query<AlarmIdRow>(
        unchainedAlarmsStatement(
          withNonce.map((row) => row.deviceId),
          withNonce.map((row) => row.nonce as string),
        ),
      );
      return [...new Set([...inserted.rows, ...unchained.rows].map((row) => String(row.id)))];
    });
  }

  async markAlarmChained(id: string, auditSeq: bigint): Promise<void> {
    await this.prisma.alarmAudit.updateMany({
      where: { id: BigInt(id), auditSeq: null },
      data: { auditSeq },
    });
  }

  async findAlarm(id: string): Promise<AlarmAuditRecord | null> {
    const row = await this.prisma.alarmAudit.findUnique({ where: { id: BigInt(id) } });
    return row === null ? null : toAlarmRecord(row);
  }

  /** Sets the note of the device's latest connection with this session id; false when none matches. */
  async setNoteBySession(deviceId: string, sessionId: string, note: string): Promise<boolean> {
    const updated = await this.prisma.$executeRaw`
      UPDATE connection_audits SET note = ${note}, updated_at = now()
      WHERE id = (
        SELECT id FROM connection_audits
        WHERE device_id = ${deviceId}::uuid AND session_id = ${sessionId}::numeric(20,0)
        ORDER BY created_at DESC LIMIT 1
      )`;
    return updated === 1;
  }

  /**
   * The latest connection to this device with this session id and type. A row whose authorised
   * record has not arrived yet has no type and matches any.
   */
  async findActiveConnection(
    rustdeskId: string,
    sessionId: string,
    connType: number,
  ): Promise<ConnectionAuditRecord | null> {
    const row = await this.prisma.connectionAudit.findFirst({
      where: {
        rustdeskId,
        sessionId: new Prisma.Decimal(sessionId),
        OR: [{ connType }, { connType: null }],
      },
      orderBy: { createdAt: 'desc' },
    });
    return row === null ? null : toConnectionRecord(row);
  }

  async findConnection(guid: string): Promise<ConnectionAuditRecord | null> {
    const row = await this.prisma.connectionAudit.findUnique({ where: { id: guid } });
    return row === null ? null : toConnectionRecord(row);
  }

  async setNote(guid: string, note: string): Promise<void> {
    await this.prisma.connectionAudit.update({ where: { id: guid }, data: { note, updatedAt: new Date() } });
  }

  async listConnections(
    filter: ClientAuditFilter,
    before: string | undefined,
    limit: number,
  ): Promise<ClientAuditPage<ConnectionAuditRecord>> {
    // Newest first by (created_at, id); the cursor is the last row's guid.
    const cursorRow =
      before === undefined
        ? null
        : await this.prisma.connectionAudit.findUnique({
            where: { id: before },
            select: { id: true, createdAt: true },
          });
    const rows = await this.prisma.connectionAudit.findMany({
      where: {
        AND: [
          commonWhere(filter),
          filter.type === undefined ? {} : { connType: filter.type },
          cursorRow === null
            ? {}
            : {
                OR: [
                  { createdAt: { lt: cursorRow.createdAt } },
                  { createdAt: cursorRow.createdAt, id: { lt: cursorRow.id } },
                ],
              },
        ],
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit + 1,
    });
    return pageOf(rows.map(toConnectionRecord), limit, (row) => row.guid);
  }

  async listFiles(
    filter: ClientAuditFilter,
    before: string | undefined,
    limit: number,
  ): Promise<ClientAuditPage<FileAuditRecord>> {
    const rows = await this.prisma.fileAudit.findMany({
      where: {
        ...commonWhere(filter),
        ...(filter.type === undefined ? {} : { direction: filter.type }),
        ...(before === undefined ? {} : { id: { lt: BigInt(before) } }),
      },
      orderBy: { id: 'desc' },
      take: limit + 1,
    });
    return pageOf(rows.map(toFileRecord), limit, (row) => row.id);
  }

  async listAlarms(
    filter: ClientAuditFilter,
    before: string | undefined,
    limit: number,
  ): Promise<ClientAuditPage<AlarmAuditRecord>> {
    const rows = await this.prisma.alarmAudit.findMany({
      where: {
        ...commonWhere(filter),
        ...(filter.type === undefined ? {} : { alarmType: filter.type }),
        ...(before === undefined ? {} : { id: { lt: BigInt(before) } }),
      },
      orderBy: { id: 'desc' },
      take: limit + 1,
    });
    return pageOf(rows.map(toAlarmRecord), limit, (row) => row.id);
  }

  private async inTransaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    // A connection that breaks while checked out emits 'error' on the client, which would crash the
    // process unheard; the failing query reports the outage instead.
    const ignore = (): void => undefined;
    client.on('error', ignore);
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: unknown) => {
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      });
      throw error;
    } finally {
      client.off('error', ignore);
      // A client whose rollback failed is discarded rather than handed to the next caller.
      client.release(broken);
    }
  }
}

function compareKeys(a: ConnectionRecordRow, b: ConnectionRecordRow): number {
  if (a.deviceId !== b.deviceId) return a.deviceId < b.deviceId ? -1 : 1;
  if (a.sessionId !== b.sessionId) {
    return a.sessionId.length - b.sessionId.length || (a.sessionId < b.sessionId ? -1 : 1);
  }
  return a.connId - b.connId;
}

function commonWhere(filter: ClientAuditFilter) {
  return {
    ...(filter.rustdeskId === undefined ? {} : { rustdeskId: filter.rustdeskId }),
    ...(filter.userId === undefined ? {} : { userId: filter.userId }),
    ...(filter.from === undefined && filter.to === undefined
      ? {}
      : {
          createdAt: {
            ...(filter.from === undefined ? {} : { gte: filter.from }),
            ...(filter.to === undefined ? {} : { lt: filter.to }),
          },
        }),
  };
}

function pageOf<T>(rows: T[], limit: number, cursorOf: (row: T) => string): ClientAuditPage<T> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last !== undefined ? cursorOf(last) : null };
}

interface ConnectionRow {
  id: string;
  rustdeskId: string;
  connId: number;
  sessionId: Prisma.Decimal;
  ip: string | null;
  peerId: string | null;
  peerName: string | null;
  connType: number | null;
  primaryAuth: number | null;
  twoFactor: number | null;
  userId: string | null;
  username: string | null;
  note: string | null;
  openedAt: Date | null;
  authorizedAt: Date | null;
  closedAt: Date | null;
  createdAt: Date;
}

function toConnectionRecord(row: ConnectionRow): ConnectionAuditRecord {
  return {
    guid: row.id,
    rustdeskId: row.rustdeskId,
    connId: row.connId,
    // Decimal keeps all 20 digits; toFixed avoids exponent notation.
    sessionId: row.sessionId.toFixed(0),
    ip: row.ip,
    peerId: row.peerId,
    peerName: row.peerName,
    connType: row.connType,
    primaryAuth: row.primaryAuth,
    twoFactor: row.twoFactor,
    userId: row.userId,
    username: row.username,
    note: row.note,
    openedAt: row.openedAt,
    authorizedAt: row.authorizedAt,
    closedAt: row.closedAt,
    createdAt: row.createdAt,
  };
}

function toFileRecord(row: {
  id: bigint;
  rustdeskId: string;
  peerId: string | null;
  connId: number | null;
  direction: number;
  path: string;
  isFile: boolean;
  info: unknown;
  userId: string | null;
  username: string | null;
  createdAt: Date;
}): FileAuditRecord {
  return {
    id: row.id.toString(),
    rustdeskId: row.rustdeskId,
    peerId: row.peerId,
    connId: row.connId,
    direction: row.direction,
    path: row.path,
    isFile: row.isFile,
    info: row.info,
    userId: row.userId,
    username: row.username,
    createdAt: row.createdAt,
  };
}

function toAlarmRecord(row: {
  id: bigint;
  rustdeskId: string;
  alarmType: number;
  info: unknown;
  connId: number | null;
  userId: string | null;
  username: string | null;
  auditSeq: bigint | null;
  createdAt: Date;
}): AlarmAuditRecord {
  return {
    id: row.id.toString(),
    rustdeskId: row.rustdeskId,
    alarmType: row.alarmType,
    info: row.info,
    connId: row.connId,
    userId: row.userId,
    username: row.username,
    auditSeq: row.auditSeq === null ? null : row.auditSeq.toString(),
    createdAt: row.createdAt,
  };
}
