import { Prisma, type PrismaClient } from '../generated/prisma/client';

export interface UserGroupRecord {
  readonly id: string;
  readonly name: string;
  readonly note: string | null;
  readonly createdAt: Date;
  readonly members: number;
}

/** A group with the access rules it holds (what its members may see besides each other). */
export interface UserGroupDetails extends UserGroupRecord {
  readonly deviceGroupAccess: readonly { readonly id: string; readonly name: string }[];
  readonly userGroupAccess: readonly { readonly id: string; readonly name: string }[];
}

export interface UserGroupMemberRecord {
  readonly id: string;
  readonly username: string;
  readonly displayName: string | null;
  readonly disabled: boolean;
  readonly addedAt: Date;
}

export interface UserGroupListQuery {
  /** Substring of the name, case-insensitive. */
  readonly search?: string;
  readonly offset: number;
  readonly limit: number;
}

export interface Paged<T> {
  readonly items: T[];
  readonly total: number;
}

export class UserGroupNameTakenError extends Error {
  constructor(readonly groupName: string) {
    super(`A user group named "${groupName}" already exists`);
    this.name = 'UserGroupNameTakenError';
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const UNIQUE_VIOLATION = 'P2002';
const WITH_COUNT = { _count: { select: { members: true } } } as const;

/** User groups, their members and their access rules (who sees what in the client's group tab). */
export class UserGroupRepository {
  constructor(private readonly db: PrismaClient | Prisma.TransactionClient) {}

  async list(query: UserGroupListQuery): Promise<Paged<UserGroupRecord>> {
    const where =
      query.search === undefined || query.search === ''
        ? {}
        : { name: { contains: query.search, mode: 'insensitive' as const } };
    const [rows, total] = await Promise.all([
      this.db.userGroup.findMany({
        where,
        include: WITH_COUNT,
        orderBy: { name: 'asc' },
        skip: query.offset,
        take: query.limit,
      }),
      this.db.userGroup.count({ where }),
    ]);
    return { items: rows.map(toRecord), total };
  }

  async find(id: string): Promise<UserGroupDetails | null> {
    if (!UUID.test(id)) return null;
    const row = await this.db.userGroup.findUnique({
      where: { id },
      include: {
        ...WITH_COUNT,
        deviceGroupAccess: { select: { deviceGroup: { select: { id: true, name: true } } } },
        userGroupAccess: { select: { targetUserGroup: { select: { id: true, name: true } } } },
      },
    });
    if (row === null) return null;
    return {
      ...toRecord(row),
      deviceGroupAccess: row.deviceGroupAccess.map((rule) => rule.deviceGroup).sort(byName),
      userGroupAccess: row.userGroupAccess.map((rule) => rule.targetUserGroup).sort(byName),
    };
  }

  async create(name: string, note: string | null): Promise<UserGroupRecord> {
    try {
      return toRecord(await this.db.userGroup.create({ data: { name, note }, include: WITH_COUNT }));
    } catch (error) {
      if (isUniqueViolation(error)) throw new UserGroupNameTakenError(name);
      throw error;
    }
  }

  /** Renames or re-notes a group; null when there is none. */
  async update(id: string, change: { name?: string; note?: string | null }): Promise<UserGroupRecord | null> {
    if (!UUID.test(id)) return null;
    try {
      const row = await this.db.userGroup.update({ where: { id }, data: change, include: WITH_COUNT });
      return toRecord(row);
    } catch (error) {
      if (isUniqueViolation(error)) throw new UserGroupNameTakenError(change.name ?? '');
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  /** Deletes a group with its memberships and rules; null when there was none. */
  async delete(id: string): Promise<{ id: string; name: string } | null> {
    if (!UUID.test(id)) return null;
    const group = await this.db.userGroup.findUnique({ where: { id }, select: { id: true, name: true } });
    if (group === null) return null;
    await this.db.userGroup.delete({ where: { id } });
    return group;
  }

  async listMembers(groupId: string, offset: number, limit: number): Promise<Paged<UserGroupMemberRecord>> {
    const where = { userGroupId: groupId };
    const [rows, total] = await Promise.all([
      this.db.userGroupMember.findMany({
        where,
        include: { user: { select: { id: true, username: true, displayName: true, disabled: true } } },
        orderBy: { user: { username: 'asc' } },
        skip: offset,
        take: limit,
      }),
      this.db.userGroupMember.count({ where }),
    ]);
    return {
      total,
      items: rows.map((row) => ({
        id: row.user.id,
        username: row.user.username,
        displayName: row.user.displayName,
        disabled: row.user.disabled,
        addedAt: row.createdAt,
      })),
    };
  }

  /** Users by id or username (case-insensitive); unknown ones are simply absent from the answer. */
  async findUsers(idsOrUsernames: readonly string[]): Promise<{ id: string; username: string }[]> {
    const ids = idsOrUsernames.filter((value) => UUID.test(value));
    const usernames = idsOrUsernames.filter((value) => !UUID.test(value)).map((value) => value.toLowerCase());
    return this.db.user.findMany({
      where: { OR: [{ id: { in: ids } }, { username: { in: usernames } }] },
      select: { id: true, username: true },
    });
  }

  /** Adds members; those already in the group are left as they are. Returns the ids newly added. */
  async addMembers(groupId: string, userIds: readonly string[]): Promise<string[]> {
    const existing = await this.db.userGroupMember.findMany({
      where: { userGroupId: groupId, userId: { in: [...userIds] } },
      select: { userId: true },
    });
    const present = new Set(existing.map((row) => row.userId));
    const added = [...new Set(userIds)].filter((id) => !present.has(id));
    await this.db.userGroupMember.createMany({
      data: added.map((userId) => ({ userGroupId: groupId, userId })),
      skipDuplicates: true,
    });
    return added;
  }

  async removeMember(groupId: string, userId: string): Promise<boolean> {
    if (!UUID.test(userId)) return false;
    const { count } = await this.db.userGroupMember.deleteMany({ where: { userGroupId: groupId, userId } });
    return count > 0;
  }

  async findDeviceGroup(id: string): Promise<{ id: string; name: string } | null> {
    if (!UUID.test(id)) return null;
    return this.db.deviceGroup.findUnique({ where: { id }, select: { id: true, name: true } });
  }

  /** True when the rule is new (granting twice is not an error). */
  async grantDeviceGroup(groupId: string, deviceGroupId: string): Promise<boolean> {
    const { count } = await this.db.userGroupDeviceGroupAccess.createMany({
      data: [{ userGroupId: groupId, deviceGroupId }],
      skipDuplicates: true,
    });
    return count > 0;
  }

  async revokeDeviceGroup(groupId: string, deviceGroupId: string): Promise<boolean> {
    const { count } = await this.db.userGroupDeviceGroupAccess.deleteMany({
      where: { userGroupId: groupId, deviceGroupId },
    });
    return count > 0;
  }

  async grantUserGroup(groupId: string, targetUserGroupId: string): Promise<boolean> {
    const { count } = await this.db.userGroupUserGroupAccess.createMany({
      data: [{ userGroupId: groupId, targetUserGroupId }],
      skipDuplicates: true,
    });
    return count > 0;
  }

  async revokeUserGroup(groupId: string, targetUserGroupId: string): Promise<boolean> {
    const { count } = await this.db.userGroupUserGroupAccess.deleteMany({
      where: { userGroupId: groupId, targetUserGroupId },
    });
    return count > 0;
  }
}

function toRecord(row: {
  id: string;
  name: string;
  note: string | null;
  createdAt: Date;
  _count: { members: number };
}): UserGroupRecord {
  return {
    id: row.id,
    name: row.name,
    note: row.note,
    createdAt: row.createdAt,
    members: row._count.members,
  };
}

function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === UNIQUE_VIOLATION;
}

function isNotFound(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2025';
}
