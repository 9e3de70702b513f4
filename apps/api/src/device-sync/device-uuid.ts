import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Whether the uuid in a client-API body is the one the device registered. Signal stores
 * RegisterPk.uuid, the raw bytes of `hbb_common::get_uuid()`; the JSON carries the same bytes as
 * standard padded base64 (`crate::encode64(hbb_common::get_uuid())`, src/hbbs_http/sync.rs). The
 * body is decoded strictly (it must re-encode to itself) and both sides are compared as SHA-256
 * digests, so the comparison takes the same time whatever the lengths.
 */
export function uuidMatches(stored: Uint8Array | null, presented: string): boolean {
  if (stored === null || stored.length === 0) return false;
  const decoded = Buffer.from(presented, 'base64');
  const canonical = decoded.length > 0 && decoded.toString('base64') === presented;
  const equal = timingSafeEqual(digest(decoded), digest(stored));
  return canonical && equal;
}

function digest(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest();
}
