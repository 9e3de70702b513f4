import {
  type AuditChainHead,
  type AuditEntry,
  AuditChainVerifier,
  checkChainEnd,
  type CheckpointReading,
  signChainHead,
  type SignedChainHead,
  type AuditKeyring,
  type AuditVerifyResult,
  assertValidAuditEntry,
  chainEntries,
  GENESIS_HEAD,
  type JsonValue,
  type NewAuditEntry,
} from '@switchboard/audit';

import { type AuditEntry as AuditEntryRow, type Prisma, type PrismaClient } from '../generated/prisma/client';
import { GroupCommitQueue } from './group-commit-queue';
import {
  HEAD_ROW_ID,
  type HeadRow,
  type IsolationRow,
  insertEntriesSql,
  lockChainSql,
  readHeadSql,
  toChainHead,
} from './audit.sql';

/** An entry to append; `at` defaults to the repository clock's now. */
export type AuditAppendInput = Omit<NewAuditEntry, 'at'> & { readonly at?: Date };

export interface AuditRepositoryOptions {
  /** Signs new entries with its current key; verify() uses it unless given another. */
  readonly keyring: AuditKeyring;
  /** Most entries one group commit writes (default 500). */
  readonly maxBatchSize?: number;
  /** Upper bound for a group commit's transaction, including the wait for a connection (default 10 s). */
  readonly transactionTimeoutMs?: number;
  readonly now?: () => Date;
}

export interface AuditListQuery {
  /** Inclusive lower bound on `at`. */
  readonly from?: Date;
  /** Exclusive upper bound on `at`. */
  readonly to?: Date;
  readonly actorId?: string;
  readonly action?: string;
  readonly targetType?: string;
  readonly targetId?: string;
  /** `nextCursor` of the previous page. */
  readonly cursor?: string;
  /** 1..500, default 50. */
  readonly limit?: number;
}

export interface AuditPage {
  /** Newest first (by `at`, then `seq`). */
  readonly entries: AuditEntry[];
  /** Pass back as `cursor` for the next (older) page; null on the last page. */
  readonly nextCursor: string | null;
}

export class InvalidAuditCursorError extends Error {
  constructor(readonly cursor: string) {
    super('Invalid audit cursor');
    this.name = 'InvalidAuditCursorError';
  }
}

/** Thrown when appendInTransaction runs in a transaction whose snapshot could predate the chain lock. */
export class AuditIsolationError extends Error {
  constructor(readonly isolation: string) {
    super(`Audit entries must be appended in a READ COMMITTED transaction, not ${isolation.toUpperCase()}`);
    this.name = 'AuditIsolationError';
  }
}

export class AuditRepositoryClosedError extends Error {
  constructor() {
    super('The audit repository is closed');
    this.name = 'AuditRepositoryClosedError';
  }
}

const DEFAULT_MAX_BATCH_SIZE = 500;
// 12 bind parameters per row must stay under the 65535 Postgres allows in one statement.
const MAX_ROWS_PER_INSERT = 5000;
const DEFAULT_TRANSACTION_TIMEOUT_MS = 10_000;
const DEFAULT_VERIFY_PAGE_SIZE = 1000;
const DEFAULT_LIST_LIMIT = 50;
const MAX_LIST_LIMIT = 500;
const CURSOR = /^(-?\d{1,15})\.([1-9]\d{0,18})$/;
// What the columns can hold (seq is a bigint, at a timestamptz no earlier than any entry): a cursor
// beyond them would fail in Postgres, so it is just invalid.
const MAX_SEQ = 2n ** 63n - 1n;
const MAX_DATE_MS = 8.64e15;

/**
 * The hash-chained audit log in `audit_entries`. Every append, from any process, takes one Postgres
 * advisory lock, reads the head and inserts under it, so the chain never forks; the primary key on seq
 * turns any writer that bypassed the lock into a failed insert rather than a second branch.
 */
export class AuditRepository {
  private readonly keyring: AuditKeyring;
  private readonly transactionTimeoutMs: number;
  private readonly now: () => Date;
  private readonly queue: GroupCommitQueue<NewAuditEntry, bigint>;
  private closed = false;

  constructor(
    private readonly prisma: PrismaClient,
    options: AuditRepositoryOptions,
  ) {
    this.keyring = options.keyring;
    this.transactionTimeoutMs = options.transactionTimeoutMs ?? DEFAULT_TRANSACTION_TIMEOUT_MS;
    this.now = options.now ?? (() => new Date());
    this.queue = new GroupCommitQueue(
      (entries) => this.commitBatch(entries),
      options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE,
    );
  }

