import { encodePublicKeyFile, generateIdentityKeyPair, KeyFileError } from './identity-key';
import { NO_LICENCE_CHECK_KEY, resolveKeyOption, serverKeyFor, signalNeedsKeyFiles } from './key-option';

const RFC_SECRET_FILE =
  'nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2DXWpgBgrEKt9VL/tPJZAc6DuFy89qmIyWvAhpo9wdRGg==';
const RFC_PUBLIC_FILE = '11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=';

describe('resolveKeyOption (hbbs -k)', () => {
  it.each(['-', '_'])('%s loads or generates the key files and checks licences against their pk', (value) => {
    const option = resolveKeyOption(value);
    expect(option).toEqual({ kind: 'key-files' });
    expect(signalNeedsKeyFiles(option)).toBe(true);
    const files = generateIdentityKeyPair();
    expect(serverKeyFor(option, files)).toEqual({
      licenceKey: encodePublicKeyFile(files.publicKey),
      signingKeyPair: files,
    });
    expect(() => serverKeyFor(option, undefined)).toThrow(/needs the key files/);
  });

  it('uses a base64 64-byte secret key directly; the licence key is its last 32 bytes', () => {
    const option = resolveKeyOption(RFC_SECRET_FILE);
    expect(option.kind).toBe('secret-key');
    expect(signalNeedsKeyFiles(option)).toBe(false);
    const key = serverKeyFor(option, undefined);
    expect(key.licenceKey).toBe(RFC_PUBLIC_FILE);
    expect(key.licenceKey).toBe(Buffer.from(RFC_SECRET_FILE, 'base64').subarray(32).toString('base64'));
    expect(encodePublicKeyFile(key.signingKeyPair?.publicKey ?? new Uint8Array(32))).toBe(RFC_PUBLIC_FILE);
  });

  it('accepts the secret key without its padding too', () => {
    expect(resolveKeyOption(RFC_SECRET_FILE.replace(/=+$/, '')).kind).toBe('secret-key');
  });

  it('rejects a 64-byte secret key whose halves do not match instead of treating it as a licence key', () => {
    const bytes = Buffer.from(RFC_SECRET_FILE, 'base64');
    bytes[63] = (bytes[63] ?? 0) ^ 0xff;
    expect(() => resolveKeyOption(bytes.toString('base64'))).toThrow(KeyFileError);
  });

  it.each([
    ['a public key', RFC_PUBLIC_FILE],
    ['a passphrase', 'my licence key'],
    ['short base64', 'abcd'],
  ])('treats %s as a literal licence key with no signing key', (_what, value) => {
    const option = resolveKeyOption(value);
    expect(option).toEqual({ kind: 'licence-only', licenceKey: value });
    expect(signalNeedsKeyFiles(option)).toBe(false);
    expect(serverKeyFor(option, generateIdentityKeyPair())).toEqual({
      licenceKey: value,
      signingKeyPair: undefined,
    });
  });

  it.each(['', NO_LICENCE_CHECK_KEY])(
    '%p means no licence check, while signal still signs with the key files',
    (value) => {
      const option = resolveKeyOption(value);
      expect(option).toEqual({ kind: 'no-licence-check' });
      expect(signalNeedsKeyFiles(option)).toBe(true);
      const files = generateIdentityKeyPair();
      expect(serverKeyFor(option, files)).toEqual({ licenceKey: undefined, signingKeyPair: files });
      expect(serverKeyFor(option, undefined)).toEqual({ licenceKey: undefined, signingKeyPair: undefined });
    },
  );

  it('spells the explicit form `none`, and takes near misses as literal licence keys', () => {
    expect(NO_LICENCE_CHECK_KEY).toBe('none');
    for (const value of ['None', 'NONE', ' none', 'none ', 'no'])
      expect(resolveKeyOption(value)).toEqual({ kind: 'licence-only', licenceKey: value });
  });
});
