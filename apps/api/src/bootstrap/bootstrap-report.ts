import { type ResolvedEventSigningKey, type ResolvedSecrets } from '../secrets';
import { type AdminBootstrapResult } from './admin-bootstrap.service';
import { type AdminResetResult } from './admin-recovery';

// What the bootstrap CLI tells the operator, as plain lines (it is run by hand or by an init job).

export function describeSecrets(resolved: ResolvedSecrets): string[] {
  const fromFile = Object.entries(resolved.origin)
    .filter(([, origin]) => origin === 'file')
    .map(([name]) => name);
  if (fromFile.length === 0) return ['Secrets: all taken from the environment; no secrets file needed.'];
  const names = fromFile.join(', ');
  return resolved.fileCreated
    ? [`Secrets: Created ${resolved.filePath} (mode 0600) for ${names}. Back it up.`]
    : [`Secrets: Using existing ${resolved.filePath} for ${names}.`];
}

export function describeEventKey(
  resolved: ResolvedEventSigningKey,
  publicKeyPath: string | undefined,
  publicKeyWritten: boolean,
): string[] {
  const origin =
    resolved.origin === 'env'
      ? 'taken from EVENTS_SIGNING_KEY'
      : `${resolved.fileCreated ? 'created' : 'using existing'} ${resolved.filePath} (mode 0600)`;
  const where =
    publicKeyPath === undefined
      ? 'give signal and the relays EVENTS_PUBLIC_KEY'
      : `${publicKeyWritten ? 'written to' : 'already in'} ${publicKeyPath} for signal and the relays`;
  return [`Event signing key: ${origin}; public key ${resolved.key.verifyKey.toBase64()}`, `  ${where}.`];
}

export function describeAdmin(result: AdminBootstrapResult): string[] {
  if (result.outcome === 'exists') {
    return [`Admin: ${result.adminCount} enabled admin(s) already exist; nothing changed.`];
  }
  const { admin, generatedPassword } = result;
  if (generatedPassword === undefined) {
    return [`Admin: created "${admin.username}" with the password from ADMIN_PASSWORD.`];
  }
  const rule = '='.repeat(72);
  return [
    rule,
    '  FIRST ADMIN CREATED: this password is shown ONCE; only its hash is kept.',
    `  username: ${admin.username}`,
    `  password: ${generatedPassword}`,
    '  It is a one-time password: the first sign-in must replace it.',
    rule,
  ];
}

export function describeAdminReset(result: AdminResetResult): string[] {
  const rule = '='.repeat(72);
  const ended = result.revoked.sessions + result.revoked.refreshTokens;
  return [
    rule,
    '  ADMIN RESET: this password is shown ONCE; only its hash is kept.',
    `  username: ${result.username}`,
    `  password: ${result.oneTimePassword}`,
    '  It is a one-time password: the first sign-in must replace it.',
    `  Second factor: ${result.totpCleared ? 'cleared (enrol again after signing in)' : 'was not enabled'}.`,
    ...(result.wasDisabled ? ['  The account was disabled and is enabled again.'] : []),
    `  Logins ended: ${ended}. Recorded in the audit log as user.admin_reset.`,
    rule,
  ];
}
