import { Module } from '@nestjs/common';

import { UserGroupsController } from './user-groups.controller';
import { UserGroupsService } from './user-groups.service';

/** User groups, their members and access rules (operator API, users administration). */
@Module({ controllers: [UserGroupsController], providers: [UserGroupsService] })
export class UserGroupsModule {}
