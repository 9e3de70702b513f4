import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { loadRelayLicenceKey, RelayKeyError } from './relay-key';

const RFC_SECRET_FILE =
  'nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2DXWpgBgrEKt9VL/tPJZAc6DuFy89qmIyWvAhpo9wdRGg==';
const RFC_PUBLIC_FILE = '11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=';

describe('loadRelayLicenceKey (hbbr -k)', () => {
  let directory: string;
  beforeEach(async () => (directory = await mkdtemp(join(tmpdir(), 'relay-keys-'))));
  afterEach(() => rm(directory, { recursive: true, force: true }));

  it('empty means no licence check', async () => {
    expect(await loadRelayLicenceKey('', directory)).toBeUndefined();
  });

  it('a literal value is the licence key as is', async () => {
    expect(await loadRelayLicenceKey('shared licence', directory)).toBe('shared licence');
    expect(await loadRelayLicenceKey(RFC_PUBLIC_FILE, directory)).toBe(RFC_PUBLIC_FILE);
  });

  it('a secret key yields its public half', async () => {
    expect(await loadRelayLicenceKey(RFC_SECRET_FILE, directory)).toBe(RFC_PUBLIC_FILE);
  });

  it('- reads signal’s public key file', async () => {
    await writeFile(join(directory, 'id_ed25519.pub'), `${RFC_PUBLIC_FILE}\n`);
    expect(await loadRelayLicenceKey('-', directory)).toBe(RFC_PUBLIC_FILE);
  });

  it('- without the file refuses with a message that says what to do', async () => {
    const failure = loadRelayLicenceKey('_', directory);
    await expect(failure).rejects.toThrow(RelayKeyError);
    await expect(failure).rejects.toThrow(/needs signal's public key at .*id_ed25519\.pub.*KEY_DIR/);
  });

  it('- with a corrupt file names it', async () => {
    await writeFile(join(directory, 'id_ed25519.pub'), 'garbage!');
    await expect(loadRelayLicenceKey('-', directory)).rejects.toThrow(
      /id_ed25519\.pub is unusable: public key is not valid base64/,
    );
  });
});
