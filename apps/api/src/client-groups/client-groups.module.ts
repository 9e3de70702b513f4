import { Module } from '@nestjs/common';

import { ClientAccessScope } from './client-access-scope';
import { ClientGroupsController } from './client-groups.controller';

/** The RustDesk client's group tab: users, devices and device groups the caller may see. */
@Module({
  controllers: [ClientGroupsController],
  providers: [ClientAccessScope],
  exports: [ClientAccessScope],
})
export class ClientGroupsModule {}
