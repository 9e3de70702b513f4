import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import {
  type AuditAppendInput,
  AuditRepository,
  createPrismaClient,
  DeviceDenyStateRepository,
  RelayIpListStateRepository,
  type PrismaClient,
} from '@switchboard/data-access';
import { type Logger } from '@switchboard/observability';

import { API_CONFIG, API_LOGGER, API_SECRETS } from '../app.tokens';
import { type ApiConfig } from '../config';
import { driverErrorKind } from '../errors/dependency-outage';
import { DependencyUnavailableError } from '../health/dependency-unavailable.error';
import { type ApiSecrets } from '../secrets';
import { type Repositories, repositoriesOn } from './repositories';

/** Appends to the audit chain inside the transaction it was handed with. */
export interface TransactionAudit {
  append(entries: readonly AuditAppendInput[]): Promise<void>;
}

/**
 * Owns the api's one Prisma client and the repositories built on it. It connects lazily, so the api
 * starts (and reports not ready) while Postgres is down, and it is closed after Fastify has stopped
 * taking requests.
 */
@Injectable()
export class DatabaseConnection implements OnApplicationShutdown {
  readonly client: PrismaClient;
  /** Bound to the pool: one instance of each for the whole api (database.module.ts provides them). */
  readonly repositories: Repositories;
  /** One per api: its group-commit queue batches the appends made outside a change (AuditLog.record). */
  readonly audit: AuditRepository;
  /** Runs its own short transactions under advisory locks (DeviceDenySet). */
  readonly denyStates: DeviceDenyStateRepository;
  /** The same for the relays' IP lists (RelayIpListSet). */
  readonly ipListStates: RelayIpListStateRepository;

  constructor(
    @Inject(API_CONFIG) config: ApiConfig,
    @Inject(API_SECRETS) secrets: ApiSecrets,
    @Inject(API_LOGGER) private readonly logger: Logger,
  ) {
    this.client = createPrismaClient(config.DATABASE_URL, { applicationName: 'switchboard-api' });
    this.repositories = repositoriesOn(this.client);
    this.audit = new AuditRepository(this.client, { keyring: secrets.auditKeyring });
    this.denyStates = new DeviceDenyStateRepository(this.client);
    this.ipListStates = new RelayIpListStateRepository(this.client);
  }

  /**
   * Runs `work` in one interactive transaction, with repositories bound to it and an audit appender
   * that writes in it too. `timeoutMs` bounds both the wait for a connection and the whole run.
   * ChangeRunner's: services go through ChangeRunner.run, which adds the audit entries and events.
   */
  async transaction<T>(
    timeoutMs: number,
    work: (repositories: Repositories, audit: TransactionAudit) => Promise<T>,
  ): Promise<T> {
    return this.client.$transaction(
      (tx) =>
        work(repositoriesOn(tx), {
          append: async (entries) => {
            await this.audit.appendInTransaction(tx, entries);
          },
        }),
      { maxWait: timeoutMs, timeout: timeoutMs },
    );
  }

  /** `SELECT 1`: the cheapest round trip that proves a pooled connection works. */
  async ping(): Promise<void> {
    try {
      await this.client.$queryRaw`SELECT 1`;
    } catch (error) {
      throw new DependencyUnavailableError(driverErrorKind(error) ?? 'query failed', { cause: error });
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client.$disconnect();
    this.logger.debug({ component: 'database' }, 'database connections closed');
  }
}
