import { type ApiKeyRecord, USER_ROLES } from '@switchboard/data-access';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';

import { pageQueryFields, queryBoolean } from '../http/page-query.dto';
import { isoTimestamp, pageSchema, responseSchema } from '../http/response-schemas';

export const createApiKeySchema = z.strictObject({
  name: z.string().trim().min(1).max(128),
  /** Defaults to the creator's role; never above it. */
  role: z.enum(USER_ROLES).optional(),
  /** ISO 8601 with an offset (`2030-01-01T00:00:00Z`); omitted: API_KEY_DEFAULT_TTL_DAYS from now. */
  expiresAt: z.iso.datetime({ offset: true }).optional(),
});
export class CreateApiKeyDto extends createZodDto(createApiKeySchema) {}

export const listApiKeysSchema = z.strictObject({
  ...pageQueryFields,
  /** Everyone's keys (needs api_key.manage_all), not only one's own. */
  all: queryBoolean.default(false),
});
export class ListApiKeysDto extends createZodDto(listApiKeysSchema) {}

export const apiKeyIdSchema = z.strictObject({ id: z.uuid() });
export class ApiKeyIdDto extends createZodDto(apiKeyIdSchema) {}

/** An API key as the API shows it: everything but the key itself and its hash. */
export const apiKeyViewSchema = responseSchema(
  'ApiKey',
  z.object({
    id: z.uuid(),
    name: z.string(),
    prefix: z.string().describe('The public start of the key, to recognise it by.'),
    role: z.enum(USER_ROLES),
    status: z.enum(['active', 'expired', 'revoked']),
    ownerId: z.uuid().nullable().describe('null once the owner is deleted.'),
    ownerUsername: z.string().nullable(),
    createdAt: isoTimestamp,
    expiresAt: isoTimestamp.nullable(),
    lastUsedAt: isoTimestamp.nullable(),
    lastUsedIp: z.string().nullable(),
    revokedAt: isoTimestamp.nullable(),
  }),
);
export type ApiKeyView = z.output<typeof apiKeyViewSchema>;
export type ApiKeyStatus = ApiKeyView['status'];

export const apiKeyPageSchema = responseSchema('ApiKeyPage', pageSchema(apiKeyViewSchema));
export type ApiKeyPage = z.output<typeof apiKeyPageSchema>;

export function toApiKeyView(key: ApiKeyRecord, now: Date): ApiKeyView {
  const status: ApiKeyStatus =
    key.revokedAt !== null
      ? 'revoked'
      : key.expiresAt !== null && key.expiresAt <= now
        ? 'expired'
        : 'active';
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    role: key.role,
    status,
    ownerId: key.ownerId,
    ownerUsername: key.ownerUsername,
    createdAt: key.createdAt.toISOString(),
    expiresAt: key.expiresAt?.toISOString() ?? null,
    lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
    lastUsedIp: key.lastUsedIp,
    revokedAt: key.revokedAt?.toISOString() ?? null,
  };
}

/** The answer to a creation: the only time the key is ever shown. */
export const createdApiKeySchema = responseSchema(
  'CreatedApiKey',
  z.object({
    key: z.string().describe('The key itself (send it as X-API-Key), shown this once.'),
    apiKey: apiKeyViewSchema,
  }),
);
export type CreatedApiKey = z.output<typeof createdApiKeySchema>;
