import { GENESIS_HEAD } from './audit-entry';
import { createAuditKeyring } from './audit-keyring';
import { type CheckpointReading, checkChainEnd } from './chain-end';
import { isAuthenticChainHead, isAuthenticCheckpoint, signChainHead, signCheckpoint } from './chain-head';

const keyring = createAuditKeyring([{ keyId: 'k1', key: Buffer.alloc(32, 1) }]);
const otherKeyring = createAuditKeyring([{ keyId: 'k1', key: Buffer.alloc(32, 2) }]);
const hashOf = (seq: number) => Buffer.alloc(32, seq);
const head = (seq: number) => ({ seq: BigInt(seq), hash: hashOf(seq) });

describe('chain head and checkpoints', () => {
  it('authenticates a head only with the key that signed it and only for its own seq and hash', () => {
    const signed = signChainHead(head(10), keyring);
    expect(isAuthenticChainHead(signed, keyring)).toBe(true);
    expect(isAuthenticChainHead(signed, otherKeyring)).toBe(false);
    expect(isAuthenticChainHead({ ...signed, seq: 9n }, keyring)).toBe(false);
    expect(isAuthenticChainHead({ ...signed, hash: hashOf(9) }, keyring)).toBe(false);
    expect(isAuthenticChainHead({ ...signed, keyId: 'gone' }, keyring)).toBe(false);
  });

  it('does not accept a head MAC as a checkpoint MAC', () => {
    const signed = signChainHead(head(10), keyring);
    const checkpoint = { ...signed, firstHash: hashOf(1), at: new Date(0) };
    expect(isAuthenticCheckpoint(checkpoint, keyring)).toBe(false);
    const genuine = signCheckpoint({ ...head(10), firstHash: hashOf(1), at: new Date(0) }, keyring);
    expect(isAuthenticCheckpoint(genuine, keyring)).toBe(true);
    expect(isAuthenticCheckpoint({ ...genuine, at: new Date(1) }, keyring)).toBe(false);
  });
});

describe('checkChainEnd', () => {
  const hashes = new Map([1, 5, 10].map((seq) => [BigInt(seq), hashOf(seq)]));
  const facts = (overrides: Partial<Parameters<typeof checkChainEnd>[0]> = {}) => ({
    chainEnd: head(10),
    firstHash: hashOf(1),
    headRecord: signChainHead(head(10), keyring),
    checkpoints: [] as CheckpointReading[],
    hashAt: (seq: bigint) => hashes.get(seq),
    ...overrides,
  });
  const checkpoint = (seq: number, firstHash = hashOf(1)) => ({
    source: 'file',
    checkpoint: signCheckpoint({ ...head(seq), firstHash, at: new Date(0) }, keyring),
  });

  it('accepts a chain that ends at its head record and past its checkpoints', () => {
    expect(checkChainEnd(facts({ checkpoints: [checkpoint(5), checkpoint(10)] }), keyring)).toBeNull();
    expect(
      checkChainEnd(facts({ chainEnd: GENESIS_HEAD, firstHash: null, headRecord: null }), keyring),
    ).toBeNull();
  });

  it.each([
    ['a head record past the end', { headRecord: signChainHead(head(12), keyring) }, 11n, 'missing tail'],
    ['no head record', { headRecord: null }, 11n, 'head record missing'],
    [
      'a head record signed by another key',
      { headRecord: signChainHead(head(10), otherKeyring) },
      11n,
      'head record invalid',
    ],
    [
      'a head record behind the end',
      { headRecord: signChainHead(head(5), keyring) },
      11n,
      'head record mismatch',
    ],
    ['a checkpoint past the end', { checkpoints: [checkpoint(12)] }, 11n, 'missing tail'],
    ['a checkpoint of another chain', { checkpoints: [checkpoint(5, hashOf(7))] }, 1n, 'chain restarted'],
    [
      'a checkpoint whose seq holds another entry',
      { hashAt: () => hashOf(99), checkpoints: [checkpoint(5)] },
      5n,
      'chain restarted',
    ],
    [
      'an unreadable checkpoint',
      { checkpoints: [{ source: 'redis', checkpoint: 'unreadable' as const }] },
      11n,
      'checkpoint invalid',
    ],
  ])('names %s', (_label, overrides, brokenSeq, reason) => {
    expect(checkChainEnd(facts(overrides), keyring)).toMatchObject({ brokenSeq, reason });
  });
});
