import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createPrismaClient, type PrismaClient, UserRepository } from '@switchboard/data-access';
import { EventSigningKey } from '@switchboard/events';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';
import argon2 from 'argon2';
import { Redis } from 'ioredis';

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

  describe('reset-admin <username>', () => {
    const redisKeyPrefix = `sb-reset-${randomUUID()}`;
    let redis: Redis;

    beforeAll(() => {
      redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
    });

    afterAll(async () => {
      const leftovers = await redis.keys(`${redisKeyPrefix}:*`);
      if (leftovers.length > 0) await redis.del(...leftovers);
      redis.disconnect();
    });

    async function resetAdmin(args: string[], env: Record<string, string> = {}) {
      const run = runTs(
        CLI,
        { DATABASE_URL: database.url, KEY_DIR: keyDir, REDIS_KEY_PREFIX: redisKeyPrefix, ...env },
        ['reset-admin', ...args],
      );
      const { code } = await run.exited;
      return { code, stdout: run.stdout(), stderr: run.stderr() };
    }

    it('gives a locked-out admin a one-time password, clears TOTP, enables, ends logins, audits', async () => {
      const admin = await prisma.user.findUniqueOrThrow({ where: { username: 'admin' } });
      await prisma.user.update({
        where: { id: admin.id },
        data: { totpEnabled: true, totpSecretSealed: Buffer.from('sealed'), disabled: true },
      });
      await prisma.recoveryCode.create({ data: { userId: admin.id, codeHash: Buffer.alloc(32, 7) } });
      const expiresAt = new Date(Date.now() + 3_600_000);
      await prisma.session.create({
        data: { userId: admin.id, tokenHash: Buffer.from('s-reset'), expiresAt },
      });
      const auditBefore = await prisma.auditEntry.count();

      const result = await resetAdmin(['Admin']);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const printed = [...result.stdout.matchAll(/^ {2}password: (\S+)$/gm)].map((match) => match[1]);
      expect(printed).toHaveLength(1);
      const password = printed[0] ?? '';
      expect(result.stdout).toMatch(/shown ONCE/);

      const row = await prisma.user.findUniqueOrThrow({ where: { id: admin.id } });
      expect(await argon2.verify(row.passwordHash, password)).toBe(true);
      expect(row).toMatchObject({
        passwordMustChange: true,
        disabled: false,
        totpEnabled: false,
        totpSecretSealed: null,
      });
      expect(await prisma.recoveryCode.count({ where: { userId: admin.id } })).toBe(0);
      expect(await prisma.session.count({ where: { userId: admin.id, revokedAt: null } })).toBe(0);
      const entries = await prisma.auditEntry.findMany({ where: { action: 'user.admin_reset' } });
      expect(entries).toEqual([
        expect.objectContaining({
          actorType: 'system',
          actorId: 'reset-admin',
          targetId: admin.id,
          details: expect.objectContaining({ username: 'admin', totpCleared: true, wasDisabled: true }),
        }),
      ]);
      expect(JSON.stringify(entries.map((entry) => entry.details))).not.toContain(password);
      expect(await prisma.auditEntry.count()).toBe(auditBefore + 1);
    });

    it("clears the admin's login ladders (account-wide and per network), keeping other accounts' and the networks' own", async () => {
      // The ladder layout of auth/login-throttle.ts: <prefix>:login:{account|pair|ip}:...
      const accountOf = (name: string) => createHash('sha256').update(name).digest('hex');
      const login = `${redisKeyPrefix}:login`;
      const adminKeys = [
        `${login}:account:${accountOf('admin')}`,
        `${login}:pair:${accountOf('admin')}:203.0.113.7`,
        `${login}:pair:${accountOf('admin')}:2001:db8:1:2::`,
      ];
      const keptKeys = [`${login}:account:${accountOf('watcher')}`, `${login}:ip:203.0.113.7`];
      for (const key of [...adminKeys, ...keptKeys]) {
        await redis.hset(key, { count: '5', rung: '2', lockedUntil: String(Date.now() + 3_600_000) });
      }

      const result = await resetAdmin(['admin']);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('Login lockouts of "admin" cleared (3).');
      for (const key of adminKeys) expect(await redis.exists(key)).toBe(0);
      for (const key of keptKeys) expect(await redis.exists(key)).toBe(1);
    });

    it('still resets the password when Redis is unreachable, and says the lockouts were not cleared', async () => {
      const result = await resetAdmin(['admin'], { REDIS_URL: 'redis://127.0.0.1:1' });
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^ {2}password: \S+$/m);
      expect(result.stderr).toContain('could not clear the login lockouts of "admin"');
    });

    it.each([
      ['an unknown user', ['nobody'], 1, 'There is no user "nobody"'],
      ['a user who is not an admin', ['watcher'], 1, 'is not an admin'],
      ['no username', [], 64, 'usage:'],
      ['two usernames', ['admin', 'other'], 64, 'usage:'],
    ])('refuses %s, changing nothing', async (_label, args, code, message) => {
      await prisma.user.upsert({
        where: { username: 'watcher' },
        create: { username: 'watcher', passwordHash: 'unused', role: 'viewer' },
        update: {},
      });
      const before = await prisma.user.findMany({ orderBy: { username: 'asc' } });
      const auditBefore = await prisma.auditEntry.count();
      const result = await resetAdmin(args);
      expect(result.code).toBe(code);
      expect(result.stderr).toContain(message);
      expect(result.stderr).not.toMatch(/\n\s+at /);
      expect(result.stdout).not.toMatch(/password:/);
      expect(await prisma.user.findMany({ orderBy: { username: 'asc' } })).toEqual(before);
      expect(await prisma.auditEntry.count()).toBe(auditBefore);
    });

    it('refuses (78) to mint secrets when KEY_DIR holds none: the audit entry needs the real key', async () => {
      const emptyDir = join(workDir, 'no-keys-here');
      const result = await resetAdmin(['admin'], { KEY_DIR: emptyDir });
      expect(result.code).toBe(78);
      expect(result.stderr).toContain('is KEY_DIR right?');
      await expect(stat(emptyDir)).rejects.toMatchObject({ code: 'ENOENT' });
    });
  });
});
