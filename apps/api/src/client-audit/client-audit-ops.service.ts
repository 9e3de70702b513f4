import { Readable } from 'node:stream';

import { Inject, Injectable } from '@nestjs/common';
import {
  type AlarmAuditRecord,
  type ClientAuditFilter,
  ClientAuditRepository,
  type ConnectionAuditRecord,
  type FileAuditRecord,
} from '@switchboard/data-access';

import { API_CLOCK } from '../app.tokens';
import { csvRow } from '../audit/audit-csv';
import { type Clock } from '../time/clock';
import {
  type AlarmAuditPage,
  type AlarmAuditView,
  type ClientAuditQuery,
  type ConnectionAuditPage,
  type ConnectionAuditView,
  type FileAuditPage,
  type FileAuditView,
} from './client-audit-ops.dto';

const EXPORT_PAGE_SIZE = 500;

export type ClientAuditKind = 'connections' | 'files' | 'alarms';

/** Newest first, filtered; the operator listings and CSV exports of client-reported audit. */
@Injectable()
export class ClientAuditOpsService {
  constructor(
    private readonly repository: ClientAuditRepository,
    @Inject(API_CLOCK) private readonly clock: Clock,
  ) {}

  async connections(query: ClientAuditQuery): Promise<ConnectionAuditPage> {
    const page = await this.repository.listConnections(filterOf(query), query.cursor, query.limit);
    return { items: page.items.map(connectionView), nextCursor: page.nextCursor };
  }

  async files(query: ClientAuditQuery): Promise<FileAuditPage> {
    const page = await this.repository.listFiles(filterOf(query), query.cursor, query.limit);
    return { items: page.items.map(fileView), nextCursor: page.nextCursor };
  }

  async alarms(query: ClientAuditQuery): Promise<AlarmAuditPage> {
    const page = await this.repository.listAlarms(filterOf(query), query.cursor, query.limit);
    return { items: page.items.map(alarmView), nextCursor: page.nextCursor };
  }

  /** Every record the filter matches, as CSV, fetched a page at a time while the reader reads. */
  exportCsv(kind: ClientAuditKind, query: ClientAuditQuery): { stream: Readable; fileName: string } {
    const filter = filterOf(query);
    const stamp = this.clock
      .now()
      .toISOString()
      .replaceAll(':', '-')
      .replace(/\.\d+Z$/, 'Z');
    return {
      stream: Readable.from(this.csvLines(kind, filter), { objectMode: false }),
      fileName: `client-audit-${kind}-${stamp}.csv`,
    };
  }

  private async *csvLines(kind: ClientAuditKind, filter: ClientAuditFilter): AsyncGenerator<string> {
    const columns = CSV_COLUMNS[kind];
    yield csvRow(columns.map(([name]) => name));
    let cursor: string | undefined;
    do {
      const page =
        kind === 'connections'
          ? await this.repository.listConnections(filter, cursor, EXPORT_PAGE_SIZE)
          : kind === 'files'
            ? await this.repository.listFiles(filter, cursor, EXPORT_PAGE_SIZE)
            : await this.repository.listAlarms(filter, cursor, EXPORT_PAGE_SIZE);
      for (const item of page.items as unknown as Record<string, unknown>[]) {
        yield csvRow(columns.map(([, cell]) => cell(item)));
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
  }
}

function filterOf(query: Partial<ClientAuditQuery>): ClientAuditFilter {
  return {
    ...(query.device === undefined ? {} : { rustdeskId: query.device }),
    ...(query.user === undefined ? {} : { userId: query.user }),
    ...(query.from === undefined ? {} : { from: new Date(query.from) }),
    ...(query.to === undefined ? {} : { to: new Date(query.to) }),
    ...(query.type === undefined ? {} : { type: query.type }),
  };
}

type Cell = (record: Record<string, unknown>) => string | null;

const text =
  (key: string): Cell =>
  (record) => {
    const value = record[key];
    if (value === null || value === undefined) return null;
    if (value instanceof Date) return value.toISOString();
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    return JSON.stringify(value);
  };

const CSV_COLUMNS: Record<ClientAuditKind, [string, Cell][]> = {
  connections: [
    ['guid', text('guid')],
    ['created_at', text('createdAt')],
    ['device_id', text('rustdeskId')],
    ['conn_id', text('connId')],
    ['session_id', text('sessionId')],
    ['ip', text('ip')],
    ['peer_id', text('peerId')],
    ['peer_name', text('peerName')],
    ['conn_type', text('connType')],
    ['primary_auth', text('primaryAuth')],
    ['two_factor', text('twoFactor')],
    ['user_id', text('userId')],
    ['username', text('username')],
    ['opened_at', text('openedAt')],
    ['authorized_at', text('authorizedAt')],
    ['closed_at', text('closedAt')],
    ['note', text('note')],
  ],
  files: [
    ['id', text('id')],
    ['created_at', text('createdAt')],
    ['device_id', text('rustdeskId')],
    ['peer_id', text('peerId')],
    ['conn_id', text('connId')],
    ['direction', text('direction')],
    ['path', text('path')],
    ['is_file', text('isFile')],
    ['user_id', text('userId')],
    ['username', text('username')],
    ['info', text('info')],
  ],
  alarms: [
    ['id', text('id')],
    ['created_at', text('createdAt')],
    ['device_id', text('rustdeskId')],
    ['alarm_type', text('alarmType')],
    ['conn_id', text('connId')],
    ['user_id', text('userId')],
    ['username', text('username')],
    ['audit_seq', text('auditSeq')],
    ['info', text('info')],
  ],
};

function userOf(record: { userId: string | null; username: string | null }) {
  return record.userId === null ? null : { id: record.userId, username: record.username };
}

const iso = (value: Date | null): string | null => (value === null ? null : value.toISOString());

function connectionView(record: ConnectionAuditRecord): ConnectionAuditView {
  return {
    guid: record.guid,
    deviceId: record.rustdeskId,
    connId: record.connId,
    sessionId: record.sessionId,
    ip: record.ip,
    peerId: record.peerId,
    peerName: record.peerName,
    connType: record.connType,
    primaryAuth: record.primaryAuth,
    twoFactor: record.twoFactor,
    user: userOf(record),
    note: record.note,
    openedAt: iso(record.openedAt),
    authorizedAt: iso(record.authorizedAt),
    closedAt: iso(record.closedAt),
    createdAt: record.createdAt.toISOString(),
  };
}

function fileView(record: FileAuditRecord): FileAuditView {
  return {
    id: record.id,
    deviceId: record.rustdeskId,
    peerId: record.peerId,
    connId: record.connId,
    direction: record.direction,
    path: record.path,
    isFile: record.isFile,
    info: record.info,
    user: userOf(record),
    createdAt: record.createdAt.toISOString(),
  };
}

function alarmView(record: AlarmAuditRecord): AlarmAuditView {
  return {
    id: record.id,
    deviceId: record.rustdeskId,
    alarmType: record.alarmType,
    info: record.info,
    connId: record.connId,
    user: userOf(record),
    auditSeq: record.auditSeq,
    createdAt: record.createdAt.toISOString(),
  };
}
