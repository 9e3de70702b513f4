import { type UserRole } from '@switchboard/data-access';

/*
 * Which roles a key may carry for whom (issue: "role ≤ the creator's role"). admin > operator > viewer
 * is a chain; pro is a branch of its own under admin (API-only with the full device API, which is
 * neither more nor less than an operator's panel access): only pro and admin are above pro.
 */
const BELOW: Readonly<Record<UserRole, readonly UserRole[]>> = {
  admin: ['admin', 'operator', 'viewer', 'pro'],
  operator: ['operator', 'viewer'],
  viewer: ['viewer'],
  pro: ['pro'],
};

/** Whether `role` is at or below `ceiling`. */
export function roleWithin(role: UserRole, ceiling: UserRole): boolean {
  return BELOW[ceiling].includes(role);
}

/**
 * The role a key acts with today: its own role, lowered to its owner's current one if the owner has
 * since been demoted. Null when the two are incomparable (a pro key whose owner is now an operator):
 * no role is below both, so the key cannot act at all.
 */
export function cappedRole(keyRole: UserRole, ownerRole: UserRole): UserRole | null {
  if (roleWithin(keyRole, ownerRole)) return keyRole;
  if (roleWithin(ownerRole, keyRole)) return ownerRole;
  return null;
}
