-- CreateExtension
CREATE EXTENSION IF NOT EXISTS "pg_trgm";

-- CreateEnum
CREATE TYPE "role" AS ENUM ('admin', 'operator', 'viewer', 'pro');

-- CreateEnum
CREATE TYPE "device_admission" AS ENUM ('admitted', 'pending', 'rejected');

-- CreateEnum
CREATE TYPE "address_book_kind" AS ENUM ('personal', 'shared');

-- CreateTable
CREATE TABLE "users" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "username" VARCHAR(64) NOT NULL,
    "display_name" VARCHAR(128),
    "email" VARCHAR(254),
    "note" TEXT,
    "password_hash" TEXT NOT NULL,
    "role" "role" NOT NULL DEFAULT 'viewer',
    "disabled" BOOLEAN NOT NULL DEFAULT false,
    "totp_secret_sealed" BYTEA,
    "totp_enabled" BOOLEAN NOT NULL DEFAULT false,
    "totp_last_step" BIGINT,
    "password_changed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_login_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "users_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "recovery_codes" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "user_id" UUID NOT NULL,
    "code_hash" BYTEA NOT NULL,
    "used_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "recovery_codes_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sessions" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "user_id" UUID NOT NULL,
    "token_hash" BYTEA NOT NULL,
    "remember_me" BOOLEAN NOT NULL DEFAULT false,
    "ip" VARCHAR(45),
    "user_agent" VARCHAR(512),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "sessions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "refresh_tokens" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "user_id" UUID NOT NULL,
    "family_id" UUID NOT NULL,
    "token_hash" BYTEA NOT NULL,
    "client_id" VARCHAR(32),
    "client_uuid" VARCHAR(128),
    "ip" VARCHAR(45),
    "user_agent" VARCHAR(512),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "rotated_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "refresh_tokens_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_keys" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" VARCHAR(128) NOT NULL,
    "prefix" VARCHAR(32) NOT NULL,
    "key_hash" BYTEA NOT NULL,
    "role" "role" NOT NULL,
    "created_by_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3),
    "last_used_at" TIMESTAMPTZ(3),
    "last_used_ip" VARCHAR(45),
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "device_groups" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" VARCHAR(128) NOT NULL,
    "note" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "device_groups_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "devices" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "rustdesk_id" VARCHAR(32) NOT NULL,
    "uuid" BYTEA,
    "pk" BYTEA,
    "hostname" VARCHAR(255),
    "os" VARCHAR(255),
    "version" VARCHAR(64),
    "os_username" VARCHAR(255),
    "cpu" VARCHAR(255),
    "memory" VARCHAR(64),
    "last_ip" VARCHAR(45),
    "last_seen_at" TIMESTAMPTZ(3),
    "tags" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "note" TEXT,
    "group_id" UUID,
    "owner_id" UUID,
    "admission" "device_admission" NOT NULL DEFAULT 'admitted',
    "admitted_at" TIMESTAMPTZ(3),
    "admitted_by" VARCHAR(128),
    "registration_token_id" UUID,
    "banned" BOOLEAN NOT NULL DEFAULT false,
    "ban_reason" VARCHAR(512),
    "banned_at" TIMESTAMPTZ(3),
    "banned_by" VARCHAR(128),
    "deleted_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "devices_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "device_links" (
    "device_id" UUID NOT NULL,
    "linked_device_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "device_links_pkey" PRIMARY KEY ("device_id","linked_device_id")
);

-- CreateTable
CREATE TABLE "registration_tokens" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" VARCHAR(128) NOT NULL,
    "prefix" VARCHAR(32) NOT NULL,
    "token_hash" BYTEA NOT NULL,
    "max_uses" INTEGER,
    "use_count" INTEGER NOT NULL DEFAULT 0,
    "expires_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),
    "created_by_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "registration_tokens_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "address_books" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "owner_id" UUID NOT NULL,
    "kind" "address_book_kind" NOT NULL,
    "name" VARCHAR(128) NOT NULL,
    "note" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "address_books_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "address_book_peers" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "address_book_id" UUID NOT NULL,
    "rustdesk_id" VARCHAR(32) NOT NULL,
    "alias" VARCHAR(255),
    "hash" TEXT,
    "password" TEXT,
    "username" VARCHAR(255),
    "hostname" VARCHAR(255),
    "platform" VARCHAR(64),
    "tags" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "note" TEXT,
    "force_always_relay" BOOLEAN NOT NULL DEFAULT false,
    "rdp_port" VARCHAR(16),
    "rdp_username" VARCHAR(255),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "address_book_peers_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "address_book_tags" (
    "address_book_id" UUID NOT NULL,
    "name" VARCHAR(128) NOT NULL,
    "color" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "address_book_tags_pkey" PRIMARY KEY ("address_book_id","name")
);

