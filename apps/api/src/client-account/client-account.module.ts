import { Module } from '@nestjs/common';

import { LoginOptionsController } from './login-options.controller';

/** The RustDesk client's account endpoints (docs/client-api.md §2). */
@Module({ controllers: [LoginOptionsController] })
export class ClientAccountModule {}
