import { REGISTRATION_POLICIES } from '../config';
import { type RegistrationPolicy } from '../ports';

/**
 * The `registration.policy` setting as stored (JSON) or carried by ConfigChanged: a policy name, or
 * null/absent for "use the configured default". Anything else is not a policy; the caller keeps what
 * it has and logs it, so a bad write by the api cannot open the door.
 */
export function parseRegistrationPolicy(
  value: unknown,
  fallback: RegistrationPolicy,
): RegistrationPolicy | undefined {
  if (value === undefined || value === null) return fallback;
  return REGISTRATION_POLICIES.find((policy) => policy === value);
}

// token and approval refuse different devices, so neither is stricter than the other.
const STRICTNESS: Record<RegistrationPolicy, number> = { open: 0, token: 1, approval: 1, locked: 2 };

/** True when `next` refuses everything `current` refuses and more: safe to apply without Postgres. */
export function isStricterPolicy(next: RegistrationPolicy, current: RegistrationPolicy): boolean {
  return STRICTNESS[next] > STRICTNESS[current];
}
