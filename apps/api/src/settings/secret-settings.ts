/**
 * Settings are free-form keys, so a secret is recognised by its name: any segment of the key (split at
 * `.`, `_`, `-`) that names a credential. Such a value is never written to the audit log (which every
 * viewer reads, and which can never be edited afterwards); its entry says only that it changed.
 */
const SECRET_SEGMENTS = new Set([
  'secret',
  'password',
  'passwd',
  'passphrase',
  'token',
  'key',
  'apikey',
  'credential',
  'credentials',
  'private',
]);

export function isSecretSettingKey(key: string): boolean {
  return key
    .toLowerCase()
    .split(/[._-]/)
    .some((segment) => SECRET_SEGMENTS.has(segment));
}

/** What the audit entry holds in place of a secret setting's value. */
export const SECRET_VALUE_NOT_RECORDED = '[secret: not recorded]';
