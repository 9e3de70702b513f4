// The raw SQL of settings changes, kept beside the repository that runs it.
import { Prisma } from '../generated/prisma/client';

/**
 * Serialises changes of one key until the transaction ends, whether or not its row exists yet (a
 * row lock could not cover the insert), so the old value a change reports is the one it replaced.
 * Two int4 keys: a namespace ("sbst") and the key's hash.
 */
export function lockSettingSql(key: string): Prisma.Sql {
  return Prisma.sql`SELECT pg_advisory_xact_lock(${SETTINGS_LOCK_NAMESPACE}::int4, hashtext(${key}))`;
}

/** ASCII "sbst" as a signed int4; nothing else may use this namespace. */
export const SETTINGS_LOCK_NAMESPACE = 0x73627374;
