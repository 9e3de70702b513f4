import { createHash } from 'node:crypto';

/**
 * A 24-bit digest of a device's RegisterPk uuid: the first three bytes of its MD5, read big-endian.
 * Small enough to live inside a small integer in signal's in-memory index (one per device), wide
 * enough that a different machine presenting an admitted id is noticed. Not a security boundary:
 * the uuid is not secret. `UUID_DIGEST_SQL` computes the same number inside Postgres, so a
 * snapshot of 1M devices ships three bytes per uuid instead of the uuid itself.
 */
export function uuidDigest(uuid: Uint8Array): number {
  return createHash('md5').update(uuid).digest().readUIntBE(0, 3);
}

/** `uuidDigest(devices.uuid)` in SQL; NULL when the row has no uuid. */
export const UUID_DIGEST_SQL = `('x' || left(md5(uuid), 6))::bit(24)::int`;
