-- edgesync PostgreSQL schema v1 (generated; idempotent)
CREATE SEQUENCE IF NOT EXISTS "edgesync_version_seq";
CREATE TABLE IF NOT EXISTS "edgesync_clients" (
  client_id text PRIMARY KEY,
  user_id text NOT NULL,
  last_seq bigint NOT NULL DEFAULT 0,
  last_results jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  seen_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS "edgesync_schema" (
  id integer PRIMARY KEY CHECK (id = 1),
  version bigint NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS "edgesync_conflicts" (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  user_id text NOT NULL,
  client_id text NOT NULL,
  table_name text NOT NULL,
  pk jsonb NOT NULL,
  policy text NOT NULL,
  outcome text NOT NULL,
  client_row jsonb,
  server_row jsonb
);
CREATE INDEX IF NOT EXISTS "edgesync_conflicts_user" ON "edgesync_conflicts" (user_id, id);
DO $$ BEGIN IF (SELECT version FROM "edgesync_schema" WHERE id = 1) > 1 THEN RAISE EXCEPTION 'edgesync: the database has a newer schema version than this server (v1); deploy the newer server'; END IF; END $$;
CREATE TABLE IF NOT EXISTS "projects" (
  "id" text NOT NULL,
  "owner_id" text NOT NULL,
  "name" text,
  "_es_version" bigint NOT NULL DEFAULT nextval('edgesync_version_seq'),
  "_es_xid" xid8 NOT NULL DEFAULT pg_current_xact_id(),
  "_es_deleted" boolean NOT NULL DEFAULT false,
  "_es_hlc" text COLLATE "C" NOT NULL DEFAULT '',
  "_es_field_hlc" jsonb NOT NULL DEFAULT '{}',
  "_es_origin" text,
  "_es_updated_at" timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY ("id")
);
ALTER TABLE "projects" ADD COLUMN IF NOT EXISTS "_es_version" bigint;
ALTER TABLE "projects" ADD COLUMN IF NOT EXISTS "_es_xid" xid8;
ALTER TABLE "projects" ADD COLUMN IF NOT EXISTS "_es_deleted" boolean NOT NULL DEFAULT false;
ALTER TABLE "projects" ADD COLUMN IF NOT EXISTS "_es_hlc" text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE "projects" ADD COLUMN IF NOT EXISTS "_es_field_hlc" jsonb NOT NULL DEFAULT '{}';
ALTER TABLE "projects" ADD COLUMN IF NOT EXISTS "_es_origin" text;
ALTER TABLE "projects" ADD COLUMN IF NOT EXISTS "_es_updated_at" timestamptz NOT NULL DEFAULT now();
DO $es$ BEGIN IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '"projects"'::regclass AND attname IN ('_es_version', '_es_xid') AND NOT attnotnull) THEN
  UPDATE "projects" SET "_es_version" = COALESCE("_es_version", nextval('edgesync_version_seq')), "_es_xid" = COALESCE("_es_xid", pg_current_xact_id()), "_es_hlc" = CASE WHEN "_es_hlc" = '' THEN lpad((floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint)::text, 15, '0') || ':' || lpad((0)::text, 5, '0') || ':server' ELSE "_es_hlc" END WHERE "_es_version" IS NULL OR "_es_xid" IS NULL;
  ALTER TABLE "projects" ALTER COLUMN "_es_version" SET DEFAULT nextval('edgesync_version_seq'), ALTER COLUMN "_es_version" SET NOT NULL, ALTER COLUMN "_es_xid" SET DEFAULT pg_current_xact_id(), ALTER COLUMN "_es_xid" SET NOT NULL;
END IF; END $es$;
DO $es$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = '"projects"'::regclass AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL AND (SELECT array_agg(a.attname::text ORDER BY a.attname::text COLLATE "C") FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)) = ARRAY['id']::text[]) THEN RAISE EXCEPTION USING MESSAGE = 'edgesync: table projects needs a primary key (or unique index) on exactly the schema''s key columns', ERRCODE = 'invalid_table_definition'; END IF; END $es$;
ALTER TABLE "projects" ADD COLUMN IF NOT EXISTS "name" text;
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
  ELSIF NEW."_es_version" IS DISTINCT FROM OLD."_es_version" OR NOT (NEW."id" IS DISTINCT FROM OLD."id" OR NEW."owner_id" IS DISTINCT FROM OLD."owner_id" OR NEW."name" IS DISTINCT FROM OLD."name" OR NEW."_es_deleted" IS DISTINCT FROM OLD."_es_deleted") THEN
    RETURN NEW;
  END IF;
  IF TG_OP = 'UPDATE' AND (NEW."id" IS DISTINCT FROM OLD."id" OR NEW."owner_id" IS DISTINCT FROM OLD."owner_id") THEN
    RAISE EXCEPTION USING MESSAGE = 'edgesync: changing the primary key, owner or scope of a synced row of projects is refused (devices would keep the old row); delete it and insert a new one', ERRCODE = 'check_violation';
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
CREATE OR REPLACE FUNCTION "projects__es_n"() RETURNS trigger LANGUAGE plpgsql AS $es$
DECLARE
  users text;
  seen text;
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT json_agg(DISTINCT a.u)::text INTO users FROM (SELECT es_m."user_id"::text AS u FROM "project_members" es_m JOIN es_new es_r ON es_m."project_id" = es_r."id" WHERE NOT es_m."_es_deleted") a WHERE a.u IS NOT NULL;
  ELSIF TG_OP = 'UPDATE' THEN
    SELECT json_agg(DISTINCT a.u)::text INTO users FROM (SELECT es_m."user_id"::text AS u FROM "project_members" es_m JOIN es_new es_r ON es_m."project_id" = es_r."id" WHERE NOT es_m."_es_deleted" UNION ALL SELECT es_m."user_id"::text AS u FROM "project_members" es_m JOIN es_old es_r ON es_m."project_id" = es_r."id" WHERE NOT es_m."_es_deleted") a WHERE a.u IS NOT NULL;
  ELSE
    SELECT json_agg(DISTINCT a.u)::text INTO users FROM (SELECT es_m."user_id"::text AS u FROM "project_members" es_m JOIN es_old es_r ON es_m."project_id" = es_r."id" WHERE NOT es_m."_es_deleted") a WHERE a.u IS NOT NULL;
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
DROP TRIGGER IF EXISTS "projects__es_ni" ON "projects";
CREATE TRIGGER "projects__es_ni" AFTER INSERT ON "projects" REFERENCING NEW TABLE AS es_new FOR EACH STATEMENT EXECUTE FUNCTION "projects__es_n"();
DROP TRIGGER IF EXISTS "projects__es_nu" ON "projects";
CREATE TRIGGER "projects__es_nu" AFTER UPDATE ON "projects" REFERENCING OLD TABLE AS es_old NEW TABLE AS es_new FOR EACH STATEMENT EXECUTE FUNCTION "projects__es_n"();
DROP TRIGGER IF EXISTS "projects__es_nd" ON "projects";
CREATE TRIGGER "projects__es_nd" AFTER DELETE ON "projects" REFERENCING OLD TABLE AS es_old FOR EACH STATEMENT EXECUTE FUNCTION "projects__es_n"();
CREATE TABLE IF NOT EXISTS "project_members" (
  "project_id" text NOT NULL,
  "user_id" text NOT NULL,
  "role" text NOT NULL,
  "added_by" text NOT NULL,
  "_es_version" bigint NOT NULL DEFAULT nextval('edgesync_version_seq'),
  "_es_xid" xid8 NOT NULL DEFAULT pg_current_xact_id(),
  "_es_deleted" boolean NOT NULL DEFAULT false,
  "_es_hlc" text COLLATE "C" NOT NULL DEFAULT '',
  "_es_field_hlc" jsonb NOT NULL DEFAULT '{}',
  "_es_origin" text,
  "_es_updated_at" timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY ("project_id", "user_id")
);
ALTER TABLE "project_members" ADD COLUMN IF NOT EXISTS "_es_version" bigint;
ALTER TABLE "project_members" ADD COLUMN IF NOT EXISTS "_es_xid" xid8;
ALTER TABLE "project_members" ADD COLUMN IF NOT EXISTS "_es_deleted" boolean NOT NULL DEFAULT false;
ALTER TABLE "project_members" ADD COLUMN IF NOT EXISTS "_es_hlc" text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE "project_members" ADD COLUMN IF NOT EXISTS "_es_field_hlc" jsonb NOT NULL DEFAULT '{}';
ALTER TABLE "project_members" ADD COLUMN IF NOT EXISTS "_es_origin" text;
ALTER TABLE "project_members" ADD COLUMN IF NOT EXISTS "_es_updated_at" timestamptz NOT NULL DEFAULT now();
DO $es$ BEGIN IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '"project_members"'::regclass AND attname IN ('_es_version', '_es_xid') AND NOT attnotnull) THEN
  UPDATE "project_members" SET "_es_version" = COALESCE("_es_version", nextval('edgesync_version_seq')), "_es_xid" = COALESCE("_es_xid", pg_current_xact_id()), "_es_hlc" = CASE WHEN "_es_hlc" = '' THEN lpad((floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint)::text, 15, '0') || ':' || lpad((0)::text, 5, '0') || ':server' ELSE "_es_hlc" END WHERE "_es_version" IS NULL OR "_es_xid" IS NULL;
  ALTER TABLE "project_members" ALTER COLUMN "_es_version" SET DEFAULT nextval('edgesync_version_seq'), ALTER COLUMN "_es_version" SET NOT NULL, ALTER COLUMN "_es_xid" SET DEFAULT pg_current_xact_id(), ALTER COLUMN "_es_xid" SET NOT NULL;
