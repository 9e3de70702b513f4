import { Readable } from 'node:stream';

import { BadRequestException, Injectable } from '@nestjs/common';
import { type AuditEntry } from '@switchboard/audit';
import { type AuditListQuery as RepositoryQuery, InvalidAuditCursorError } from '@switchboard/data-access';

import { auditActorOf, type Principal, type RequestOrigin } from '../auth/principal';
import { auditCsv } from './audit-csv';
import {
  type AuditEntryView,
  type AuditFilter,
  type AuditListQuery,
  type AuditPageView,
  type AuditVerifyView,
} from './audit.dto';
import { AuditLog } from './audit-log';

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
  constructor(private readonly audit: AuditLog) {}

  async list(query: AuditListQuery): Promise<AuditPageView> {
    try {
      const page = await this.audit.repository.list({
        ...toRepositoryFilter(query),
        cursor: query.cursor,
        limit: query.limit,
      });
      return { entries: page.entries.map(toView), nextCursor: page.nextCursor };
    } catch (error) {
      if (error instanceof InvalidAuditCursorError) throw new BadRequestException(['cursor: invalid cursor']);
      throw error;
    }
  }

  /** Records the export, then returns the CSV as a stream that reads one page per chunk. */
  async exportCsv(filter: AuditFilter, principal: Principal, origin: RequestOrigin): Promise<Readable> {
    await this.audit.record({
      ...auditActorOf(principal),
      action: 'audit.exported',
      ip: origin.ip,
      details: { filter: definedOnly(filter), format: 'csv', ...userAgentOf(origin) },
    });
    const repositoryFilter = toRepositoryFilter(filter);
    const rows = auditCsv((cursor) =>
      this.audit.repository.list({ ...repositoryFilter, cursor, limit: EXPORT_PAGE_SIZE }),
    );
    return Readable.from(rows, { objectMode: false });
  }

  /** Walks the chain, then records the result (appended after the walk, so it is not part of it). */
  async verify(principal: Principal, origin: RequestOrigin): Promise<AuditVerifyView> {
    const result = await this.audit.repository.verify();
    const view: AuditVerifyView = result.ok
      ? { ok: true, checked: result.count, headSeq: result.headSeq.toString() }
      : {
          ok: false,
          checked: result.checked,
          firstBroken: { seq: result.brokenSeq.toString(), reason: result.reason, detail: result.detail },
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
          : { brokenSeq: view.firstBroken.seq, reason: view.firstBroken.reason }),
        ...userAgentOf(origin),
      },
    });
    return view;
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

export function toView(entry: AuditEntry): AuditEntryView {
  return {
    seq: entry.seq.toString(),
    at: entry.at.toISOString(),
    actorType: entry.actorType,
    actorId: entry.actorId,
    action: entry.action,
    targetType: entry.targetType,
    targetId: entry.targetId,
    ip: entry.ip,
    details: entry.details,
    keyId: entry.keyId,
    prevHash: entry.prevHash.toString('hex'),
    hash: entry.hash.toString('hex'),
  };
}
