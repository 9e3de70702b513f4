import { Global, Module } from '@nestjs/common';

import { AuditController } from './audit.controller';
import { AuditLog } from './audit-log';
import { AuditQueueWorker } from './audit-queue.worker';
import { AuditService } from './audit.service';

/**
 * The audit chain: AuditLog for every feature module (global), the read endpoints, and the worker
 * that appends the data plane's queued entries.
 */
@Global()
@Module({
  controllers: [AuditController],
  providers: [AuditLog, AuditService, AuditQueueWorker],
  exports: [AuditLog],
})
export class AuditModule {}
