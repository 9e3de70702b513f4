import { Module } from '@nestjs/common';

import { EffectiveStrategies } from './effective-strategies';
import { StrategiesController } from './strategies.controller';
import { StrategiesService } from './strategies.service';

/** Strategies (issue 12 item 6): operator CRUD and assignment; EffectiveStrategies serves heartbeats. */
@Module({
  controllers: [StrategiesController],
  providers: [StrategiesService, EffectiveStrategies],
  exports: [EffectiveStrategies],
})
export class StrategiesModule {}
