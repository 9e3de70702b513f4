-- Least-privilege runtime roles (docs/architecture.md, "Database roles"). Migrations keep running as
-- the owner; the api and signal connect as these roles, which own nothing and cannot change the schema.
--
-- Roles are cluster-wide, so several databases of one cluster may migrate at once: a concurrent
-- CREATE ROLE fails with duplicate_object or unique_violation, and either means the role is there.
-- An owner without CREATEROLE (some managed services) skips the roles with a warning; the grants
-- below then do nothing, and the migrate CLI refuses to set a password for a role that does not
-- exist. LOGIN without a password: only trust (local) authentication lets it in until the migrate
-- CLI sets one (API_DATABASE_URL / SIGNAL_DATABASE_URL).
DO $$
DECLARE
  runtime_role text;
BEGIN
  FOREACH runtime_role IN ARRAY ARRAY['switchboard_api', 'switchboard_signal'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = runtime_role) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I LOGIN', runtime_role);
      EXCEPTION
        WHEN duplicate_object OR unique_violation THEN NULL;
        WHEN insufficient_privilege THEN
          RAISE WARNING 'cannot create role % (the migrating role lacks CREATEROLE); create it by hand', runtime_role;
      END;
    END IF;
  END LOOP;
END $$;

-- The api: everything it reads and writes, but the audit chain is append-only (no UPDATE, DELETE or
-- TRUNCATE on audit_entries) and the migration history is none of its business.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'switchboard_api') THEN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO switchboard_api', current_schema());
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO switchboard_api', current_schema());
    EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO switchboard_api', current_schema());
    REVOKE ALL ON TABLE "_prisma_migrations" FROM switchboard_api;
    REVOKE ALL ON TABLE "audit_entries" FROM switchboard_api;
    GRANT SELECT, INSERT ON TABLE "audit_entries" TO switchboard_api;
    -- Tables and sequences later migrations create (run by this same owner) are the api's too; a
    -- migration that must restrict one revokes in its own script.
    EXECUTE format(
      'ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO switchboard_api',
      current_schema());
    EXECUTE format(
      'ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT ON SEQUENCES TO switchboard_api',
      current_schema());
  END IF;
END $$;

-- Signal: the device rows it admits, registers and renames (libs/data-access devices/device.sql.ts),
-- and the registration policy. Nothing else: no users, credentials, sessions or audit. It may update
-- only what a device reports about itself, so even a compromised signal cannot lift a ban, a
-- revocation or a deletion, or admit a pending device; a migration that gives signal another column
-- to write grants it here.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'switchboard_signal') THEN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO switchboard_signal', current_schema());
    GRANT SELECT, INSERT ON TABLE "devices" TO switchboard_signal;
    GRANT UPDATE ("rustdesk_id", "uuid", "pk", "last_ip", "last_seen_at", "updated_at")
      ON TABLE "devices" TO switchboard_signal;
    GRANT SELECT ON TABLE "settings" TO switchboard_signal;
  END IF;
END $$;
