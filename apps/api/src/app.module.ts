import { type DynamicModule, Global, Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { type Logger } from '@switchboard/observability';

import { API_CONFIG, API_LOGGER, API_SECRETS } from './app.tokens';
import { type ApiConfig } from './config';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { ChangesModule } from './changes/changes.module';
import { DatabaseModule } from './database/database.module';
import { DevicesModule } from './devices/devices.module';
import { ApiExceptionFilter } from './errors/api-exception.filter';
import { EventsModule } from './events/events.module';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { ApiValidationPipe } from './http/validation';
import { RedisModule } from './redis/redis.module';
import { type ApiSecrets } from './secrets';

/** What the composition root resolved before Nest starts: validated config, the logger, the secrets. */
export interface AppDependencies {
  config: ApiConfig;
  logger: Logger;
  secrets: ApiSecrets;
}

@Global()
@Module({})
class CoreModule {
  static register({ config, logger, secrets }: AppDependencies): DynamicModule {
    const providers = [
      { provide: API_CONFIG, useValue: config },
      { provide: API_LOGGER, useValue: logger },
      { provide: API_SECRETS, useValue: secrets },
    ];
    return { module: CoreModule, providers, exports: providers.map((provider) => provider.provide) };
  }
}

@Module({})
export class AppModule {
  static register(dependencies: AppDependencies): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CoreModule.register(dependencies),
        DatabaseModule,
        RedisModule,
        EventsModule,
        AuditModule,
        ChangesModule,
        AuthModule,
        MetricsModule,
        HealthModule,
        // Feature modules (users, devices, settings, ...) go below, one line each.
        DevicesModule,
      ],
      providers: [
        { provide: APP_FILTER, useClass: ApiExceptionFilter },
        { provide: APP_PIPE, useClass: ApiValidationPipe },
      ],
    };
  }
}
