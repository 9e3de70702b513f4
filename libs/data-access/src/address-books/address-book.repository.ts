import { Prisma, type PrismaClient } from '../generated/prisma/client';
import { toBytes } from '../auth/bytes';
import {
  type BookWithRuleRow,
  bookWithRuleSql,
  countSharedBooksForUserSql,
  lockBookSql,
  lockSharedNamesSql,
  type PeerPageRow,
  peerPageSql,
  removeTagsFromPeersSql,
  renameTagInPeersSql,
  type SharedBookRow,
  sharedBooksForUserSql,
} from './address-book.sql';

export type AddressBookKind = 'personal' | 'shared';

export interface AddressBookRecord {
  id: string;
  ownerId: string;
  ownerUsername: string;
  kind: AddressBookKind;
  name: string;
  note: string | null;
  passwordSealed: Buffer | null;
  updatedAt: Date;
}

/** A book as one user opens it: `heldRule` is their best user or group rule on a shared book they do not own. */
export interface AddressBookWithRule {
  book: AddressBookRecord;
  heldRule: number | null;
}

/** A page of a book's peers, and how many the book holds. */
export interface AddressBookPeerPage {
  total: number;
  peers: AddressBookPeerRecord[];
}

/** A shared book as one user may open it, with their best rule (1 read, 2 read/write, 3 full). */
export interface AccessibleSharedBook {
  id: string;
  name: string;
  note: string | null;
  owner: string;
  passwordSealed: Buffer | null;
  rule: number;
}

/** The peer fields the client reads and writes; secrets arrive and leave sealed. */
export interface AddressBookPeerFields {
  alias: string | null;
  hashSealed: Buffer | null;
  passwordSealed: Buffer | null;
  username: string | null;
  hostname: string | null;
  platform: string | null;
  tags: string[];
  note: string | null;
  forceAlwaysRelay: boolean;
  rdpPort: string | null;
  rdpUsername: string | null;
  loginName: string | null;
  deviceGroupName: string | null;
  sameServer: boolean | null;
}

export interface AddressBookPeerRecord extends AddressBookPeerFields {
  rustdeskId: string;
}

export interface AddressBookTagRecord {
  name: string;
  /** ARGB uint32. */
  color: number;
}

export interface AddressBookRuleRecord {
  subject: 'user' | 'group';
  subjectId: string;
  subjectName: string;
  rule: number;
}

/** A peer id already in the book. */
export class AddressBookPeerExistsError extends Error {
  constructor(readonly rustdeskId: string) {
    super(`Peer ${rustdeskId} is already in the address book`);
    this.name = 'AddressBookPeerExistsError';
  }
}

