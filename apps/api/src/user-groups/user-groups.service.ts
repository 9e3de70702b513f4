import {
  BadRequestException,
  ConflictException,
  Inject,
  Injectable,
  NotFoundException,
} from '@nestjs/common';
import {
  type AuditAppendInput,
  UserGroupNameTakenError,
  UserGroupRepository,
} from '@switchboard/data-access';
import { type JsonObject } from '@switchboard/audit';

import { type Actor, actorAuditEntry } from '../auth/principal';
import { ChangeRunner, type Changes } from '../changes/change-runner';
import { type Repositories } from '../database/repositories';
import {
  type UserGroupDetailsView,
  userGroupDetailsView,
  type UserGroupMemberPage,
  userGroupMemberView,
  type UserGroupPage,
  userGroupView,
} from './user-group-view';

export interface PageRequest {
  readonly page: number;
  readonly pageSize: number;
}

/**
 * User groups: their members, and the access rules that decide what members see in the RustDesk
 * client's group tab (client-groups/client-access-scope.ts reads them). Every change is audited.
 */
@Injectable()
export class UserGroupsService {
  constructor(
    @Inject(UserGroupRepository) private readonly groups: Repositories['userGroups'],
    @Inject(ChangeRunner) private readonly changes: Changes,
  ) {}

  async list(request: PageRequest & { search?: string }): Promise<UserGroupPage> {
    const { items, total } = await this.groups.list({
      search: request.search,
      offset: (request.page - 1) * request.pageSize,
      limit: request.pageSize,
    });
    return { items: items.map(userGroupView), total, page: request.page, pageSize: request.pageSize };
  }

  async get(id: string): Promise<UserGroupDetailsView> {
    const group = await this.groups.find(id);
    if (group === null) throw new NotFoundException('User group not found');
    return userGroupDetailsView(group);
  }

  async create(body: { name: string; note?: string | null }, actor: Actor): Promise<UserGroupDetailsView> {
    const created = await this.renaming(body.name, () =>
      this.changes.run(async ({ userGroups }) => {
        const group = await userGroups.create(body.name, body.note ?? null);
        return { result: group, audit: [entry(actor, 'user_group.create', group.id, { name: group.name })] };
      }),
    );
    return this.get(created.id);
  }

  async update(
    id: string,
    body: { name?: string; note?: string | null },
    actor: Actor,
  ): Promise<UserGroupDetailsView> {
    await this.renaming(body.name, () =>
      this.changes.run(async ({ userGroups }) => {
        const before = await userGroups.find(id);
        if (before === null) throw new NotFoundException('User group not found');
        await userGroups.update(id, body);
        const changes: Record<string, JsonObject[string]> = {};
        if (body.name !== undefined) changes['name'] = { from: before.name, to: body.name };
        if (body.note !== undefined) changes['note'] = body.note;
        return { result: undefined, audit: [entry(actor, 'user_group.update', id, { changes })] };
      }),
    );
    return this.get(id);
  }

  async delete(id: string, actor: Actor): Promise<void> {
    await this.changes.run(async ({ userGroups }) => {
      const group = await userGroups.delete(id);
      if (group === null) throw new NotFoundException('User group not found');
      return { result: undefined, audit: [entry(actor, 'user_group.delete', id, { name: group.name })] };
    });
  }

  async members(id: string, request: PageRequest): Promise<UserGroupMemberPage> {
    await this.get(id);
    const { items, total } = await this.groups.listMembers(
      id,
      (request.page - 1) * request.pageSize,
      request.pageSize,
    );
    return { items: items.map(userGroupMemberView), total, page: request.page, pageSize: request.pageSize };
  }

