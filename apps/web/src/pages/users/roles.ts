import { USER_ROLES, type UserRole } from './users-types';

/**
 * The roles one may hand out, mirroring the api's ceiling (apps/api/src/api-keys/role-ceiling.ts):
 * admin > operator > viewer is a chain, pro a branch under admin. The api enforces it; the console
 * only offers no more than it would accept.
 */
const WITHIN: Readonly<Record<UserRole, readonly UserRole[]>> = {
  admin: ['admin', 'operator', 'viewer', 'pro'],
  operator: ['operator', 'viewer'],
  viewer: ['viewer'],
  pro: ['pro'],
};

export function isUserRole(value: string | null | undefined): value is UserRole {
  return USER_ROLES.some((role) => role === value);
}

export function rolesWithin(ceiling: string): readonly UserRole[] {
  return isUserRole(ceiling) ? WITHIN[ceiling] : [];
}

export const ROLE_HINTS: Readonly<Record<UserRole, string>> = {
  admin: 'everything, including users and settings',
  operator: 'console and API: devices view, connect, ban',
  viewer: 'console and API, read-only',
  pro: 'API only: the full device API',
};
