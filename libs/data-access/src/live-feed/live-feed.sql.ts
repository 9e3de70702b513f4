// The raw SQL behind the console's live feed (live-feed.repository.ts), in one place to review.
import { Prisma } from '../generated/prisma/client';

/**
 * The RustDesk ids seen at or after `since` (the api's online window), not deleted, as one
 * space-separated string: one row instead of one per device keeps a 100k-device poll to a single
 * short string for the driver. RustDesk ids never hold a space ([A-Za-z0-9_-], DEVICE_ID_PATTERN).
 * The last_seen_at index serves it when most devices are offline; with most of them online Postgres
 * rightly scans the table (bench figures: docs/architecture.md "Console live events").
 */
export function onlineDeviceIdsSql(since: Date): Prisma.Sql {
  return Prisma.sql`
    SELECT coalesce(string_agg(rustdesk_id, ' '), '') AS ids
    FROM devices
    WHERE last_seen_at >= ${since} AND deleted_at IS NULL`;
}

export interface OnlineIdsRow {
  ids: string;
}
