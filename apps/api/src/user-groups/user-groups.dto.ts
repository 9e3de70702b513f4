import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';

import { pageQueryFields } from '../http/page-query.dto';

// Request shapes of user-group administration (operator API). Limits follow schema.prisma.

const name = z
  .string()
  .trim()
  .min(1, 'is required')
  .max(128, 'must be at most 128 characters')
  // Shown in the console and matched exactly: printable text only.
  .regex(/^[^\p{Cc}\p{Cf}]+$/u, 'must not contain control characters');
const note = z.string().max(4_000, 'must be at most 4000 characters').nullable();

/** Enough for one request to fill a department; more goes in several. */
export const MAX_MEMBERS_PER_REQUEST = 500;

export class UserGroupIdParams extends createZodDto(z.strictObject({ id: z.uuid('must be a uuid') })) {}

export class UserGroupMemberParams extends createZodDto(
  z.strictObject({ id: z.uuid('must be a uuid'), userId: z.uuid('must be a uuid') }),
) {}

export class DeviceGroupRuleParams extends createZodDto(
  z.strictObject({ id: z.uuid('must be a uuid'), deviceGroupId: z.uuid('must be a uuid') }),
) {}

export class UserGroupRuleParams extends createZodDto(
  z.strictObject({ id: z.uuid('must be a uuid'), targetId: z.uuid('must be a uuid') }),
) {}

export class ListUserGroupsQuery extends createZodDto(
  z.strictObject({ ...pageQueryFields, search: z.string().max(128).optional() }),
) {}

export class ListMembersQuery extends createZodDto(z.strictObject({ ...pageQueryFields })) {}

export class CreateUserGroupBody extends createZodDto(z.strictObject({ name, note: note.optional() })) {}

export class UpdateUserGroupBody extends createZodDto(
  z
    .strictObject({ name: name.optional(), note: note.optional() })
    .refine(
      (body) => body.name !== undefined || body.note !== undefined,
      'nothing to change: give name or note',
    ),
) {}

export class AddMembersBody extends createZodDto(
  z.strictObject({
    /** User ids or usernames. */
    users: z
      .array(z.string().min(1).max(64))
      .min(1, 'must name at least one user')
      .max(MAX_MEMBERS_PER_REQUEST, `must name at most ${MAX_MEMBERS_PER_REQUEST} users`),
  }),
) {}
