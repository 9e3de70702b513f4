import { ForbiddenException, NotFoundException } from '@nestjs/common';
import { type AddressBookRecord } from '@switchboard/data-access';

import { type Repositories } from '../database/repositories';

/** Rules of a shared book (flutter/lib/common/hbbs/hbbs.dart `ShareRule`). */
export const RULE_READ = 1;
export const RULE_READ_WRITE = 2;
export const RULE_FULL_CONTROL = 3;

/** Who asks: a client caller or the seams that act for a device. */
export interface AddressBookReader {
  readonly userId: string;
  readonly isAdmin: boolean;
}

export interface OpenedBook {
  readonly book: AddressBookRecord;
  readonly rule: number;
}

/** One answer for "no such book" and "not yours", so a guid's existence leaks nothing. */
export const BOOK_NOT_FOUND = 'Address book not found';
export const READ_ONLY = 'You have read-only access to this address book';

/**
 * The caller's rule on a book, or null when they may not see it at all. A personal book is its
 * owner's alone; a shared book gives its owner and admins full control, anyone else the best of
 * their own rule and their groups' rules (`heldRule`, read with the book).
 */
export function ruleOf(
  book: AddressBookRecord,
  reader: AddressBookReader,
  heldRule: number | null,
): number | null {
  if (book.ownerId === reader.userId) return RULE_FULL_CONTROL;
  if (book.kind === 'personal') return null;
  if (reader.isAdmin) return RULE_FULL_CONTROL;
  return heldRule;
}

/** The book `guid` as the reader may use it; 404 when absent or not theirs, 403 for a write on read-only. */
export async function openBook(
  repository: Repositories['addressBooks'],
  guid: string,
  reader: AddressBookReader,
  access: 'read' | 'write',
): Promise<OpenedBook> {
  const found = await repository.findWithRule(guid, reader.userId);
  const rule = found === null ? null : ruleOf(found.book, reader, found.heldRule);
  if (found === null || rule === null || rule < RULE_READ) throw new NotFoundException(BOOK_NOT_FOUND);
  if (access === 'write' && rule < RULE_READ_WRITE) throw new ForbiddenException(READ_ONLY);
  return { book: found.book, rule };
}
