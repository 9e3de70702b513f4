import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';

import { type Principal, type RequestOrigin } from '../auth/principal';
import { CurrentOrigin, CurrentPrincipal, RequirePermission } from '../auth/route-access';
import { Answers } from '../http/response-schemas';
import {
  type UserGroupDetailsView,
  userGroupDetailsViewSchema,
  type UserGroupMemberPage,
  userGroupMemberPageSchema,
  type UserGroupPage,
  userGroupPageSchema,
} from './user-group-view';
import {
  AddMembersBody,
  CreateUserGroupBody,
  DeviceGroupRuleParams,
  ListMembersQuery,
  ListUserGroupsQuery,
  UpdateUserGroupBody,
  UserGroupIdParams,
  UserGroupMemberParams,
  UserGroupRuleParams,
} from './user-groups.dto';
import { UserGroupsService } from './user-groups.service';

/**
 * User groups and their access rules (operator API). Part of users administration: `user.view`
 * reads, `user.manage` changes, so admins only (permissions.ts). The rules decide what a RustDesk
 * client sees in its group tab (docs/client-api.md §5).
 */
@ApiTags('user-groups')
@Controller('api/v1/user-groups')
export class UserGroupsController {
  constructor(private readonly groups: UserGroupsService) {}

  @Get()
  @ApiOperation({ summary: 'List user groups (search by name; paginated)' })
  @RequirePermission('user.view')
  @Answers(200, userGroupPageSchema)
  list(@Query() query: ListUserGroupsQuery): Promise<UserGroupPage> {
    return this.groups.list(query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One user group with its access rules' })
  @RequirePermission('user.view')
  @Answers(200, userGroupDetailsViewSchema)
  get(@Param() params: UserGroupIdParams): Promise<UserGroupDetailsView> {
    return this.groups.get(params.id);
  }

  @Post()
  @ApiOperation({ summary: 'Create a user group' })
  @RequirePermission('user.manage')
  @Answers(201, userGroupDetailsViewSchema)
  create(
    @Body() body: CreateUserGroupBody,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<UserGroupDetailsView> {
    return this.groups.create(body, { principal, origin });
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Rename a user group or change its note' })
  @RequirePermission('user.manage')
  @Answers(200, userGroupDetailsViewSchema)
  update(
    @Param() params: UserGroupIdParams,
    @Body() body: UpdateUserGroupBody,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<UserGroupDetailsView> {
    return this.groups.update(params.id, body, { principal, origin });
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Delete a user group (its members and rules go with it; the users stay)' })
  @HttpCode(204)
  @RequirePermission('user.manage')
  delete(
    @Param() params: UserGroupIdParams,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<void> {
    return this.groups.delete(params.id, { principal, origin });
  }

  @Get(':id/members')
  @ApiOperation({ summary: "A user group's members (paginated)" })
  @RequirePermission('user.view')
  @Answers(200, userGroupMemberPageSchema)
  members(
    @Param() params: UserGroupIdParams,
    @Query() query: ListMembersQuery,
  ): Promise<UserGroupMemberPage> {
    return this.groups.members(params.id, query);
  }

  @Post(':id/members')
  @ApiOperation({ summary: 'Add users (ids or usernames) to a user group' })
  @HttpCode(200)
  @RequirePermission('user.manage')
  @Answers(200, userGroupDetailsViewSchema)
  addMembers(
    @Param() params: UserGroupIdParams,
    @Body() body: AddMembersBody,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<UserGroupDetailsView> {
    return this.groups.addMembers(params.id, body.users, { principal, origin });
  }

  @Delete(':id/members/:userId')
  @ApiOperation({ summary: 'Take a user out of a user group' })
  @HttpCode(204)
  @RequirePermission('user.manage')
  removeMember(
    @Param() params: UserGroupMemberParams,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<void> {
    return this.groups.removeMember(params.id, params.userId, { principal, origin });
  }

  @Post(':id/access/device-groups/:deviceGroupId')
  @ApiOperation({ summary: "Let the group's members see a device group's devices" })
  @HttpCode(200)
  @RequirePermission('user.manage')
  @Answers(200, userGroupDetailsViewSchema)
  grantDeviceGroup(
    @Param() params: DeviceGroupRuleParams,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<UserGroupDetailsView> {
    return this.groups.grantDeviceGroup(params.id, params.deviceGroupId, { principal, origin });
  }

  @Delete(':id/access/device-groups/:deviceGroupId')
  @ApiOperation({ summary: 'Withdraw a device-group access rule' })
  @HttpCode(204)
  @RequirePermission('user.manage')
  revokeDeviceGroup(
    @Param() params: DeviceGroupRuleParams,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<void> {
    return this.groups.revokeDeviceGroup(params.id, params.deviceGroupId, { principal, origin });
  }

  @Post(':id/access/user-groups/:targetId')
  @ApiOperation({ summary: "Let the group's members see another user group's members and their devices" })
  @HttpCode(200)
  @RequirePermission('user.manage')
  @Answers(200, userGroupDetailsViewSchema)
  grantUserGroup(
    @Param() params: UserGroupRuleParams,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<UserGroupDetailsView> {
    return this.groups.grantUserGroup(params.id, params.targetId, { principal, origin });
  }

  @Delete(':id/access/user-groups/:targetId')
  @ApiOperation({ summary: 'Withdraw a user-group access rule' })
  @HttpCode(204)
  @RequirePermission('user.manage')
  revokeUserGroup(
    @Param() params: UserGroupRuleParams,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<void> {
    return this.groups.revokeUserGroup(params.id, params.targetId, { principal, origin });
  }
}
