-- The console's device list (issue 13): filter by OS family, sort by id, hostname, OS, last seen or
-- creation with keyset paging, and search id, hostname, OS username and note. Each sort key gets a
-- (key, rustdesk_id) btree, so a page is one index range scan whatever its depth and ties are broken
-- by the unique id; the search gets trigram indexes on the two columns that had none.

-- The OS family, derived from the free-form os string a device reports ("Windows / 11",
-- "Linux / Ubuntu 22.04", "Mac OS / 14.1", "Android / 13", "iOS / 17.2", or a bare name). Rules, in
-- order, case-insensitive: android; ios / ipados / iphone / ipad as a word; windows; mac os / macos /
-- os x / darwin; linux or a known distribution's name as a word; anything else 'other'; no os
-- (NULL or blank) NULL. Android before linux, since Android strings may name the kernel.
CREATE FUNCTION "device_os_family"(os text) RETURNS varchar(16)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN os IS NULL OR btrim(os) = '' THEN NULL
    WHEN os ~* 'android' THEN 'android'
    WHEN os ~* '\m(ios|ipados|iphone|ipad)\M' THEN 'ios'
    WHEN os ~* 'windows' THEN 'windows'
    WHEN os ~* 'mac ?os|\mos ?x\M|darwin' THEN 'macos'
    WHEN os ~* 'linux|\m(ubuntu|debian|fedora|centos|rhel|red ?hat|suse|opensuse|arch|manjaro|mint|alpine|raspbian|gentoo|rocky|almalinux|kali|nixos|deepin|elementary|zorin|endeavouros|slackware|mageia|uos|kylin)\M' THEN 'linux'
    ELSE 'other'
  END
$$;

-- A stored column (not a generated one: Prisma cannot declare those) kept by a trigger, so every
-- writer of os (the client API's sysinfo, seeds, tests) gets it right without knowing the rule.
ALTER TABLE "devices" ADD COLUMN "os_family" VARCHAR(16);

CREATE FUNCTION "devices_set_os_family"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.os_family := device_os_family(NEW.os);
  RETURN NEW;
END
$$;

CREATE TRIGGER "devices_os_family"
  BEFORE INSERT OR UPDATE OF "os", "os_family" ON "devices"
  FOR EACH ROW EXECUTE FUNCTION "devices_set_os_family"();

UPDATE "devices" SET "os_family" = device_os_family("os") WHERE "os" IS NOT NULL;

-- Sort keys, each with the id as tie-breaker (keyset paging: WHERE (key, id) > (...) ORDER BY key, id).
DROP INDEX "devices_last_seen_at_idx";
CREATE INDEX "devices_last_seen_at_rustdesk_id_idx" ON "devices"("last_seen_at", "rustdesk_id");
CREATE INDEX "devices_hostname_rustdesk_id_idx" ON "devices"("hostname", "rustdesk_id");
CREATE INDEX "devices_os_rustdesk_id_idx" ON "devices"("os", "rustdesk_id");
CREATE INDEX "devices_created_at_rustdesk_id_idx" ON "devices"("created_at", "rustdesk_id");
CREATE INDEX "devices_os_family_idx" ON "devices"("os_family");

-- Search (q): id and hostname have trigram indexes since the first migration.
CREATE INDEX "devices_os_username_trgm_idx" ON "devices" USING GIN ("os_username" gin_trgm_ops);
CREATE INDEX "devices_note_trgm_idx" ON "devices" USING GIN ("note" gin_trgm_ops);
