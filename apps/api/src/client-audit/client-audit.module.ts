import { Module } from '@nestjs/common';
import { ClientAuditRepository } from '@switchboard/data-access';

import { DatabaseConnection } from '../database/database.connection';
import { ClientAuditController } from './client-audit.controller';
import { ClientAuditNoteController } from './client-audit-note.controller';
import { ClientAuditOpsController } from './client-audit-ops.controller';
import { ClientAuditOpsService } from './client-audit-ops.service';
import { ClientAuditService } from './client-audit.service';
import { ConnAuditRefVerifier } from './conn-audit-ref-verifier';

/** Audit reported by RustDesk clients: the /api/audit/* ingest and the operator listings. */
@Module({
  controllers: [ClientAuditController, ClientAuditNoteController, ClientAuditOpsController],
  providers: [
    {
      provide: ClientAuditRepository,
      inject: [DatabaseConnection],
      // Bound to the pool, never to a transaction: its batch writes run their own.
      useFactory: (database: DatabaseConnection) => new ClientAuditRepository(database.client),
    },
    ClientAuditService,
    ClientAuditOpsService,
    ConnAuditRefVerifier,
  ],
})
export class ClientAuditModule {}
