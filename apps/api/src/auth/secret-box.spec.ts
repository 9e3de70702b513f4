import { randomBytes } from 'node:crypto';

import { type ApiSecrets } from '../secrets';
import { SealedValueError, SecretBox } from './secret-box';

describe('SecretBox (AES-256-GCM at rest)', () => {
  const box = new SecretBox({ dataEncryptionKey: randomBytes(32) } as ApiSecrets);

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
    const other = new SecretBox({ dataEncryptionKey: randomBytes(32) } as ApiSecrets);
    expect(() => other.open(sealed, 'user-1')).toThrow(SealedValueError);
  });
});
