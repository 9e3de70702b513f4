import { type UserRole } from '@switchboard/data-access';

/*
 * THE permission table (docs/architecture.md "Security model"): every operator-API route declares one
 * permission (or is public / self-service, see route-access.ts) and the one guard checks it here.
 * Nothing else in the code decides who may do what.
 *
 *   admin     full on panel, API, devices, users, settings and relay IP lists; alone may purge a device
 *   operator  panel + API; devices view / connect / ban; no users, no settings
 *   viewer    panel + API, read-only
 *   pro       API only (no panel); the full device API
 */

export const PERMISSIONS = [
  'device.view',
  /** Connect to a device (address-book and client-facing flows). */
  'device.connect',
  /** Ban and unban. */
  'device.ban',
  /** Edit note/tags/group, approve pending devices, delete, revoke. */
  'device.manage',
  /** End a live session on a device (client API heartbeat `disconnect`). */
  'device.disconnect',
  /** Create, edit, assign and delete strategies (client option sets pushed by heartbeat). */
  'strategy.manage',
  /** Purge (hard-delete) a device: its id is forgotten and may register afresh. Admin only. */
  'device.purge',
  /** Create, list and revoke registration tokens (part of the device API). */
  'registration_token.manage',
  /** List and edit the relays' IP blocklist and blacklist (they act on whole networks). Admin only. */
  'relay_ip_list.manage',
  'user.view',
  'user.manage',
  'setting.view',
  'setting.manage',
  'audit.view',
  /** Walk the chain (GET /audit/verify) and export it. */
  'audit.verify',
  /** API keys of other users (one's own keys are self-service). */
  'api_key.manage_all',
  /** List shared address books and their rules. */
  'address_book.view',
  /** Create, rename and delete shared address books; set their rules and default password. Admin only. */
  'address_book.manage',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

/** How a request authenticated: the console's cookie session, or the API (bearer JWT, X-API-Key). */
export const CHANNELS = ['panel', 'api'] as const;
export type Channel = (typeof CHANNELS)[number];

export interface RoleGrant {
  readonly channels: readonly Channel[];
  readonly permissions: readonly Permission[];
}

const DEVICE_READ: Permission[] = ['device.view'];
const DEVICE_FULL: Permission[] = [
  'device.view',
  'device.connect',
  'device.ban',
  'device.manage',
  'registration_token.manage',
  'device.disconnect',
  'strategy.manage',
];

export const ROLE_GRANTS: Readonly<Record<UserRole, RoleGrant>> = {
  admin: { channels: ['panel', 'api'], permissions: [...PERMISSIONS] },
  operator: {
    channels: ['panel', 'api'],
    permissions: ['device.view', 'device.connect', 'device.ban', 'device.disconnect', 'audit.view'],
  },
  viewer: { channels: ['panel', 'api'], permissions: [...DEVICE_READ, 'audit.view'] },
  pro: { channels: ['api'], permissions: DEVICE_FULL },
};

export function roleMayUse(role: UserRole, channel: Channel): boolean {
  return ROLE_GRANTS[role].channels.includes(channel);
}

export function roleHas(role: UserRole, permission: Permission): boolean {
  return ROLE_GRANTS[role].permissions.includes(permission);
}
