-- Access rules for the RustDesk client's group tab (issue 12 item 4): a user group may see the
-- devices of a device group, or the members of another user group and the devices they own.
-- CreateTable
CREATE TABLE "user_group_device_group_access" (
    "user_group_id" UUID NOT NULL,
    "device_group_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "user_group_device_group_access_pkey" PRIMARY KEY ("user_group_id","device_group_id")
);

-- CreateTable
CREATE TABLE "user_group_user_group_access" (
    "user_group_id" UUID NOT NULL,
    "target_user_group_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "user_group_user_group_access_pkey" PRIMARY KEY ("user_group_id","target_user_group_id")
);

-- CreateIndex
CREATE INDEX "user_group_device_group_access_device_group_id_idx" ON "user_group_device_group_access"("device_group_id");

-- CreateIndex
CREATE INDEX "user_group_user_group_access_target_user_group_id_idx" ON "user_group_user_group_access"("target_user_group_id");

-- AddForeignKey
ALTER TABLE "user_group_device_group_access" ADD CONSTRAINT "user_group_device_group_access_user_group_id_fkey" FOREIGN KEY ("user_group_id") REFERENCES "user_groups"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "user_group_device_group_access" ADD CONSTRAINT "user_group_device_group_access_device_group_id_fkey" FOREIGN KEY ("device_group_id") REFERENCES "device_groups"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "user_group_user_group_access" ADD CONSTRAINT "user_group_user_group_access_user_group_id_fkey" FOREIGN KEY ("user_group_id") REFERENCES "user_groups"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "user_group_user_group_access" ADD CONSTRAINT "user_group_user_group_access_target_user_group_id_fkey" FOREIGN KEY ("target_user_group_id") REFERENCES "user_groups"("id") ON DELETE CASCADE ON UPDATE CASCADE;
