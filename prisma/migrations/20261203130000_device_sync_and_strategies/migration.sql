-- Device sync and strategies (issue 12, docs/client-api.md §6): heartbeat state, operator-ended
-- connections waiting for the next heartbeat, and strategies with their assignments.

-- CreateTable
CREATE TABLE "device_sync_states" (
    "device_id" UUID NOT NULL,
    "last_heartbeat_at" TIMESTAMPTZ(3),
    "conns" INTEGER[] DEFAULT ARRAY[]::INTEGER[],
    "client_version" BIGINT,
    "sysinfo_hash" VARCHAR(64),
    "sysinfo_at" TIMESTAMPTZ(3),

    CONSTRAINT "device_sync_states_pkey" PRIMARY KEY ("device_id")
);

-- CreateTable
CREATE TABLE "device_disconnects" (
    "id" BIGSERIAL NOT NULL,
    "device_id" UUID NOT NULL,
    "conn_id" INTEGER NOT NULL,
    "requested_by" VARCHAR(128) NOT NULL,
    "requested_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "delivered_at" TIMESTAMPTZ(3),

    CONSTRAINT "device_disconnects_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "strategies" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" VARCHAR(128) NOT NULL,
    "note" TEXT,
    "options" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "strategies_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "strategy_assignments" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "strategy_id" UUID NOT NULL,
    "device_id" UUID,
    "user_id" UUID,
    "device_group_id" UUID,
    "assigned_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "strategy_assignments_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "device_disconnects_device_id_idx" ON "device_disconnects"("device_id");

-- CreateIndex
CREATE INDEX "device_disconnects_delivered_at_expires_at_idx" ON "device_disconnects"("delivered_at", "expires_at");

-- CreateIndex
CREATE UNIQUE INDEX "strategies_name_key" ON "strategies"("name");

-- CreateIndex
CREATE UNIQUE INDEX "strategy_assignments_device_id_key" ON "strategy_assignments"("device_id");

-- CreateIndex
CREATE UNIQUE INDEX "strategy_assignments_user_id_key" ON "strategy_assignments"("user_id");

-- CreateIndex
CREATE UNIQUE INDEX "strategy_assignments_device_group_id_key" ON "strategy_assignments"("device_group_id");

-- CreateIndex
CREATE INDEX "strategy_assignments_strategy_id_idx" ON "strategy_assignments"("strategy_id");

-- AddForeignKey
ALTER TABLE "device_sync_states" ADD CONSTRAINT "device_sync_states_device_id_fkey" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "device_disconnects" ADD CONSTRAINT "device_disconnects_device_id_fkey" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "strategy_assignments" ADD CONSTRAINT "strategy_assignments_strategy_id_fkey" FOREIGN KEY ("strategy_id") REFERENCES "strategies"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "strategy_assignments" ADD CONSTRAINT "strategy_assignments_device_id_fkey" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "strategy_assignments" ADD CONSTRAINT "strategy_assignments_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "strategy_assignments" ADD CONSTRAINT "strategy_assignments_device_group_id_fkey" FOREIGN KEY ("device_group_id") REFERENCES "device_groups"("id") ON DELETE CASCADE ON UPDATE CASCADE;
