import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { createPrismaClient, type PrismaClient } from '@switchboard/data-access';
import { type Logger } from '@switchboard/observability';

import { API_CONFIG, API_LOGGER } from '../app.tokens';
import { type ApiConfig } from '../config';
import { driverErrorKind } from '../errors/dependency-outage';
import { DependencyUnavailableError } from '../health/dependency-unavailable.error';

/**
 * Owns the api's one Prisma client. It connects lazily, so the api starts (and reports not ready)
 * while Postgres is down, and it is closed after Fastify has stopped taking requests.
 */
@Injectable()
export class DatabaseConnection implements OnApplicationShutdown {
  readonly client: PrismaClient;

  constructor(
    @Inject(API_CONFIG) config: ApiConfig,
    @Inject(API_LOGGER) private readonly logger: Logger,
  ) {
    this.client = createPrismaClient(config.DATABASE_URL, { applicationName: 'switchboard-api' });
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