  /**
   * Appends entries inside the caller's interactive transaction, so a change and its audit entry commit
   * or roll back together. The chain lock is held until that transaction ends: keep it short after this.
   * Must run under READ COMMITTED (Prisma's default). One INSERT, or one per 5000 entries beyond that.
   */
  async appendInTransaction(
    tx: Prisma.TransactionClient,
    entries: readonly AuditAppendInput[],
  ): Promise<AuditEntry[]> {
    const stamped = entries.map((entry) => this.stamp(entry));
    stamped.forEach(assertValidAuditEntry);
    if (stamped.length === 0) return [];
    const [lock] = await tx.$queryRaw<IsolationRow[]>(lockChainSql());
    // Postgres runs READ UNCOMMITTED as READ COMMITTED; stronger levels keep a snapshot older than the lock.
    const isolation = lock?.isolation ?? 'unknown';
    if (isolation !== 'read committed' && isolation !== 'read uncommitted')
      throw new AuditIsolationError(isolation);
    const [headRow] = await tx.$queryRaw<HeadRow[]>(readHeadSql());
    const chained = chainEntries(
      headRow === undefined ? GENESIS_HEAD : toChainHead(headRow),
      stamped,
      this.keyring,
    );
    const last = chained.at(-1);
    const head = last === undefined ? undefined : signChainHead(last, this.keyring);
    for (let start = 0; start < chained.length; start += MAX_ROWS_PER_INSERT) {
      const end = start + MAX_ROWS_PER_INSERT;
      await tx.$executeRaw(
        insertEntriesSql(chained.slice(start, end), end >= chained.length ? head : undefined),
      );
    }
    return chained;
  }

  /**
   * Appends one stand-alone entry through group commit: concurrent callers share a transaction.
   * Resolves with the entry's seq once its batch has committed; rejects if the batch failed. An entry
   * that could not be stored is rejected up front so it never fails a batch it shares with others.
   * Never await it inside a transaction that has called appendInTransaction: the batch would wait for
   * the chain lock that transaction holds.
   */
  async append(entry: AuditAppendInput): Promise<bigint> {
    if (this.closed) throw new AuditRepositoryClosedError();
    const stamped = this.stamp(entry);
    assertValidAuditEntry(stamped);
    return this.queue.enqueue(stamped);
  }

  /** Refuses new appends and waits until every queued one has committed or failed. */
  async close(): Promise<void> {
    this.closed = true;
    await this.queue.drain();
  }

  /**
   * Walks the chain in seq order, one page in memory at a time, and names the first break; then checks
   * that the chain ends where the head record and the given checkpoints (read by the caller before this
   * call) say it must. The head record is read first and the walk stops at its seq, so entries appended
   * meanwhile are neither a break nor a false "missing tail".
   */
  async verify(
    keyring: AuditKeyring = this.keyring,
    {
      pageSize = DEFAULT_VERIFY_PAGE_SIZE,
      checkpoints = [],
    }: { pageSize?: number; checkpoints?: readonly CheckpointReading[] } = {},
  ): Promise<AuditVerifyResult> {
    if (!Number.isInteger(pageSize) || pageSize < 1)
      throw new RangeError(`pageSize must be a positive integer`);
    const headRecord = await this.readHeadRecord();
    const verifier = new AuditChainVerifier(keyring);
    const upTo = headRecord === null ? {} : { lte: headRecord.seq };
    let after = -1n;
    for (;;) {
      const rows = await this.prisma.auditEntry.findMany({
        where: { seq: { gt: after, ...upTo } },
        orderBy: { seq: 'asc' },
        take: pageSize,
      });
      const intact = verifier.push(rows.map(toAuditEntry));
      if (!intact) return verifier.result();
      const last = rows.at(-1);
      if (last === undefined || rows.length < pageSize) break;
      after = last.seq;
    }
    const chainEnd = verifier.lastGood;
    const hashes = await this.hashesAt(checkpoints, chainEnd);
    const broken = checkChainEnd(
      {
        chainEnd,
        firstHash: verifier.firstHash,
        headRecord,
        checkpoints,
        hashAt: (seq) => hashes.get(seq),
      },
      keyring,
    );
    const walked = verifier.result();
    return broken === null || !walked.ok ? walked : { ok: false, ...broken, checked: walked.count };
  }

  /** The head record as stored (its MAC unchecked), or null when there is none. */
  async readHeadRecord(): Promise<SignedChainHead | null> {
    const row = await this.prisma.auditChainHead.findUnique({ where: { id: HEAD_ROW_ID } });
    if (row === null) return null;
    return { seq: row.seq, hash: Buffer.from(row.hash), keyId: row.keyId, mac: Buffer.from(row.mac) };
  }

