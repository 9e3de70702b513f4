import { type DeviceAccessRow } from '@switchboard/data-access';

import { type Refusal, type RegistrationPolicy } from '../ports';
import {
  admissionOf,
  ADMITTED,
  BANNED,
  decide,
  DELETED,
  deniedBy,
  PENDING,
  REJECTED,
  REVOKED,
  stateOfRow,
  uuidDigestOf,
  withAdmission,
  withUuidDigest,
} from './access-state';

const row = (overrides: Partial<DeviceAccessRow> = {}): DeviceAccessRow => ({
  rustdeskId: 'dev001',
  admission: 'admitted',
  banned: false,
  deleted: false,
  revoked: false,
  uuidDigest: null,
  ...overrides,
});

const outcome = (policy: RegistrationPolicy, state: number, digest?: number): 'allowed' | Refusal => {
  const decision = decide(policy, state, digest);
  return decision.allowed ? 'allowed' : decision.refusal;
};

describe('packed access state', () => {
  it('packs a row and reads every field back', () => {
    const state = stateOfRow(
      row({ admission: 'pending', banned: true, revoked: true, uuidDigest: 0xabcdef }),
    );
    expect(admissionOf(state)).toBe(PENDING);
    expect(state & BANNED).toBe(BANNED);
    expect(state & REVOKED).toBe(REVOKED);
    expect(state & DELETED).toBe(0);
    expect(uuidDigestOf(state)).toBe(0xabcdef);
    // Small enough to stay an unboxed small integer in V8 (31-bit with pointer compression).
    expect(state).toBeLessThan(2 ** 30);
    expect(uuidDigestOf(stateOfRow(row()))).toBeUndefined();
  });

  it('changes admission or digest without touching the rest', () => {
    const state = withUuidDigest(PENDING | BANNED, 0x123456);
    expect(withAdmission(state, ADMITTED)).toBe(withUuidDigest(ADMITTED | BANNED, 0x123456));
    expect(uuidDigestOf(withUuidDigest(state, 0xffffff))).toBe(0xffffff);
    expect(admissionOf(withUuidDigest(state, 0xffffff))).toBe(PENDING);
  });

  it('names the strongest deny flag', () => {
    expect(deniedBy(ADMITTED)).toBeUndefined();
    expect(deniedBy(DELETED)).toBe('deleted');
    expect(deniedBy(BANNED | DELETED)).toBe('banned');
    expect(deniedBy(BANNED | REVOKED | DELETED)).toBe('revoked');
  });
});

describe('decide', () => {
  const UNKNOWN = 0;
  const policies: RegistrationPolicy[] = ['open', 'token', 'approval', 'locked'];

  it.each(policies)(
    'refuses banned, revoked and deleted devices under %s, whatever their admission',
    (policy) => {
      for (const admission of [UNKNOWN, ADMITTED, PENDING, REJECTED]) {
        expect(outcome(policy, admission | BANNED)).toBe('banned');
        expect(outcome(policy, admission | REVOKED)).toBe('revoked');
        expect(outcome(policy, admission | DELETED)).toBe('deleted');
      }
    },
  );

  it.each([
    // policy, unknown id, admitted, pending, rejected
    ['open', 'allowed', 'allowed', 'allowed', 'unknown-device'],
    ['token', 'not-deployed', 'allowed', 'not-deployed', 'not-deployed'],
    ['approval', 'pending', 'allowed', 'pending', 'unknown-device'],
    ['locked', 'unknown-device', 'allowed', 'pending', 'unknown-device'],
  ] as const)(
    '%s: unknown %s, admitted %s, pending %s, rejected %s',
    (policy, unknown, admitted, pending, rejected) => {
      expect([UNKNOWN, ADMITTED, PENDING, REJECTED].map((state) => outcome(policy, state))).toEqual([
        unknown,
        admitted,
        pending,
        rejected,
      ]);
    },
  );

  it('binds a token admission to the uuid it was admitted with', () => {
    const admitted = withUuidDigest(ADMITTED, 0x111111);
    expect(outcome('token', admitted, 0x111111)).toBe('allowed');
    expect(outcome('token', admitted, 0x222222)).toBe('not-deployed');
    // RegisterPeer carries no uuid; a row without one binds nothing.
    expect(outcome('token', admitted)).toBe('allowed');
    expect(outcome('token', ADMITTED, 0x222222)).toBe('allowed');
    // Other policies leave uuid conflicts to the core (UUID_MISMATCH is for real conflicts only).
    expect(outcome('open', admitted, 0x222222)).toBe('allowed');
  });
});
