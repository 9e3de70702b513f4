import { AuditRepository, createPrismaClient, UserRepository } from '@switchboard/data-access';

import { PasswordHasher } from '../auth/password-hasher';
import { loadBootstrapConfig } from '../config';
import { resolveApiSecrets, SecretsFile, SecretsFileError, secretsFilePath } from '../secrets';
import { AdminBootstrapError, AdminBootstrapService } from './admin-bootstrap.service';
import { AuditedAdminCreator } from './audited-admin-creator';
import { describeAdmin, describeSecrets } from './bootstrap-report';
import { PasswordGenerator } from './password-generator';

// `node dist/apps/api/src/bootstrap/cli.js`: prepares a fresh installation and is safe to run again.
// 1. makes sure the api's secrets exist (env, else ${KEY_DIR}/api-secrets.json, created once);
// 2. makes sure there is an enabled admin (ADMIN_USERNAME, ADMIN_PASSWORD or a printed one-time one).
// The database must already be migrated (npm run migrate).
// Exit codes: 0 done or nothing to do, 78 configuration problem, 1 anything else.

const EX_CONFIG = 78;

async function main(): Promise<void> {
  const config = loadBootstrapConfig(); // exits 78 listing every problem
  const print = (lines: string[]) => process.stdout.write(`${lines.join('\n')}\n`);

  const resolved = await resolveApiSecrets(config, new SecretsFile(secretsFilePath(config.KEY_DIR)));
  print(describeSecrets(resolved));

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
  const expected = error instanceof SecretsFileError || error instanceof AdminBootstrapError;
  const detail =
    error instanceof Error ? (expected ? error.message : (error.stack ?? error.message)) : String(error);
  process.stderr.write(`bootstrap failed: ${detail}\n`);
  process.exitCode = error instanceof SecretsFileError ? EX_CONFIG : 1;
});
