// TODO(schemas): replace by the generated `components['schemas']` types once console-schemas is merged.

import { type UserRole } from '../users/users-types';

/** apps/api/src/api-keys/api-key.dto.ts `ApiKeyView`. */
export interface ApiKeyView {
  readonly id: string;
  readonly name: string;
  readonly prefix: string;
  readonly role: UserRole;
  readonly status: 'active' | 'expired' | 'revoked';
  readonly ownerId: string | null;
  readonly ownerUsername: string | null;
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly lastUsedAt: string | null;
  readonly lastUsedIp: string | null;
  readonly revokedAt: string | null;
}

/** The creation's answer: the only time the key itself is shown. */
export interface CreatedApiKey {
  readonly key: string;
  readonly apiKey: ApiKeyView;
}
