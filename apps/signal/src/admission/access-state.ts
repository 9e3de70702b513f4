import { type DeviceAccessRow } from '@switchboard/data-access';

import { type AccessDecision, type Refusal, type RegistrationPolicy } from '../ports';

// One device's access state packed into a small integer, so the index is a Map<id, number> whose
// values cost nothing beyond the entry itself (V8 keeps integers under 2^30 unboxed). 0 = nothing
// known about the id. Bits 0-1 admission, 2-4 deny flags, 5 "has a uuid", 6-29 its 24-bit digest.

export const ADMISSION_MASK = 0b11;
export const ADMISSION_NONE = 0;
export const ADMITTED = 1;
export const PENDING = 2;
export const REJECTED = 3;
export const BANNED = 1 << 2;
export const REVOKED = 1 << 3;
export const DELETED = 1 << 4;
export const DENY_MASK = BANNED | REVOKED | DELETED;
const HAS_UUID = 1 << 5;
const UUID_SHIFT = 6;
const UUID_MASK = 0xffffff;

export type AdmissionCode = typeof ADMISSION_NONE | typeof ADMITTED | typeof PENDING | typeof REJECTED;

const ADMISSION_CODES = { admitted: ADMITTED, pending: PENDING, rejected: REJECTED } as const;

export function stateOfRow(row: DeviceAccessRow): number {
  let state: number = ADMISSION_CODES[row.admission];
  if (row.banned) state |= BANNED;
  if (row.revoked) state |= REVOKED;
  if (row.deleted) state |= DELETED;
  return row.uuidDigest === null ? state : withUuidDigest(state, row.uuidDigest);
}

export function admissionOf(state: number): AdmissionCode {
  return (state & ADMISSION_MASK) as AdmissionCode;
}

export function withAdmission(state: number, admission: AdmissionCode): number {
  return (state & ~ADMISSION_MASK) | admission;
}

export function withUuidDigest(state: number, digest: number): number {
  return (state & (HAS_UUID - 1)) | HAS_UUID | ((digest & UUID_MASK) << UUID_SHIFT);
}

export function uuidDigestOf(state: number): number | undefined {
  return (state & HAS_UUID) === 0 ? undefined : (state >>> UUID_SHIFT) & UUID_MASK;
}

/** The refusal a deny flag gives, strongest first; undefined when none is set. */
export function deniedBy(state: number): Refusal | undefined {
  if ((state & DENY_MASK) === 0) return undefined;
  if ((state & REVOKED) !== 0) return 'revoked';
  if ((state & BANNED) !== 0) return 'banned';
  return 'deleted';
}

const ALLOWED: AccessDecision = Object.freeze({ allowed: true });
const REFUSALS: Readonly<Record<Refusal, AccessDecision>> = {
  banned: Object.freeze({ allowed: false, refusal: 'banned' }),
  revoked: Object.freeze({ allowed: false, refusal: 'revoked' }),
  deleted: Object.freeze({ allowed: false, refusal: 'deleted' }),
  pending: Object.freeze({ allowed: false, refusal: 'pending' }),
  'not-deployed': Object.freeze({ allowed: false, refusal: 'not-deployed' }),
  'unknown-device': Object.freeze({ allowed: false, refusal: 'unknown-device' }),
};

export function refused(refusal: Refusal): AccessDecision {
  return REFUSALS[refusal];
}

/**
 * The admission rules (docs/architecture.md "Registration"), for a device in `state` under
 * `policy`. Banned, revoked and deleted are refused under every policy. Then:
 * - open: everyone else, except a device an admin rejected;
 * - token: only admitted devices (the api admits one when a valid registration token is presented
 *   for its id and uuid); when both the row and the message carry a uuid they must match, so the
 *   token admits that machine and not whoever claims its id;
 * - approval: only admitted devices; unknown and pending ones wait for an admin ('pending');
 * - locked: only admitted devices already known.
 * A rejected device is refused as not known ('not-deployed' under token). `presentedUuidDigest` is
 * the digest of the uuid the message carried, if any. Allocation-free: the decisions are shared.
 */
export function decide(
  policy: RegistrationPolicy,
  state: number,
  presentedUuidDigest?: number,
): AccessDecision {
  const denied = deniedBy(state);
  if (denied !== undefined) return REFUSALS[denied];
  const admission = admissionOf(state);
  switch (policy) {
    case 'open':
      return admission === REJECTED ? REFUSALS['unknown-device'] : ALLOWED;
    case 'token': {
      if (admission !== ADMITTED) return REFUSALS['not-deployed'];
      const stored = uuidDigestOf(state);
      const mismatch =
        stored !== undefined && presentedUuidDigest !== undefined && stored !== presentedUuidDigest;
      return mismatch ? REFUSALS['not-deployed'] : ALLOWED;
    }
    case 'approval':
      if (admission === ADMITTED) return ALLOWED;
      return admission === REJECTED ? REFUSALS['unknown-device'] : REFUSALS.pending;
    case 'locked':
      if (admission === ADMITTED) return ALLOWED;
      return admission === PENDING ? REFUSALS.pending : REFUSALS['unknown-device'];
  }
}
