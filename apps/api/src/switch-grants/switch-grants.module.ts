import { Module } from '@nestjs/common';

import { SwitchGrantsController } from './switch-grants.controller';
import { SwitchGrantsService } from './switch-grants.service';

/** `POST /api/switch-grant` (docs/client-api.md §8). Redis comes from the global RedisModule. */
@Module({ controllers: [SwitchGrantsController], providers: [SwitchGrantsService] })
export class SwitchGrantsModule {}
