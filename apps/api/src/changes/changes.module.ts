import { Global, Module } from '@nestjs/common';

import { ChangeRunner } from './change-runner';

/** Transaction + audit + events for every state change (change-runner.ts). */
@Global()
@Module({ providers: [ChangeRunner], exports: [ChangeRunner] })
export class ChangesModule {}
