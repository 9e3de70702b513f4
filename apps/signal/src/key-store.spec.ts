import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { encodePublicKeyFile, generateIdentityKeyPair, parseKeyFilePair } from '@switchboard/crypto';
import { createLogger } from '@switchboard/observability';

import { KeyStore, KeyStoreError, loadServerKey, PUBLIC_KEY_FILE, SECRET_KEY_FILE } from './key-store';

const logger = createLogger({ name: 'key-store-test', level: 'silent' });
const RFC_SECRET_FILE =
  'nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2DXWpgBgrEKt9VL/tPJZAc6DuFy89qmIyWvAhpo9wdRGg==';
const RFC_PUBLIC_FILE = '11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=';

describe('KeyStore', () => {
  let root: string;
  let directory: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'signal-keys-'));
    directory = join(root, 'nested', 'keys');
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  const read = (name: string) => readFile(join(directory, name), 'utf8');

  it('creates both files in hbbs format on first start, the secret readable by its owner only', async () => {
    const pair = await new KeyStore(directory, logger).loadOrCreate();
    const secretKeyFile = await read(SECRET_KEY_FILE);
    const publicKeyFile = await read(PUBLIC_KEY_FILE);
    expect(secretKeyFile).toMatch(/^[A-Za-z0-9+/]{86}==$/);
    expect(publicKeyFile).toMatch(/^[A-Za-z0-9+]{43}=$/);
    expect(parseKeyFilePair({ secretKeyFile, publicKeyFile }).secretKey).toEqual(pair.secretKey);
    expect((await stat(join(directory, SECRET_KEY_FILE))).mode & 0o777).toBe(0o600);
    expect(await readdir(directory)).toEqual([SECRET_KEY_FILE, PUBLIC_KEY_FILE].sort());
  });

  it('reuses existing files byte for byte', async () => {
    const first = await new KeyStore(directory, logger).loadOrCreate();
    const before = [await read(SECRET_KEY_FILE), await read(PUBLIC_KEY_FILE)];
    const second = await new KeyStore(directory, logger).loadOrCreate();
    expect(second.secretKey).toEqual(first.secretKey);
    expect([await read(SECRET_KEY_FILE), await read(PUBLIC_KEY_FILE)]).toEqual(before);
  });

  it('loads a key directory written by hbbs, trailing newline and all', async () => {
    await writeFiles({ [SECRET_KEY_FILE]: `${RFC_SECRET_FILE}\n`, [PUBLIC_KEY_FILE]: RFC_PUBLIC_FILE });
    const pair = await new KeyStore(directory, logger).loadOrCreate();
    expect(encodePublicKeyFile(pair.publicKey)).toBe(RFC_PUBLIC_FILE);
  });

  it('recreates a missing .pub from the secret key', async () => {
    await writeFiles({ [SECRET_KEY_FILE]: RFC_SECRET_FILE });
    await new KeyStore(directory, logger).loadOrCreate();
    expect(await read(PUBLIC_KEY_FILE)).toBe(RFC_PUBLIC_FILE);
  });

  it('refuses a corrupt secret key, naming the file, and leaves it untouched', async () => {
    await writeFiles({ [SECRET_KEY_FILE]: 'corrupted!!', [PUBLIC_KEY_FILE]: RFC_PUBLIC_FILE });
    const failure = new KeyStore(directory, logger).loadOrCreate();
    await expect(failure).rejects.toThrow(KeyStoreError);
    await expect(failure).rejects.toThrow(
      `${join(directory, SECRET_KEY_FILE)} is unusable: secret key is not valid base64`,
    );
    expect(await read(SECRET_KEY_FILE)).toBe('corrupted!!');
  });

  it('refuses a truncated secret key', async () => {
    await writeFiles({ [SECRET_KEY_FILE]: RFC_SECRET_FILE.slice(0, 44) });
    await expect(new KeyStore(directory, logger).loadOrCreate()).rejects.toThrow(
      /must decode to 64 bytes \(got 33\)/,
    );
  });

  it('refuses a .pub that does not match the secret key, without overwriting it', async () => {
    const other = encodePublicKeyFile(generateIdentityKeyPair().publicKey);
    await writeFiles({ [SECRET_KEY_FILE]: RFC_SECRET_FILE, [PUBLIC_KEY_FILE]: other });
    await expect(new KeyStore(directory, logger).loadOrCreate()).rejects.toThrow(
      new RegExp(`${PUBLIC_KEY_FILE} does not match .*${SECRET_KEY_FILE}`),
    );
    expect(await read(PUBLIC_KEY_FILE)).toBe(other);
  });

  it('refuses to invent a secret key when only the .pub exists', async () => {
    await writeFiles({ [PUBLIC_KEY_FILE]: RFC_PUBLIC_FILE });
    await expect(new KeyStore(directory, logger).loadOrCreate()).rejects.toThrow(/exists but .* does not/);
    expect(await readdir(directory)).toEqual([PUBLIC_KEY_FILE]);
  });

  it('ends with one key pair when several processes start at once', async () => {
    const pairs = await Promise.all(
      Array.from({ length: 4 }, () => new KeyStore(directory, logger).loadOrCreate()),
    );
    const onDisk = parseKeyFilePair({
      secretKeyFile: await read(SECRET_KEY_FILE),
      publicKeyFile: await read(PUBLIC_KEY_FILE),
    });
    for (const pair of pairs) expect(pair.secretKey).toEqual(onDisk.secretKey);
    expect((await readdir(directory)).sort()).toEqual([SECRET_KEY_FILE, PUBLIC_KEY_FILE].sort());
  });

  it('still loads a secret key others can read (it only warns)', async () => {
    await writeFiles({ [SECRET_KEY_FILE]: RFC_SECRET_FILE });
    await chmod(join(directory, SECRET_KEY_FILE), 0o644);
    const pair = await new KeyStore(directory, logger).loadOrCreate();
    expect(encodePublicKeyFile(pair.publicKey)).toBe(RFC_PUBLIC_FILE);
  });

  describe('loadServerKey', () => {
    it('KEY=- uses the key files and checks licences against their public key', async () => {
      const key = await loadServerKey('-', new KeyStore(directory, logger));
      expect(key.licenceKey).toBe(await read(PUBLIC_KEY_FILE));
      expect(key.signingKeyPair).toBeDefined();
    });

    it('KEY=none checks no licence but still signs with the key files, as hbbs with an empty -k', async () => {
      const key = await loadServerKey('none', new KeyStore(directory, logger));
      expect(key.licenceKey).toBeUndefined();
      expect(encodePublicKeyFile(key.signingKeyPair?.publicKey ?? new Uint8Array(32))).toBe(
        await read(PUBLIC_KEY_FILE),
      );
    });

    it('a literal licence key touches no files and signs nothing', async () => {
      const key = await loadServerKey('shared secret', new KeyStore(directory, logger));
      expect(key).toEqual({ licenceKey: 'shared secret', signingKeyPair: undefined });
      await expect(readdir(directory)).rejects.toMatchObject({ code: 'ENOENT' });
    });

    it('an inline secret key is used as is, without key files', async () => {
      const key = await loadServerKey(RFC_SECRET_FILE, new KeyStore(directory, logger));
      expect(key.licenceKey).toBe(RFC_PUBLIC_FILE);
      await expect(readdir(directory)).rejects.toMatchObject({ code: 'ENOENT' });
    });
  });

  async function writeFiles(files: Record<string, string>): Promise<void> {
    await mkdir(directory, { recursive: true });
    for (const [name, content] of Object.entries(files)) {
      await writeFile(join(directory, name), content, { mode: 0o600 });
    }
  }
});