END IF; END $es$;
DO $es$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = '"project_members"'::regclass AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL AND (SELECT array_agg(a.attname::text ORDER BY a.attname::text COLLATE "C") FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)) = ARRAY['project_id', 'user_id']::text[]) THEN RAISE EXCEPTION USING MESSAGE = 'edgesync: table project_members needs a primary key (or unique index) on exactly the schema''s key columns', ERRCODE = 'invalid_table_definition'; END IF; END $es$;
CREATE INDEX IF NOT EXISTS "project_members__es_sx" ON "project_members" ("project_id", "_es_xid", "_es_version");
CREATE INDEX IF NOT EXISTS "project_members__es_sv" ON "project_members" ("project_id", "_es_version");
ALTER TABLE "project_members" ADD COLUMN IF NOT EXISTS "role" text;
CREATE OR REPLACE FUNCTION "project_members__es_dw"() RETURNS trigger LANGUAGE plpgsql AS $es$
DECLARE
  ms bigint := floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint;
  ctr int := 0;
  stamp text;
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF current_setting('edgesync.purge', true) = 'on' THEN RETURN OLD; END IF;
    UPDATE "project_members" SET "_es_deleted" = true WHERE "project_id" = OLD."project_id" AND "user_id" = OLD."user_id";
    RETURN NULL;
  END IF;
  IF TG_OP = 'INSERT' THEN
    IF NEW."_es_origin" IS NOT NULL THEN RETURN NEW; END IF;
  ELSIF NEW."_es_version" IS DISTINCT FROM OLD."_es_version" OR NOT (NEW."project_id" IS DISTINCT FROM OLD."project_id" OR NEW."user_id" IS DISTINCT FROM OLD."user_id" OR NEW."role" IS DISTINCT FROM OLD."role" OR NEW."added_by" IS DISTINCT FROM OLD."added_by" OR NEW."_es_deleted" IS DISTINCT FROM OLD."_es_deleted") THEN
    RETURN NEW;
  END IF;
  IF TG_OP = 'UPDATE' AND (NEW."project_id" IS DISTINCT FROM OLD."project_id" OR NEW."user_id" IS DISTINCT FROM OLD."user_id" OR NEW."added_by" IS DISTINCT FROM OLD."added_by") THEN
    RAISE EXCEPTION USING MESSAGE = 'edgesync: changing the primary key, owner or scope of a synced row of project_members is refused (devices would keep the old row); delete it and insert a new one', ERRCODE = 'check_violation';
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
DO $es$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = '"project_members"'::regclass AND tgname = 'project_members__es_dw') THEN CREATE TRIGGER "project_members__es_dw" BEFORE INSERT OR UPDATE OR DELETE ON "project_members" FOR EACH ROW EXECUTE FUNCTION "project_members__es_dw"(); END IF; END $es$;
CREATE OR REPLACE FUNCTION "project_members__es_n"() RETURNS trigger LANGUAGE plpgsql AS $es$
DECLARE
  users text;
  seen text;
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT json_agg(DISTINCT a.u)::text INTO users FROM (SELECT es_m."user_id"::text AS u FROM "project_members" es_m JOIN es_new es_r ON es_m."project_id" = es_r."project_id" WHERE NOT es_m."_es_deleted" UNION ALL SELECT "user_id"::text FROM es_new) a WHERE a.u IS NOT NULL;
  ELSIF TG_OP = 'UPDATE' THEN
    SELECT json_agg(DISTINCT a.u)::text INTO users FROM (SELECT es_m."user_id"::text AS u FROM "project_members" es_m JOIN es_new es_r ON es_m."project_id" = es_r."project_id" WHERE NOT es_m."_es_deleted" UNION ALL SELECT "user_id"::text FROM es_new UNION ALL SELECT es_m."user_id"::text AS u FROM "project_members" es_m JOIN es_old es_r ON es_m."project_id" = es_r."project_id" WHERE NOT es_m."_es_deleted" UNION ALL SELECT "user_id"::text FROM es_old) a WHERE a.u IS NOT NULL;
  ELSE
    SELECT json_agg(DISTINCT a.u)::text INTO users FROM (SELECT es_m."user_id"::text AS u FROM "project_members" es_m JOIN es_old es_r ON es_m."project_id" = es_r."project_id" WHERE NOT es_m."_es_deleted" UNION ALL SELECT "user_id"::text FROM es_old) a WHERE a.u IS NOT NULL;
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
DROP TRIGGER IF EXISTS "project_members__es_ni" ON "project_members";
CREATE TRIGGER "project_members__es_ni" AFTER INSERT ON "project_members" REFERENCING NEW TABLE AS es_new FOR EACH STATEMENT EXECUTE FUNCTION "project_members__es_n"();
DROP TRIGGER IF EXISTS "project_members__es_nu" ON "project_members";
CREATE TRIGGER "project_members__es_nu" AFTER UPDATE ON "project_members" REFERENCING OLD TABLE AS es_old NEW TABLE AS es_new FOR EACH STATEMENT EXECUTE FUNCTION "project_members__es_n"();
DROP TRIGGER IF EXISTS "project_members__es_nd" ON "project_members";
CREATE TRIGGER "project_members__es_nd" AFTER DELETE ON "project_members" REFERENCING OLD TABLE AS es_old FOR EACH STATEMENT EXECUTE FUNCTION "project_members__es_n"();
CREATE TABLE IF NOT EXISTS "nodes" (
  "id" text NOT NULL,
  "project_id" text NOT NULL,
  "owner_id" text NOT NULL,
  "label" text,
  "_es_version" bigint NOT NULL DEFAULT nextval('edgesync_version_seq'),
  "_es_xid" xid8 NOT NULL DEFAULT pg_current_xact_id(),
  "_es_deleted" boolean NOT NULL DEFAULT false,
  "_es_hlc" text COLLATE "C" NOT NULL DEFAULT '',
  "_es_field_hlc" jsonb NOT NULL DEFAULT '{}',
  "_es_origin" text,
  "_es_updated_at" timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY ("id")
);
ALTER TABLE "nodes" ADD COLUMN IF NOT EXISTS "_es_version" bigint;
ALTER TABLE "nodes" ADD COLUMN IF NOT EXISTS "_es_xid" xid8;
ALTER TABLE "nodes" ADD COLUMN IF NOT EXISTS "_es_deleted" boolean NOT NULL DEFAULT false;
ALTER TABLE "nodes" ADD COLUMN IF NOT EXISTS "_es_hlc" text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE "nodes" ADD COLUMN IF NOT EXISTS "_es_field_hlc" jsonb NOT NULL DEFAULT '{}';
ALTER TABLE "nodes" ADD COLUMN IF NOT EXISTS "_es_origin" text;
ALTER TABLE "nodes" ADD COLUMN IF NOT EXISTS "_es_updated_at" timestamptz NOT NULL DEFAULT now();
DO $es$ BEGIN IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '"nodes"'::regclass AND attname IN ('_es_version', '_es_xid') AND NOT attnotnull) THEN
  UPDATE "nodes" SET "_es_version" = COALESCE("_es_version", nextval('edgesync_version_seq')), "_es_xid" = COALESCE("_es_xid", pg_current_xact_id()), "_es_hlc" = CASE WHEN "_es_hlc" = '' THEN lpad((floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint)::text, 15, '0') || ':' || lpad((0)::text, 5, '0') || ':server' ELSE "_es_hlc" END WHERE "_es_version" IS NULL OR "_es_xid" IS NULL;
  ALTER TABLE "nodes" ALTER COLUMN "_es_version" SET DEFAULT nextval('edgesync_version_seq'), ALTER COLUMN "_es_version" SET NOT NULL, ALTER COLUMN "_es_xid" SET DEFAULT pg_current_xact_id(), ALTER COLUMN "_es_xid" SET NOT NULL;
