import {
  AuditKeyringError,
  createAuditKeyring,
  formatAuditKeyring,
  generateAuditKey,
  parseAuditKeyring,
} from './audit-keyring';

const keyA = Buffer.alloc(32, 0xa1);
const keyB = Buffer.alloc(48, 0xb2);

function problemsOf(text: string): readonly string[] {
  try {
    parseAuditKeyring(text);
  } catch (error) {
    if (error instanceof AuditKeyringError) return error.problems;
    throw error;
  }
  throw new Error(`parsed without error: ${text}`);
}

describe('audit keyring', () => {
  it('parses keyId:base64 pairs and signs with the last one', () => {
    const keyring = parseAuditKeyring(
      ` old-1:${keyA.toString('base64')} , new.2_B:${keyB.toString('base64')}`,
    );
    expect(keyring.currentKeyId).toBe('new.2_B');
    expect([...keyring.keys.keys()]).toEqual(['old-1', 'new.2_B']);
    expect(keyring.keys.get('old-1')).toEqual(keyA);
    expect(keyring.keys.get('new.2_B')).toEqual(keyB);
  });

  it('accepts unpadded base64', () => {
    const unpadded = keyA.toString('base64').replace(/=+$/, '');
    expect(parseAuditKeyring(`a:${unpadded}`).keys.get('a')).toEqual(keyA);
  });

  it('formats back to the same text, current key last', () => {
    const text = `a:${keyA.toString('base64')},b:${keyB.toString('base64')}`;
    expect(formatAuditKeyring(parseAuditKeyring(text))).toBe(text);
    const reordered = {
      currentKeyId: 'a',
      keys: new Map([
        ['a', keyA],
        ['b', keyB],
      ]),
    };
    expect(formatAuditKeyring(reordered)).toBe(`b:${keyB.toString('base64')},a:${keyA.toString('base64')}`);
  });

  it('generates distinct 32-byte keys that make a valid keyring', () => {
    const [first, second] = [generateAuditKey(), generateAuditKey()];
    expect(first).toHaveLength(32);
    expect(first).not.toEqual(second);
    expect(parseAuditKeyring(`k1:${first.toString('base64')}`).currentKeyId).toBe('k1');
  });

  it('reports every problem without echoing key material', () => {
    const short = Buffer.alloc(31, 1).toString('base64');
    const good = keyA.toString('base64');
    const problems = problemsOf(`bad id!:${good},ok:${short},ok:${good},${'x'.repeat(33)}:${good}`);
    expect(problems).toEqual([
      'key #1: id must match [A-Za-z0-9._-]{1,32}',
      'key "ok": must be at least 32 bytes',
      'key "ok": listed twice',
      'key #4: id must match [A-Za-z0-9._-]{1,32}',
    ]);
    expect(problems.join(' ')).not.toContain(good);
  });

  it('rejects malformed entries and base64', () => {
    expect(problemsOf('')).toEqual(['entry #1: expected keyId:base64key']);
    expect(problemsOf('justakey')).toEqual(['entry #1: expected keyId:base64key']);
    expect(problemsOf(`a:${keyA.toString('base64')},`)).toEqual(['entry #2: expected keyId:base64key']);
    expect(problemsOf(`a:${keyA.toString('base64')}!`)).toEqual(['entry #1: key is not valid base64']);
    expect(problemsOf(`a:${keyA.toString('base64url')}-_`)).toEqual(['entry #1: key is not valid base64']);
    expect(problemsOf(':' + keyA.toString('base64'))).toEqual(['key #1: id must match [A-Za-z0-9._-]{1,32}']);
  });

  it('refuses an empty keyring', () => {
    expect(() => createAuditKeyring([])).toThrow('no keys given');
  });

  it('copies keys so later changes to the caller buffer do not alter the keyring', () => {
    const key = Buffer.alloc(32, 5);
    const keyring = createAuditKeyring([{ keyId: 'k', key }]);
    key.fill(0);
    expect(keyring.keys.get('k')).toEqual(Buffer.alloc(32, 5));
  });
});
