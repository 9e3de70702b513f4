import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';

import { MAX_PASSWORD_LENGTH } from '../config';

// The bodies the RustDesk client posts to /api/login, /api/currentUser and /api/logout
// (flutter/lib/common/hbbs/hbbs.dart LoginRequest; docs/client-api.md §2). Unknown fields are
// dropped, not refused: a newer client may send more. Every string is bounded.

const shortText = z.string().max(255);

/** What the client says about itself: ids and names it chose; recorded, never trusted. */
const deviceInfoSchema = z.object({
  os: shortText.optional(),
  type: shortText.optional(),
  name: shortText.optional(),
});

export const clientLoginSchema = z.object({
  username: z.string().max(256).optional(),
  password: z.string().max(MAX_PASSWORD_LENGTH).optional(),
  id: z.string().max(64).optional(),
  uuid: z.string().max(128).optional(),
  autoLogin: z.boolean().optional(),
  /** `account` (password step), `email_code` (second step; the client uses it for TOTP as well). */
  type: z.string().max(32).optional(),
  verificationCode: z.string().max(64).optional(),
  tfaCode: z.string().max(64).optional(),
  /** The second step's proof that the password step passed (our MFA token). */
  secret: z.string().max(4096).optional(),
  deviceInfo: deviceInfoSchema.optional(),
});
export class ClientLoginDto extends createZodDto(clientLoginSchema) {}

/** /api/currentUser and /api/logout: the client names itself; the token says who it is. */
export const clientIdentitySchema = z.object({
  id: z.string().max(64).optional(),
  uuid: z.string().max(128).optional(),
});
export class ClientIdentityDto extends createZodDto(clientIdentitySchema) {}
