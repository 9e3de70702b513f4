import { type JsonValue } from '@switchboard/audit';

import { Prisma, type PrismaClient, type Setting } from '../generated/prisma/client';
import { lockSettingSql } from './setting.sql';

export interface SettingRecord {
  key: string;
  value: JsonValue;
  updatedAt: Date;
  /** The actor that wrote it (an event actor such as `user:<id>`), null when written by a tool. */
  updatedBy: string | null;
}

/**
 * The settings table. A change takes the key's lock first (`lockAndFind`, see setting.sql.ts) inside
 * the change's transaction, so the old value its audit entry reports is the one really replaced.
 */
export class SettingRepository {
  constructor(private readonly db: PrismaClient | Prisma.TransactionClient) {}

  async list(): Promise<SettingRecord[]> {
    const rows = await this.db.setting.findMany({ orderBy: { key: 'asc' } });
    return rows.map(toRecord);
  }

  async find(key: string): Promise<SettingRecord | null> {
    const row = await this.db.setting.findUnique({ where: { key } });
    return row === null ? null : toRecord(row);
  }

  /** Locks the key until the transaction ends (whether or not its row exists yet) and reads it. */
  async lockAndFind(key: string): Promise<SettingRecord | null> {
    await this.db.$executeRaw(lockSettingSql(key));
    return this.find(key);
  }

  async write(key: string, value: JsonValue, updatedBy: string | null): Promise<SettingRecord> {
    // Prisma needs its marker to store a JSON null rather than SQL NULL.
    const json = value === null ? Prisma.JsonNull : (value as Prisma.InputJsonValue);
    const row = await this.db.setting.upsert({
      where: { key },
      create: { key, value: json, updatedBy },
      update: { value: json, updatedBy },
    });
    return toRecord(row);
  }

  /** True when there was a row to remove. */
  async remove(key: string): Promise<boolean> {
    const { count } = await this.db.setting.deleteMany({ where: { key } });
    return count > 0;
  }
}

function toRecord(row: Setting): SettingRecord {
  return {
    key: row.key,
    value: row.value as JsonValue,
    updatedAt: row.updatedAt,
    updatedBy: row.updatedBy,
  };
}
