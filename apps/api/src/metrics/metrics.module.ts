import { type DynamicModule, Global, Module } from '@nestjs/common';

import { MetricsRegistry } from './metrics.registry';

/**
 * The registry only: main.ts serves it on the ops port (METRICS_PORT), never on the operator port.
 * main.ts may build it first (the TLS certificate's metrics exist before Nest does) and pass it in.
 */
@Global()
@Module({})
export class MetricsModule {
  static register(registry: MetricsRegistry = new MetricsRegistry()): DynamicModule {
    const provider = { provide: MetricsRegistry, useValue: registry };
    return { module: MetricsModule, providers: [provider], exports: [MetricsRegistry] };
  }
}
