import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { type AuditAppendInput, AuditRepository } from '@switchboard/data-access';

/**
 * The api's handle on the audit chain. Changes append inside their own transaction
 * (ChangeRunner does that); events with nothing else to write (a failed login) use `record`,
 * which group-commits with whatever else is being appended at that moment.
 */
@Injectable()
export class AuditLog implements OnApplicationShutdown {
  constructor(readonly repository: AuditRepository) {}

  async record(entry: AuditAppendInput): Promise<bigint> {
    return this.repository.append(entry);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.repository.close();
  }
}
