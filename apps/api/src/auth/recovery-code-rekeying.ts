import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { RecoveryCodeRepository } from '@switchboard/data-access';
import { type Logger } from '@switchboard/observability';

import { API_LOGGER } from '../app.tokens';
import { AuditLog } from '../audit/audit-log';
import { RecoveryCodeDigests } from './recovery-codes';

const BATCH = 500;

/**
 * Recovery codes stored before keys (a bare SHA-256) are keyed in place at start, in the background:
 * a start must not wait for it, and a failure only leaves those rows as they were (still usable,
 * through the unkeyed lookup) until the next start. Any number of replicas may race: each row
 * changes once. Audited as one `auth.recovery_codes_rekeyed` entry per start that changed any.
 */
@Injectable()
export class RecoveryCodeRekeying implements OnApplicationBootstrap {
  private readonly log: Logger;

  constructor(
    private readonly codes: RecoveryCodeRepository,
    private readonly digests: RecoveryCodeDigests,
    private readonly audit: AuditLog,
    @Inject(API_LOGGER) logger: Logger,
  ) {
    this.log = logger.child({ component: 'recovery-code-rekeying' });
  }

  onApplicationBootstrap(): void {
    this.rekeyAll().catch((error: unknown) => {
      this.log.error({ err: error }, 'cannot key the recovery codes stored before keys; next start retries');
    });
  }

  /** Keys every unkeyed row; returns how many this call changed. */
  async rekeyAll(): Promise<number> {
    let changed = 0;
    for (;;) {
      const rows = await this.codes.listUnkeyed(BATCH);
      for (const row of rows) {
        if (await this.codes.upgradeUnkeyed(row.id, this.digests.keyedOf(row.codeHash))) changed += 1;
      }
      if (rows.length < BATCH) break;
    }
    if (changed > 0) {
      await this.audit.record({
        actorType: 'system',
        actorId: null,
        action: 'auth.recovery_codes_rekeyed',
        targetType: 'user',
        targetId: null,
        ip: null,
        details: { codes: changed },
      });
    }
    return changed;
  }
}