/** A tag name already in the book. */
export class AddressBookTagExistsError extends Error {
  constructor(readonly tag: string) {
    super(`Tag ${tag} already exists`);
    this.name = 'AddressBookTagExistsError';
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const UNIQUE_VIOLATION = 'P2002';

const BOOK_SELECT = {
  id: true,
  ownerId: true,
  kind: true,
  name: true,
  note: true,
  passwordSealed: true,
  updatedAt: true,
  owner: { select: { username: true } },
} as const satisfies Prisma.AddressBookSelect;

const PEER_SELECT = {
  rustdeskId: true,
  alias: true,
  hashSealed: true,
  passwordSealed: true,
  username: true,
  hostname: true,
  platform: true,
  tags: true,
  note: true,
  forceAlwaysRelay: true,
  rdpPort: true,
  rdpUsername: true,
  loginName: true,
  deviceGroupName: true,
  sameServer: true,
} as const satisfies Prisma.AddressBookPeerSelect;

/**
 * Address books of the RustDesk client API: personal books (one per user), shared books with rules
 * per user and per user group, their peers and tags. Secrets are stored as the caller sealed them.
 * Writes to one book take its row lock first (`lockBook`) inside the change's transaction.
 */
export class AddressBookRepository {
  constructor(private readonly db: PrismaClient | Prisma.TransactionClient) {}

  // ─── books ──────────────────────────────────────────────────────────────────

  async find(id: string): Promise<AddressBookRecord | null> {
    if (!UUID.test(id)) return null;
    const row = await this.db.addressBook.findUnique({ where: { id }, select: BOOK_SELECT });
    return row === null ? null : toBook(row);
  }

  async findPersonal(ownerId: string, name: string): Promise<AddressBookRecord | null> {
    const row = await this.db.addressBook.findUnique({
      where: { ownerId_kind_name: { ownerId, kind: 'personal', name } },
      select: BOOK_SELECT,
    });
    return row === null ? null : toBook(row);
  }

  /** The user's personal book, created on first use; concurrent first calls get the same row. */
  async ensurePersonal(
    ownerId: string,
    name: string,
  ): Promise<{ book: AddressBookRecord; created: boolean }> {
    const existing = await this.findPersonal(ownerId, name);
    if (existing !== null) return { book: existing, created: false };
    const rows = await this.db.$queryRaw<{ id: string }[]>`INSERT INTO address_books
        (owner_id, kind, name, updated_at) VALUES (${ownerId}::uuid, 'personal', ${name}, now())
        ON CONFLICT (owner_id, kind, name) DO NOTHING RETURNING id::text AS id`;
    const book = await this.findPersonal(ownerId, name);
    if (book === null) throw new Error('personal address book vanished while being created');
    return { book, created: rows.length > 0 };
  }

  async findSharedByName(name: string): Promise<AddressBookRecord | null> {
    const row = await this.db.addressBook.findFirst({
      where: { kind: 'shared', name },
      select: BOOK_SELECT,
    });
    return row === null ? null : toBook(row);
  }

  /** Row-locks the book until the transaction ends; false when it does not exist. */
  async lockBook(id: string): Promise<boolean> {
    if (!UUID.test(id)) return false;
    const rows = await this.db.$queryRaw<{ id: string }[]>(lockBookSql(id));
    return rows.length > 0;
  }

  /** Serialises shared-book names (create, rename) until the transaction ends. */
  async lockSharedNames(): Promise<void> {
    await this.db.$executeRaw(lockSharedNamesSql());
  }

  /** The book and the rule `userId` holds on it (see AddressBookWithRule), in one query. */
  async findWithRule(id: string, userId: string): Promise<AddressBookWithRule | null> {
    if (!UUID.test(id) || !UUID.test(userId)) return null;
    const [row] = await this.db.$queryRaw<BookWithRuleRow[]>(bookWithRuleSql(id, userId));
    return row === undefined ? null : { book: bookOfRow(row), heldRule: row.held_rule };
  }

  async listSharedFor(
    userId: string,
    everything: boolean,
    offset: number,
    limit: number,
  ): Promise<{ total: number; items: AccessibleSharedBook[] }> {
    const [rows, counts] = await Promise.all([
      this.db.$queryRaw<Omit<SharedBookRow, 'total'>[]>(
        sharedBooksForUserSql(userId, everything, offset, limit),
      ),
      this.db.$queryRaw<{ total: bigint }[]>(countSharedBooksForUserSql(userId, everything)),
    ]);
    return {
      total: Number(counts[0]?.total ?? 0n),
      items: rows.map((row) => ({
        id: row.id,
        name: row.name,
        note: row.note,
        owner: row.owner,
        passwordSealed: row.password_sealed === null ? null : Buffer.from(row.password_sealed),
        rule: row.rule,
      })),
    };
  }

  async listAllShared(offset: number, limit: number): Promise<{ total: number; items: AddressBookRecord[] }> {
    const where = { kind: 'shared' } as const;
    const [rows, total] = await Promise.all([
      this.db.addressBook.findMany({
        where,
        select: BOOK_SELECT,
        orderBy: [{ name: 'asc' }, { id: 'asc' }],
        skip: offset,
        take: limit,
      }),
      this.db.addressBook.count({ where }),
    ]);
    return { total, items: rows.map(toBook) };
  }

  async createShared(ownerId: string, name: string, note: string | null): Promise<AddressBookRecord> {
    const row = await this.db.addressBook.create({
      data: { ownerId, kind: 'shared', name, note },
      select: BOOK_SELECT,
    });
    return toBook(row);
  }

  async updateBook(id: string, change: { name?: string; note?: string | null }): Promise<void> {
    await this.db.addressBook.update({ where: { id }, data: change });
  }

  async setBookPassword(id: string, passwordSealed: Buffer | null): Promise<void> {
    await this.db.addressBook.update({
      where: { id },
      data: { passwordSealed: passwordSealed === null ? null : toBytes(passwordSealed) },
    });
  }

  /** Marks the book changed (the legacy view's `updated_at`). */
  async touch(id: string): Promise<void> {
    await this.db.addressBook.update({ where: { id }, data: { updatedAt: new Date() } });
  }

  async deleteBook(id: string): Promise<void> {
    await this.db.addressBook.delete({ where: { id } });
  }

  // ─── rules ──────────────────────────────────────────────────────────────────

  async listRules(addressBookId: string): Promise<AddressBookRuleRecord[]> {
    const [users, groups] = await Promise.all([
      this.db.addressBookRule.findMany({
        where: { addressBookId },
        select: { userId: true, rule: true, user: { select: { username: true } } },
      }),
      this.db.addressBookGroupRule.findMany({
        where: { addressBookId },
        select: { userGroupId: true, rule: true, userGroup: { select: { name: true } } },
      }),
    ]);
    return [
      ...users.map((r) => ({
        subject: 'user' as const,
        subjectId: r.userId,
        subjectName: r.user.username,
        rule: r.rule,
      })),
      ...groups.map((r) => ({
        subject: 'group' as const,
        subjectId: r.userGroupId,
        subjectName: r.userGroup.name,
        rule: r.rule,
      })),
    ];
  }

  async setUserRule(addressBookId: string, userId: string, rule: number): Promise<void> {
    await this.db.addressBookRule.upsert({
      where: { addressBookId_userId: { addressBookId, userId } },
      create: { addressBookId, userId, rule },
      update: { rule },
    });
  }

  async setGroupRule(addressBookId: string, userGroupId: string, rule: number): Promise<void> {
    await this.db.addressBookGroupRule.upsert({
      where: { addressBookId_userGroupId: { addressBookId, userGroupId } },
      create: { addressBookId, userGroupId, rule },
      update: { rule },
    });
  }

  /** True when there was a rule to remove. */
  async removeUserRule(addressBookId: string, userId: string): Promise<boolean> {
    const { count } = await this.db.addressBookRule.deleteMany({ where: { addressBookId, userId } });
    return count > 0;
  }

  async removeGroupRule(addressBookId: string, userGroupId: string): Promise<boolean> {
    const { count } = await this.db.addressBookGroupRule.deleteMany({
      where: { addressBookId, userGroupId },
    });
    return count > 0;
  }

  async findUserByName(username: string): Promise<{ id: string; username: string } | null> {
    return this.db.user.findUnique({
      where: { username: username.toLowerCase() },
      select: { id: true, username: true },
    });
  }

  async findGroupByName(name: string): Promise<{ id: string; name: string } | null> {
    return this.db.userGroup.findUnique({ where: { name }, select: { id: true, name: true } });
  }

  // ─── peers ──────────────────────────────────────────────────────────────────

  async countPeers(addressBookId: string): Promise<number> {
    return this.db.addressBookPeer.count({ where: { addressBookId } });
  }

  /** One page by peer id, with the book's peer count, in one query (see peerPageSql). */
  async peerPage(addressBookId: string, offset: number, limit: number): Promise<AddressBookPeerPage> {
    const rows = await this.db.$queryRaw<PeerPageRow[]>(peerPageSql(addressBookId, offset, limit));
    return {
      total: Number(rows[0]?.total ?? 0n),
      peers: rows.flatMap((row) => (row.rustdesk_id === null ? [] : [peerOfRow(row, row.rustdesk_id)])),
    };
  }

  /** One page by peer id (unique in the book, so pages never overlap). */
  async listPeers(addressBookId: string, offset: number, limit: number): Promise<AddressBookPeerRecord[]> {
    const rows = await this.db.addressBookPeer.findMany({
      where: { addressBookId },
      select: PEER_SELECT,
      orderBy: { rustdeskId: 'asc' },
      skip: offset,
      take: limit,
    });
    return rows.map(toPeer);
  }

  async findPeer(addressBookId: string, rustdeskId: string): Promise<AddressBookPeerRecord | null> {
    const row = await this.db.addressBookPeer.findUnique({
      where: { addressBookId_rustdeskId: { addressBookId, rustdeskId } },
      select: PEER_SELECT,
    });
    return row === null ? null : toPeer(row);
  }

  async addPeer(addressBookId: string, peer: AddressBookPeerRecord): Promise<void> {
    try {
      await this.db.addressBookPeer.create({
        data: { addressBookId, ...peerData(peer), rustdeskId: peer.rustdeskId },
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new AddressBookPeerExistsError(peer.rustdeskId);
      throw error;
    }
  }

  /** Writes the fields given; false when the peer is not in the book. */
  async updatePeer(
    addressBookId: string,
    rustdeskId: string,
    change: Partial<AddressBookPeerFields>,
  ): Promise<boolean> {
    const { count } = await this.db.addressBookPeer.updateMany({
      where: { addressBookId, rustdeskId },
      data: peerData(change),
    });
    return count > 0;
  }

  /** The ids that were there and are gone. */
  async deletePeers(addressBookId: string, rustdeskIds: readonly string[]): Promise<string[]> {
    const present = await this.db.addressBookPeer.findMany({
      where: { addressBookId, rustdeskId: { in: [...rustdeskIds] } },
      select: { rustdeskId: true },
    });
    await this.db.addressBookPeer.deleteMany({
      where: { addressBookId, rustdeskId: { in: [...rustdeskIds] } },
    });
    return present.map((row) => row.rustdeskId);
  }

  /** Keeps only the listed peer ids (the legacy blob replaces the whole book). */
  async deletePeersExcept(addressBookId: string, keep: readonly string[]): Promise<number> {
    const { count } = await this.db.addressBookPeer.deleteMany({
      where: { addressBookId, rustdeskId: { notIn: [...keep] } },
    });
    return count;
  }

  // ─── tags ───────────────────────────────────────────────────────────────────

  async listTags(addressBookId: string): Promise<AddressBookTagRecord[]> {
    const rows = await this.db.addressBookTag.findMany({
      where: { addressBookId },
      select: { name: true, color: true },
      orderBy: { name: 'asc' },
    });
    return rows.map((row) => ({ name: row.name, color: Number(row.color) }));
  }

  async addTag(addressBookId: string, tag: AddressBookTagRecord): Promise<void> {
    try {
      await this.db.addressBookTag.create({
        data: { addressBookId, name: tag.name, color: BigInt(tag.color) },
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new AddressBookTagExistsError(tag.name);
      throw error;
    }
  }

  /** Adds the tag, or sets its colour when it is there. */
  async putTag(addressBookId: string, tag: AddressBookTagRecord): Promise<void> {
    await this.db.addressBookTag.upsert({
      where: { addressBookId_name: { addressBookId, name: tag.name } },
      create: { addressBookId, name: tag.name, color: BigInt(tag.color) },
      update: { color: BigInt(tag.color) },
    });
  }

  /** False when the tag is not in the book. */
  async setTagColor(addressBookId: string, name: string, color: number): Promise<boolean> {
    const { count } = await this.db.addressBookTag.updateMany({
      where: { addressBookId, name },
      data: { color: BigInt(color) },
    });
    return count > 0;
  }

  /** Renames the tag and, with it, the tag inside every peer's tags. False when there is no such tag. */
  async renameTag(addressBookId: string, from: string, to: string): Promise<boolean> {
    const { count } = await this.db.addressBookTag.updateMany({
      where: { addressBookId, name: from },
      data: { name: to },
    });
    if (count === 0) return false;
    await this.db.$executeRaw(renameTagInPeersSql(addressBookId, from, to));
    return true;
  }

  /** Deletes the tags and takes them off every peer; returns the names that existed. */
  async deleteTags(addressBookId: string, names: readonly string[]): Promise<string[]> {
    const present = await this.db.addressBookTag.findMany({
      where: { addressBookId, name: { in: [...names] } },
      select: { name: true },
    });
    await this.db.addressBookTag.deleteMany({ where: { addressBookId, name: { in: [...names] } } });
    if (names.length > 0) await this.db.$executeRaw(removeTagsFromPeersSql(addressBookId, names));
    return present.map((row) => row.name);
  }

  /** Replaces the book's whole tag list (the legacy blob). */
  async replaceTags(addressBookId: string, tags: readonly AddressBookTagRecord[]): Promise<void> {
    await this.db.addressBookTag.deleteMany({ where: { addressBookId } });
    if (tags.length === 0) return;
    await this.db.addressBookTag.createMany({
      data: tags.map((tag) => ({ addressBookId, name: tag.name, color: BigInt(tag.color) })),
    });
  }

  /** Inserts the peer or overwrites the fields given (the legacy blob, device presets). */
  async upsertPeer(
    addressBookId: string,
    rustdeskId: string,
    create: Partial<AddressBookPeerFields>,
    update: Partial<AddressBookPeerFields>,
  ): Promise<void> {
    await this.db.addressBookPeer.upsert({
      where: { addressBookId_rustdeskId: { addressBookId, rustdeskId } },
      create: { ...peerData(create), addressBookId, rustdeskId },
      update: peerData(update),
    });
  }
}

type BookRow = Prisma.AddressBookGetPayload<{ select: typeof BOOK_SELECT }>;
type PeerRow = Prisma.AddressBookPeerGetPayload<{ select: typeof PEER_SELECT }>;

function toBook(row: BookRow): AddressBookRecord {
  return {
    id: row.id,
    ownerId: row.ownerId,
    ownerUsername: row.owner.username,
    kind: row.kind,
    name: row.name,
    note: row.note,
    passwordSealed: row.passwordSealed === null ? null : Buffer.from(row.passwordSealed),
    updatedAt: row.updatedAt,
  };
}

function bookOfRow(row: BookWithRuleRow): AddressBookRecord {
  return {
    id: row.id,
    ownerId: row.owner_id,
    ownerUsername: row.owner_username,
    kind: row.kind,
    name: row.name,
    note: row.note,
    passwordSealed: row.password_sealed === null ? null : Buffer.from(row.password_sealed),
    updatedAt: row.updated_at,
  };
}

function peerOfRow(row: PeerPageRow, rustdeskId: string): AddressBookPeerRecord {
  return {
    rustdeskId,
    alias: row.alias,
    hashSealed: row.hash_sealed === null ? null : Buffer.from(row.hash_sealed),
    passwordSealed: row.password_sealed === null ? null : Buffer.from(row.password_sealed),
    username: row.username,
    hostname: row.hostname,
    platform: row.platform,
    tags: row.tags ?? [],
    note: row.note,
    forceAlwaysRelay: row.force_always_relay ?? false,
    rdpPort: row.rdp_port,
    rdpUsername: row.rdp_username,
    loginName: row.login_name,
    deviceGroupName: row.device_group_name,
    sameServer: row.same_server,
  };
}

function toPeer(row: PeerRow): AddressBookPeerRecord {
  return {
    ...row,
    hashSealed: row.hashSealed === null ? null : Buffer.from(row.hashSealed),
    passwordSealed: row.passwordSealed === null ? null : Buffer.from(row.passwordSealed),
  };
}

type PeerData = Omit<Partial<AddressBookPeerFields>, 'hashSealed' | 'passwordSealed'> & {
  hashSealed?: Uint8Array<ArrayBuffer> | null;
  passwordSealed?: Uint8Array<ArrayBuffer> | null;
};

/** Prisma's data for the fields present (sealed buffers as Prisma's bytes). */
function peerData(fields: Partial<AddressBookPeerFields>): PeerData {
  const { hashSealed, passwordSealed, ...plain } = fields;
  const data: PeerData = {};
  for (const [key, value] of Object.entries(plain)) {
    if (value !== undefined) (data as Record<string, unknown>)[key] = value;
  }
  if (hashSealed !== undefined) data.hashSealed = hashSealed === null ? null : toBytes(hashSealed);
  if (passwordSealed !== undefined)
    data.passwordSealed = passwordSealed === null ? null : toBytes(passwordSealed);
  return data;
}

function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === UNIQUE_VIOLATION;
}
