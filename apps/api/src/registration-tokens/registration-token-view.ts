import { type RegistrationTokenRecord } from '@switchboard/data-access';

export type RegistrationTokenStatus = 'active' | 'revoked' | 'expired' | 'used_up';

/** A registration token as listed: never its hash (the secret itself is only in the create answer). */
export interface RegistrationTokenView {
  id: string;
  name: string;
  prefix: string;
  status: RegistrationTokenStatus;
  maxUses: number | null;
  useCount: number;
  expiresAt: string | null;
  revokedAt: string | null;
  createdAt: string;
  createdBy: { id: string; username: string } | null;
}

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
