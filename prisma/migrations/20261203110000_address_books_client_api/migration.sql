-- Address books for the RustDesk client API (issue 12 item 3, docs/client-api.md §3). Secrets are
-- sealed with the data key: the plain-text hash/password columns go (no code ever wrote them).
ALTER TABLE "address_books" ADD COLUMN     "password_sealed" BYTEA;

ALTER TABLE "address_book_peers" DROP COLUMN "hash",
DROP COLUMN "password",
ADD COLUMN     "hash_sealed" BYTEA,
ADD COLUMN     "password_sealed" BYTEA,
ADD COLUMN     "login_name" VARCHAR(255),
ADD COLUMN     "device_group_name" VARCHAR(128),
ADD COLUMN     "same_server" BOOLEAN,
ALTER COLUMN "rustdesk_id" SET DATA TYPE VARCHAR(255);

-- A tag colour is an ARGB uint32, beyond int4.
ALTER TABLE "address_book_tags" ALTER COLUMN "color" SET DATA TYPE BIGINT,
ALTER COLUMN "color" DROP DEFAULT;

-- Shared books are found by name (sysinfo presets, the one-name-per-book rule).
CREATE INDEX "address_books_kind_name_idx" ON "address_books"("kind", "name");

-- CreateTable
CREATE TABLE "address_book_group_rules" (
    "address_book_id" UUID NOT NULL,
    "user_group_id" UUID NOT NULL,
    "rule" INTEGER NOT NULL,

    CONSTRAINT "address_book_group_rules_pkey" PRIMARY KEY ("address_book_id","user_group_id")
);

-- CreateIndex
CREATE INDEX "address_book_group_rules_user_group_id_idx" ON "address_book_group_rules"("user_group_id");

-- AddForeignKey
ALTER TABLE "address_book_group_rules" ADD CONSTRAINT "address_book_group_rules_address_book_id_fkey" FOREIGN KEY ("address_book_id") REFERENCES "address_books"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "address_book_group_rules" ADD CONSTRAINT "address_book_group_rules_user_group_id_fkey" FOREIGN KEY ("user_group_id") REFERENCES "user_groups"("id") ON DELETE CASCADE ON UPDATE CASCADE;
