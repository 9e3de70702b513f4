-- User groups (issue 12): who may use a shared address book, which devices a user may see in the
-- client's group tab. A user may belong to several groups.
CREATE TABLE "user_groups" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" VARCHAR(128) NOT NULL,
    "note" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "user_groups_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "user_groups_name_key" ON "user_groups"("name");

CREATE TABLE "user_group_members" (
    "user_group_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "user_group_members_pkey" PRIMARY KEY ("user_group_id","user_id")
);

CREATE INDEX "user_group_members_user_id_idx" ON "user_group_members"("user_id");

ALTER TABLE "user_group_members" ADD CONSTRAINT "user_group_members_user_group_id_fkey" FOREIGN KEY ("user_group_id") REFERENCES "user_groups"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "user_group_members" ADD CONSTRAINT "user_group_members_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- A RustDesk client's login is a session like a browser's (same table, same listing and revocation);
-- `kind` tells them apart and the client_* columns say which device logged in.
ALTER TABLE "sessions" ADD COLUMN     "kind" VARCHAR(16) NOT NULL DEFAULT 'browser',
ADD COLUMN     "client_id" VARCHAR(64),
ADD COLUMN     "client_uuid" VARCHAR(128),
ADD COLUMN     "client_os" VARCHAR(64),
ADD COLUMN     "client_type" VARCHAR(32),
ADD COLUMN     "client_name" VARCHAR(255);
