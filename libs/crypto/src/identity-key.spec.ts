import nacl from 'tweetnacl';

import {
  encodePublicKeyFile,
  encodeSecretKeyFile,
  generateIdentityKeyPair,
  KeyFileError,
  parseKeyFilePair,
  parsePublicKeyFile,
  parseSecretKeyFile,
} from './identity-key';

// RFC 8032 §7.1 test 1, as hbbs would store it (docs/protocol.md §4).
const RFC_SEED = Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex');
const RFC_SECRET_FILE =
  'nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2DXWpgBgrEKt9VL/tPJZAc6DuFy89qmIyWvAhpo9wdRGg==';
const RFC_PUBLIC_FILE = '11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=';

function problemOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    if (error instanceof KeyFileError) return error.problem;
    throw error;
  }
  throw new Error('expected a KeyFileError');
}

describe('key files in hbbs format', () => {
  it('encodes the RFC 8032 key exactly as hbbs writes it', () => {
    const pair = nacl.sign.keyPair.fromSeed(RFC_SEED);
    expect(encodeSecretKeyFile(pair.secretKey)).toBe(RFC_SECRET_FILE);
    expect(encodePublicKeyFile(pair.publicKey)).toBe(RFC_PUBLIC_FILE);
    expect(RFC_PUBLIC_FILE).toHaveLength(44);
  });

  it('parses the RFC files back, tolerating surrounding whitespace', () => {
    const pair = parseSecretKeyFile(`  ${RFC_SECRET_FILE}\n`);
    expect(Buffer.from(pair.secretKey.subarray(0, 32))).toEqual(RFC_SEED);
    expect(encodePublicKeyFile(pair.publicKey)).toBe(RFC_PUBLIC_FILE);
    expect(encodePublicKeyFile(parsePublicKeyFile(`${RFC_PUBLIC_FILE}\n`))).toBe(RFC_PUBLIC_FILE);
    const both = parseKeyFilePair({ secretKeyFile: RFC_SECRET_FILE, publicKeyFile: RFC_PUBLIC_FILE });
    expect(both.publicKey).toEqual(pair.publicKey);
  });

  it('signs with the parsed key so that the public key verifies', () => {
    const pair = parseSecretKeyFile(RFC_SECRET_FILE);
    const signed = nacl.sign(Buffer.from('hello'), pair.secretKey);
    expect(nacl.sign.open(signed, parsePublicKeyFile(RFC_PUBLIC_FILE))).not.toBeNull();
  });

  it('rejects text that is not base64, with a message that does not echo the key', () => {
    const corrupt = `${RFC_SECRET_FILE.slice(0, 40)}!${RFC_SECRET_FILE.slice(41)}`;
    expect(problemOf(() => parseSecretKeyFile(corrupt))).toBe('not-base64');
    expect(() => parseSecretKeyFile(corrupt)).toThrow(/^secret key is not valid base64$/);
    expect(problemOf(() => parsePublicKeyFile('not a key'))).toBe('not-base64');
  });

  it('rejects keys of the wrong length, naming the length found', () => {
    expect(() => parseSecretKeyFile(RFC_PUBLIC_FILE)).toThrow('secret key must decode to 64 bytes (got 32)');
    expect(problemOf(() => parseSecretKeyFile(''))).toBe('wrong-length');
    expect(problemOf(() => parsePublicKeyFile(RFC_SECRET_FILE))).toBe('wrong-length');
  });

  it('rejects a secret key whose public half is not derived from its seed', () => {
    const bytes = Buffer.from(RFC_SECRET_FILE, 'base64');
    bytes[40] = (bytes[40] ?? 0) ^ 1;
    expect(problemOf(() => parseSecretKeyFile(bytes.toString('base64')))).toBe('halves-mismatch');
  });

  it('rejects a .pub that belongs to another secret key', () => {
    const other = encodePublicKeyFile(generateIdentityKeyPair().publicKey);
    expect(problemOf(() => parseKeyFilePair({ secretKeyFile: RFC_SECRET_FILE, publicKeyFile: other }))).toBe(
      'pair-mismatch',
    );
  });

  it('refuses to encode keys of the wrong size', () => {
    expect(() => encodeSecretKeyFile(new Uint8Array(32))).toThrow(RangeError);
    expect(() => encodePublicKeyFile(new Uint8Array(64))).toThrow(RangeError);
  });
});

describe('generateIdentityKeyPair', () => {
  it('skips public keys whose base64 contains a slash, as hbbs does', () => {
    // The RFC seed's public key contains '/', so the generator must move on to the next seed.
    const seeds = [RFC_SEED, Buffer.alloc(32, 7)];
    const served: Uint8Array[] = [];
    const pair = generateIdentityKeyPair((length) => {
      const seed = seeds.shift() ?? nacl.randomBytes(length);
      served.push(seed);
      return new Uint8Array(seed);
    });
    expect(served.length).toBeGreaterThanOrEqual(2);
    expect(encodePublicKeyFile(pair.publicKey)).not.toContain('/');
    expect(Buffer.from(pair.secretKey.subarray(0, 32))).toEqual(Buffer.from(served.at(-1) ?? []));
  });

  it('produces pairs that round-trip through the file format', () => {
    for (let i = 0; i < 5; i++) {
      const pair = generateIdentityKeyPair();
      const secretKeyFile = encodeSecretKeyFile(pair.secretKey);
      const publicKeyFile = encodePublicKeyFile(pair.publicKey);
      expect(publicKeyFile).not.toContain('/');
      expect(secretKeyFile).toMatch(/^[A-Za-z0-9+/]{86}==$/);
      expect(parseKeyFilePair({ secretKeyFile, publicKeyFile }).secretKey).toEqual(pair.secretKey);
    }
  });

  it('gives up with a typed error when the random source never yields a usable key', () => {
    let calls = 0;
    const sameSeed = () => {
      calls++;
      return new Uint8Array(RFC_SEED);
    };
    expect(problemOf(() => generateIdentityKeyPair(sameSeed, 3))).toBe('no-usable-key');
    expect(calls).toBe(3);
  });
});