  /** The hash of seq 1, null for an empty chain: with the head, what a checkpoint records. */
  async firstHash(): Promise<Buffer | null> {
    const row = await this.prisma.auditEntry.findUnique({ where: { seq: 1n }, select: { hash: true } });
    return row === null ? null : Buffer.from(row.hash);
  }

  private async hashesAt(
    checkpoints: readonly CheckpointReading[],
    chainEnd: AuditChainHead,
  ): Promise<Map<bigint, Buffer>> {
    const seqs = checkpoints.flatMap(({ checkpoint }) =>
      checkpoint === 'unreadable' || checkpoint.seq > chainEnd.seq ? [] : [checkpoint.seq],
    );
    const rows =
      seqs.length === 0
        ? []
        : await this.prisma.auditEntry.findMany({
            where: { seq: { in: seqs } },
            select: { seq: true, hash: true },
          });
    return new Map(rows.map((row) => [row.seq, Buffer.from(row.hash)]));
  }

  /**
   * Whether the log holds an entry of this action, appended since `since`, whose details carry this
   * `jobId`: how the api's audit-queue worker recognises a job it appended before a retry (the
   * (action, at) index narrows the search to that action's recent rows).
   */
  async containsQueueJob(action: string, jobId: string, since: Date): Promise<boolean> {
    const row = await this.prisma.auditEntry.findFirst({
      where: { action, at: { gte: since }, details: { path: ['jobId'], equals: jobId } },
      select: { seq: true },
    });
    return row !== null;
  }

  /** One page of the log, newest first, filtered on the indexed columns. */
  async list(query: AuditListQuery = {}): Promise<AuditPage> {
    const limit = query.limit ?? DEFAULT_LIST_LIMIT;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
      throw new RangeError(`limit must be an integer from 1 to ${MAX_LIST_LIMIT}`);
    }
    const conditions: Prisma.AuditEntryWhereInput[] = [];
    if (query.from !== undefined) conditions.push({ at: { gte: query.from } });
    if (query.to !== undefined) conditions.push({ at: { lt: query.to } });
    if (query.actorId !== undefined) conditions.push({ actorId: query.actorId });
    if (query.action !== undefined) conditions.push({ action: query.action });
    if (query.targetType !== undefined) conditions.push({ targetType: query.targetType });
    if (query.targetId !== undefined) conditions.push({ targetId: query.targetId });
    if (query.cursor !== undefined) {
      const { at, seq } = parseCursor(query.cursor);
      // `at <= cursor` bounds the index scan; the OR only separates rows sharing the cursor's millisecond.
      conditions.push({ at: { lte: at } }, { OR: [{ at: { lt: at } }, { seq: { lt: seq } }] });
    }
    const rows = await this.prisma.auditEntry.findMany({
      where: { AND: conditions },
      orderBy: [{ at: 'desc' }, { seq: 'desc' }],
      take: limit + 1,
    });
    const entries = rows.slice(0, limit).map(toAuditEntry);
    const last = entries.at(-1);
    const nextCursor = rows.length > limit && last !== undefined ? `${last.at.getTime()}.${last.seq}` : null;
    return { entries, nextCursor };
  }

  private stamp(entry: AuditAppendInput): NewAuditEntry {
    return { ...entry, at: entry.at ?? this.now() };
  }

  private async commitBatch(entries: NewAuditEntry[]): Promise<bigint[]> {
    const chained = await this.prisma.$transaction((tx) => this.appendInTransaction(tx, entries), {
      maxWait: this.transactionTimeoutMs,
      timeout: this.transactionTimeoutMs,
    });
    return chained.map((entry) => entry.seq);
  }
}

function parseCursor(cursor: string): { at: Date; seq: bigint } {
  const match = CURSOR.exec(cursor);
  if (match === null) throw new InvalidAuditCursorError(cursor);
  const atMs = Number(match[1]);
  const seq = BigInt(match[2] ?? '');
  if (atMs < 0 || atMs > MAX_DATE_MS || seq > MAX_SEQ) throw new InvalidAuditCursorError(cursor);
  return { at: new Date(atMs), seq };
}

function toAuditEntry(row: AuditEntryRow): AuditEntry {
  return {
    seq: row.seq,
    at: row.at,
    actorType: row.actorType,
    actorId: row.actorId,
    action: row.action,
    targetType: row.targetType,
    targetId: row.targetId,
    ip: row.ip,
    details: row.details as JsonValue,
    keyId: row.keyId,
    prevHash: Buffer.from(row.prevHash),
    hash: Buffer.from(row.hash),
  };
}
