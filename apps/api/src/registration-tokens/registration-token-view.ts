import { type RegistrationTokenRecord } from '@switchboard/data-access';
import { z } from 'zod';

import { isoTimestamp, responseSchema } from '../http/response-schemas';

/** A registration token as listed: never its hash (the secret itself is only in the create answer). */
export const registrationTokenViewSchema = responseSchema(
  'RegistrationToken',
  z.object({
    id: z.uuid(),
    name: z.string(),
    prefix: z.string(),
    status: z.enum(['active', 'revoked', 'expired', 'used_up']),
    maxUses: z.number().int().nullable().describe('null: no limit.'),
    useCount: z.number().int(),
    expiresAt: isoTimestamp.nullable(),
    revokedAt: isoTimestamp.nullable(),
    createdAt: isoTimestamp,
    createdBy: z.object({ id: z.uuid(), username: z.string() }).nullable(),
  }),
);
export type RegistrationTokenView = z.output<typeof registrationTokenViewSchema>;
export type RegistrationTokenStatus = RegistrationTokenView['status'];

export const registrationTokenListSchema = responseSchema(
  'RegistrationTokenList',
  z.array(registrationTokenViewSchema),
);

/** The answer to a creation: the token itself, shown this once (never stored). */
export const createdRegistrationTokenSchema = responseSchema(
  'CreatedRegistrationToken',
  registrationTokenViewSchema.extend({
    token: z.string().describe('The token itself: shown once, never stored.'),
  }),
);
export type CreatedRegistrationToken = z.output<typeof createdRegistrationTokenSchema>;

export function tokenStatus(token: RegistrationTokenRecord, now: Date): RegistrationTokenStatus {
  if (token.revokedAt !== null) return 'revoked';
  if (token.expiresAt !== null && token.expiresAt <= now) return 'expired';
  if (token.maxUses !== null && token.useCount >= token.maxUses) return 'used_up';
  return 'active';
}

export function registrationTokenView(token: RegistrationTokenRecord, now: Date): RegistrationTokenView {
  return {
    id: token.id,
    name: token.name,
    prefix: token.prefix,
    status: tokenStatus(token, now),
    maxUses: token.maxUses,
    useCount: token.useCount,
    expiresAt: token.expiresAt?.toISOString() ?? null,
    revokedAt: token.revokedAt?.toISOString() ?? null,
    createdAt: token.createdAt.toISOString(),
    createdBy: token.createdBy && { ...token.createdBy },
  };
}
