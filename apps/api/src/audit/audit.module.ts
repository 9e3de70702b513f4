import { Global, Module } from '@nestjs/common';

import { AuditChainMonitor } from './audit-chain-monitor';
import { AuditController } from './audit.controller';
import { AuditCheckpoints } from './audit-checkpoints';
import { AuditLog } from './audit-log';
import { AuditQueueWorker } from './audit-queue.worker';
import { AuditService } from './audit.service';

/**
 * The audit chain: AuditLog for every feature module (global), the read endpoints, the worker
 * that appends the data plane's queued entries, the checkpoints of its head outside Postgres, and
 * the periodic verification of the whole chain.
 */
@Global()
@Module({
  controllers: [AuditController],
  providers: [AuditLog, AuditService, AuditQueueWorker, AuditCheckpoints, AuditChainMonitor],
  exports: [AuditLog, AuditService],
})
export class AuditModule {}
