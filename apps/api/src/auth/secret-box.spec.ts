import { createCipheriv, randomBytes } from 'node:crypto';

import { type DataKeyring, parseDataKeyring } from '../data-keyring';
import { type ApiSecrets } from '../secrets';
import { SealedValueError, SecretBox } from './secret-box';

const boxOf = (text: string) => new SecretBox({ dataKeyring: parseDataKeyring(text) } as ApiSecrets);
const key = () => randomBytes(32).toString('base64');

describe('SecretBox (AES-256-GCM at rest)', () => {
  const box = boxOf(`k1:${key()}`);

  it('opens what it sealed, for the same owner, with a fresh IV every time', () => {
    const sealed = box.seal('JBSWY3DPEHPK3PXP', 'user-1');
    expect(box.open(sealed, 'user-1')).toBe('JBSWY3DPEHPK3PXP');
    expect(box.seal('JBSWY3DPEHPK3PXP', 'user-1').equals(sealed)).toBe(false);
    expect(sealed.includes(Buffer.from('JBSWY3DPEHPK3PXP'))).toBe(false);
  });

  it('refuses another owner, a flipped bit, a truncated value and another key', () => {
    const sealed = box.seal('JBSWY3DPEHPK3PXP', 'user-1');
    expect(() => box.open(sealed, 'user-2')).toThrow(SealedValueError);
    const flipped = Buffer.from(sealed);
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] ?? 0) ^ 1;
    expect(() => box.open(flipped, 'user-1')).toThrow(SealedValueError);
    expect(() => box.open(sealed.subarray(0, 20), 'user-1')).toThrow(SealedValueError);
    expect(() => box.open(Buffer.alloc(0), 'user-1')).toThrow(SealedValueError);
    expect(() => boxOf(`k1:${key()}`).open(sealed, 'user-1')).toThrow(SealedValueError);
  });

  // Issue 10 item 29: the key can be rotated.
  it('rotates: values sealed under an older key still open, new ones use the current key only', () => {
    const oldKey = key();
    const before = boxOf(`k1:${oldKey}`).seal('old secret', 'user-1');
    const rotated = boxOf(`k1:${oldKey},k2:${key()}`);
    expect(rotated.open(before, 'user-1')).toBe('old secret');
    const after = rotated.seal('new secret', 'user-1');
    expect(after.subarray(2, 4).toString('ascii')).toBe('k2');
    expect(() => boxOf(`k1:${oldKey}`).open(after, 'user-1')).toThrow(SealedValueError);
  });

  it('refuses a value relabelled with another key id of the ring', () => {
    const first = key();
    const ring = boxOf(`k1:${first},k2:${first}`);
    const sealed = ring.seal('secret', 'user-1');
    const relabelled = Buffer.from(sealed);
    relabelled.write('k1', 2, 'ascii');
    expect(() => ring.open(relabelled, 'user-1')).toThrow(SealedValueError);
  });

  it('opens values sealed before key ids (version 1) under a bare key or a ring that lists it', () => {
    const legacyKey = randomBytes(32);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', legacyKey, iv, { authTagLength: 16 });
    cipher.setAAD(Buffer.from('user-1', 'utf8'));
    const body = Buffer.concat([cipher.update('legacy secret', 'utf8'), cipher.final()]);
    const v1 = Buffer.concat([Buffer.from([1]), iv, cipher.getAuthTag(), body]);
    expect(boxOf(legacyKey.toString('base64')).open(v1, 'user-1')).toBe('legacy secret');
    expect(boxOf(`k0:${legacyKey.toString('base64')},k1:${key()}`).open(v1, 'user-1')).toBe('legacy secret');
    expect(() => boxOf(`k1:${key()}`).open(v1, 'user-1')).toThrow(SealedValueError);
  });
});

describe('parseDataKeyring', () => {
  it('reads a bare key as k0, and id:key pairs with the last one current', () => {
    const bare: DataKeyring = parseDataKeyring(key());
    expect([bare.currentKeyId, [...bare.keys.keys()]]).toEqual(['k0', ['k0']]);
    const ring = parseDataKeyring(`k0:${key()},k1:${key()}`);
    expect(ring.currentKeyId).toBe('k1');
  });

  it('lists every problem without key material', () => {
    const short = Buffer.alloc(16).toString('base64');
    expect(() => parseDataKeyring(`a:${short},b:${key()},b:${key()}`)).toThrow(
      /key "a": must be at least 32 bytes; key "b": listed twice/,
    );
    expect(() => parseDataKeyring(short)).toThrow(/must be at least 32 bytes/);
    expect(() => parseDataKeyring(Buffer.alloc(48).toString('base64'))).toThrow(/must be 32 bytes/);
  });
});