  /** All named users must exist, or nothing changes (a typo must not half-apply). */
  async addMembers(id: string, users: readonly string[], actor: Actor): Promise<UserGroupDetailsView> {
    await this.changes.run(async ({ userGroups }) => {
      const group = await userGroups.find(id);
      if (group === null) throw new NotFoundException('User group not found');
      const found = await userGroups.findUsers(users);
      const missing = users.filter(
        (wanted) => !found.some((user) => user.id === wanted || user.username === wanted.toLowerCase()),
      );
      if (missing.length > 0) throw new BadRequestException([`users: no such user: ${missing.join(', ')}`]);
      const added = await userGroups.addMembers(
        id,
        found.map((user) => user.id),
      );
      return {
        result: undefined,
        // Adding someone already there changes nothing, and so is not audited. Ids, not usernames:
        // audit readers without `user.view` must not learn login names (audit-redaction.ts).
        audit: added.length === 0 ? [] : [entry(actor, 'user_group.members_add', id, { userIds: added })],
      };
    });
    return this.get(id);
  }

  async removeMember(id: string, userId: string, actor: Actor): Promise<void> {
    await this.changes.run(async ({ userGroups }) => {
      if ((await userGroups.find(id)) === null) throw new NotFoundException('User group not found');
      if (!(await userGroups.removeMember(id, userId)))
        throw new NotFoundException('The user is not a member of this group');
      return { result: undefined, audit: [entry(actor, 'user_group.member_remove', id, { userId })] };
    });
  }

  async grantDeviceGroup(id: string, deviceGroupId: string, actor: Actor): Promise<UserGroupDetailsView> {
    await this.changes.run(async ({ userGroups }) => {
      if ((await userGroups.find(id)) === null) throw new NotFoundException('User group not found');
      const deviceGroup = await userGroups.findDeviceGroup(deviceGroupId);
      if (deviceGroup === null) throw new NotFoundException('Device group not found');
      const created = await userGroups.grantDeviceGroup(id, deviceGroupId);
      return {
        result: undefined,
        audit: created
          ? [entry(actor, 'user_group.access_grant', id, { deviceGroup: deviceGroup.name, deviceGroupId })]
          : [],
      };
    });
    return this.get(id);
  }

  async revokeDeviceGroup(id: string, deviceGroupId: string, actor: Actor): Promise<void> {
    await this.changes.run(async ({ userGroups }) => {
      if (!(await userGroups.revokeDeviceGroup(id, deviceGroupId)))
        throw new NotFoundException('No such access rule');
      return { result: undefined, audit: [entry(actor, 'user_group.access_revoke', id, { deviceGroupId })] };
    });
  }

  async grantUserGroup(id: string, targetId: string, actor: Actor): Promise<UserGroupDetailsView> {
    await this.changes.run(async ({ userGroups }) => {
      if ((await userGroups.find(id)) === null) throw new NotFoundException('User group not found');
      const target = await userGroups.find(targetId);
      if (target === null) throw new NotFoundException('Target user group not found');
      const created = await userGroups.grantUserGroup(id, targetId);
      return {
        result: undefined,
        audit: created
          ? [entry(actor, 'user_group.access_grant', id, { userGroup: target.name, userGroupId: targetId })]
          : [],
      };
    });
    return this.get(id);
  }

  async revokeUserGroup(id: string, targetId: string, actor: Actor): Promise<void> {
    await this.changes.run(async ({ userGroups }) => {
      if (!(await userGroups.revokeUserGroup(id, targetId)))
        throw new NotFoundException('No such access rule');
      return {
        result: undefined,
        audit: [entry(actor, 'user_group.access_revoke', id, { userGroupId: targetId })],
      };
    });
  }

  private async renaming<T>(name: string | undefined, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof UserGroupNameTakenError) {
        throw new ConflictException(`A user group named "${name ?? ''}" already exists`);
      }
      throw error;
    }
  }
}

function entry(actor: Actor, action: string, groupId: string, details: JsonObject): AuditAppendInput {
  return actorAuditEntry(actor, action, { type: 'user_group', id: groupId }, details);
}
