-- edgesync PostgreSQL migration v1 -> v2 (generated; idempotent)
ALTER TABLE "projects" ADD COLUMN IF NOT EXISTS "color" text;
CREATE OR REPLACE FUNCTION "projects__es_dw"() RETURNS trigger LANGUAGE plpgsql AS $es$
DECLARE
  ms bigint := floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint;
  ctr int := 0;
  stamp text;
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF current_setting('edgesync.purge', true) = 'on' THEN RETURN OLD; END IF;
    UPDATE "projects" SET "_es_deleted" = true WHERE "id" = OLD."id";
    RETURN NULL;
  END IF;
  IF TG_OP = 'INSERT' THEN
    IF NEW."_es_origin" IS NOT NULL THEN RETURN NEW; END IF;
  ELSIF NEW."_es_version" IS DISTINCT FROM OLD."_es_version" OR NOT (NEW."id" IS DISTINCT FROM OLD."id" OR NEW."owner_id" IS DISTINCT FROM OLD."owner_id" OR NEW."name" IS DISTINCT FROM OLD."name" OR NEW."archived" IS DISTINCT FROM OLD."archived" OR NEW."updated_at" IS DISTINCT FROM OLD."updated_at" OR NEW."color" IS DISTINCT FROM OLD."color" OR NEW."_es_deleted" IS DISTINCT FROM OLD."_es_deleted") THEN
    RETURN NEW;
  END IF;
  IF TG_OP = 'UPDATE' AND (NEW."id" IS DISTINCT FROM OLD."id" OR NEW."owner_id" IS DISTINCT FROM OLD."owner_id") THEN
    RAISE EXCEPTION USING MESSAGE = 'edgesync: changing the primary key or owner of a synced row of projects is refused (devices would keep the old row); delete it and insert a new one', ERRCODE = 'check_violation';
  END IF;
  IF TG_OP = 'UPDATE' AND OLD."_es_hlc" ~ '^[0-9]{15}:[0-9]{5}:' THEN
    IF substr(OLD."_es_hlc", 1, 15)::bigint >= ms THEN
      ms := substr(OLD."_es_hlc", 1, 15)::bigint;
      ctr := substr(OLD."_es_hlc", 17, 5)::int + 1;
      IF ctr > 99999 THEN ms := ms + 1; ctr := 0; END IF;
    END IF;
  END IF;
  stamp := lpad((ms)::text, 15, '0') || ':' || lpad((ctr)::text, 5, '0') || ':server';
  NEW."_es_version" := nextval('edgesync_version_seq');
  NEW."_es_xid" := pg_current_xact_id();
  NEW."_es_hlc" := stamp;
  NEW."_es_origin" := NULL;
  NEW."_es_updated_at" := now();
  IF TG_OP = 'INSERT' THEN
    NEW."_es_deleted" := false;
  END IF;
  NEW."_es_field_hlc" := '{}'::jsonb;
  RETURN NEW;
