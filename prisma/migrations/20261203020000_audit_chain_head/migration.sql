-- CreateTable
CREATE TABLE "audit_chain_head" (
    "id" SMALLINT NOT NULL DEFAULT 1,
    "seq" BIGINT NOT NULL,
    "hash" BYTEA NOT NULL,
    "key_id" VARCHAR(32) NOT NULL,
    "mac" BYTEA NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "audit_chain_head_pkey" PRIMARY KEY ("id")
);

-- The api rewrites the head on every append (SELECT, INSERT, UPDATE through its default privileges);
-- it never removes it, so a stolen api connection cannot erase the record of how long the chain was.
DO $$ BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'switchboard_api') THEN
    GRANT SELECT, INSERT, UPDATE ON "audit_chain_head" TO switchboard_api;
    REVOKE DELETE, TRUNCATE ON "audit_chain_head" FROM switchboard_api;
  END IF;
END $$;