END IF; END $es$;
DO $es$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = '"nodes"'::regclass AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL AND (SELECT array_agg(a.attname::text ORDER BY a.attname::text COLLATE "C") FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)) = ARRAY['id']::text[]) THEN RAISE EXCEPTION USING MESSAGE = 'edgesync: table nodes needs a primary key (or unique index) on exactly the schema''s key columns', ERRCODE = 'invalid_table_definition'; END IF; END $es$;
CREATE INDEX IF NOT EXISTS "nodes__es_sx" ON "nodes" ("project_id", "_es_xid", "_es_version");
CREATE INDEX IF NOT EXISTS "nodes__es_sv" ON "nodes" ("project_id", "_es_version");
ALTER TABLE "nodes" ADD COLUMN IF NOT EXISTS "project_id" text;
ALTER TABLE "nodes" ADD COLUMN IF NOT EXISTS "label" text;
CREATE OR REPLACE FUNCTION "nodes__es_dw"() RETURNS trigger LANGUAGE plpgsql AS $es$
DECLARE
  ms bigint := floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint;
  ctr int := 0;
  stamp text;
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF current_setting('edgesync.purge', true) = 'on' THEN RETURN OLD; END IF;
    UPDATE "nodes" SET "_es_deleted" = true WHERE "id" = OLD."id";
    RETURN NULL;
  END IF;
  IF TG_OP = 'INSERT' THEN
    IF NEW."_es_origin" IS NOT NULL THEN RETURN NEW; END IF;
  ELSIF NEW."_es_version" IS DISTINCT FROM OLD."_es_version" OR NOT (NEW."id" IS DISTINCT FROM OLD."id" OR NEW."project_id" IS DISTINCT FROM OLD."project_id" OR NEW."owner_id" IS DISTINCT FROM OLD."owner_id" OR NEW."label" IS DISTINCT FROM OLD."label" OR NEW."_es_deleted" IS DISTINCT FROM OLD."_es_deleted") THEN
    RETURN NEW;
  END IF;
  IF TG_OP = 'UPDATE' AND (NEW."id" IS DISTINCT FROM OLD."id" OR NEW."project_id" IS DISTINCT FROM OLD."project_id" OR NEW."owner_id" IS DISTINCT FROM OLD."owner_id") THEN
    RAISE EXCEPTION USING MESSAGE = 'edgesync: changing the primary key, owner or scope of a synced row of nodes is refused (devices would keep the old row); delete it and insert a new one', ERRCODE = 'check_violation';
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
  IF TG_OP = 'INSERT' OR (OLD."_es_deleted" AND NOT NEW."_es_deleted") THEN
    NEW."_es_field_hlc" := jsonb_build_object('projectId', stamp, 'label', stamp);
  ELSE
    NEW."_es_field_hlc" := OLD."_es_field_hlc" || jsonb_strip_nulls(jsonb_build_object('projectId', CASE WHEN NEW."project_id" IS DISTINCT FROM OLD."project_id" THEN stamp END, 'label', CASE WHEN NEW."label" IS DISTINCT FROM OLD."label" THEN stamp END));
  END IF;
  RETURN NEW;