END $es$;
DO $es$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = '"projects"'::regclass AND tgname = 'projects__es_dw') THEN CREATE TRIGGER "projects__es_dw" BEFORE INSERT OR UPDATE OR DELETE ON "projects" FOR EACH ROW EXECUTE FUNCTION "projects__es_dw"(); END IF; END $es$;
CREATE TABLE IF NOT EXISTS "tags" (
  "id" text NOT NULL,
  "owner_id" text NOT NULL,
  "label" text NOT NULL,
  "_es_version" bigint NOT NULL DEFAULT nextval('edgesync_version_seq'),
  "_es_xid" xid8 NOT NULL DEFAULT pg_current_xact_id(),
  "_es_deleted" boolean NOT NULL DEFAULT false,
  "_es_hlc" text COLLATE "C" NOT NULL DEFAULT '',
  "_es_field_hlc" jsonb NOT NULL DEFAULT '{}',
  "_es_origin" text,
  "_es_updated_at" timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY ("id")
);
ALTER TABLE "tags" ADD COLUMN IF NOT EXISTS "_es_version" bigint;
ALTER TABLE "tags" ADD COLUMN IF NOT EXISTS "_es_xid" xid8;
ALTER TABLE "tags" ADD COLUMN IF NOT EXISTS "_es_deleted" boolean NOT NULL DEFAULT false;
ALTER TABLE "tags" ADD COLUMN IF NOT EXISTS "_es_hlc" text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE "tags" ADD COLUMN IF NOT EXISTS "_es_field_hlc" jsonb NOT NULL DEFAULT '{}';
ALTER TABLE "tags" ADD COLUMN IF NOT EXISTS "_es_origin" text;
ALTER TABLE "tags" ADD COLUMN IF NOT EXISTS "_es_updated_at" timestamptz NOT NULL DEFAULT now();
DO $es$ BEGIN IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '"tags"'::regclass AND attname IN ('_es_version', '_es_xid') AND NOT attnotnull) THEN
  UPDATE "tags" SET "_es_version" = COALESCE("_es_version", nextval('edgesync_version_seq')), "_es_xid" = COALESCE("_es_xid", pg_current_xact_id()), "_es_hlc" = CASE WHEN "_es_hlc" = '' THEN lpad((floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint)::text, 15, '0') || ':' || lpad((0)::text, 5, '0') || ':server' ELSE "_es_hlc" END WHERE "_es_version" IS NULL OR "_es_xid" IS NULL;
  ALTER TABLE "tags" ALTER COLUMN "_es_version" SET DEFAULT nextval('edgesync_version_seq'), ALTER COLUMN "_es_version" SET NOT NULL, ALTER COLUMN "_es_xid" SET DEFAULT pg_current_xact_id(), ALTER COLUMN "_es_xid" SET NOT NULL;
END IF; END $es$;
DO $es$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = '"tags"'::regclass AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL AND (SELECT array_agg(a.attname::text ORDER BY a.attname::text COLLATE "C") FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)) = ARRAY['id']::text[]) THEN RAISE EXCEPTION USING MESSAGE = 'edgesync: table tags needs a primary key (or unique index) on exactly the schema''s key columns', ERRCODE = 'invalid_table_definition'; END IF; END $es$;
CREATE INDEX IF NOT EXISTS "tags__es_pull" ON "tags" ("owner_id", "_es_xid", "_es_version");
CREATE OR REPLACE FUNCTION "tags__es_dw"() RETURNS trigger LANGUAGE plpgsql AS $es$
DECLARE
  ms bigint := floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint;
  ctr int := 0;
  stamp text;
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF current_setting('edgesync.purge', true) = 'on' THEN RETURN OLD; END IF;
    UPDATE "tags" SET "_es_deleted" = true WHERE "id" = OLD."id";
    RETURN NULL;
  END IF;
  IF TG_OP = 'INSERT' THEN
    IF NEW."_es_origin" IS NOT NULL THEN RETURN NEW; END IF;
  ELSIF NEW."_es_version" IS DISTINCT FROM OLD."_es_version" OR NOT (NEW."id" IS DISTINCT FROM OLD."id" OR NEW."owner_id" IS DISTINCT FROM OLD."owner_id" OR NEW."label" IS DISTINCT FROM OLD."label" OR NEW."_es_deleted" IS DISTINCT FROM OLD."_es_deleted") THEN
    RETURN NEW;
  END IF;
  IF TG_OP = 'UPDATE' AND (NEW."id" IS DISTINCT FROM OLD."id" OR NEW."owner_id" IS DISTINCT FROM OLD."owner_id") THEN
    RAISE EXCEPTION USING MESSAGE = 'edgesync: changing the primary key or owner of a synced row of tags is refused (devices would keep the old row); delete it and insert a new one', ERRCODE = 'check_violation';
  END IF;
  IF TG_OP = 'UPDATE' AND OLD."_es_hlc" ~ '^[0-9]{15}:[0-9]{5}:' THEN
    IF substr(OLD."_es_hlc", 1, 15)::bigint >= ms THEN
      ms := substr(OLD."_es_hlc", 1, 15)::bigint;
      ctr := substr(OLD."_es_hlc", 17, 5)::int + 1;
      IF ctr > 99999 THEN ms := ms + 1; ctr := 0; END IF;
    END IF;
  END IF;
  stamp := lpad((ms)::text, 15, '0') || ':' || lpad((ctr)::text, 5, '0') || ':server';
  NEW."_es_version" := nextval('edgesync_version_seq');
  NEW."_es_xid" := pg_current_xact_id();
  NEW."_es_hlc" := stamp;
  NEW."_es_origin" := NULL;
  NEW."_es_updated_at" := now();
  IF TG_OP = 'INSERT' THEN
    NEW."_es_deleted" := false;
  END IF;
  NEW."_es_field_hlc" := '{}'::jsonb;
  RETURN NEW;
