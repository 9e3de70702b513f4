// TODO(schemas): the generated answer types of /api/v1/audit and /api/v1/client-audit/* once the
// routes have response schemas (branch console-schemas).

export interface AuditEntry {
  readonly seq: string;
  readonly at: string;
  readonly actorType: string;
  readonly actorId: string | null;
  readonly action: string;
  readonly targetType: string | null;
  readonly targetId: string | null;
  readonly ip: string | null;
  readonly details: unknown;
  readonly keyId: string;
  readonly prevHash: string;
  readonly hash: string;
  readonly redacted?: true;
}

export interface AuditPage {
  readonly entries: AuditEntry[];
  readonly nextCursor: string | null;
}

export type AuditVerification =
  | { readonly ok: true; readonly checked: number; readonly headSeq: string; readonly checkpoints: string[] }
  | {
      readonly ok: false;
      readonly checked: number;
      readonly lastGoodSeq: string;
      readonly firstBroken: { readonly seq: string; readonly reason: string; readonly detail: string };
      readonly checkpoints: string[];
    };

interface ClientUser {
  readonly id: string;
  readonly username: string | null;
}

export interface ConnectionRecord {
  readonly guid: string;
  readonly deviceId: string;
  readonly connId: number;
  readonly sessionId: string;
  readonly ip: string | null;
  readonly peerId: string | null;
  readonly peerName: string | null;
  readonly connType: number | null;
  readonly primaryAuth: number | null;
  readonly twoFactor: number | null;
  readonly user: ClientUser | null;
  readonly note: string | null;
  readonly openedAt: string | null;
  readonly authorizedAt: string | null;
  readonly closedAt: string | null;
  readonly createdAt: string;
}

export interface FileRecord {
  readonly id: string;
  readonly deviceId: string;
  readonly peerId: string | null;
  readonly connId: number | null;
  readonly direction: number;
  readonly path: string;
  readonly isFile: boolean;
  readonly info: unknown;
  readonly user: ClientUser | null;
  readonly createdAt: string;
}

export interface AlarmRecord {
  readonly id: string;
  readonly deviceId: string;
  readonly alarmType: number;
  readonly info: unknown;
  readonly connId: number | null;
  readonly user: ClientUser | null;
  readonly auditSeq: string | null;
  readonly createdAt: string;
}

export interface ClientAuditPage<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}
