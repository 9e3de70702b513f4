-- Issue 10 item 27: recovery codes are an HMAC under a key derived from DATA_ENCRYPTION_KEY, and
-- key_id names that key. Rows of before have none: the api keys them in place at start (an HMAC
-- over the stored SHA-256), since the codes themselves are not known.
-- AlterTable
ALTER TABLE "recovery_codes" ADD COLUMN     "key_id" VARCHAR(32);
