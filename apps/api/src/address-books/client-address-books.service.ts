import { ConflictException, ForbiddenException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { type JsonObject } from '@switchboard/audit';
import {
  AddressBookPeerExistsError,
  type AddressBookPeerFields,
  type AddressBookRecord,
  AddressBookRepository,
  AddressBookTagExistsError,
  type AuditAppendInput,
  SettingRepository,
} from '@switchboard/data-access';

import { type RequestOrigin } from '../auth/principal';
import { ChangeRunner, type Changes } from '../changes/change-runner';
import { type ClientPage, clientPagedResponse, type ClientPagedResponse } from '../client-api/paging';
import { type Repositories } from '../database/repositories';
import { type AddressBookReader, openBook } from './address-book-access';
import { AddressBookSecrets } from './address-book-secrets';
import { type ClientPeerView, clientPeerView, type ClientProfileView } from './address-book-view';
import { type ClientCaller } from '../client-auth/client-caller';
import { type PeerBody } from './client-address-book.dto';

/** The name a personal book is stored under; the client shows its own ("My address book"). */
export const PERSONAL_BOOK_NAME = 'personal';
/** Setting: most peers in one book, answered as `max_peer_one_ab` (absent or 0: unlimited). */
export const MAX_PEERS_SETTING = 'address-book.max-peers';

/** Who is writing, and from where: every change's audit entry names both. */
export interface ClientActor {
  readonly caller: ClientCaller;
  readonly origin: RequestOrigin;
}

/**
 * The address book v2 calls of the RustDesk client (docs/client-api.md §3,
 * flutter/lib/models/ab_model.dart). Every query is scoped to the caller; every write is one
 * ChangeRunner.run that locks the book, checks the caller's rule and appends its audit entry.
 * Writes answer nothing: the controller turns that into the empty 200 the client requires.
 */
@Injectable()
export class ClientAddressBooksService {
  constructor(
    @Inject(AddressBookRepository) private readonly books: Repositories['addressBooks'],
    @Inject(SettingRepository) private readonly settings: Repositories['settings'],
    @Inject(ChangeRunner) private readonly changes: Changes,
    private readonly secrets: AddressBookSecrets,
  ) {}

  /** The caller's personal book, created (and audited) on first use. */
  async personal(actor: ClientActor): Promise<{ guid: string }> {
    const existing = await this.books.findPersonal(actor.caller.userId, PERSONAL_BOOK_NAME);
    if (existing !== null) return { guid: existing.id };
    return this.changes.run(async ({ addressBooks }) => {
      const { book, created } = await addressBooks.ensurePersonal(actor.caller.userId, PERSONAL_BOOK_NAME);
      return {
        result: { guid: book.id },
        audit: created ? [clientEntry(actor, 'address_book.personal_create', book.id, {})] : [],
      };
    });
  }

  async settingsView(): Promise<{ max_peer_one_ab: number }> {
    return { max_peer_one_ab: await this.maxPeers() };
  }

  async sharedProfiles(
    caller: ClientCaller,
    page: ClientPage,
  ): Promise<ClientPagedResponse<ClientProfileView>> {
    const { total, items } = await this.books.listSharedFor(
      caller.userId,
      caller.isAdmin,
      page.offset,
      page.pageSize,
    );
    return clientPagedResponse(
      total,
      items.map((book) => {
        const password = this.secrets.openBookPassword(book.id, book.passwordSealed);
        return {
          guid: book.id,
          name: book.name,
          owner: book.owner,
          note: book.note ?? '',
          rule: book.rule,
          info: password === '' ? {} : { password },
        };
      }),
    );
  }

  async peers(
    caller: ClientCaller,
    guid: string,
    page: ClientPage,
  ): Promise<ClientPagedResponse<ClientPeerView>> {
    const { book } = await openBook(this.books, guid, reader(caller), 'read');
    const { total, peers } = await this.books.peerPage(book.id, page.offset, page.pageSize);
    return clientPagedResponse(
      total,
      peers.map((peer) => clientPeerView(book, peer, this.secrets)),
    );
  }

  async tags(caller: ClientCaller, guid: string): Promise<{ name: string; color: number }[]> {
    const { book } = await openBook(this.books, guid, reader(caller), 'read');
    return this.books.listTags(book.id);
  }

  async addPeer(guid: string, body: PeerBody, actor: ClientActor): Promise<void> {
    const maxPeers = await this.maxPeers();
    await this.write(guid, actor, async (repo, book) => {
      if (maxPeers > 0 && (await repo.countPeers(book.id)) >= maxPeers) {
        throw new ForbiddenException(`The address book is full (at most ${maxPeers} peers)`);
      }
      const known = new Set((await repo.listTags(book.id)).map((tag) => tag.name));
      const fields = this.peerFields(book, body, known);
      try {
        await repo.addPeer(book.id, { ...emptyPeer(), ...fields, rustdeskId: body.id });
      } catch (error) {
        if (error instanceof AddressBookPeerExistsError) throw new ConflictException(error.message);
        throw error;
      }
      return [clientEntry(actor, 'address_book.peer_add', book.id, { peer: body.id })];
    });
  }

  /** Writes only the fields the request carries (the client sends one kind of change at a time). */
  async updatePeer(guid: string, body: PeerBody, actor: ClientActor): Promise<void> {
    await this.write(guid, actor, async (repo, book) => {
      const known = new Set((await repo.listTags(book.id)).map((tag) => tag.name));
      const fields = this.peerFields(book, body, known);
      if (!(await repo.updatePeer(book.id, body.id, fields))) throw new NotFoundException('Peer not found');
      return [
        clientEntry(actor, 'address_book.peer_update', book.id, {
          peer: body.id,
          fields: Object.keys(fields),
        }),
      ];
    });
  }

  async deletePeers(guid: string, ids: readonly string[], actor: ClientActor): Promise<void> {
    await this.write(guid, actor, async (repo, book) => {
      const deleted = await repo.deletePeers(book.id, ids);
      return deleted.length === 0
        ? []
        : [clientEntry(actor, 'address_book.peer_delete', book.id, { peers: deleted })];
    });
  }

  async addTag(guid: string, tag: { name: string; color: number }, actor: ClientActor): Promise<void> {
    await this.write(guid, actor, async (repo, book) => {
      try {
        await repo.addTag(book.id, tag);
      } catch (error) {
        if (error instanceof AddressBookTagExistsError) throw new ConflictException(error.message);
        throw error;
      }
      return [clientEntry(actor, 'address_book.tag_add', book.id, { tag: tag.name, color: tag.color })];
    });
  }

  /** Renames the tag in the book and inside every peer's tags. */
  async renameTag(guid: string, from: string, to: string, actor: ClientActor): Promise<void> {
    await this.write(guid, actor, async (repo, book) => {
      if (from === to) return [];
      const tags = new Set((await repo.listTags(book.id)).map((tag) => tag.name));
      if (!tags.has(from)) throw new NotFoundException(`Tag ${from} not found`);
      if (tags.has(to)) throw new ConflictException(`Tag ${to} already exists`);
      await repo.renameTag(book.id, from, to);
      return [clientEntry(actor, 'address_book.tag_rename', book.id, { from, to })];
    });
  }

  async setTagColor(guid: string, tag: { name: string; color: number }, actor: ClientActor): Promise<void> {
    await this.write(guid, actor, async (repo, book) => {
      if (!(await repo.setTagColor(book.id, tag.name, tag.color))) {
        throw new NotFoundException(`Tag ${tag.name} not found`);
      }
      return [clientEntry(actor, 'address_book.tag_update', book.id, { tag: tag.name, color: tag.color })];
    });
  }

  /** Deletes the tags and takes them off every peer; names not in the book are ignored. */
  async deleteTags(guid: string, names: readonly string[], actor: ClientActor): Promise<void> {
    await this.write(guid, actor, async (repo, book) => {
      const deleted = await repo.deleteTags(book.id, names);
      return deleted.length === 0
        ? []
        : [clientEntry(actor, 'address_book.tag_delete', book.id, { tags: deleted })];
    });
  }

  /** Most peers per book, from the setting; 0 is unlimited. */
  async maxPeers(): Promise<number> {
    const setting = await this.settings.find(MAX_PEERS_SETTING);
    const value = setting?.value;
    return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : 0;
  }

  /** One write to one book: locked, the caller's rule checked inside the transaction, audited. */
  private async write(
    guid: string,
    actor: ClientActor,
    work: (repo: Repositories['addressBooks'], book: AddressBookRecord) => Promise<AuditAppendInput[]>,
  ): Promise<void> {
    await this.changes.run(async ({ addressBooks }) => {
      await addressBooks.lockBook(guid);
      const { book } = await openBook(addressBooks, guid, reader(actor.caller), 'write');
      const audit = await work(addressBooks, book);
      return { result: undefined, audit };
    });
  }

  /**
   * The columns a request sets. A personal book keeps the password hash and a shared book the
   * password (both sealed); the other secret is ignored, as the client strips it too. Tags the book
   * does not have are dropped, so renames and deletes reach every tag a peer carries.
   */
  private peerFields(
    book: AddressBookRecord,
    body: PeerBody,
    knownTags: ReadonlySet<string>,
  ): Partial<AddressBookPeerFields> {
    const fields: Partial<AddressBookPeerFields> = {
      alias: body.alias,
      username: body.username,
      hostname: body.hostname,
      platform: body.platform,
      note: body.note,
      forceAlwaysRelay: body.forceAlwaysRelay,
      rdpPort: body.rdpPort,
      rdpUsername: body.rdpUsername,
      loginName: body.loginName,
      deviceGroupName: body.device_group_name,
      sameServer: body.same_server,
    };
    if (body.tags !== undefined)
      fields.tags = [...new Set(body.tags ?? [])].filter((tag) => knownTags.has(tag));
    if (book.kind === 'personal' && body.hash !== undefined) {
      fields.hashSealed = this.secrets.sealPeer(book.id, body.id, 'hash', body.hash ?? '');
    }
    if (book.kind === 'shared' && body.password !== undefined) {
      fields.passwordSealed = this.secrets.sealPeer(book.id, body.id, 'password', body.password ?? '');
    }
    for (const key of Object.keys(fields) as (keyof AddressBookPeerFields)[]) {
      if (fields[key] === undefined) delete fields[key];
    }
    return fields;
  }
}

export function reader(caller: ClientCaller): AddressBookReader {
  return { userId: caller.userId, isAdmin: caller.isAdmin };
}

export function emptyPeer(): AddressBookPeerFields {
  return {
    alias: null,
    hashSealed: null,
    passwordSealed: null,
    username: null,
    hostname: null,
    platform: null,
    tags: [],
    note: null,
    forceAlwaysRelay: false,
    rdpPort: null,
    rdpUsername: null,
    loginName: null,
    deviceGroupName: null,
    sameServer: null,
  };
}

export function clientEntry(
  actor: ClientActor,
  action: string,
  bookId: string,
  details: JsonObject,
): AuditAppendInput {
  return {
    actorType: 'user',
    actorId: actor.caller.userId,
    action,
    targetType: 'address_book',
    targetId: bookId,
    ip: actor.origin.ip,
    details: {
      ...details,
      via: 'client',
      clientId: actor.caller.clientId,
      userAgent: actor.origin.userAgent,
    },
  };
}
