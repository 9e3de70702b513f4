import { Inject, Injectable } from '@nestjs/common';
import { type AuditTailEntry, LiveFeedRepository } from '@switchboard/data-access';
import { type Logger } from '@switchboard/observability';

import { API_CONFIG, API_LOGGER } from '../../app.tokens';
import { type ApiConfig } from '../../config';
import { LiveHub } from '../live-hub';
import { type LiveMessageData } from '../live-message';
import { LiveMetrics } from '../live-metrics';
import { PollingSource } from '../polling-source';

/**
 * audit.appended, read from the chain itself: every append, by every replica, the audit queue worker
 * and the bootstrap alike, takes one advisory lock and commits in seq order, so "seq greater than the
 * last one announced" misses nothing and needs no notification channel anyone else could write to.
 * The primary key answers each poll.
 */
@Injectable()
export class AuditTailWatcher extends PollingSource {
  private lastSeq = 0n;

  constructor(
    private readonly feed: LiveFeedRepository,
    private readonly hub: LiveHub,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(API_LOGGER) logger: Logger,
    metrics: LiveMetrics,
  ) {
    super({
      name: 'audit',
      intervalMs: config.LIVE_AUDIT_POLL_MS,
      log: logger.child({ component: 'live' }),
      metrics,
    });
    hub.addSource(this);
  }

  protected async baseline(): Promise<void> {
    this.lastSeq = await this.feed.lastAuditSeq();
  }

  protected async poll(): Promise<void> {
    const limit = this.config.LIVE_MAX_BATCH;
    const entries = await this.feed.auditEntriesAfter(this.lastSeq, limit + 1);
    const last = entries.at(-1);
    if (last === undefined) return;
    if (entries.length > limit) {
      // A burst: one refetch instead of hundreds of toasts; carry on from the newest.
      this.lastSeq = await this.feed.lastAuditSeq();
      this.hub.send('resync', { reason: 'too-many-changes', scope: ['audit'] });
      return;
    }
    this.lastSeq = last.seq;
    for (const entry of entries) this.hub.send('audit.appended', auditFrame(entry));
  }

  protected recovered(): void {
    this.hub.send('resync', { reason: 'source-recovered', scope: ['audit'] });
  }
}

export function auditFrame(entry: AuditTailEntry): LiveMessageData['audit.appended'] {
  return {
    id: entry.seq.toString(),
    action: entry.action,
    actor: { type: entry.actorType, id: entry.actorId },
    target: entry.targetType === null ? null : { type: entry.targetType, id: entry.targetId },
    at: entry.at.toISOString(),
  };
}
