import {
  AuditRepository,
  createPrismaClient,
  type PrismaClient,
  UserRepository,
} from '@switchboard/data-access';
import { EventKeyFileError, eventPublicKeyPath, writeEventVerifyKey } from '@switchboard/events';
import {
  ensureRelayRecordKeyFile,
  RelayRecordKeyError,
  relayRecordKeyPath,
} from '@switchboard/relay-registry';
import { Redis } from 'ioredis';

import { clearAccountLadders } from '../auth/login-throttle';
import { PasswordHasher } from '../auth/password-hasher';
import { type BootstrapConfig, loadBootstrapConfig } from '../config';
import {
  resolveApiSecrets,
  resolveEventSigningKey,
  type ResolvedSecrets,
  SecretsFile,
  SecretsFileError,
  secretsFilePath,
} from '../secrets';
import { AdminBootstrapError, AdminBootstrapService } from './admin-bootstrap.service';
import { AdminRecovery, AdminRecoveryError } from './admin-recovery';
import { AuditedAdminCreator } from './audited-admin-creator';
import { describeAdmin, describeAdminReset, describeEventKey, describeSecrets } from './bootstrap-report';
import { PasswordGenerator } from './password-generator';

// `node dist/apps/api/src/bootstrap/cli.js` (npm run bootstrap): prepares a fresh installation and
// is safe to run again.
// 1. makes sure the api's secrets exist (env, else ${KEY_DIR}/api-secrets.json, created once);
// 2. makes sure the event signing key exists (EVENTS_SIGNING_KEY, else ${KEY_DIR}/events_ed25519) and
//    writes its public half where signal and the relays read it (EVENTS_PUBLIC_KEY_FILE), and makes
//    sure the relay registry key signal and the relays share exists (RELAY_REGISTRY_KEY_FILE) unless
//    RELAY_REGISTRY_KEY is set;
// 3. makes sure there is an enabled admin (ADMIN_USERNAME, ADMIN_PASSWORD or a printed one-time one).
// `... cli.js reset-admin <username>` (npm run reset-admin -- <username>): recovery when every admin
// is locked out; a printed one-time password, the second factor cleared, every login ended, audited.
// The database must already be migrated (npm run migrate).
// Exit codes: 0 done or nothing to do, 64 bad usage, 78 configuration problem, 1 anything else.

const EX_USAGE = 64;
const EX_CONFIG = 78;
const USAGE =
  'usage: cli.js               bootstrap (secrets and a first admin)\n       cli.js reset-admin <username>';

class UsageError extends Error {}

const print = (lines: string[]) => process.stdout.write(`${lines.join('\n')}\n`);

async function main(args: readonly string[]): Promise<void> {
  const [command, ...rest] = args;
  if (command === undefined) return bootstrap(loadBootstrapConfig()); // exits 78 listing every problem
  const [username, ...extra] = rest;
  if (command === 'reset-admin' && username !== undefined && extra.length === 0) {
    return resetAdmin(loadBootstrapConfig(), username);
  }
  throw new UsageError(USAGE);
}

async function bootstrap(config: BootstrapConfig): Promise<void> {
  const resolved = await resolveApiSecrets(config, new SecretsFile(secretsFilePath(config.KEY_DIR)));
  print(describeSecrets(resolved));
  await ensureControlKeys(config);
  await withDatabase(config, resolved, 'switchboard-bootstrap', async (prisma, audit) => {
    const bootstrapper = new AdminBootstrapService(
      new UserRepository(prisma),
      new AuditedAdminCreator(prisma, audit),
      new PasswordHasher(),
      new PasswordGenerator(),
    );
    const result = await bootstrapper.ensureAdmin({
      username: config.ADMIN_USERNAME,
      password: config.ADMIN_PASSWORD,
    });
    print(describeAdmin(result));
  });
}

