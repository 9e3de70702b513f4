import { Global, Module } from '@nestjs/common';

import { AuditLog } from './audit-log';

/** The api's handle on the audit chain, for every feature module. */
@Global()
@Module({ providers: [AuditLog], exports: [AuditLog] })
export class AuditModule {}
