import { type DynamicModule, Global, Module, type Type } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { type EventSigningKey } from '@switchboard/events';
import { type Logger } from '@switchboard/observability';
import { type TlsCredentials } from '@switchboard/tls';

import { AddressBooksModule } from './address-books/address-books.module';
import { ApiKeysModule } from './api-keys/api-keys.module';
import {
  API_CLOCK,
  API_CONFIG,
  API_EVENT_SIGNING_KEY,
  API_LOGGER,
  API_RANDOM,
  API_SECRETS,
} from './app.tokens';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { AuthenticationModule } from './auth/authentication.module';
import { ChangesModule } from './changes/changes.module';
import { type ApiConfig } from './config';
import { DashboardModule } from './dashboard/dashboard.module';
import { DatabaseModule } from './database/database.module';
import { DeviceSyncModule } from './device-sync/device-sync.module';
import { DevicesModule } from './devices/devices.module';
import { ApiDocsModule } from './docs/api-docs.module';
import { ApiExceptionFilter } from './errors/api-exception.filter';
import { EventsModule } from './events/events.module';
import { HealthModule } from './health/health.module';
import { ClientAccountModule } from './client-account/client-account.module';
import { ClientGroupsModule } from './client-groups/client-groups.module';
import { ClientAuditModule } from './client-audit/client-audit.module';
import { ConsoleModule } from './console/console.module';
import { LiveEventsModule } from './live-events/live-events.module';
import { ApiValidationPipe } from './http/validation';
import { MetricsModule } from './metrics/metrics.module';
import { type MetricsRegistry } from './metrics/metrics.registry';
import { cryptoRandom, type RandomSource } from './random/random-source';
import { RedisModule } from './redis/redis.module';
import { RelayIpListsModule } from './relay-ip-lists/relay-ip-lists.module';
import { type ApiSecrets } from './secrets';
import { SettingsModule } from './settings/settings.module';
import { StrategiesModule } from './strategies/strategies.module';
import { SwitchGrantsModule } from './switch-grants/switch-grants.module';
import { type Clock, systemClock } from './time/clock';
import { UserGroupsModule } from './user-groups/user-groups.module';
import { UsersModule } from './users/users.module';

/** What the composition root resolved before Nest starts: validated config, the logger, the secrets. */
export interface AppDependencies {
  config: ApiConfig;
  logger: Logger;
  secrets: ApiSecrets;
  /** Signs the events the api publishes (secrets.ts resolveEventSigningKey). */
  eventSigningKey: EventSigningKey;
  /** Defaults to the system clock; tests pass one they can move. */
  clock?: Clock;
  /** Defaults to node:crypto; tests may pass a predictable one. */
  random?: RandomSource;
  /** Built before Nest when something registers metrics first (the TLS certificate's); else the app makes one. */
  metrics?: MetricsRegistry;
  /** API_TLS on: the certificate API_PORT serves (http/api-tls.ts). Absent: plain http. */
  tls?: TlsCredentials;
}

@Global()
@Module({})
class CoreModule {
  static register({
    config,
    logger,
    secrets,
    eventSigningKey,
    clock = systemClock,
    random = cryptoRandom,
  }: AppDependencies): DynamicModule {
    const providers = [
      { provide: API_CONFIG, useValue: config },
      { provide: API_CLOCK, useValue: clock },
      { provide: API_RANDOM, useValue: random },
      { provide: API_LOGGER, useValue: logger },
      { provide: API_SECRETS, useValue: secrets },
      { provide: API_EVENT_SIGNING_KEY, useValue: eventSigningKey },
    ];
    return { module: CoreModule, providers, exports: providers.map((provider) => provider.provide) };
  }
}

@Module({})
export class AppModule {
  /** `extraModules` mount beside the app's own (tests mount probe controllers behind the real pipeline). */
  static register(
    dependencies: AppDependencies,
    extraModules: readonly (Type | DynamicModule)[] = [],
  ): DynamicModule {
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
        MetricsModule.register(dependencies.metrics),
        HealthModule,
        ConsoleModule,
        ClientAccountModule,
        // Feature modules (users, devices, settings, ...) go below, one line each.
        AuthenticationModule,
        ApiKeysModule,
        UsersModule,
        SettingsModule,
        DevicesModule,
        RelayIpListsModule,
        UserGroupsModule,
        ClientGroupsModule,
        DeviceSyncModule,
        StrategiesModule,
        ClientAuditModule,
        SwitchGrantsModule,
        AddressBooksModule,
        LiveEventsModule,
        DashboardModule,
        ApiDocsModule.register(dependencies.config),
        ...extraModules,
      ],
      providers: [
        { provide: APP_FILTER, useClass: ApiExceptionFilter },
        { provide: APP_PIPE, useClass: ApiValidationPipe },
      ],
    };
  }
}
