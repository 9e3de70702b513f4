import { Readable } from 'node:stream';

import { BadRequestException, Inject, Injectable } from '@nestjs/common';
import { type AuditEntry, type AuditVerifyResult, type CheckpointReading } from '@switchboard/audit';
import {
  type AuditListQuery as RepositoryQuery,
  InvalidAuditCursorError,
  type UserRole,
} from '@switchboard/data-access';

import { API_CLOCK } from '../app.tokens';
import { auditActorOf, type Principal, type RequestOrigin } from '../auth/principal';
import { type Clock } from '../time/clock';
import { auditCsv } from './audit-csv';
import {
  type AuditEntryView,
  type AuditFilter,
  type AuditListQuery,
  type AuditPageView,
  type AuditVerifyView,
} from './audit.dto';
import { AuditCheckpoints } from './audit-checkpoints';
import { AuditLog } from './audit-log';
import { detailsFor } from './audit-redaction';

/** Rows per database read while exporting: the most AuditRepository.list returns. */
const EXPORT_PAGE_SIZE = 500;

/**
 * Reading the chain: pages for the console, a CSV export, and verification. Exporting and verifying
 * are audited themselves (`audit.exported`, `audit.verified`): taking the whole log away, or checking
 * whether it was tampered with, is something an investigator wants to see afterwards. Plain paging
 * is not, or every console visit would write to the log it reads.
 */
@Injectable()
export class AuditService {
  constructor(
    private readonly audit: AuditLog,
    private readonly checkpoints: AuditCheckpoints,
    @Inject(API_CLOCK) private readonly clock: Clock,
  ) {}

  /** One page, each entry's details cut to what the reader's role may read (audit-redaction.ts). */
  async list(query: AuditListQuery, principal: Principal): Promise<AuditPageView> {
    try {
      const page = await this.audit.repository.list({
        ...toRepositoryFilter(query),
        cursor: query.cursor,
        limit: query.limit,
      });
      return {
        entries: page.entries.map((entry) => toView(entry, principal.role)),
        nextCursor: page.nextCursor,
      };
    } catch (error) {
      if (error instanceof InvalidAuditCursorError) throw new BadRequestException(['cursor: invalid cursor']);
      throw error;
    }
  }

  /** Records the export, then returns the CSV as a stream that reads one page per chunk. */
  /** The rows as a CSV stream, and the file name to offer (stamped with the time of the export). */
  async exportCsv(
    filter: AuditFilter,
    principal: Principal,
    origin: RequestOrigin,
  ): Promise<{ stream: Readable; fileName: string }> {
    await this.audit.record({
      ...auditActorOf(principal),
      action: 'audit.exported',
      ip: origin.ip,
      details: { filter: definedOnly(filter), format: 'csv', ...userAgentOf(origin) },
    });
    const repositoryFilter = toRepositoryFilter(filter);
    const rows = auditCsv(async (cursor) => {
      const page = await this.audit.repository.list({ ...repositoryFilter, cursor, limit: EXPORT_PAGE_SIZE });
      return { ...page, entries: page.entries.map((entry) => asReadBy(entry, principal.role)) };
    });
    const stamp = this.clock
      .now()
      .toISOString()
      .replaceAll(':', '-')
      .replace(/\.\d+Z$/, 'Z');
    return { stream: Readable.from(rows, { objectMode: false }), fileName: `audit-${stamp}.csv` };
  }

  /**
   * Walks the chain and compares its end with the head record and the checkpoints outside Postgres
   * (read first: a checkpoint is never ahead of the head it was taken from), then records the result
   * (appended after the walk, so it is not part of it).
   */
  async verify(principal: Principal, origin: RequestOrigin): Promise<AuditVerifyView> {
    const { result, sources } = await this.verifyChain();
    const view: AuditVerifyView = result.ok
      ? { ok: true, checked: result.count, headSeq: result.headSeq.toString(), checkpoints: sources }
      : {
          ok: false,
          checked: result.checked,
          lastGoodSeq: (result.brokenSeq - 1n).toString(),
          firstBroken: { seq: result.brokenSeq.toString(), reason: result.reason, detail: result.detail },
          checkpoints: sources,
        };
    await this.audit.record({
      ...auditActorOf(principal),
      action: 'audit.verified',
      ip: origin.ip,
      details: {
        ok: view.ok,
        checked: view.checked,
        ...(view.ok
          ? { headSeq: view.headSeq }
          : {
              brokenSeq: view.firstBroken.seq,
              lastGoodSeq: view.lastGoodSeq,
              reason: view.firstBroken.reason,
            }),
        checkpoints: view.checkpoints,
        ...userAgentOf(origin),
      },
    });
    return view;
  }

  /**
   * The walk verify() answers with, unrecorded: also the background check's (audit-chain-monitor.ts).
   * The repository reads one page at a time and keeps only the last link, so the chain's length
   * does not matter to memory.
   */
  async verifyChain(): Promise<{ result: AuditVerifyResult; sources: CheckpointReading['source'][] }> {
    const checkpoints = await this.checkpoints.readAll();
    const result = await this.audit.repository.verify(undefined, { checkpoints });
    return { result, sources: checkpoints.map((reading) => reading.source) };
  }
}

function toRepositoryFilter(filter: AuditFilter): RepositoryQuery {
  return {
    from: filter.from === undefined ? undefined : new Date(filter.from),
    to: filter.to === undefined ? undefined : new Date(filter.to),
    actorId: filter.actor,
    action: filter.action,
    targetType: filter.targetType,
    targetId: filter.targetId,
  };
}

/** JSON has no undefined: absent filters are left out of the entry. */
function definedOnly(filter: AuditFilter): Record<string, string> {
  return Object.fromEntries(
    Object.entries(filter).filter((pair): pair is [string, string] => typeof pair[1] === 'string'),
  );
}

function userAgentOf(origin: RequestOrigin): { userAgent?: string } {
  return origin.userAgent === null ? {} : { userAgent: origin.userAgent };
}

function asReadBy(entry: AuditEntry, role: UserRole): AuditEntry {
  const { details, redacted } = detailsFor(entry.action, entry.details, role);
  return redacted ? { ...entry, details } : entry;
}

export function toView(entry: AuditEntry, role: UserRole): AuditEntryView {
  const { details, redacted } = detailsFor(entry.action, entry.details, role);
  return {
    seq: entry.seq.toString(),
    at: entry.at.toISOString(),
    actorType: entry.actorType,
    actorId: entry.actorId,
    action: entry.action,
    targetType: entry.targetType,
    targetId: entry.targetId,
    ip: entry.ip,
    details,
    keyId: entry.keyId,
    prevHash: entry.prevHash.toString('hex'),
    hash: entry.hash.toString('hex'),
    // The hash covers the details as stored: a redacted entry cannot be re-hashed by its reader.
    ...(redacted ? { redacted: true } : {}),
  };
}
