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
