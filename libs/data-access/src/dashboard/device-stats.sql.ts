// The raw SQL behind the dashboard's device counts (device-stats.repository.ts), in one place to review.
import { Prisma } from '../generated/prisma/client';

export interface DeviceCountsRow {
  total: bigint;
  online: bigint;
  pending: bigint;
  banned: bigint;
}

/**
 * One pass over devices for the four counts, live (not soft-deleted) devices only, as the device list
 * shows them by default. A sequential scan at 100k rows costs a few milliseconds, run once per
 * dashboard load and once per sample interval; no index would serve all four filters at once.
 */
export function countDevicesByStateSql(onlineSince: Date): Prisma.Sql {
  return Prisma.sql`
    SELECT count(*) AS total,
           count(*) FILTER (WHERE last_seen_at >= ${onlineSince}) AS online,
           count(*) FILTER (WHERE admission = 'pending' AND NOT banned) AS pending,
           count(*) FILTER (WHERE banned) AS banned
      FROM devices
     WHERE deleted_at IS NULL`;
}

/** Online devices only (the sampler's query): served by the last_seen_at index when there is one. */
export function countOnlineDevicesSql(onlineSince: Date): Prisma.Sql {
  return Prisma.sql`
    SELECT count(*) AS online FROM devices WHERE deleted_at IS NULL AND last_seen_at >= ${onlineSince}`;
}
