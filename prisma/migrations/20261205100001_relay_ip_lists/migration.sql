-- The relays' managed IP lists (hbbr's blocklist and blacklist, managed through the api): kept in
-- Postgres so they survive a Redis that loses its data; the api rebuilds the Redis sets the relays
-- read from these rows. The api's role gets its grants from the default privileges; signal and the
-- relays never read them here.

-- CreateEnum
CREATE TYPE "relay_ip_list" AS ENUM ('blocklist', 'blacklist');

-- CreateTable
CREATE TABLE "relay_ip_list_entries" (
    "list" "relay_ip_list" NOT NULL,
    "address" VARCHAR(64) NOT NULL,
    "note" VARCHAR(256) NOT NULL DEFAULT '',
    "created_by_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "relay_ip_list_entries_pkey" PRIMARY KEY ("list","address")
);

-- AddForeignKey
ALTER TABLE "relay_ip_list_entries" ADD CONSTRAINT "relay_ip_list_entries_created_by_id_fkey" FOREIGN KEY ("created_by_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;
