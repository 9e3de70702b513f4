import { createHmac } from 'node:crypto';

import { type AuditEntry, GENESIS_HEAD, InvalidAuditEntryError, type NewAuditEntry } from './audit-entry';
import { chainEntries, computeAuditHash } from './audit-chain';
import { createAuditKeyring } from './audit-keyring';
import { canonicalAuditEntry, canonicalJson } from './canonical-form';

const key = Buffer.from(Array.from({ length: 32 }, (_, index) => index));
const keyring = createAuditKeyring([{ keyId: 'k2026-01', key }]);

const vectorEntry: NewAuditEntry = {
  at: new Date('2026-01-02T03:04:05.678Z'),
  actorType: 'user',
  actorId: 'u-42',
  action: 'device.ban',
  targetType: 'device',
  targetId: '123456789',
  ip: '2001:db8::1',
  details: {
    reason: 'stolen "laptop" ✓',
    cascade: ['987654321', null],
    count: 2,
    ratio: 0.5,
    nested: { z: true, a: -0 },
  },
};

function first(entry: NewAuditEntry): AuditEntry {
  const [chained] = chainEntries(GENESIS_HEAD, [entry], keyring);
  if (chained === undefined) throw new Error('chainEntries returned nothing');
  return chained;
}

describe('canonical form v1', () => {
  // Pinned once and cross-checked with Python's hmac module. If this test fails, stored chains stop
  // verifying: change the code, not the vector.
  it('produces the pinned bytes and hash for a fixed entry and key', () => {
    const entry = first(vectorEntry);
    expect(canonicalAuditEntry(entry).toString('utf8')).toBe(
      '["switchboard.audit.v1","1","k2026-01","2026-01-02T03:04:05.678Z","user","u-42","device.ban",' +
        '"device","123456789","2001:db8::1",{"cascade":["987654321",null],"count":2,"nested":{"a":0,"z":true},' +
        '"ratio":0.5,"reason":"stolen \\"laptop\\" ✓"}]',
    );
    expect(entry.hash.toString('hex')).toBe(
      '7d65047e7522d7d91a32d00615b47ba7977f8b4dc4f3209f8c93c813fb5e420a',
    );
    expect(entry.prevHash).toEqual(Buffer.alloc(32));
  });

  it('hashes HMAC-SHA256(key, prevHash ‖ canonical)', () => {
    const entry = first(vectorEntry);
    const prevHash = Buffer.alloc(32, 7);
    const expected = createHmac('sha256', key)
      .update(Buffer.concat([prevHash, canonicalAuditEntry(entry)]))
      .digest();
    expect(computeAuditHash(key, prevHash, entry)).toEqual(expected);
  });

  it('ignores the key order of details at every depth', () => {
    const reordered = first({
      ...vectorEntry,
      details: {
        nested: { a: 0, z: true },
        ratio: 0.5,
        reason: 'stolen "laptop" ✓',
        count: 2,
        cascade: ['987654321', null],
      },
    });
    expect(reordered.hash).toEqual(first(vectorEntry).hash);
  });

  it('keeps array order', () => {
    const swapped = first({
      ...vectorEntry,
      details: { ...vectorEntry.details, cascade: [null, '987654321'] },
    });
    expect(swapped.hash).not.toEqual(first(vectorEntry).hash);
  });

  it('changes the hash when any field changes', () => {
    const base = first(vectorEntry);
    const variants: Record<string, AuditEntry> = {
      seq: { ...base, seq: 2n },
      keyId: { ...base, keyId: 'k2026-02' },
      at: { ...base, at: new Date(base.at.getTime() + 1) },
      actorType: { ...base, actorType: 'api_key' },
      actorId: { ...base, actorId: 'u-43' },
      action: { ...base, action: 'device.unban' },
      targetType: { ...base, targetType: 'user' },
      targetId: { ...base, targetId: '123456788' },
      ip: { ...base, ip: '2001:db8::2' },
      details: { ...base, details: { ...vectorEntry.details, count: 3 } },
    };
    const hashes = new Set([base.hash.toString('hex')]);
    for (const [field, variant] of Object.entries(variants)) {
      const hash = computeAuditHash(key, base.prevHash, variant).toString('hex');
      expect({ field, changed: !hashes.has(hash) }).toEqual({ field, changed: true });
      hashes.add(hash);
    }
    expect(computeAuditHash(key, Buffer.alloc(32, 1), base)).not.toEqual(base.hash);
    expect(computeAuditHash(Buffer.alloc(32, 9), base.prevHash, base)).not.toEqual(base.hash);
  });

  it('treats an absent optional field as null but distinguishes the empty string', () => {
    const { actorId: _actorId, ...withoutActor } = vectorEntry;
    const absent = first(withoutActor);
    expect(absent.actorId).toBeNull();
    expect(first({ ...vectorEntry, actorId: null }).hash).toEqual(absent.hash);
    expect(first({ ...vectorEntry, actorId: '' }).hash).not.toEqual(absent.hash);
  });

  it('distinguishes a null detail from an absent one, and defaults details to {}', () => {
    expect(canonicalJson({ a: null })).toBe('{"a":null}');
    expect(canonicalJson({})).toBe('{}');
    const { details: _details, ...withoutDetails } = vectorEntry;
    expect(first(withoutDetails).hash).toEqual(first({ ...vectorEntry, details: {} }).hash);
    expect(first({ ...vectorEntry, details: { a: null } }).hash).not.toEqual(
      first({ ...vectorEntry, details: {} }).hash,
    );
  });

  it('writes strings and numbers as JSON.stringify does', () => {
    expect(canonicalJson({ b: [1e21, 0.1, -5, 'é\n\u2028'], a: 'x' })).toBe(
      '{"a":"x","b":[1e+21,0.1,-5,"é\\n\u2028"]}',
    );
    expect(canonicalJson({ b: 1, B: 2, _: 3, ä: 4 })).toBe('{"B":2,"_":3,"b":1,"ä":4}');
  });

  it('refuses values JSON cannot carry', () => {
    expect(() => canonicalJson({ a: undefined })).toThrow(TypeError);
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(TypeError);
    expect(() => canonicalJson({ a: new Date(0) })).toThrow(TypeError);
    expect(() => canonicalJson([1n])).toThrow(TypeError);
    // eslint-disable-next-line no-sparse-arrays
    expect(() => canonicalJson([1, , 2])).toThrow(TypeError);
  });
});

