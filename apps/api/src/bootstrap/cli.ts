import { AuditRepository, createPrismaClient, UserRepository } from '@switchboard/data-access';
import { EventKeyFileError, eventPublicKeyPath, writeEventVerifyKey } from '@switchboard/events';
import {
  ensureRelayRecordKeyFile,
  RelayRecordKeyError,
  relayRecordKeyPath,
} from '@switchboard/relay-registry';

import { PasswordHasher } from '../auth/password-hasher';
import { loadBootstrapConfig } from '../config';
import {
  resolveApiSecrets,
  resolveEventSigningKey,
  SecretsFile,
  SecretsFileError,
  secretsFilePath,
} from '../secrets';
import { AdminBootstrapError, AdminBootstrapService } from './admin-bootstrap.service';
import { AuditedAdminCreator } from './audited-admin-creator';
import { describeAdmin, describeEventKey, describeSecrets } from './bootstrap-report';
import { PasswordGenerator } from './password-generator';

// `node dist/apps/api/src/bootstrap/cli.js`: prepares a fresh installation and is safe to run again.
// 1. makes sure the api's secrets exist (env, else ${KEY_DIR}/api-secrets.json, created once);
// 2. makes sure the event signing key exists (EVENTS_SIGNING_KEY, else ${KEY_DIR}/events_ed25519) and
//    writes its public half where signal and the relays read it (EVENTS_PUBLIC_KEY_FILE), and makes
//    sure the relay registry key signal and the relays share exists (RELAY_REGISTRY_KEY_FILE) unless
//    RELAY_REGISTRY_KEY is set;
// 3. makes sure there is an enabled admin (ADMIN_USERNAME, ADMIN_PASSWORD or a printed one-time one).
// The database must already be migrated (npm run migrate).
// Exit codes: 0 done or nothing to do, 78 configuration problem, 1 anything else.

const EX_CONFIG = 78;

async function main(): Promise<void> {
  const config = loadBootstrapConfig(); // exits 78 listing every problem
  const print = (lines: string[]) => process.stdout.write(`${lines.join('\n')}\n`);

  const resolved = await resolveApiSecrets(config, new SecretsFile(secretsFilePath(config.KEY_DIR)));
  print(describeSecrets(resolved));
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

  const prisma = createPrismaClient(config.DATABASE_URL, { applicationName: 'switchboard-bootstrap' });
  const audit = new AuditRepository(prisma, { keyring: resolved.secrets.auditKeyring });
  try {
    const bootstrap = new AdminBootstrapService(
      new UserRepository(prisma),
      new AuditedAdminCreator(prisma, audit),
      new PasswordHasher(),
      new PasswordGenerator(),
    );
    const result = await bootstrap.ensureAdmin({
      username: config.ADMIN_USERNAME,
      password: config.ADMIN_PASSWORD,
    });
    print(describeAdmin(result));
  } finally {
    await audit.close();
    await prisma.$disconnect();
  }
}

main().catch((error: unknown) => {
  const configProblem =
    error instanceof SecretsFileError ||
    error instanceof EventKeyFileError ||
    error instanceof RelayRecordKeyError;
  const expected = configProblem || error instanceof AdminBootstrapError;
  const detail =
    error instanceof Error ? (expected ? error.message : (error.stack ?? error.message)) : String(error);
  process.stderr.write(`bootstrap failed: ${detail}\n`);
  process.exitCode = configProblem ? EX_CONFIG : 1;
});
