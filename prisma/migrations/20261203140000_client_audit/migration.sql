-- Audit reported by RustDesk clients (issue 12, docs/client-api.md §7). The tables of the init
-- migration were never written; they are replaced by shapes that fit what the client sends.

DROP TABLE "connection_audits";
DROP TABLE "file_audits";
DROP TABLE "alarm_audits";

-- One row per connection: the open, authorised and close records and the controlling side's note
-- all update it. `nonces` holds the nonces of the records applied, so a retried record is a no-op.
CREATE TABLE "connection_audits" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "device_id" UUID NOT NULL,
    "rustdesk_id" VARCHAR(32) NOT NULL,
    "conn_id" INTEGER NOT NULL,
    "session_id" DECIMAL(20,0) NOT NULL,
    "ip" VARCHAR(64),
    "peer_id" VARCHAR(255),
    "peer_name" VARCHAR(255),
    "conn_type" INTEGER,
    "primary_auth" INTEGER,
    "two_factor" INTEGER,
    "user_id" UUID,
    "username" VARCHAR(128),
    "note" TEXT,
    "opened_at" TIMESTAMPTZ(3),
    "authorized_at" TIMESTAMPTZ(3),
    "closed_at" TIMESTAMPTZ(3),
    "nonces" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "connection_audits_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "file_audits" (
    "id" BIGSERIAL NOT NULL,
    "device_id" UUID NOT NULL,
    "rustdesk_id" VARCHAR(32) NOT NULL,
    "peer_id" VARCHAR(255),
    "conn_id" INTEGER,
    "direction" INTEGER NOT NULL,
    "path" TEXT NOT NULL,
    "is_file" BOOLEAN NOT NULL,
    "info" JSONB NOT NULL DEFAULT '{}',
    "user_id" UUID,
    "username" VARCHAR(128),
    "nonce" VARCHAR(64),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "file_audits_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "alarm_audits" (
    "id" BIGSERIAL NOT NULL,
    "device_id" UUID NOT NULL,
    "rustdesk_id" VARCHAR(32) NOT NULL,
    "alarm_type" INTEGER NOT NULL,
    "info" JSONB NOT NULL DEFAULT '{}',
    "conn_id" INTEGER,
    "user_id" UUID,
    "username" VARCHAR(128),
    "nonce" VARCHAR(64),
    "audit_seq" BIGINT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "alarm_audits_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "connection_audits_device_id_session_id_conn_id_key" ON "connection_audits"("device_id", "session_id", "conn_id");

CREATE INDEX "connection_audits_created_at_idx" ON "connection_audits"("created_at");

CREATE INDEX "connection_audits_rustdesk_id_created_at_idx" ON "connection_audits"("rustdesk_id", "created_at");

CREATE INDEX "connection_audits_user_id_created_at_idx" ON "connection_audits"("user_id", "created_at");

CREATE UNIQUE INDEX "file_audits_device_id_nonce_key" ON "file_audits"("device_id", "nonce");

CREATE INDEX "file_audits_created_at_idx" ON "file_audits"("created_at");

CREATE INDEX "file_audits_rustdesk_id_created_at_idx" ON "file_audits"("rustdesk_id", "created_at");

CREATE UNIQUE INDEX "alarm_audits_device_id_nonce_key" ON "alarm_audits"("device_id", "nonce");

CREATE INDEX "alarm_audits_created_at_idx" ON "alarm_audits"("created_at");

CREATE INDEX "alarm_audits_rustdesk_id_created_at_idx" ON "alarm_audits"("rustdesk_id", "created_at");
