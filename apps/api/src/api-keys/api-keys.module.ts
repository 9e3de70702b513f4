import { Module } from '@nestjs/common';

import { ApiKeysController } from './api-keys.controller';
import { ApiKeysService } from './api-keys.service';

/**
 * API keys: create (shown once), list, revoke. The X-API-Key authenticator itself lives in AuthModule's
 * list (api-key.authenticator.ts), since the guard, not this module, decides who is calling.
 */
@Module({ controllers: [ApiKeysController], providers: [ApiKeysService] })
export class ApiKeysModule {}
