import { ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { type JsonObject } from '@switchboard/audit';
import {
  type AddressBookRecord,
  AddressBookRepository,
  type AuditAppendInput,
} from '@switchboard/data-access';

import { type Actor, actorAuditEntry } from '../auth/principal';
import { ChangeRunner, type Changes } from '../changes/change-runner';
import { type Repositories } from '../database/repositories';
import { AddressBookSecrets } from './address-book-secrets';
import {
  type SharedBookDetailsView,
  type SharedBookList,
  type SharedBookView,
} from './shared-address-books.dto';

/**
 * Shared address books, administered by admins (operator API): create, rename, delete, rules per
 * user and per user group, the book-level password. Each change is one ChangeRunner.run with its
 * hash-chain audit entry; a book's name is unique among shared books, as the client keys books by name.
 */
@Injectable()
export class SharedAddressBooksService {
  constructor(
    @Inject(AddressBookRepository) private readonly books: Repositories['addressBooks'],
    @Inject(ChangeRunner) private readonly changes: Changes,
    private readonly secrets: AddressBookSecrets,
  ) {}

  async list(offset: number, limit: number): Promise<SharedBookList> {
    const page = await this.books.listAllShared(offset, limit);
    return { total: page.total, items: page.items.map(bookView) };
  }

  async get(id: string): Promise<SharedBookDetailsView> {
    const book = await this.books.find(id);
    if (book === null || book.kind !== 'shared') throw new NotFoundException('Address book not found');
    return { ...bookView(book), rules: await this.books.listRules(id) };
  }

  async create(
    body: { name: string; note?: string | null | undefined },
    actor: Actor,
  ): Promise<SharedBookDetailsView> {
    const id = await this.changes.run(async ({ addressBooks }) => {
      await addressBooks.lockSharedNames();
      if ((await addressBooks.findSharedByName(body.name)) !== null) {
        throw new ConflictException(`A shared address book named "${body.name}" exists`);
      }
      const book = await addressBooks.createShared(actor.principal.userId, body.name, body.note ?? null);
      return { result: book.id, audit: [entry(actor, 'address_book.create', book.id, { name: body.name })] };
    });
    return this.get(id);
  }

  async update(
    id: string,
    body: { name?: string | undefined; note?: string | null | undefined },
    actor: Actor,
  ): Promise<SharedBookDetailsView> {
    await this.changes.run(async ({ addressBooks }) => {
      if (body.name !== undefined) await addressBooks.lockSharedNames();
      const book = await lockShared(addressBooks, id);
      if (body.name !== undefined && body.name !== book.name) {
        if ((await addressBooks.findSharedByName(body.name)) !== null) {
          throw new ConflictException(`A shared address book named "${body.name}" exists`);
        }
      }
      await addressBooks.updateBook(id, { name: body.name, note: body.note });
      const changes: Record<string, JsonObject[string]> = {};
      if (body.name !== undefined) changes['name'] = { from: book.name, to: body.name };
      if (body.note !== undefined) changes['note'] = body.note;
      return { result: undefined, audit: [entry(actor, 'address_book.update', id, { changes })] };
    });
    return this.get(id);
  }

  async delete(id: string, actor: Actor): Promise<void> {
    await this.changes.run(async ({ addressBooks }) => {
      const book = await lockShared(addressBooks, id);
      const peers = await addressBooks.countPeers(id);
      await addressBooks.deleteBook(id);
      return {
        result: undefined,
        audit: [entry(actor, 'address_book.delete', id, { name: book.name, peers })],
      };
    });
  }

  async setUserRule(
    id: string,
    username: string,
    rule: number,
    actor: Actor,
  ): Promise<SharedBookDetailsView> {
    await this.changes.run(async ({ addressBooks }) => {
      await lockShared(addressBooks, id);
      const user = await addressBooks.findUserByName(username);
      if (user === null) throw new NotFoundException('User not found');
      await addressBooks.setUserRule(id, user.id, rule);
      return {
        result: undefined,
        audit: [entry(actor, 'address_book.rule_set', id, { user: user.username, userId: user.id, rule })],
      };
    });
    return this.get(id);
  }

  async removeUserRule(id: string, username: string, actor: Actor): Promise<void> {
    await this.changes.run(async ({ addressBooks }) => {
      await lockShared(addressBooks, id);
      const user = await addressBooks.findUserByName(username);
      if (user === null || !(await addressBooks.removeUserRule(id, user.id))) {
        throw new NotFoundException('No rule for that user');
      }
      return {
        result: undefined,
        audit: [entry(actor, 'address_book.rule_remove', id, { user: user.username, userId: user.id })],
      };
    });
  }

  async setGroupRule(
    id: string,
    groupName: string,
    rule: number,
    actor: Actor,
  ): Promise<SharedBookDetailsView> {
    await this.changes.run(async ({ addressBooks }) => {
      await lockShared(addressBooks, id);
      const group = await addressBooks.findGroupByName(groupName);
      if (group === null) throw new NotFoundException('User group not found');
      await addressBooks.setGroupRule(id, group.id, rule);
      return {
        result: undefined,
        audit: [
          entry(actor, 'address_book.group_rule_set', id, { group: group.name, groupId: group.id, rule }),
        ],
      };
    });
    return this.get(id);
  }

  async removeGroupRule(id: string, groupName: string, actor: Actor): Promise<void> {
    await this.changes.run(async ({ addressBooks }) => {
      await lockShared(addressBooks, id);
      const group = await addressBooks.findGroupByName(groupName);
      if (group === null || !(await addressBooks.removeGroupRule(id, group.id))) {
        throw new NotFoundException('No rule for that user group');
      }
      return {
        result: undefined,
        audit: [entry(actor, 'address_book.group_rule_remove', id, { group: group.name, groupId: group.id })],
      };
    });
  }

  /** The book-level password the client uses for peers without their own; sealed, never audited. */
  async setPassword(id: string, password: string | null, actor: Actor): Promise<SharedBookDetailsView> {
    await this.changes.run(async ({ addressBooks }) => {
      await lockShared(addressBooks, id);
      const sealed = this.secrets.sealBookPassword(id, password ?? '');
      await addressBooks.setBookPassword(id, sealed);
      return {
        result: undefined,
        audit: [entry(actor, 'address_book.password_set', id, { cleared: sealed === null })],
      };
    });
    return this.get(id);
  }
}

async function lockShared(repo: Repositories['addressBooks'], id: string): Promise<AddressBookRecord> {
  const locked = await repo.lockBook(id);
  const book = locked ? await repo.find(id) : null;
  if (book === null || book.kind !== 'shared') throw new NotFoundException('Address book not found');
  return book;
}

function bookView(book: AddressBookRecord): SharedBookView {
  return {
    id: book.id,
    name: book.name,
    note: book.note,
    owner: book.ownerUsername,
    hasPassword: book.passwordSealed !== null,
    updatedAt: book.updatedAt.toISOString(),
  };
}

function entry(actor: Actor, action: string, bookId: string, details: JsonObject): AuditAppendInput {
  return actorAuditEntry(actor, action, { type: 'address_book', id: bookId }, details);
}