-- CreateTable
CREATE TABLE "address_book_rules" (
    "address_book_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "rule" INTEGER NOT NULL,

    CONSTRAINT "address_book_rules_pkey" PRIMARY KEY ("address_book_id","user_id")
);

-- CreateTable
CREATE TABLE "connection_audits" (
    "id" BIGSERIAL NOT NULL,
    "rustdesk_id" VARCHAR(32) NOT NULL,
    "conn_id" BIGINT,
    "session_id" VARCHAR(64),
    "action" VARCHAR(32) NOT NULL,
    "ip" VARCHAR(64),
    "peer_id" VARCHAR(32),
    "peer_name" VARCHAR(255),
    "conn_type" INTEGER,
    "note" TEXT,
    "details" JSONB NOT NULL DEFAULT '{}',
    "nonce" VARCHAR(128),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "connection_audits_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "file_audits" (
    "id" BIGSERIAL NOT NULL,
    "rustdesk_id" VARCHAR(32) NOT NULL,
    "peer_id" VARCHAR(32),
    "conn_id" BIGINT,
    "direction" INTEGER NOT NULL,
    "path" TEXT NOT NULL,
    "is_file" BOOLEAN NOT NULL,
    "info" JSONB NOT NULL DEFAULT '{}',
    "nonce" VARCHAR(128),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "file_audits_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "alarm_audits" (
    "id" BIGSERIAL NOT NULL,
    "rustdesk_id" VARCHAR(32) NOT NULL,
    "alarm_type" INTEGER NOT NULL,
    "info" JSONB NOT NULL DEFAULT '{}',
    "conn_id" BIGINT,
    "nonce" VARCHAR(128),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "alarm_audits_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "settings" (
    "key" VARCHAR(64) NOT NULL,
    "value" JSONB NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_by" VARCHAR(128),

    CONSTRAINT "settings_pkey" PRIMARY KEY ("key")
);

-- CreateTable
CREATE TABLE "audit_entries" (
    "seq" BIGINT NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL,
    "actor_type" VARCHAR(16) NOT NULL,
    "actor_id" VARCHAR(128),
    "action" VARCHAR(64) NOT NULL,
    "target_type" VARCHAR(32),
    "target_id" VARCHAR(128),
    "ip" VARCHAR(45),
    "details" JSONB NOT NULL DEFAULT '{}',
    "key_id" VARCHAR(32) NOT NULL,
    "prev_hash" BYTEA NOT NULL,
    "hash" BYTEA NOT NULL,

    CONSTRAINT "audit_entries_pkey" PRIMARY KEY ("seq")
);

-- CreateIndex
CREATE UNIQUE INDEX "users_username_key" ON "users"("username");

-- CreateIndex
CREATE INDEX "users_role_idx" ON "users"("role");

-- CreateIndex
CREATE UNIQUE INDEX "recovery_codes_user_id_code_hash_key" ON "recovery_codes"("user_id", "code_hash");

-- CreateIndex
CREATE UNIQUE INDEX "sessions_token_hash_key" ON "sessions"("token_hash");

-- CreateIndex
CREATE INDEX "sessions_user_id_idx" ON "sessions"("user_id");

-- CreateIndex
CREATE INDEX "sessions_expires_at_idx" ON "sessions"("expires_at");

-- CreateIndex
CREATE UNIQUE INDEX "refresh_tokens_token_hash_key" ON "refresh_tokens"("token_hash");

-- CreateIndex
CREATE INDEX "refresh_tokens_user_id_idx" ON "refresh_tokens"("user_id");

-- CreateIndex
CREATE INDEX "refresh_tokens_family_id_idx" ON "refresh_tokens"("family_id");

-- CreateIndex
CREATE UNIQUE INDEX "api_keys_prefix_key" ON "api_keys"("prefix");

-- CreateIndex
CREATE INDEX "api_keys_created_by_id_idx" ON "api_keys"("created_by_id");

-- CreateIndex
CREATE UNIQUE INDEX "device_groups_name_key" ON "device_groups"("name");

-- CreateIndex
CREATE UNIQUE INDEX "devices_rustdesk_id_key" ON "devices"("rustdesk_id");