END $es$;
DO $es$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = '"nodes"'::regclass AND tgname = 'nodes__es_dw') THEN CREATE TRIGGER "nodes__es_dw" BEFORE INSERT OR UPDATE OR DELETE ON "nodes" FOR EACH ROW EXECUTE FUNCTION "nodes__es_dw"(); END IF; END $es$;
CREATE OR REPLACE FUNCTION "nodes__es_n"() RETURNS trigger LANGUAGE plpgsql AS $es$
DECLARE
  users text;
  seen text;
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT json_agg(DISTINCT a.u)::text INTO users FROM (SELECT es_m."user_id"::text AS u FROM "project_members" es_m JOIN es_new es_r ON es_m."project_id" = es_r."project_id" WHERE NOT es_m."_es_deleted") a WHERE a.u IS NOT NULL;
  ELSIF TG_OP = 'UPDATE' THEN
    SELECT json_agg(DISTINCT a.u)::text INTO users FROM (SELECT es_m."user_id"::text AS u FROM "project_members" es_m JOIN es_new es_r ON es_m."project_id" = es_r."project_id" WHERE NOT es_m."_es_deleted" UNION ALL SELECT es_m."user_id"::text AS u FROM "project_members" es_m JOIN es_old es_r ON es_m."project_id" = es_r."project_id" WHERE NOT es_m."_es_deleted") a WHERE a.u IS NOT NULL;
  ELSE
    SELECT json_agg(DISTINCT a.u)::text INTO users FROM (SELECT es_m."user_id"::text AS u FROM "project_members" es_m JOIN es_old es_r ON es_m."project_id" = es_r."project_id" WHERE NOT es_m."_es_deleted") a WHERE a.u IS NOT NULL;
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
DROP TRIGGER IF EXISTS "nodes__es_ni" ON "nodes";
CREATE TRIGGER "nodes__es_ni" AFTER INSERT ON "nodes" REFERENCING NEW TABLE AS es_new FOR EACH STATEMENT EXECUTE FUNCTION "nodes__es_n"();
DROP TRIGGER IF EXISTS "nodes__es_nu" ON "nodes";
CREATE TRIGGER "nodes__es_nu" AFTER UPDATE ON "nodes" REFERENCING OLD TABLE AS es_old NEW TABLE AS es_new FOR EACH STATEMENT EXECUTE FUNCTION "nodes__es_n"();
DROP TRIGGER IF EXISTS "nodes__es_nd" ON "nodes";
CREATE TRIGGER "nodes__es_nd" AFTER DELETE ON "nodes" REFERENCING OLD TABLE AS es_old FOR EACH STATEMENT EXECUTE FUNCTION "nodes__es_n"();
CREATE TABLE IF NOT EXISTS "notes" (
  "id" text NOT NULL,
  "owner_id" text NOT NULL,
  "body" text,
  "_es_version" bigint NOT NULL DEFAULT nextval('edgesync_version_seq'),
  "_es_xid" xid8 NOT NULL DEFAULT pg_current_xact_id(),
  "_es_deleted" boolean NOT NULL DEFAULT false,
  "_es_hlc" text COLLATE "C" NOT NULL DEFAULT '',
  "_es_field_hlc" jsonb NOT NULL DEFAULT '{}',
  "_es_origin" text,
  "_es_updated_at" timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY ("id")
);
ALTER TABLE "notes" ADD COLUMN IF NOT EXISTS "_es_version" bigint;
ALTER TABLE "notes" ADD COLUMN IF NOT EXISTS "_es_xid" xid8;
ALTER TABLE "notes" ADD COLUMN IF NOT EXISTS "_es_deleted" boolean NOT NULL DEFAULT false;
ALTER TABLE "notes" ADD COLUMN IF NOT EXISTS "_es_hlc" text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE "notes" ADD COLUMN IF NOT EXISTS "_es_field_hlc" jsonb NOT NULL DEFAULT '{}';
ALTER TABLE "notes" ADD COLUMN IF NOT EXISTS "_es_origin" text;
ALTER TABLE "notes" ADD COLUMN IF NOT EXISTS "_es_updated_at" timestamptz NOT NULL DEFAULT now();
DO $es$ BEGIN IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '"notes"'::regclass AND attname IN ('_es_version', '_es_xid') AND NOT attnotnull) THEN
  UPDATE "notes" SET "_es_version" = COALESCE("_es_version", nextval('edgesync_version_seq')), "_es_xid" = COALESCE("_es_xid", pg_current_xact_id()), "_es_hlc" = CASE WHEN "_es_hlc" = '' THEN lpad((floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint)::text, 15, '0') || ':' || lpad((0)::text, 5, '0') || ':server' ELSE "_es_hlc" END WHERE "_es_version" IS NULL OR "_es_xid" IS NULL;
  ALTER TABLE "notes" ALTER COLUMN "_es_version" SET DEFAULT nextval('edgesync_version_seq'), ALTER COLUMN "_es_version" SET NOT NULL, ALTER COLUMN "_es_xid" SET DEFAULT pg_current_xact_id(), ALTER COLUMN "_es_xid" SET NOT NULL;
