import { Module } from '@nestjs/common';

import { DatabaseConnection } from '../database/database.connection';
import { RedisConnection } from '../redis/redis.connection';
import { HealthController } from './health.controller';
import { HealthService } from './health.service';
import { READINESS_CHECKS, type ReadinessCheck } from './readiness-check';

@Module({
  controllers: [HealthController],
  providers: [
    HealthService,
    {
      provide: READINESS_CHECKS,
      inject: [DatabaseConnection, RedisConnection],
      useFactory: (database: DatabaseConnection, redis: RedisConnection): ReadinessCheck[] => [
        { name: 'postgres', check: () => database.ping() },
        { name: 'redis', check: () => redis.ping() },
      ],
    },
  ],
})
export class HealthModule {}