-- CreateIndex
CREATE INDEX "devices_rustdesk_id_trgm_idx" ON "devices" USING GIN ("rustdesk_id" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "devices_hostname_trgm_idx" ON "devices" USING GIN ("hostname" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "devices_tags_idx" ON "devices" USING GIN ("tags");

-- CreateIndex
CREATE INDEX "devices_last_seen_at_idx" ON "devices"("last_seen_at");

-- CreateIndex
CREATE INDEX "devices_group_id_idx" ON "devices"("group_id");

-- CreateIndex
CREATE INDEX "devices_owner_id_idx" ON "devices"("owner_id");

-- CreateIndex
CREATE INDEX "devices_admission_idx" ON "devices"("admission");

-- CreateIndex
CREATE INDEX "devices_banned_idx" ON "devices"("banned");

-- CreateIndex
CREATE INDEX "devices_deleted_at_idx" ON "devices"("deleted_at");

-- CreateIndex
CREATE INDEX "device_links_linked_device_id_idx" ON "device_links"("linked_device_id");

-- CreateIndex
CREATE UNIQUE INDEX "registration_tokens_prefix_key" ON "registration_tokens"("prefix");

-- CreateIndex
CREATE UNIQUE INDEX "address_books_owner_id_kind_name_key" ON "address_books"("owner_id", "kind", "name");

-- CreateIndex
CREATE UNIQUE INDEX "address_book_peers_address_book_id_rustdesk_id_key" ON "address_book_peers"("address_book_id", "rustdesk_id");

-- CreateIndex
CREATE INDEX "address_book_rules_user_id_idx" ON "address_book_rules"("user_id");

-- CreateIndex
CREATE INDEX "connection_audits_rustdesk_id_created_at_idx" ON "connection_audits"("rustdesk_id", "created_at");

-- CreateIndex
CREATE INDEX "connection_audits_created_at_idx" ON "connection_audits"("created_at");

-- CreateIndex
CREATE UNIQUE INDEX "connection_audits_rustdesk_id_nonce_key" ON "connection_audits"("rustdesk_id", "nonce");

-- CreateIndex
CREATE INDEX "file_audits_rustdesk_id_created_at_idx" ON "file_audits"("rustdesk_id", "created_at");

-- CreateIndex
CREATE INDEX "file_audits_created_at_idx" ON "file_audits"("created_at");

-- CreateIndex
CREATE UNIQUE INDEX "file_audits_rustdesk_id_nonce_key" ON "file_audits"("rustdesk_id", "nonce");

-- CreateIndex
CREATE INDEX "alarm_audits_rustdesk_id_created_at_idx" ON "alarm_audits"("rustdesk_id", "created_at");

-- CreateIndex
CREATE INDEX "alarm_audits_created_at_idx" ON "alarm_audits"("created_at");

-- CreateIndex
CREATE UNIQUE INDEX "alarm_audits_rustdesk_id_nonce_key" ON "alarm_audits"("rustdesk_id", "nonce");

-- CreateIndex
CREATE INDEX "audit_entries_at_idx" ON "audit_entries"("at");

-- CreateIndex
CREATE INDEX "audit_entries_actor_id_at_idx" ON "audit_entries"("actor_id", "at");

-- CreateIndex
CREATE INDEX "audit_entries_action_at_idx" ON "audit_entries"("action", "at");

-- CreateIndex
CREATE INDEX "audit_entries_target_type_target_id_idx" ON "audit_entries"("target_type", "target_id");

-- AddForeignKey
ALTER TABLE "recovery_codes" ADD CONSTRAINT "recovery_codes_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "refresh_tokens" ADD CONSTRAINT "refresh_tokens_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_created_by_id_fkey" FOREIGN KEY ("created_by_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "devices" ADD CONSTRAINT "devices_group_id_fkey" FOREIGN KEY ("group_id") REFERENCES "device_groups"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "devices" ADD CONSTRAINT "devices_owner_id_fkey" FOREIGN KEY ("owner_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "devices" ADD CONSTRAINT "devices_registration_token_id_fkey" FOREIGN KEY ("registration_token_id") REFERENCES "registration_tokens"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "device_links" ADD CONSTRAINT "device_links_device_id_fkey" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "device_links" ADD CONSTRAINT "device_links_linked_device_id_fkey" FOREIGN KEY ("linked_device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "registration_tokens" ADD CONSTRAINT "registration_tokens_created_by_id_fkey" FOREIGN KEY ("created_by_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "address_books" ADD CONSTRAINT "address_books_owner_id_fkey" FOREIGN KEY ("owner_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "address_book_peers" ADD CONSTRAINT "address_book_peers_address_book_id_fkey" FOREIGN KEY ("address_book_id") REFERENCES "address_books"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "address_book_tags" ADD CONSTRAINT "address_book_tags_address_book_id_fkey" FOREIGN KEY ("address_book_id") REFERENCES "address_books"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "address_book_rules" ADD CONSTRAINT "address_book_rules_address_book_id_fkey" FOREIGN KEY ("address_book_id") REFERENCES "address_books"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "address_book_rules" ADD CONSTRAINT "address_book_rules_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