END $es$;
DO $es$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = '"tags"'::regclass AND tgname = 'tags__es_dw') THEN CREATE TRIGGER "tags__es_dw" BEFORE INSERT OR UPDATE OR DELETE ON "tags" FOR EACH ROW EXECUTE FUNCTION "tags__es_dw"(); END IF; END $es$;
CREATE OR REPLACE FUNCTION "tags__es_n"() RETURNS trigger LANGUAGE plpgsql AS $es$
DECLARE
  users text;
  seen text;
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT json_agg(DISTINCT a.u)::text INTO users FROM (SELECT "owner_id"::text AS u FROM es_new) a WHERE a.u IS NOT NULL;
  ELSIF TG_OP = 'UPDATE' THEN
    SELECT json_agg(DISTINCT a.u)::text INTO users FROM (SELECT "owner_id"::text AS u FROM es_new UNION ALL SELECT "owner_id"::text AS u FROM es_old) a WHERE a.u IS NOT NULL;
  ELSE
    SELECT json_agg(DISTINCT a.u)::text INTO users FROM (SELECT "owner_id"::text AS u FROM es_old) a WHERE a.u IS NOT NULL;
  END IF;
  IF users IS NULL THEN RETURN NULL; END IF;
  IF octet_length(users) + 6 > 7900 THEN
    PERFORM pg_notify('edgesync', '{"all":true}');
  ELSE
    PERFORM pg_notify('edgesync', '{"u":' || users || '}');
  END IF;
  seen := current_setting('edgesync.poke', true);
  IF seen IS DISTINCT FROM 'all' THEN
    IF seen IS NOT NULL AND seen <> '' THEN
      SELECT json_agg(DISTINCT v)::text INTO users FROM (SELECT json_array_elements_text(seen::json) AS v UNION SELECT json_array_elements_text(users::json)) es_v;
    END IF;
    PERFORM set_config('edgesync.poke', CASE WHEN octet_length(users) + 6 > 7900 THEN 'all' ELSE users END, true);
  END IF;
  RETURN NULL;
END $es$;
DROP TRIGGER IF EXISTS "tags__es_ni" ON "tags";
CREATE TRIGGER "tags__es_ni" AFTER INSERT ON "tags" REFERENCING NEW TABLE AS es_new FOR EACH STATEMENT EXECUTE FUNCTION "tags__es_n"();
DROP TRIGGER IF EXISTS "tags__es_nu" ON "tags";
CREATE TRIGGER "tags__es_nu" AFTER UPDATE ON "tags" REFERENCING OLD TABLE AS es_old NEW TABLE AS es_new FOR EACH STATEMENT EXECUTE FUNCTION "tags__es_n"();
DROP TRIGGER IF EXISTS "tags__es_nd" ON "tags";
CREATE TRIGGER "tags__es_nd" AFTER DELETE ON "tags" REFERENCING OLD TABLE AS es_old FOR EACH STATEMENT EXECUTE FUNCTION "tags__es_n"();
INSERT INTO "edgesync_schema" (id, version) VALUES (1, 2)
  ON CONFLICT (id) DO UPDATE SET version = GREATEST("edgesync_schema".version, EXCLUDED.version), applied_at = now();
