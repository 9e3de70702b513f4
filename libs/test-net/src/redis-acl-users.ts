import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

// The Redis ACL users as they ship (deploy/redis/users.acl.template), for tests that create them on
// the real Redis under names of their own and then act as the service would.

export const SHIPPED_ACL_TEMPLATE = resolve(__dirname, '../../../deploy/redis/users.acl.template');

/** The rule tokens of one user line with its placeholders filled; `( … )` selectors stay one token. */
export function shippedAclRules(user: string, prefix: string, password: string): string[] {
  const line = readFileSync(SHIPPED_ACL_TEMPLATE, 'utf8')
    .split('\n')
    .find((text) => text.startsWith(`user ${user} `));
  if (line === undefined) throw new Error(`${SHIPPED_ACL_TEMPLATE} has no user ${user}`);
  const filled = line
    .slice(`user ${user} `.length)
    .replaceAll('${REDIS_KEY_PREFIX}', prefix)
    .replace(/\$\{REDIS_[A-Z]+_PASSWORD\}/, password);
  return filled.match(/\([^)]*\)|\S+/g) ?? [];
}

/** Anything that can send ACL SETUSER (an ioredis client). */
interface AclAdmin {
  call(command: string, ...args: string[]): Promise<unknown>;
}

/**
 * Creates the shipped `user` (e.g. switchboard-relay) as `test-<user>-<random>` for `prefix`;
 * returns its name (for ACL DELUSER afterwards) and a REDIS_URL that logs in as it.
 */
export async function createShippedRedisUser(
  admin: AclAdmin,
  user: string,
  prefix: string,
  host = '127.0.0.1:6379',
): Promise<{ name: string; url: string }> {
  const name = `test-${user}-${randomBytes(6).toString('hex')}`;
  const password = randomBytes(18).toString('hex');
  await admin.call('ACL', 'SETUSER', name, ...shippedAclRules(user, prefix, password));
  return { name, url: `redis://${name}:${password}@${host}` };
}
