import { USER_ROLES } from '@switchboard/data-access';
import { z } from 'zod';

import { isoTimestamp, responseSchema } from '../http/response-schemas';
import { PERMISSIONS } from './permissions';

// The answers of the login, token, 2FA and self-service routes (http/response-schemas.ts).

const role = z.enum(USER_ROLES);

/** The signed-in user, and how this request authenticated. */
export const meSchema = responseSchema(
  'Me',
  z.object({
    id: z.uuid(),
    username: z.string(),
    displayName: z.string().nullable(),
    email: z.string().nullable(),
    role: role.describe("For an API key: the key's role, which never exceeds its owner's."),
    totpEnabled: z.boolean(),
    passwordMustChange: z.boolean(),
    channel: z.enum(['panel', 'api']).describe('How this request authenticated: `panel` is the console.'),
    credential: z.enum(['session', 'access_token', 'api_key']),
    permissions: z
      .array(z.enum(PERMISSIONS))
      .describe('What this credential may do (auth/permissions.ts): the console shows only these controls.'),
  }),
);
export type Me = z.output<typeof meSchema>;

/** What automation gets from /auth/token and /auth/refresh (and a bearer caller's password change). */
export const tokenPairSchema = responseSchema(
  'TokenPair',
  z.object({
    accessToken: z.string(),
    refreshToken: z.string(),
    tokenType: z.literal('Bearer'),
    expiresIn: z.number().int().describe('Seconds until the access token expires.'),
  }),
);
export type TokenPair = z.output<typeof tokenPairSchema>;

export const mfaRequiredSchema = responseSchema(
  'MfaRequired',
  z.object({
    mfaRequired: z.literal(true),
    mfaToken: z.string().describe('Good for 5 minutes, and only at /auth/login/totp or /auth/token/totp.'),
  }),
);
export type MfaRequiredResponse = z.output<typeof mfaRequiredSchema>;

/** A browser login's answer: who signed in; the cookies carry the session and the CSRF token. */
export const panelLoginSchema = responseSchema(
  'PanelLogin',
  z.object({
    mfaRequired: z.literal(false),
    user: z.object({ id: z.uuid(), username: z.string(), role, passwordMustChange: z.boolean() }),
    csrfToken: z
      .string()
      .describe('Also in the __Host-sb_csrf cookie; echo it in X-CSRF-Token on every state change.'),
    expiresAt: isoTimestamp,
  }),
);
export type PanelLoginResponse = z.output<typeof panelLoginSchema>;

/** A console login: signed in, or the TOTP step comes next (`mfaRequired`). */
export const panelLoginAnswerSchema = responseSchema(
  'PanelLoginAnswer',
  z.discriminatedUnion('mfaRequired', [panelLoginSchema, mfaRequiredSchema]),
);

/** An automation login: the token pair, or the TOTP step comes next (`mfaRequired: true`). */
export const tokenLoginAnswerSchema = responseSchema(
  'TokenLoginAnswer',
  z.xor([tokenPairSchema, mfaRequiredSchema]),
);

export const totpEnrolmentSchema = responseSchema(
  'TotpEnrolment',
  z.object({
    secret: z.string().describe('Base32, for typing in by hand.'),
    otpauthUri: z.string().describe('The same secret as a QR-ready `otpauth://` URI.'),
  }),
);
export type TotpEnrolment = z.output<typeof totpEnrolmentSchema>;

export const recoveryCodesSchema = responseSchema(
  'RecoveryCodes',
  z.object({
    recoveryCodes: z.array(z.string()).describe('Shown this once; only their keyed digests are kept.'),
  }),
);
export type RecoveryCodes = z.output<typeof recoveryCodesSchema>;
