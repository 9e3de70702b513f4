import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';

import { isoTimestamp, responseSchema } from '../http/response-schemas';

// Request shapes of shared address-book administration (operator API).

/** The client keys books by name and calls the personal one this: a shared book must not take it. */
export const CLIENT_PERSONAL_BOOK_NAME = 'My address book';

const bookName = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(128, 'must be at most 128 characters')
  .regex(/^[^\p{Cc}]+$/u, 'must not contain control characters')
  .refine((name) => name !== CLIENT_PERSONAL_BOOK_NAME, `must not be "${CLIENT_PERSONAL_BOOK_NAME}"`);

const note = z.string().max(4_000, 'must be at most 4000 characters').nullable();

export class BookIdParams extends createZodDto(z.object({ id: z.uuid('must be an address book id') })) {}

export class UserRuleParams extends createZodDto(
  z.object({ id: z.uuid('must be an address book id'), username: z.string().min(1).max(64) }),
) {}

export class GroupRuleParams extends createZodDto(
  z.object({ id: z.uuid('must be an address book id'), group: z.string().min(1).max(128) }),
) {}

export class ListSharedBooksQuery extends createZodDto(
  z.object({
    offset: z.coerce.number().int().min(0).default(0),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  }),
) {}

export class CreateSharedBookBody extends createZodDto(
  z.strictObject({ name: bookName, note: note.optional() }),
) {}

export class UpdateSharedBookBody extends createZodDto(
  z
    .strictObject({ name: bookName.optional(), note: note.optional() })
    .refine((body) => body.name !== undefined || body.note !== undefined, 'nothing to change'),
) {}

export class SetRuleBody extends createZodDto(
  z.strictObject({
    /** 1 read, 2 read/write, 3 full control. */
    rule: z.union([z.literal(1), z.literal(2), z.literal(3)], { error: 'must be 1, 2 or 3' }),
  }),
) {}

export class SetBookPasswordBody extends createZodDto(
  z.strictObject({
    /** The default password for peers without their own; null or "" clears it. */
    password: z.string().max(1_024, 'must be at most 1024 characters').nullable(),
  }),
) {}

// The answers of shared address-book administration.

export const sharedBookViewSchema = responseSchema(
  'SharedAddressBook',
  z.object({
    id: z.uuid(),
    name: z.string(),
    note: z.string().nullable(),
    owner: z.string().describe("The creator's username."),
    hasPassword: z.boolean().describe('Whether a default shared password is set (it is never shown).'),
    updatedAt: isoTimestamp,
  }),
);
export type SharedBookView = z.output<typeof sharedBookViewSchema>;

export const sharedBookDetailsViewSchema = responseSchema(
  'SharedAddressBookDetails',
  sharedBookViewSchema.extend({
    rules: z.array(
      z.object({
        subject: z.enum(['user', 'group']),
        subjectId: z.uuid(),
        subjectName: z.string().describe('The username, or the user group name.'),
        rule: z.number().int().describe('1 read, 2 read/write, 3 full control.'),
      }),
    ),
  }),
);
export type SharedBookDetailsView = z.output<typeof sharedBookDetailsViewSchema>;

export const sharedBookListSchema = responseSchema(
  'SharedAddressBookList',
  z.object({ items: z.array(sharedBookViewSchema), total: z.number().int().min(0) }),
);
export type SharedBookList = z.output<typeof sharedBookListSchema>;
