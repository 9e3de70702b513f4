import { Global, Module } from '@nestjs/common';

import { MetricsRegistry } from './metrics.registry';

/** The registry only: main.ts serves it on the ops port (METRICS_PORT), never on the operator port. */
@Global()
@Module({ providers: [MetricsRegistry], exports: [MetricsRegistry] })
export class MetricsModule {}
