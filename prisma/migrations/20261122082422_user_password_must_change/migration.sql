-- AlterTable
ALTER TABLE "users" ADD COLUMN     "password_must_change" BOOLEAN NOT NULL DEFAULT false;

-- CreateIndex
CREATE INDEX "devices_registration_token_id_idx" ON "devices"("registration_token_id");
