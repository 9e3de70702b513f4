import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { type AuditAppendInput, AuditRepository, type TransactionClient } from '@switchboard/data-access';

import { API_SECRETS } from '../app.tokens';
import { DatabaseConnection } from '../database/database.connection';
import { type ApiSecrets } from '../secrets';

/**
 * The api's handle on the audit chain. Changes append inside their own transaction
 * (ChangeRunner does that); events with nothing else to write (a failed login) use `record`,
 * which group-commits with whatever else is being appended at that moment.
 */
@Injectable()
export class AuditLog implements OnApplicationShutdown {
  readonly repository: AuditRepository;

  constructor(database: DatabaseConnection, @Inject(API_SECRETS) secrets: ApiSecrets) {
    this.repository = new AuditRepository(database.client, { keyring: secrets.auditKeyring });
  }

  async record(entry: AuditAppendInput): Promise<bigint> {
    return this.repository.append(entry);
  }

  async recordInTransaction(tx: TransactionClient, entries: readonly AuditAppendInput[]): Promise<void> {
    await this.repository.appendInTransaction(tx, [...entries]);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.repository.close();
  }
}
