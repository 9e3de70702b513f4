import { z } from 'zod';
import { createZodDto } from 'nestjs-zod';

import { MAX_PASSWORD_LENGTH, MIN_ADMIN_PASSWORD_LENGTH } from '../config';

// Request bodies of the login, 2FA and self-service routes. Limits are generous for people and
// tight for abuse: every string has a maximum, so nothing oversized reaches argon2 or the database.

/** Longer than any stored username (64): an unknown long name still gets the generic 401. */
const MAX_USERNAME_INPUT = 256;
const MAX_TOKEN_LENGTH = 4096;

const password = z.string().min(1, 'is required').max(MAX_PASSWORD_LENGTH);
const totpCode = z.string().regex(/^\d{6}$/, 'must be the 6-digit code from the authenticator app');
const recoveryCode = z.string().min(1).max(64);

export const loginSchema = z.object({
  username: z.string().min(1, 'is required').max(MAX_USERNAME_INPUT),
  password,
  /** Browser logins only: the session lasts 7 days instead of ending with the browser (see config). */
  rememberMe: z.boolean().optional(),
});
export class LoginDto extends createZodDto(loginSchema) {}

export const mfaLoginSchema = z
  .object({
    mfaToken: z.string().min(1).max(MAX_TOKEN_LENGTH),
    code: totpCode.optional(),
    recoveryCode: recoveryCode.optional(),
    rememberMe: z.boolean().optional(),
  })
  .refine((body) => (body.code === undefined) !== (body.recoveryCode === undefined), {
    message: 'send exactly one of code and recoveryCode',
    path: ['code'],
  });
export class MfaLoginDto extends createZodDto(mfaLoginSchema) {}

const refreshToken = z.string().min(1).max(256);

export const refreshSchema = z.object({ refreshToken });
export class RefreshDto extends createZodDto(refreshSchema) {}

/** A bodiless POST (the console's logout) arrives as undefined: same as `{}`. */
export const logoutSchema = z.object({ refreshToken: refreshToken.optional() }).optional().default({});
export class LogoutDto extends createZodDto(logoutSchema) {}

/** The current password: a stolen session or access token alone cannot put a second factor in the way. */
export const totpEnrollSchema = z.object({ password });
export class TotpEnrollDto extends createZodDto(totpEnrollSchema) {}

export const totpCodeSchema = z.object({ code: totpCode });
export class TotpCodeDto extends createZodDto(totpCodeSchema) {}

export const totpDisableSchema = z.object({
  password,
  /** The current TOTP code, or one of the recovery codes when the device is lost. */
  code: z.string().min(1).max(64),
});
export class TotpDisableDto extends createZodDto(totpDisableSchema) {}

export const passwordChangeSchema = z.object({
  currentPassword: password,
  newPassword: z
    .string()
    .min(MIN_ADMIN_PASSWORD_LENGTH, `must be at least ${MIN_ADMIN_PASSWORD_LENGTH} characters`)
    .max(MAX_PASSWORD_LENGTH, `must be at most ${MAX_PASSWORD_LENGTH} characters`),
});
export class PasswordChangeDto extends createZodDto(passwordChangeSchema) {}

export const sessionIdSchema = z.object({ id: z.uuid('must be a session id') });
export class SessionIdDto extends createZodDto(sessionIdSchema) {}
