import { type Prisma, type PrismaClient, type Session } from '../generated/prisma/client';
import { toBytes } from './bytes';

/** `browser`: a console cookie; `client`: a RustDesk client's login (POST /api/login). */
export type SessionKind = 'browser' | 'client';

/** The RustDesk client a client login was made from, as it described itself. */
export interface SessionClient {
  id: string | null;
  uuid: string | null;
  os: string | null;
  type: string | null;
  name: string | null;
}

/** A session row; the token itself is never stored, only its SHA-256. */
export interface SessionRecord {
  id: string;
  userId: string;
  kind: SessionKind;
  /** Client logins only. */
  client: SessionClient | null;
  rememberMe: boolean;
  ip: string | null;
  userAgent: string | null;
  createdAt: Date;
  lastSeenAt: Date;
  /** Absolute end of life; the idle timeout is checked against lastSeenAt by the caller. */
  expiresAt: Date;
  revokedAt: Date | null;
}

export interface NewSession {
  /** Chosen by the caller when the token must name its own row (client tokens); else the database's. */
  id?: string;
  kind?: SessionKind;
  client?: SessionClient;
  userId: string;
  tokenHash: Buffer;
  rememberMe: boolean;
  ip: string | null;
  userAgent: string | null;
  now: Date;
  expiresAt: Date;
}

/** Sessions (browser and RustDesk client logins). Accepts the client or a transaction, like every repository. */
export class SessionRepository {
  constructor(private readonly db: PrismaClient | Prisma.TransactionClient) {}

  async create(session: NewSession): Promise<SessionRecord> {
    const row = await this.db.session.create({
      data: {
        ...(session.id === undefined ? {} : { id: session.id }),
        kind: session.kind ?? 'browser',
        clientId: session.client?.id ?? null,
        clientUuid: session.client?.uuid ?? null,
        clientOs: session.client?.os ?? null,
        clientType: session.client?.type ?? null,
        clientName: session.client?.name ?? null,
        userId: session.userId,
        tokenHash: toBytes(session.tokenHash),
        rememberMe: session.rememberMe,
        ip: session.ip,
        userAgent: session.userAgent,
        createdAt: session.now,
        lastSeenAt: session.now,
        expiresAt: session.expiresAt,
      },
    });
    return toRecord(row);
  }

  /** By the SHA-256 of the cookie's token (unique index), whatever its state: the caller judges it. */
  async findByTokenHash(tokenHash: Buffer): Promise<SessionRecord | null> {
    const row = await this.db.session.findUnique({ where: { tokenHash: toBytes(tokenHash) } });
    return row === null ? null : toRecord(row);
  }

  /**
   * Moves last_seen_at forward only if it is older than `staleBefore`: at most one write per session
   * per interval, however many requests arrive (and several replicas racing write once).
   */
  async touch(id: string, now: Date, staleBefore: Date): Promise<void> {
    await this.db.session.updateMany({
      where: { id, revokedAt: null, lastSeenAt: { lt: staleBefore } },
      data: { lastSeenAt: now },
    });
  }

  /** Revokes one live session; `userId` makes it "own sessions only". True if a row changed. */
  async revoke(id: string, now: Date, userId?: string): Promise<boolean> {
    const result = await this.db.session.updateMany({
      where: { id, revokedAt: null, ...(userId === undefined ? {} : { userId }) },
      data: { revokedAt: now },
    });
    return result.count === 1;
  }

  /**
   * The user's sessions still usable at `now`: not revoked, not expired, and (browser sessions, the
   * only kind with an idle timeout) seen since `idleSince`.
   */
  async listActive(userId: string, now: Date, idleSince: Date): Promise<SessionRecord[]> {
    const rows = await this.db.session.findMany({
      where: {
        userId,
        revokedAt: null,
        expiresAt: { gt: now },
        OR: [{ kind: 'client' }, { lastSeenAt: { gt: idleSince } }],
      },
      orderBy: { lastSeenAt: 'desc' },
    });
    return rows.map(toRecord);
  }
}

function toRecord(row: Session): SessionRecord {
  const kind: SessionKind = row.kind === 'client' ? 'client' : 'browser';
  return {
    id: row.id,
    userId: row.userId,
    kind,
    client:
      kind === 'client'
        ? {
            id: row.clientId,
            uuid: row.clientUuid,
            os: row.clientOs,
            type: row.clientType,
            name: row.clientName,
          }
        : null,
    rememberMe: row.rememberMe,
    ip: row.ip,
    userAgent: row.userAgent,
    createdAt: row.createdAt,
    lastSeenAt: row.lastSeenAt,
    expiresAt: row.expiresAt,
    revokedAt: row.revokedAt,
  };
}