/** The keys that make Redis a channel signal and the relays can trust (docs/architecture.md). */
async function ensureControlKeys(config: BootstrapConfig): Promise<void> {
  const eventKey = await resolveEventSigningKey(config);
  // With the key in the environment (Kubernetes) the public half travels there too, unless a file is named.
  const publicKeyPath =
    eventKey.origin === 'file' || config.EVENTS_PUBLIC_KEY_FILE !== undefined
      ? eventPublicKeyPath(config)
      : undefined;
  const publicKeyWritten =
    publicKeyPath !== undefined && (await writeEventVerifyKey(publicKeyPath, eventKey.key.verifyKey));
  print(describeEventKey(eventKey, publicKeyPath, publicKeyWritten));
  if (config.RELAY_REGISTRY_KEY === undefined) {
    const registryKeyPath = relayRecordKeyPath(config);
    const { created } = await ensureRelayRecordKeyFile(registryKeyPath);
    print([`Relay registry key: ${created ? 'created' : 'using existing'} ${registryKeyPath} (mode 0600).`]);
  }
}

async function resetAdmin(config: BootstrapConfig, username: string): Promise<void> {
  // The audit entry must be signed with the installation's key: a missing secrets file means the
  // wrong KEY_DIR, never a reason to mint new secrets.
  const resolved = await resolveApiSecrets(config, new SecretsFile(secretsFilePath(config.KEY_DIR)), () => {
    throw new SecretsFileError(
      `No secrets in the environment nor in ${secretsFilePath(config.KEY_DIR)}: is KEY_DIR right?`,
    );
  });
  await withDatabase(config, resolved, 'switchboard-reset-admin', async (prisma, audit) => {
    const recovery = new AdminRecovery(prisma, audit, new PasswordHasher(), new PasswordGenerator());
    const result = await recovery.resetAdmin(username);
    print(describeAdminReset(result));
    await forgetLoginLadders(config, result.username);
  });
}

/**
 * The recovered admin must not stay locked out by the ladders of the attack that locked them out.
 * The password is already reset and printed: an unreachable Redis is reported, not fatal (the
 * ladders then expire on their own within LOGIN_LADDER_RESET_SECONDS).
 */
async function forgetLoginLadders(config: BootstrapConfig, username: string): Promise<void> {
  const redis = new Redis(config.REDIS_URL, {
    connectionName: 'switchboard-reset-admin',
    maxRetriesPerRequest: 1,
    lazyConnect: true,
  });
  redis.on('error', () => undefined); // the failed command below reports it once
  try {
    await redis.connect();
    const cleared = await clearAccountLadders(redis, config.REDIS_KEY_PREFIX, username);
    print([`Login lockouts of "${username}" cleared (${cleared}).`]);
  } catch (error) {
    process.stderr.write(
      `warning: could not clear the login lockouts of "${username}" in Redis (${(error as Error).message}); ` +
        'they expire on their own\n',
    );
  } finally {
    redis.disconnect();
  }
}

async function withDatabase(
  config: BootstrapConfig,
  resolved: ResolvedSecrets,
  applicationName: string,
  work: (prisma: PrismaClient, audit: AuditRepository) => Promise<void>,
): Promise<void> {
  const prisma = createPrismaClient(config.DATABASE_URL, { applicationName });
  const audit = new AuditRepository(prisma, { keyring: resolved.secrets.auditKeyring });
  try {
    await work(prisma, audit);
  } finally {
    await audit.close();
    await prisma.$disconnect();
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const configProblem =
    error instanceof SecretsFileError ||
    error instanceof EventKeyFileError ||
    error instanceof RelayRecordKeyError;
  const expected =
    configProblem ||
    error instanceof AdminBootstrapError ||
    error instanceof AdminRecoveryError ||
    error instanceof UsageError;
  const detail =
    error instanceof Error ? (expected ? error.message : (error.stack ?? error.message)) : String(error);
  process.stderr.write(error instanceof UsageError ? `${detail}\n` : `bootstrap failed: ${detail}\n`);
  process.exitCode = configProblem ? EX_CONFIG : error instanceof UsageError ? EX_USAGE : 1;
});
