import { type ManagedUser, USER_ROLES } from '@switchboard/data-access';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';

import { MIN_ADMIN_PASSWORD_LENGTH } from '../config';
import { pageQueryFields, queryBoolean } from '../http/page-query.dto';
import { isoTimestamp, pageSchema, responseSchema } from '../http/response-schemas';

// The same bounds as the first admin's password (config.ts); the upper one keeps argon2 from
// being handed a novel to hash.
const password = z.string().min(MIN_ADMIN_PASSWORD_LENGTH).max(1024);
const username = z
  .string()
  .max(64)
  .toLowerCase()
  .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must be 1-64 of a-z 0-9 . _ - and start with a letter or digit');
// null clears an optional field; absent leaves it as it is (PATCH).
const displayName = z.string().trim().min(1).max(128).nullable();
const email = z.email().max(254).nullable();
const note = z.string().max(2000).nullable();
const role = z.enum(USER_ROLES);

export const userIdSchema = z.strictObject({ id: z.uuid() });
export class UserIdDto extends createZodDto(userIdSchema) {}

export class UserSessionParams extends createZodDto(z.strictObject({ id: z.uuid(), sessionId: z.uuid() })) {}

export const listUsersSchema = z.strictObject({
  ...pageQueryFields,
  /** Substring of the username, display name or email, case-insensitive; `%` and `_` are literal. */
  search: z.string().max(128).optional(),
  role: role.optional(),
  disabled: queryBoolean.optional(),
});
export class ListUsersDto extends createZodDto(listUsersSchema) {}

export const createUserSchema = z.strictObject({
  username,
  /** Omitted: a one-time password is generated and returned once. */
  password: password.optional(),
  role,
  displayName: displayName.optional(),
  email: email.optional(),
  note: note.optional(),
  /**
   * A password someone else chose must be changed at first login (default). A given password may opt
   * out (service accounts); a generated one never does.
   */
  passwordMustChange: z.boolean().optional(),
});
export class CreateUserDto extends createZodDto(createUserSchema) {}

export const updateUserSchema = z
  .strictObject({
    role: role.optional(),
    displayName: displayName.optional(),
    email: email.optional(),
    note: note.optional(),
  })
  .refine((change) => Object.values(change).some((value) => value !== undefined), {
    message: 'nothing to change: give role, displayName, email or note',
  });
export class UpdateUserDto extends createZodDto(updateUserSchema) {}

export const resetPasswordSchema = z
  .strictObject({
    /** Omitted: a one-time password is generated and returned once. */
    password: password.optional(),
  })
  // No body at all is the same as `{}`.
  .default({});
export class ResetPasswordDto extends createZodDto(resetPasswordSchema) {}

/** A user as the API shows it (ManagedUser has no password hash or TOTP secret to leak). */
export const userViewSchema = responseSchema(
  'User',
  z.object({
    id: z.uuid(),
    username: z.string(),
    displayName: z.string().nullable(),
    email: z.string().nullable(),
    note: z.string().nullable(),
    role,
    disabled: z.boolean(),
    totpEnabled: z.boolean(),
    passwordMustChange: z.boolean(),
    passwordChangedAt: isoTimestamp,
    lastLoginAt: isoTimestamp.nullable(),
    createdAt: isoTimestamp,
    updatedAt: isoTimestamp,
  }),
);
export type UserView = z.output<typeof userViewSchema>;

export const userPageSchema = responseSchema('UserPage', pageSchema(userViewSchema));
export type UserPage = z.output<typeof userPageSchema>;

export function toUserView(user: ManagedUser): UserView {
  return {
    id: user.id,
    username: user.username,
    displayName: user.displayName,
    email: user.email,
    note: user.note,
    role: user.role,
    disabled: user.disabled,
    totpEnabled: user.totpEnabled,
    passwordMustChange: user.passwordMustChange,
    passwordChangedAt: user.passwordChangedAt.toISOString(),
    lastLoginAt: user.lastLoginAt?.toISOString() ?? null,
    createdAt: user.createdAt.toISOString(),
    updatedAt: user.updatedAt.toISOString(),
  };
}

/** A user with a password we chose: the only time it is ever shown. */
export const userWithPasswordSchema = responseSchema(
  'UserWithPassword',
  z.object({
    user: userViewSchema,
    oneTimePassword: z.string().optional().describe('Only when the server generated the password.'),
  }),
);
export type UserWithPassword = z.output<typeof userWithPasswordSchema>;
