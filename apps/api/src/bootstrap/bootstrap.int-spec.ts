import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createPrismaClient, type PrismaClient, UserRepository } from '@switchboard/data-access';
import { EventSigningKey } from '@switchboard/events';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';
import argon2 from 'argon2';

import { runTs } from '../../test/api-test-harness';

const CLI = 'apps/api/src/bootstrap/cli.ts';

// Each run is a fresh node process compiling TypeScript on the fly: a few seconds on a small machine.
jest.setTimeout(60_000);

// The real CLI as an operator runs it, against a real database and a real key directory.
describe('bootstrap CLI', () => {
  let database: TestDatabase;
  let prisma: PrismaClient;
  let workDir: string;
  let keyDir: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    prisma = createPrismaClient(database.url);
    workDir = await mkdtemp(join(tmpdir(), 'sb-bootstrap-'));
    keyDir = join(workDir, 'keys');
  });

  afterAll(async () => {
    await prisma?.$disconnect();
    await database?.drop();
    await rm(workDir, { recursive: true, force: true });
  });

  async function bootstrap(env: Record<string, string> = {}) {
    const run = runTs(CLI, { DATABASE_URL: database.url, KEY_DIR: keyDir, ...env });
    const { code } = await run.exited;
    return { code, stdout: run.stdout(), stderr: run.stderr() };
  }

  it('refuses an ADMIN_PASSWORD shorter than 12 characters, changing nothing', async () => {
    const result = await bootstrap({ ADMIN_PASSWORD: 'short-pw' });
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('ADMIN_PASSWORD: must be at least 12 characters');
    expect(result.stderr).not.toContain('short-pw');
    expect(await prisma.user.count()).toBe(0);
    await expect(stat(keyDir)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  let firstSecrets: string;

  it('on a fresh install: writes the secrets file, creates one argon2id admin and prints its password once', async () => {
    const result = await bootstrap();
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);

    const secretsPath = join(keyDir, 'api-secrets.json');
    expect((await stat(secretsPath)).mode & 0o777).toBe(0o600);
    firstSecrets = await readFile(secretsPath, 'utf8');
    expect(Object.keys(JSON.parse(firstSecrets) as object)).toEqual([
      'JWT_SECRET',
      'AUDIT_HMAC_KEYS',
      'DATA_ENCRYPTION_KEY',
    ]);
    expect(result.stdout).toContain(`Created ${secretsPath}`);

    // The event signing key is private to the api; its public half is written for signal and relays.
    const eventKeyPath = join(keyDir, 'events_ed25519');
    expect((await stat(eventKeyPath)).mode & 0o777).toBe(0o600);
    const eventKey = EventSigningKey.fromBase64(await readFile(eventKeyPath, 'utf8'));
    expect(await readFile(join(keyDir, 'events_ed25519.pub'), 'utf8')).toBe(
      `${eventKey.verifyKey.toBase64()}\n`,
    );
    expect(result.stdout).not.toContain(eventKey.toBase64());

    const printed = [...result.stdout.matchAll(/^ {2}password: (\S+)$/gm)].map((match) => match[1]);
    expect(printed).toHaveLength(1);
    const password = printed[0] ?? '';
    expect(password.length).toBeGreaterThanOrEqual(20);
    expect(result.stdout).toMatch(/shown ONCE/);

    const users = await prisma.user.findMany();
    expect(users).toHaveLength(1);
    const [admin] = users;
    expect(admin).toMatchObject({
      username: 'admin',
      role: 'admin',
      disabled: false,
      passwordMustChange: true,
    });
    expect(admin?.passwordHash).toMatch(/^\$argon2id\$/);
    expect(await argon2.verify(admin?.passwordHash ?? '', password)).toBe(true);
    expect(admin?.passwordHash).not.toContain(password);

    // The creation is in the audit chain, attributed to the bootstrap.
    const entries = await prisma.auditEntry.findMany();
    expect(entries).toEqual([
      expect.objectContaining({
        seq: 1n,
        actorType: 'system',
        action: 'user.bootstrap_admin',
        targetType: 'user',
        targetId: admin?.id,
        details: { username: 'admin', role: 'admin', passwordSource: 'generated' },
      }),
    ]);
  });

  it('run again: changes nothing, prints no password, reuses the secrets file', async () => {
    const before = await prisma.user.findMany();
    const result = await bootstrap({
      ADMIN_USERNAME: 'someone-else',
      ADMIN_PASSWORD: 'a-long-enough-password',
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('already exist; nothing changed');
    expect(result.stdout).toContain('Using existing');
    expect(result.stdout).not.toMatch(/password:/);
    expect(await prisma.user.findMany()).toEqual(before);
    expect(await prisma.auditEntry.count()).toBe(1);
    expect(await readFile(join(keyDir, 'api-secrets.json'), 'utf8')).toBe(firstSecrets);
    expect(result.stdout).toContain(`already in ${join(keyDir, 'events_ed25519.pub')}`);
  });

  it('writes the public half of EVENTS_SIGNING_KEY to EVENTS_PUBLIC_KEY_FILE, never the key itself', async () => {
    const key = EventSigningKey.generate();
    const publicKeyFile = join(workDir, 'public', 'events.pub');
    const result = await bootstrap({
      EVENTS_SIGNING_KEY: key.toBase64(),
      EVENTS_PUBLIC_KEY_FILE: publicKeyFile,
    });
    expect(result.code).toBe(0);
    expect(await readFile(publicKeyFile, 'utf8')).toBe(`${key.verifyKey.toBase64()}\n`);
    expect(result.stdout).toContain('taken from EVENTS_SIGNING_KEY');
    expect(result.stdout).not.toContain(key.toBase64());
  });

  it('uses ADMIN_USERNAME and ADMIN_PASSWORD when given, and prints no password', async () => {
    const other = await createTestDatabase();
    const otherPrisma = createPrismaClient(other.url);
    try {
      const run = runTs(CLI, {
        DATABASE_URL: other.url,
        KEY_DIR: keyDir,
        ADMIN_USERNAME: 'Root.Ops',
        ADMIN_PASSWORD: 'correct horse battery staple',
      });
      expect((await run.exited).code).toBe(0);
      expect(run.stdout()).toContain('created "root.ops" with the password from ADMIN_PASSWORD');
      expect(run.stdout()).not.toContain('correct horse');
      const [admin, ...rest] = await otherPrisma.user.findMany();
      expect(rest).toHaveLength(0);
      expect(admin?.username).toBe('root.ops');
      expect(admin?.passwordMustChange).toBe(false);
      expect(await argon2.verify(admin?.passwordHash ?? '', 'correct horse battery staple')).toBe(true);
    } finally {
      await otherPrisma.$disconnect();
      await other.drop();
    }
  });

  it('will not promote or reset an existing non-admin user who holds ADMIN_USERNAME', async () => {
    const other = await createTestDatabase();
    const otherPrisma = createPrismaClient(other.url);
    try {
      const viewer = await new UserRepository(otherPrisma).create({
        username: 'admin',
        passwordHash: '$argon2id$v=19$m=65536,t=3,p=4$placeholder',
        role: 'viewer',
      });
      const run = runTs(CLI, { DATABASE_URL: other.url, KEY_DIR: keyDir });
      expect((await run.exited).code).toBe(1);
      expect(run.stderr()).toContain('user "admin" already exists and is not one');
      expect(run.stderr()).not.toMatch(/\n\s+at /); // an expected refusal, not a crash: no stack
      expect(await otherPrisma.user.findMany()).toEqual([
        expect.objectContaining({ id: viewer.id, role: 'viewer' }),
      ]);
      expect(await otherPrisma.auditEntry.count()).toBe(0);
    } finally {
      await otherPrisma.$disconnect();
      await other.drop();
    }
  });
});