describe('entry validation', () => {
  it('rejects entries the table could not store, listing every problem', () => {
    const bad = {
      at: new Date('invalid'),
      actorType: 'a-very-long-actor-type',
      action: '',
      ip: 'x'.repeat(46),
      targetId: 'nul\u0000',
      details: { when: new Date(0), nested: [undefined, Infinity], lone: '\ud800' },
    } as unknown as NewAuditEntry;
    let caught: unknown;
    try {
      chainEntries(GENESIS_HEAD, [bad], keyring);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidAuditEntryError);
    expect((caught as InvalidAuditEntryError).problems).toEqual([
      'at: must be a valid Date',
      'action: must be a non-empty string',
      'actorType: longer than 16 characters',
      'targetId: contains NUL or an unpaired surrogate',
      'ip: longer than 45 characters',
      'details.when: object is not a JSON value',
      'details.nested[0]: undefined is not a JSON value',
      'details.nested[1]: numbers must be finite',
      'details.lone: contains NUL or an unpaired surrogate',
    ]);
  });

  it('counts characters, not UTF-16 units, against the column width', () => {
    expect(() => first({ ...vectorEntry, actorType: '😀'.repeat(16) })).not.toThrow();
    expect(() => first({ ...vectorEntry, actorType: '😀'.repeat(17) })).toThrow(InvalidAuditEntryError);
  });

  it('rejects a details value that is not a plain object', () => {
    expect(() => first({ ...vectorEntry, details: [] as never })).toThrow(
      'details: must be a plain JSON object',
    );
  });
});
