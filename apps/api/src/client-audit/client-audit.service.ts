import {
  BadRequestException,
  ForbiddenException,
  Inject,
  Injectable,
  NotFoundException,
  type OnApplicationShutdown,
} from '@nestjs/common';
import {
  type AlarmRecordRow,
  ClientAuditRepository,
  type ConnectionRecordRow,
  type FileRecordRow,
  GroupCommitQueue,
  type ReportingDevice,
} from '@switchboard/data-access';
import { type Logger } from '@switchboard/observability';

import { API_CLOCK, API_LOGGER } from '../app.tokens';
import { AuditLog } from '../audit/audit-log';
import { type Clock } from '../time/clock';
import { type AlarmAuditBody, type ConnAuditBody, type FileAuditBody } from './client-audit.dto';
import { ConnAuditRefVerifier, type ControllingUser } from './conn-audit-ref-verifier';

/** Records one group commit writes at most: a few hundred keep each transaction short. */
const MAX_BATCH = 500;
/**
 * How long a device's id → (row, uuid) is reused: a busy device posts several records a second, and
 * a lookup per record would double the ingest's queries. A deleted device may report this long more.
 */
const DEVICE_CACHE_MS = 10_000;
const DEVICE_CACHE_MAX = 50_000;
/**
 * Connection records go to one of this many group-commit queues, by connection: batches of different
 * queues commit side by side, and never touch the same row, so they cannot wait on or deadlock with
 * each other; the records (and retries) of one connection stay in one queue, in order.
 */
const CONNECTION_QUEUES = 4;

/** The caller of the note routes, as the client login decorator gives it. */
export interface NoteCaller {
  readonly userId: string;
  readonly isAdmin: boolean;
}

/**
 * Stores what clients report under /api/audit (docs/client-api.md §7). A report is answered only once
 * its record is committed, since the client treats a 2xx as stored; concurrent reports share group
 * commits. A device names itself by id and uuid; a user is named only by a reference signal signed.
 */
@Injectable()
export class ClientAuditService implements OnApplicationShutdown {
  private readonly connections: GroupCommitQueue<ConnectionRecordRow, undefined>[];
  private readonly files: GroupCommitQueue<FileRecordRow, undefined>;
  private readonly alarms: GroupCommitQueue<AlarmRecordRow, undefined>;
  private readonly log: Logger;
  private readonly knownDevices = new Map<string, { device: ReportingDevice; until: number }>();

  constructor(
    private readonly repository: ClientAuditRepository,
    private readonly references: ConnAuditRefVerifier,
    private readonly auditLog: AuditLog,
    @Inject(API_CLOCK) private readonly clock: Clock,
    @Inject(API_LOGGER) logger: Logger,
  ) {
    this.log = logger.child({ component: 'client-audit' });
    this.connections = Array.from(
      { length: CONNECTION_QUEUES },
      () =>
        new GroupCommitQueue<ConnectionRecordRow, undefined>(async (rows) => {
          await this.repository.applyConnectionRecords(rows);
          return rows.map(() => undefined);
        }, MAX_BATCH),
    );
    this.files = new GroupCommitQueue(async (rows) => {
      await this.repository.insertFileRecords(rows);
      return rows.map(() => undefined);
    }, MAX_BATCH);
    this.alarms = new GroupCommitQueue(async (rows) => {
      const unchained = await this.repository.insertAlarmRecords(rows);
      // One chain entry per alarm, after its row is committed; a failure here answers 503, and the
      // client's retry finds the row still unchained and appends then.
      for (const id of unchained) await this.chainAlarm(id);
      return rows.map(() => undefined);
    }, MAX_BATCH);
  }

  /** POST /api/audit/conn: a controlled side's record, or the controlling side's note. */
  async reportConnection(body: ConnAuditBody): Promise<void> {
    if (body.uuid === undefined && body.note !== undefined) {
      await this.noteFromControllingSide(body.id, body.session_id, body.note);
      return;
    }
    if (body.uuid === undefined || body.conn_id === undefined) {
      throw new BadRequestException('uuid and conn_id are required');
    }
    const device = await this.reportingDevice(body.id, body.uuid);
    const user =
      body.conn_audit_ref === undefined
        ? null
        : this.references.verify(body.conn_audit_ref, device.rustdeskId);
    const now = this.clock.now();
    const authorised = body.peer !== undefined;
    await this.connectionQueue(device.id, body.session_id, body.conn_id).enqueue({
      deviceId: device.id,
      rustdeskId: device.rustdeskId,
      connId: body.conn_id,
      sessionId: body.session_id,
      nonce: body.nonce ?? null,
      ip: body.ip ?? null,
      peerId: body.peer?.[0] ?? null,
      peerName: body.peer?.[1] ?? null,
      connType: body.type ?? null,
      primaryAuth: body.primary_auth ?? null,
      twoFactor: body.two_factor ?? null,
      userId: user?.userId ?? null,
      username: user?.username ?? null,
      openedAt: body.action === 'new' ? now : null,
      authorizedAt: authorised ? now : null,
      closedAt: body.action === 'close' ? now : null,
    });
  }

  /** POST /api/audit/file. */
  async reportFile(body: FileAuditBody): Promise<void> {
    const device = await this.reportingDevice(body.id, body.uuid);
    await this.files.enqueue({
      deviceId: device.id,
      rustdeskId: device.rustdeskId,
      peerId: body.peer_id ?? null,
      connId: body.conn_id ?? null,
      direction: body.type,
      path: body.path,
      isFile: body.is_file,
      info: jsonText(body.info),
      nonce: body.nonce ?? null,
    });
  }

