import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';

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
