-- AlterTable
ALTER TABLE "users" ADD COLUMN     "logins_revoked_at" TIMESTAMPTZ(3);