  /** POST /api/audit/alarm. */
  async reportAlarm(body: AlarmAuditBody): Promise<void> {
    const device = await this.reportingDevice(body.id, body.uuid);
    const user: ControllingUser | null =
      body.conn_audit_ref === undefined
        ? null
        : this.references.verify(body.conn_audit_ref, device.rustdeskId);
    await this.alarms.enqueue({
      deviceId: device.id,
      rustdeskId: device.rustdeskId,
      alarmType: body.typ,
      info: jsonText(body.info),
      connId: body.conn_id ?? null,
      userId: user?.userId ?? null,
      username: user?.username ?? null,
      nonce: body.nonce ?? null,
    });
  }

  /**
   * GET /api/audit/conn/active: the guid of the caller's connection, for the end-of-session note. An
   * empty string while the controlled side's record has not arrived: the client asks again.
   */
  async activeConnectionGuid(
    caller: NoteCaller,
    rustdeskId: string,
    sessionId: string,
    connType: number,
  ): Promise<string> {
    const connection = await this.repository.findActiveConnection(rustdeskId, sessionId, connType);
    if (connection === null) return '';
    if (!mayAnnotate(caller, connection.userId)) {
      throw new ForbiddenException('This connection was made by another user');
    }
    return connection.guid;
  }

  /** PUT /api/audit: the end-of-session note. */
  async setNote(caller: NoteCaller, guid: string, note: string): Promise<void> {
    const connection = await this.repository.findConnection(guid);
    if (connection === null) throw new NotFoundException('No such connection record');
    if (!mayAnnotate(caller, connection.userId)) {
      throw new ForbiddenException('This connection was made by another user');
    }
    await this.repository.setNote(guid, note);
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.connections, this.files, this.alarms].map((queue) => queue.drain()));
  }

  /**
   * The note the controlling side sends during a session: it names the controlled device and the
   * session id, a random u64 only the two ends know, and carries no uuid or credential.
   */
  private async noteFromControllingSide(rustdeskId: string, sessionId: string, note: string): Promise<void> {
    const device = await this.repository.findReportingDevice(rustdeskId);
    if (device === null || device.deleted) throw new NotFoundException('Unknown device');
    if (!(await this.repository.setNoteBySession(device.id, sessionId, note))) {
      throw new NotFoundException('No connection matches this session');
    }
  }

  /**
   * The device a report names, when its uuid is the one the device registered with: the JSON uuid is
   * the base64 of the bytes RegisterPk carried (src/server/connection.rs, src/rendezvous_mediator.rs),
   * which signal stores in devices.uuid. A refusal is a 4xx, which the client does not retry.
   */
  private async reportingDevice(rustdeskId: string, uuid: string): Promise<ReportingDevice> {
    const device = await this.cachedDevice(rustdeskId);
    if (device === null || device.deleted) throw new NotFoundException('Unknown device');
    if (device.uuid === null || Buffer.from(device.uuid).toString('base64') !== uuid) {
      throw new ForbiddenException('The uuid does not match the device');
    }
    return device;
  }

  private connectionQueue(deviceId: string, sessionId: string, connId: number) {
    const queue = this.connections[queueOf(deviceId, sessionId, connId)];
    if (queue === undefined) throw new Error('connection queue index out of range');
    return queue;
  }

  private async cachedDevice(rustdeskId: string): Promise<ReportingDevice | null> {
    const now = this.clock.now().getTime();
    const cached = this.knownDevices.get(rustdeskId);
    if (cached !== undefined && cached.until > now) return cached.device;
    const device = await this.repository.findReportingDevice(rustdeskId);
    // Only devices that may report are kept: an unknown id is looked up each time it comes back.
    if (device === null || device.deleted || device.uuid === null) return device;
    if (this.knownDevices.size >= DEVICE_CACHE_MAX) this.knownDevices.clear();
    this.knownDevices.set(rustdeskId, { device, until: now + DEVICE_CACHE_MS });
    return device;
  }

  private async chainAlarm(id: string): Promise<void> {
    const alarm = await this.repository.findAlarm(id);
    if (alarm === null) return;
    const seq = await this.auditLog.record({
      actorType: 'device',
      actorId: alarm.rustdeskId,
      action: 'client.alarm',
      targetType: 'device',
      targetId: alarm.rustdeskId,
      ip: null,
      details: {
        alarmId: alarm.id,
        type: alarm.alarmType,
        connId: alarm.connId,
        ...(alarm.userId === null ? {} : { userId: alarm.userId, username: alarm.username }),
      },
    });
    await this.repository.markAlarmChained(id, seq);
    this.log.debug({ alarmId: id, seq: seq.toString() }, 'client alarm chained');
  }
}

function queueOf(deviceId: string, sessionId: string, connId: number): number {
  let hash = connId;
  for (const text of [deviceId, sessionId]) {
    for (let index = 0; index < text.length; index++) hash = (hash * 31 + text.charCodeAt(index)) | 0;
  }
  return Math.abs(hash) % CONNECTION_QUEUES;
}

function mayAnnotate(caller: NoteCaller, ownerId: string | null): boolean {
  return caller.isAdmin || (ownerId !== null && ownerId === caller.userId);
}

/** The client sends `info` as JSON text; text that is not a JSON object is kept under `text`. */
function jsonText(info: string | undefined): string {
  if (info === undefined) return '{}';
  // jsonb refuses an escaped NUL; such text is kept as a string instead.
  if (/\\u0000/i.test(info)) return JSON.stringify({ text: info });
  try {
    const parsed: unknown = JSON.parse(info);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return info;
  } catch {
    // kept as text below
  }
  return JSON.stringify({ text: info });
}
