import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { formatAuditKeyring } from '@switchboard/audit';

import {
  generateSecrets,
  resolveApiSecrets,
  SecretsFile,
  SecretsFileError,
  secretsFilePath,
} from './secrets';

describe('resolveApiSecrets', () => {
  let keyDir: string;
  let file: SecretsFile;

  beforeEach(async () => {
    keyDir = join(await mkdtemp(join(tmpdir(), 'sb-secrets-')), 'keys');
    file = new SecretsFile(secretsFilePath(keyDir));
  });

  afterEach(async () => {
    await rm(join(keyDir, '..'), { recursive: true, force: true });
  });

  it('creates the file (mode 0600, directory 0700) on first use and reuses it afterwards', async () => {
    const first = await resolveApiSecrets({}, file);
    expect(first.fileCreated).toBe(true);
    expect(first.origin).toEqual({
      JWT_SECRET: 'file',
      AUDIT_HMAC_KEYS: 'file',
      DATA_ENCRYPTION_KEY: 'file',
    });
    expect((await stat(file.path)).mode & 0o777).toBe(0o600);
    expect((await stat(keyDir)).mode & 0o777).toBe(0o700);
    expect(first.secrets.jwtSecret.length).toBeGreaterThanOrEqual(32);
    expect(first.secrets.dataKeyring.keys.size).toBe(1);
    expect(first.secrets.auditKeyring.keys.get(first.secrets.auditKeyring.currentKeyId)).toHaveLength(32);

    const before = await readFile(file.path, 'utf8');
    const second = await resolveApiSecrets({}, file);
    expect(second.fileCreated).toBe(false);
    expect(await readFile(file.path, 'utf8')).toBe(before);
    expect(second.secrets.jwtSecret).toBe(first.secrets.jwtSecret);
    expect(second.secrets.dataKeyring).toEqual(first.secrets.dataKeyring);
    expect(formatAuditKeyring(second.secrets.auditKeyring)).toBe(
      formatAuditKeyring(first.secrets.auditKeyring),
    );
  });

  it('never touches the file when the environment provides every secret', async () => {
    const env = generateSecrets();
    const resolved = await resolveApiSecrets(env, file);
    expect(resolved.origin).toEqual({
      JWT_SECRET: 'env',
      AUDIT_HMAC_KEYS: 'env',
      DATA_ENCRYPTION_KEY: 'env',
    });
    expect(resolved.secrets.jwtSecret).toBe(env.JWT_SECRET);
    await expect(stat(keyDir)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('lets each environment secret override the file', async () => {
    const stored = (await resolveApiSecrets({}, file)).secrets;
    const jwt = 'j'.repeat(40);
    const resolved = await resolveApiSecrets({ JWT_SECRET: jwt }, file);
    expect(resolved.origin.JWT_SECRET).toBe('env');
    expect(resolved.secrets.jwtSecret).toBe(jwt);
    expect(resolved.secrets.dataKeyring).toEqual(stored.dataKeyring);
  });

  it('gives every concurrent caller the same secrets and writes the file once', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => resolveApiSecrets({}, file)));
    expect(results.filter((result) => result.fileCreated)).toHaveLength(1);
    expect(new Set(results.map((result) => result.secrets.jwtSecret)).size).toBe(1);
  });

  it('refuses a file others can read, a malformed file, and a file with an invalid value', async () => {
    await resolveApiSecrets({}, file);
    await chmod(file.path, 0o644);
    await expect(resolveApiSecrets({}, file)).rejects.toThrow(/readable by other users \(mode 644\)/);

    await chmod(file.path, 0o600);
    await writeFile(file.path, '{not json');
    await expect(resolveApiSecrets({}, file)).rejects.toThrow(SecretsFileError);

    await writeFile(file.path, JSON.stringify({ ...generateSecrets(), DATA_ENCRYPTION_KEY: 'c2hvcnQ=' }));
    await expect(resolveApiSecrets({}, file)).rejects.toThrow(
      /DATA_ENCRYPTION_KEY: must be 32 bytes in base64/,
    );
    // ...and it was not "repaired" by overwriting.
    expect(await readFile(file.path, 'utf8')).toContain('c2hvcnQ=');
  });
});
