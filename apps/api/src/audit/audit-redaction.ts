import { type JsonObject, type JsonValue, isPlainObject } from '@switchboard/audit';
import { type UserRole } from '@switchboard/data-access';

import { type Permission, roleHas } from '../auth/permissions';

/** What a reader sees in place of a detail their role may not read elsewhere in the API. */
export const REDACTED = '[redacted]';

interface DetailRule {
  readonly appliesTo: (action: string) => boolean;
  /** The permission under which the same facts are readable through their own routes. */
  readonly permission: Permission;
  readonly redact: (details: JsonObject) => JsonObject;
}

/**
 * audit.view shows who did what to which target; the details of some entries carry what the target's
 * own routes keep from the reader's role (settings values, users' names, emails and notes). They are
 * stored whole, since the hash covers them, and cut here, when read, by the reader's permissions.
 */
const RULES: readonly DetailRule[] = [
  {
    appliesTo: (action) => action === 'setting.changed',
    permission: 'setting.view',
    redact: (details) => replaceValues(details, ['old', 'new']),
  },
  {
    appliesTo: (action) => action.startsWith('user.'),
    permission: 'user.view',
    redact: (details) => {
      const redacted = replaceValues(details, ['username']);
      const changes = details['changes'];
      if (!isPlainObject(changes)) return redacted;
      // The names of the changed fields stay: that a user's email changed is the fact audited.
      const hidden = Object.fromEntries(
        Object.keys(changes).map((field) => [field, { from: REDACTED, to: REDACTED }]),
      );
      return { ...redacted, changes: hidden };
    },
  },
  {
    appliesTo: (action) => action.startsWith('auth.'),
    permission: 'user.view',
    redact: (details) => replaceValues(details, ['username']),
  },
];

/** The details as `role` may read them, and whether anything was cut. */
export function detailsFor(
  action: string,
  details: JsonValue,
  role: UserRole,
): { details: JsonValue; redacted: boolean } {
  if (!isPlainObject(details)) return { details, redacted: false };
  let visible = details;
  for (const rule of RULES) {
    if (rule.appliesTo(action) && !roleHas(role, rule.permission)) visible = rule.redact(visible);
  }
  return { details: visible, redacted: visible !== details };
}

function replaceValues(details: JsonObject, keys: readonly string[]): JsonObject {
  if (!keys.some((key) => Object.hasOwn(details, key))) return details;
  return Object.fromEntries(
    Object.entries(details).map(([key, value]) => [key, keys.includes(key) ? REDACTED : value]),
  );
}
