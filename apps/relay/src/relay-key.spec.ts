import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { decodeBase64 } from '@switchboard/crypto';

import { loadRelayKeys, RelayKeyError } from './relay-key';

const RFC_SECRET_FILE =
  'nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2DXWpgBgrEKt9VL/tPJZAc6DuFy89qmIyWvAhpo9wdRGg==';
const RFC_PUBLIC_FILE = '11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=';
const RFC_PUBLIC = decodeBase64(RFC_PUBLIC_FILE);

describe('loadRelayKeys (hbbr -k, and the key that verifies tickets)', () => {
  let directory: string;
  beforeEach(async () => (directory = await mkdtemp(join(tmpdir(), 'relay-keys-'))));
  afterEach(() => rm(directory, { recursive: true, force: true }));

  const withPublicFile = () => writeFile(join(directory, 'id_ed25519.pub'), `${RFC_PUBLIC_FILE}\n`);

  it('unset: checks the licence against signal’s public key when KEY_DIR has it', async () => {
    await withPublicFile();
    expect(await loadRelayKeys(undefined, directory)).toEqual({
      licenceKey: RFC_PUBLIC_FILE,
      signalPublicKey: RFC_PUBLIC,
    });
  });

  it('unset without the file: no licence check and no ticket key, as hbbr’s empty -k', async () => {
    expect(await loadRelayKeys(undefined, directory)).toEqual({
      licenceKey: undefined,
      signalPublicKey: undefined,
    });
  });

  it('none turns the licence check off but still verifies tickets with the file', async () => {
    expect(await loadRelayKeys('none', directory)).toEqual({
      licenceKey: undefined,
      signalPublicKey: undefined,
    });
    await withPublicFile();
    expect(await loadRelayKeys('none', directory)).toEqual({
      licenceKey: undefined,
      signalPublicKey: RFC_PUBLIC,
    });
  });

  it('a literal value is the licence key as is; signal’s public key pasted as KEY verifies tickets too', async () => {
    expect(await loadRelayKeys('shared licence', directory)).toEqual({
      licenceKey: 'shared licence',
      signalPublicKey: undefined,
    });
    expect(await loadRelayKeys(RFC_PUBLIC_FILE, directory)).toEqual({
      licenceKey: RFC_PUBLIC_FILE,
      signalPublicKey: RFC_PUBLIC,
    });
  });

  it('a secret key yields its public half', async () => {
    expect(await loadRelayKeys(RFC_SECRET_FILE, directory)).toEqual({
      licenceKey: RFC_PUBLIC_FILE,
      signalPublicKey: RFC_PUBLIC,
    });
  });

  it('- reads signal’s public key file', async () => {
    await withPublicFile();
    expect((await loadRelayKeys('-', directory)).licenceKey).toBe(RFC_PUBLIC_FILE);
  });

  it('- without the file refuses with a message that says what to do', async () => {
    const failure = loadRelayKeys('_', directory);
    await expect(failure).rejects.toThrow(RelayKeyError);
    await expect(failure).rejects.toThrow(/needs signal's public key at .*id_ed25519\.pub.*KEY_DIR/);
  });

  it('a corrupt file is named, whether required or not', async () => {
    await writeFile(join(directory, 'id_ed25519.pub'), 'garbage!');
    for (const value of ['-', undefined]) {
      await expect(loadRelayKeys(value, directory)).rejects.toThrow(
        /id_ed25519\.pub is unusable: public key is not valid base64/,
      );
    }
  });
});