END IF; END $es$;
DO $es$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = '"notes"'::regclass AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL AND (SELECT array_agg(a.attname::text ORDER BY a.attname::text COLLATE "C") FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)) = ARRAY['id']::text[]) THEN RAISE EXCEPTION USING MESSAGE = 'edgesync: table notes needs a primary key (or unique index) on exactly the schema''s key columns', ERRCODE = 'invalid_table_definition'; END IF; END $es$;
CREATE INDEX IF NOT EXISTS "notes__es_pull" ON "notes" ("owner_id", "_es_xid", "_es_version");
ALTER TABLE "notes" ADD COLUMN IF NOT EXISTS "body" text;
CREATE OR REPLACE FUNCTION "notes__es_dw"() RETURNS trigger LANGUAGE plpgsql AS $es$
DECLARE
  ms bigint := floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint;
  ctr int := 0;
  stamp text;
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF current_setting('edgesync.purge', true) = 'on' THEN RETURN OLD; END IF;
    UPDATE "notes" SET "_es_deleted" = true WHERE "id" = OLD."id";
    RETURN NULL;
  END IF;
  IF TG_OP = 'INSERT' THEN
    IF NEW."_es_origin" IS NOT NULL THEN RETURN NEW; END IF;
  ELSIF NEW."_es_version" IS DISTINCT FROM OLD."_es_version" OR NOT (NEW."id" IS DISTINCT FROM OLD."id" OR NEW."owner_id" IS DISTINCT FROM OLD."owner_id" OR NEW."body" IS DISTINCT FROM OLD."body" OR NEW."_es_deleted" IS DISTINCT FROM OLD."_es_deleted") THEN
    RETURN NEW;
  END IF;
  IF TG_OP = 'UPDATE' AND (NEW."id" IS DISTINCT FROM OLD."id" OR NEW."owner_id" IS DISTINCT FROM OLD."owner_id") THEN
    RAISE EXCEPTION USING MESSAGE = 'edgesync: changing the primary key or owner of a synced row of notes is refused (devices would keep the old row); delete it and insert a new one', ERRCODE = 'check_violation';
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
DO $es$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = '"notes"'::regclass AND tgname = 'notes__es_dw') THEN CREATE TRIGGER "notes__es_dw" BEFORE INSERT OR UPDATE OR DELETE ON "notes" FOR EACH ROW EXECUTE FUNCTION "notes__es_dw"(); END IF; END $es$;
CREATE OR REPLACE FUNCTION "notes__es_n"() RETURNS trigger LANGUAGE plpgsql AS $es$
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
DROP TRIGGER IF EXISTS "notes__es_ni" ON "notes";
CREATE TRIGGER "notes__es_ni" AFTER INSERT ON "notes" REFERENCING NEW TABLE AS es_new FOR EACH STATEMENT EXECUTE FUNCTION "notes__es_n"();
DROP TRIGGER IF EXISTS "notes__es_nu" ON "notes";
CREATE TRIGGER "notes__es_nu" AFTER UPDATE ON "notes" REFERENCING OLD TABLE AS es_old NEW TABLE AS es_new FOR EACH STATEMENT EXECUTE FUNCTION "notes__es_n"();
DROP TRIGGER IF EXISTS "notes__es_nd" ON "notes";
CREATE TRIGGER "notes__es_nd" AFTER DELETE ON "notes" REFERENCING OLD TABLE AS es_old FOR EACH STATEMENT EXECUTE FUNCTION "notes__es_n"();
CREATE OR REPLACE FUNCTION "projects__es_ca"() RETURNS trigger LANGUAGE plpgsql AS $es$
BEGIN
  IF NEW."_es_origin" IS NOT NULL THEN
    INSERT INTO "project_members" ("project_id", "user_id", "role", "added_by", "_es_version", "_es_xid", "_es_hlc", "_es_origin") VALUES (NEW."id", NEW."owner_id", 'admin', NEW."owner_id", nextval('edgesync_version_seq'), pg_current_xact_id(), NEW."_es_hlc", '') ON CONFLICT DO NOTHING;
  ELSE
    INSERT INTO "project_members" ("project_id", "user_id", "role", "added_by") VALUES (NEW."id", NEW."owner_id", 'admin', NEW."owner_id") ON CONFLICT DO NOTHING;
  END IF;
  RETURN NULL;
END $es$;
DO $es$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = '"projects"'::regclass AND tgname = 'projects__es_ca') THEN CREATE TRIGGER "projects__es_ca" AFTER INSERT ON "projects" FOR EACH ROW EXECUTE FUNCTION "projects__es_ca"(); END IF; END $es$;
CREATE INDEX IF NOT EXISTS "project_members__es_mu" ON "project_members" ("user_id", "_es_xid", "_es_version");
INSERT INTO "edgesync_schema" (id, version) VALUES (1, 1)
  ON CONFLICT (id) DO UPDATE SET version = GREATEST("edgesync_schema".version, EXCLUDED.version), applied_at = now();
