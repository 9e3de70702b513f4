import { type AuditEntry, GENESIS_HEAD, type NewAuditEntry } from './audit-entry';
import { chainEntries } from './audit-chain';
import { createAuditKeyring } from './audit-keyring';
import { AuditChainVerifier, verifyAuditChain } from './chain-verifier';

const oldKey = { keyId: 'k1', key: Buffer.alloc(32, 1) };
const newKey = { keyId: 'k2', key: Buffer.alloc(32, 2) };
const keyring = createAuditKeyring([oldKey]);

function newEntries(count: number, offset = 0): NewAuditEntry[] {
  return Array.from({ length: count }, (_, index) => ({
    at: new Date(Date.UTC(2026, 0, 1) + (offset + index) * 1000),
    actorType: 'user',
    actorId: `u${(offset + index) % 3}`,
    action: 'device.ban',
    targetType: 'device',
    targetId: String(100000 + offset + index),
    details: { n: offset + index },
  }));
}

function chainOf(count: number): AuditEntry[] {
  return chainEntries(GENESIS_HEAD, newEntries(count), keyring);
}

function at(chain: AuditEntry[], seq: number): AuditEntry {
  const entry = chain[seq - 1];
  if (entry === undefined) throw new Error(`no seq ${seq}`);
  return entry;
}

describe('chainEntries', () => {
  it('assigns consecutive seqs from the head, links each to its predecessor and signs with the current key', () => {
    const firstPart = chainEntries(GENESIS_HEAD, newEntries(2), keyring);
    const head = firstPart[1]!;
    const secondPart = chainEntries(head, newEntries(2, 2), keyring);
    expect([...firstPart, ...secondPart].map((entry) => entry.seq)).toEqual([1n, 2n, 3n, 4n]);
    expect(firstPart[0]!.prevHash).toEqual(Buffer.alloc(32));
    expect(secondPart[0]!.prevHash).toEqual(head.hash);
    expect(secondPart.every((entry) => entry.keyId === 'k1')).toBe(true);
    // Chaining in two calls gives the same chain as one call.
    expect([...firstPart, ...secondPart]).toEqual(chainOf(4));
  });
});

describe('AuditChainVerifier', () => {
  it('accepts an intact chain and reports its length and head', () => {
    expect(verifyAuditChain(chainOf(10), keyring)).toEqual({ ok: true, count: 10, headSeq: 10n });
    expect(verifyAuditChain([], keyring)).toEqual({ ok: true, count: 0, headSeq: 0n });
  });

  it('verifies page by page with the same result as all at once', () => {
    const chain = chainOf(10);
    const verifier = new AuditChainVerifier(keyring);
    for (let start = 0; start < chain.length; start += 3)
      expect(verifier.push(chain.slice(start, start + 3))).toBe(true);
    expect(verifier.result()).toEqual({ ok: true, count: 10, headSeq: 10n });
  });

  it('names an edited entry', () => {
    const chain = chainOf(10);
    chain[6] = { ...at(chain, 7), action: 'device.unban' };
    expect(verifyAuditChain(chain, keyring)).toEqual({
      ok: false,
      brokenSeq: 7n,
      reason: 'hash mismatch',
      detail: 'content does not match its hash',
      checked: 6,
    });
  });

  it('names an entry whose stored hash was replaced', () => {
    const chain = chainOf(10);
    chain[9] = { ...at(chain, 10), hash: Buffer.alloc(32, 0xff) };
    expect(verifyAuditChain(chain, keyring)).toMatchObject({
      ok: false,
      brokenSeq: 10n,
      reason: 'hash mismatch',
    });
  });

  it('names the first deleted seq', () => {
    const chain = chainOf(10);
    chain.splice(3, 2); // seqs 4 and 5
    expect(verifyAuditChain(chain, keyring)).toEqual({
      ok: false,
      brokenSeq: 4n,
      reason: 'seq gap',
      detail: 'expected seq 4, found 6',
      checked: 3,
    });
    expect(verifyAuditChain(chainOf(3).slice(1), keyring)).toMatchObject({
      brokenSeq: 1n,
      reason: 'seq gap',
    });
  });

  it('names reordered entries by the first one that no longer links', () => {
    const chain = chainOf(10);
    // Swap the contents of seqs 3 and 8, keeping the seq column in place.
    const [third, eighth] = [at(chain, 3), at(chain, 8)];
    chain[2] = { ...eighth, seq: 3n };
    chain[7] = { ...third, seq: 8n };
    expect(verifyAuditChain(chain, keyring)).toMatchObject({
      ok: false,
      brokenSeq: 3n,
      reason: 'prev_hash mismatch',
      checked: 2,
    });
  });

  it('detects a spliced-in entry signed by someone without the key', () => {
    const chain = chainOf(5);
    const forged = chainEntries(
      at(chain, 2),
      newEntries(1, 50),
      createAuditKeyring([{ keyId: 'k1', key: Buffer.alloc(32, 9) }]),
    );
    chain[2] = forged[0]!;
    expect(verifyAuditChain(chain, keyring)).toMatchObject({ brokenSeq: 3n, reason: 'hash mismatch' });
  });

  it('names an entry signed with a key the keyring does not hold', () => {
    const chain = chainOf(4);
    chain[1] = { ...at(chain, 2), keyId: 'retired' };
    expect(verifyAuditChain(chain, keyring)).toMatchObject({
      ok: false,
      brokenSeq: 2n,
      reason: 'unknown key id',
    });
  });

  it('keeps verifying entries signed with a rotated-out key', () => {
    const before = chainOf(3);
    const rotated = createAuditKeyring([oldKey, newKey]);
    const after = chainEntries(at(before, 3), newEntries(3, 3), rotated);
    expect(after.map((entry) => entry.keyId)).toEqual(['k2', 'k2', 'k2']);
    expect(verifyAuditChain([...before, ...after], rotated)).toEqual({ ok: true, count: 6, headSeq: 6n });
    // Dropping the old key too early is reported at the first entry it signed.
    const newOnly = createAuditKeyring([newKey]);
    expect(verifyAuditChain([...before, ...after], newOnly)).toMatchObject({
      brokenSeq: 1n,
      reason: 'unknown key id',
    });
  });

  it('reports only the first break and stops consuming', () => {
    const chain = chainOf(6);
    chain[1] = { ...at(chain, 2), ip: '10.0.0.1' };
    chain[4] = { ...at(chain, 5), ip: '10.0.0.2' };
    const verifier = new AuditChainVerifier(keyring);
    expect(verifier.push(chain.slice(0, 3))).toBe(false);
    expect(verifier.push(chain.slice(3))).toBe(false);
    expect(verifier.result()).toMatchObject({ brokenSeq: 2n, checked: 1 });
  });

  it('reports a row whose content cannot be serialised as edited rather than throwing', () => {
    const chain = chainOf(2);
    chain[1] = { ...at(chain, 2), at: new Date(Number.NaN) };
    expect(verifyAuditChain(chain, keyring)).toMatchObject({ brokenSeq: 2n, reason: 'hash mismatch' });
  });

  it('can resume from a trusted head', () => {
    const chain = chainOf(6);
    const verifier = new AuditChainVerifier(keyring, at(chain, 3));
    verifier.push(chain.slice(3));
    expect(verifier.result()).toEqual({ ok: true, count: 3, headSeq: 6n });
  });
});
