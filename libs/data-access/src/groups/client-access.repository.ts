import { type Prisma, type PrismaClient } from '../generated/prisma/client';
import { type UserRole } from '../users/user.repository';
import {
  type ClientAccessScope,
  type ClientDeviceGroupRow,
  type ClientPeerRow,
  type ClientUserRow,
  countClientDeviceGroupsSql,
  countClientPeersSql,
  countClientUsersSql,
  type CountRow,
  listClientDeviceGroupsSql,
  listClientPeersSql,
  listClientUsersSql,
} from './client-access.sql';

export type { ClientAccessScope } from './client-access.sql';

export interface ClientVisiblePage<T> {
  readonly items: T[];
  readonly total: number;
}

export interface ClientVisibleUser {
  readonly id: string;
  readonly username: string;
  readonly displayName: string | null;
  readonly email: string | null;
  readonly note: string | null;
  readonly role: UserRole;
}

export interface ClientVisiblePeer {
  readonly rustdeskId: string;
  readonly hostname: string | null;
  readonly os: string | null;
  readonly osUsername: string | null;
  readonly note: string | null;
  readonly owner: { readonly id: string; readonly username: string } | null;
  readonly groupName: string | null;
}

/**
 * What a RustDesk client caller may see in its group tab: users, devices and device groups, one
 * page at a time, each list filtered by the access rules in SQL (client-access.sql.ts).
 */
export class ClientAccessRepository {
  constructor(private readonly db: PrismaClient | Prisma.TransactionClient) {}

  async users(
    scope: ClientAccessScope,
    offset: number,
    limit: number,
  ): Promise<ClientVisiblePage<ClientVisibleUser>> {
    const [rows, total] = await Promise.all([
      this.db.$queryRaw<ClientUserRow[]>(listClientUsersSql(scope, offset, limit)),
      this.count(countClientUsersSql(scope)),
    ]);
    return {
      total,
      items: rows.map((row) => ({
        id: row.id,
        username: row.username,
        displayName: row.display_name,
        email: row.email,
        note: row.note,
        role: row.role as UserRole,
      })),
    };
  }

  async peers(
    scope: ClientAccessScope,
    offset: number,
    limit: number,
  ): Promise<ClientVisiblePage<ClientVisiblePeer>> {
    const [rows, total] = await Promise.all([
      this.db.$queryRaw<ClientPeerRow[]>(listClientPeersSql(scope, offset, limit)),
      this.count(countClientPeersSql(scope)),
    ]);
    return {
      total,
      items: rows.map((row) => ({
        rustdeskId: row.rustdesk_id,
        hostname: row.hostname,
        os: row.os,
        osUsername: row.os_username,
        note: row.note,
        owner: row.owner_id === null ? null : { id: row.owner_id, username: row.owner_username ?? '' },
        groupName: row.group_name,
      })),
    };
  }

  async deviceGroups(
    scope: ClientAccessScope,
    offset: number,
    limit: number,
  ): Promise<ClientVisiblePage<string>> {
    const [rows, total] = await Promise.all([
      this.db.$queryRaw<ClientDeviceGroupRow[]>(listClientDeviceGroupsSql(scope, offset, limit)),
      this.count(countClientDeviceGroupsSql(scope)),
    ]);
    return { total, items: rows.map((row) => row.name) };
  }

  private async count(sql: Prisma.Sql): Promise<number> {
    const [row] = await this.db.$queryRaw<CountRow[]>(sql);
    return Number(row?.total ?? 0n);
  }
}
