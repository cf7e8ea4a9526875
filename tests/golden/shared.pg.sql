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
    INSERT INTO "project_members" ("project_id", "user_id", "role", "added_by", "_es_version", "_es_xid", "_es_hlc", "_es_origin") VALUES (NEW."id", NEW."owner_id", 'admin', NEW."owner_id", nextval('edgesync_version_seq'), pg_current_xact_id(), substr(NEW."_es_hlc", 1, 22), '') ON CONFLICT DO NOTHING;
  ELSE
    INSERT INTO "project_members" ("project_id", "user_id", "role", "added_by") VALUES (NEW."id", NEW."owner_id", 'admin', NEW."owner_id") ON CONFLICT DO NOTHING;
  END IF;
  RETURN NULL;
END $es$;
DO $es$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = '"projects"'::regclass AND tgname = 'projects__es_ca') THEN CREATE TRIGGER "projects__es_ca" AFTER INSERT ON "projects" FOR EACH ROW EXECUTE FUNCTION "projects__es_ca"(); END IF; END $es$;
CREATE INDEX IF NOT EXISTS "project_members__es_mu" ON "project_members" ("user_id", "_es_xid", "_es_version");
INSERT INTO "edgesync_schema" (id, version) VALUES (1, 1)
  ON CONFLICT (id) DO UPDATE SET version = GREATEST("edgesync_schema".version, EXCLUDED.version), applied_at = now();
CREATE OR REPLACE FUNCTION edgesync_6f9b0a6a610fff77_l0(text, text, text) RETURNS text LANGUAGE plpgsql SET enable_seqscan = off AS $es$DECLARE _es_j text; BEGIN WITH x AS (SELECT y."id" FROM jsonb_to_recordset($1::text::jsonb) AS y("id" text) UNION SELECT y."id" FROM jsonb_to_recordset($3::text::jsonb) AS y("id" text)), c AS (SELECT t.* FROM (SELECT * FROM x ORDER BY x."id" OFFSET 0) x CROSS JOIN LATERAL (SELECT t.*, t.ctid AS "_es_ctid" FROM "projects" t WHERE t."id" = x."id" AND ((EXISTS (SELECT 1 FROM "project_members" es_m WHERE es_m."project_id" = t."id" AND es_m."user_id" = $2 AND NOT es_m."_es_deleted" AND es_m."role" IN ('write', 'admin')) OR EXISTS (SELECT 1 FROM "project_members" es_m WHERE es_m."project_id" = t."id" AND es_m."user_id" = $2 AND NOT es_m."_es_deleted" AND es_m."role" IN ('admin')))) IS TRUE FOR UPDATE OF t) t) SELECT count(*)::text AS j FROM c INTO _es_j; RETURN _es_j; END$es$;
CREATE OR REPLACE FUNCTION edgesync_6f9b0a6a610fff77_m0(text, text, text, bigint[], OUT _es_oi int[], OUT _es_or text[], OUT _es_again text) RETURNS record LANGUAGE plpgsql SET enable_seqscan = off AS $es$DECLARE _es_j text; _es_race int[]; _es_n bigint; BEGIN WITH x AS (SELECT * FROM jsonb_to_recordset($1::text::jsonb) AS x("_es_i" int, "_es_h" text, "_es_b" bigint, "_es_c" jsonb, "id" text, "name" text)), c AS (SELECT t.* FROM (SELECT * FROM x ORDER BY x."id" OFFSET 0) x CROSS JOIN LATERAL (SELECT t.*, t.ctid AS "_es_ctid" FROM "projects" t WHERE t."id" = x."id" AND (EXISTS (SELECT 1 FROM "project_members" es_m WHERE es_m."project_id" = t."id" AND es_m."user_id" = $2 AND NOT es_m."_es_deleted" AND es_m."role" IN ('write', 'admin')) AND t."id" IS NOT DISTINCT FROM x."id") IS TRUE FOR UPDATE OF t) t), f AS (SELECT t.*, EXISTS (SELECT 1 FROM "project_members" es_m WHERE es_m."project_id" = t."id" AND es_m."user_id" = $2 AND NOT es_m."_es_deleted" AND es_m."role" IN ('read', 'write', 'admin')) AS "_es_readable" FROM x CROSS JOIN LATERAL (SELECT t.* FROM "projects" t WHERE t."id" = x."id" OFFSET 0) t WHERE NOT COALESCE(EXISTS (SELECT 1 FROM "project_members" es_m WHERE es_m."project_id" = t."id" AND es_m."user_id" = $2 AND NOT es_m."_es_deleted" AND es_m."role" IN ('write', 'admin')) AND t."id" IS NOT DISTINCT FROM x."id", false)), d AS (SELECT x.*, c."_es_version" AS "_es_cur_v", c."owner_id" AS "_es_cur_owner", c."_es_deleted" AS "_es_cur_deleted", c."_es_hlc" AS "_es_cur_hlc", c."_es_field_hlc" AS "_es_cur_fh", c."_es_ctid" AS "_es_cur_ctid", (f."_es_version" IS NULL AND ((c."_es_version" IS NULL AND (EXISTS (SELECT 1 FROM "project_members" es_m WHERE es_m."project_id" = x."id" AND es_m."user_id" = $2 AND NOT es_m."_es_deleted" AND es_m."role" IN ('write', 'admin')) OR NOT EXISTS (SELECT 1 FROM "project_members" es_n WHERE es_n."project_id" = x."id" AND NOT es_n."_es_deleted"))) OR (c."_es_version" IS NOT NULL AND x."_es_h" COLLATE "C" > c."_es_hlc"))) AS "_es_ok", (f."_es_version" IS NOT NULL OR (c."_es_version" IS NULL AND NOT (EXISTS (SELECT 1 FROM "project_members" es_m WHERE es_m."project_id" = x."id" AND es_m."user_id" = $2 AND NOT es_m."_es_deleted" AND es_m."role" IN ('write', 'admin')) OR NOT EXISTS (SELECT 1 FROM "project_members" es_n WHERE es_n."project_id" = x."id" AND NOT es_n."_es_deleted")))) AS "_es_foreign" FROM x LEFT JOIN c ON c."id" = x."id" LEFT JOIN f ON f."id" = x."id"), u AS (INSERT INTO "projects" AS t ("id", "owner_id", "name", "_es_version", "_es_xid", "_es_deleted", "_es_hlc", "_es_field_hlc", "_es_origin", "_es_updated_at") SELECT d."id", $2, d."name", COALESCE(d."_es_cur_v", nextval('edgesync_version_seq')), pg_current_xact_id(), false, d."_es_h" COLLATE "C", '{}'::jsonb, $3, now() FROM d WHERE d."_es_ok" ORDER BY d."id" ON CONFLICT ("id") DO UPDATE SET "name" = EXCLUDED."name", "_es_version" = nextval('edgesync_version_seq'), "_es_xid" = EXCLUDED."_es_xid", "_es_deleted" = false, "_es_hlc" = EXCLUDED."_es_hlc", "_es_field_hlc" = EXCLUDED."_es_field_hlc", "_es_origin" = EXCLUDED."_es_origin", "_es_updated_at" = EXCLUDED."_es_updated_at" WHERE t."_es_version" = EXCLUDED."_es_version" AND t."id" = EXCLUDED."id" RETURNING t."id" AS "_es_key", t."_es_version", t."id", json_build_object('id', t."id", 'ownerId', t."owner_id", 'name', t."name") AS "_es_row") SELECT COALESCE(json_agg(json_build_object('i', d."_es_i", 's', CASE WHEN u."_es_key" IS NOT NULL THEN 'applied' WHEN d."_es_foreign" THEN 'forbidden' WHEN d."_es_cur_v" IS NULL THEN 'race' ELSE 'lost' END, 'v', COALESCE(u."_es_version", d."_es_cur_v", CASE WHEN f."_es_readable" THEN f."_es_version" END), 'd', COALESCE(d."_es_cur_deleted", CASE WHEN f."_es_readable" THEN f."_es_deleted" END), 'r', CASE WHEN u."_es_key" IS NOT NULL THEN u."_es_row" WHEN d."_es_cur_v" IS NOT NULL AND NOT d."_es_cur_deleted" THEN json_build_object('id', c."id", 'ownerId', c."owner_id", 'name', c."name") WHEN f."_es_readable" AND NOT f."_es_deleted" THEN json_build_object('id', f."id", 'ownerId', f."owner_id", 'name', f."name") END)), '[]')::text AS j FROM d LEFT JOIN u ON u."id" = d."id" LEFT JOIN c ON c."id" = d."id" LEFT JOIN f ON f."id" = d."id" INTO _es_j; SELECT array_agg(z.i) FILTER (WHERE z.s <> 'race'), array_agg(CASE z.s WHEN 'applied' THEN '{"id":' || $4[z.i + 1] || ',"status":"applied","version":' || coalesce(z.v::text, 'null') || CASE WHEN z.r IS NOT NULL THEN ',"row":' || z.r::text ELSE '' END || '}' WHEN 'forbidden' THEN '{"id":' || $4[z.i + 1] || E',"status":"rejected","reason":"forbidden","message":"this change needs the write role in the row''s scope (admin to delete a scope''s root row); a row''s scope cannot change"' || CASE WHEN z.v IS NOT NULL THEN ',"version":' || z.v::text || ',"deleted":' || CASE WHEN z.d THEN 'true' ELSE 'false' END ELSE '' END || CASE WHEN z.r IS NOT NULL THEN ',"row":' || z.r::text ELSE '' END || '}' WHEN 'lost' THEN '{"id":' || $4[z.i + 1] || E',"status":"conflict","reason":"older","version":' || coalesce(z.v::text, 'null') || ',"deleted":' || CASE WHEN z.d THEN 'true' ELSE 'false' END || ',"row":' || coalesce(z.r::text, 'null') || '}' END) FILTER (WHERE z.s <> 'race'), array_agg(z.i) FILTER (WHERE z.s = 'race'), count(*) FILTER (WHERE CASE z.s WHEN 'forbidden' THEN 'rejected:forbidden' WHEN 'lost' THEN E'conflict:older' END IS NOT NULL) INTO _es_oi, _es_or, _es_race, _es_n FROM json_to_recordset(_es_j::json) AS z(i int, s text, v json, d boolean, r json); IF _es_n > 0 THEN INSERT INTO "edgesync_conflicts" (user_id, client_id, table_name, pk, policy, outcome, client_row, server_row) SELECT $2, $3, 'projects', jsonb_build_object('id', x->'id'), 'lww', o, x - '_es_i' - '_es_h' - '_es_b' - '_es_c', z.r::jsonb FROM json_to_recordset(_es_j::json) AS z(i int, s text, v json, d boolean, r json) JOIN jsonb_array_elements($1::jsonb) AS x_(x) ON (x->>'_es_i')::int = z.i, LATERAL (SELECT CASE z.s WHEN 'forbidden' THEN 'rejected:forbidden' WHEN 'lost' THEN E'conflict:older' END AS o) w WHERE o IS NOT NULL ORDER BY z.i; END IF; IF _es_race IS NOT NULL THEN SELECT '[' || string_agg(x::text, ',') || ']' INTO _es_again FROM json_array_elements($1::json) AS x_(x) WHERE (x->>'_es_i')::int = ANY (_es_race); END IF; END$es$;
CREATE OR REPLACE FUNCTION edgesync_6f9b0a6a610fff77_m1(text, text, text, bigint[], OUT _es_oi int[], OUT _es_or text[], OUT _es_again text) RETURNS record LANGUAGE plpgsql SET enable_seqscan = off AS $es$DECLARE _es_j text; _es_race int[]; _es_n bigint; BEGIN WITH x AS (SELECT * FROM jsonb_to_recordset($1::text::jsonb) AS x("_es_i" int, "_es_h" text, "_es_b" bigint, "id" text)), c AS (SELECT t.* FROM (SELECT * FROM x ORDER BY x."id" OFFSET 0) x CROSS JOIN LATERAL (SELECT t.*, t.ctid AS "_es_ctid" FROM "projects" t WHERE t."id" = x."id" AND (EXISTS (SELECT 1 FROM "project_members" es_m WHERE es_m."project_id" = t."id" AND es_m."user_id" = $2 AND NOT es_m."_es_deleted" AND es_m."role" IN ('admin'))) IS TRUE FOR UPDATE OF t) t), f AS (SELECT t.*, EXISTS (SELECT 1 FROM "project_members" es_m WHERE es_m."project_id" = t."id" AND es_m."user_id" = $2 AND NOT es_m."_es_deleted" AND es_m."role" IN ('read', 'write', 'admin')) AS "_es_readable" FROM x CROSS JOIN LATERAL (SELECT t.* FROM "projects" t WHERE t."id" = x."id" OFFSET 0) t WHERE NOT COALESCE(EXISTS (SELECT 1 FROM "project_members" es_m WHERE es_m."project_id" = t."id" AND es_m."user_id" = $2 AND NOT es_m."_es_deleted" AND es_m."role" IN ('admin')), false)), d AS (SELECT x.*, c."_es_version" AS "_es_cur_v", c."owner_id" AS "_es_cur_owner", c."_es_deleted" AS "_es_cur_deleted", c."_es_hlc" AS "_es_cur_hlc", c."_es_field_hlc" AS "_es_cur_fh", c."_es_ctid" AS "_es_cur_ctid", (f."_es_version" IS NULL AND (c."_es_version" IS NULL OR x."_es_h" COLLATE "C" > c."_es_hlc")) AS "_es_ok", f."_es_version" IS NOT NULL AS "_es_foreign" FROM x LEFT JOIN c ON c."id" = x."id" LEFT JOIN f ON f."id" = x."id"), u AS (UPDATE "projects" t SET "_es_deleted" = true, "_es_version" = nextval('edgesync_version_seq'), "_es_xid" = pg_current_xact_id(), "_es_hlc" = GREATEST(t."_es_hlc", d."_es_h" COLLATE "C"), "_es_origin" = $3, "_es_updated_at" = now() FROM d WHERE t.ctid = d."_es_cur_ctid" AND d."_es_ok" AND d."_es_cur_v" IS NOT NULL RETURNING t."id" AS "_es_key", t."_es_version", t."id") SELECT COALESCE(json_agg(CASE WHEN u."_es_key" IS NULL AND NOT d."_es_foreign" AND (d."_es_cur_v" IS NULL OR d."_es_cur_deleted") THEN json_build_object('i', d."_es_i", 's', 'applied', 'v', d."_es_cur_v", 'd', true, 'r', NULL) ELSE json_build_object('i', d."_es_i", 's', CASE WHEN u."_es_key" IS NOT NULL THEN 'applied' WHEN d."_es_foreign" THEN 'forbidden' WHEN d."_es_cur_v" IS NULL THEN 'race' ELSE 'lost' END, 'v', COALESCE(u."_es_version", d."_es_cur_v", CASE WHEN f."_es_readable" THEN f."_es_version" END), 'd', COALESCE(d."_es_cur_deleted", CASE WHEN f."_es_readable" THEN f."_es_deleted" END), 'r', CASE WHEN u."_es_key" IS NOT NULL THEN NULL WHEN d."_es_cur_v" IS NOT NULL AND NOT d."_es_cur_deleted" THEN json_build_object('id', c."id", 'ownerId', c."owner_id", 'name', c."name") WHEN f."_es_readable" AND NOT f."_es_deleted" THEN json_build_object('id', f."id", 'ownerId', f."owner_id", 'name', f."name") END) END), '[]')::text AS j FROM d LEFT JOIN c ON c."id" = d."id" LEFT JOIN u ON u."id" = d."id" LEFT JOIN f ON f."id" = d."id" INTO _es_j; SELECT array_agg(z.i) FILTER (WHERE z.s <> 'race'), array_agg(CASE z.s WHEN 'applied' THEN '{"id":' || $4[z.i + 1] || ',"status":"applied","version":' || coalesce(z.v::text, 'null') || CASE WHEN z.r IS NOT NULL THEN ',"row":' || z.r::text ELSE '' END || '}' WHEN 'forbidden' THEN '{"id":' || $4[z.i + 1] || E',"status":"rejected","reason":"forbidden","message":"this change needs the write role in the row''s scope (admin to delete a scope''s root row); a row''s scope cannot change"' || CASE WHEN z.v IS NOT NULL THEN ',"version":' || z.v::text || ',"deleted":' || CASE WHEN z.d THEN 'true' ELSE 'false' END ELSE '' END || CASE WHEN z.r IS NOT NULL THEN ',"row":' || z.r::text ELSE '' END || '}' WHEN 'lost' THEN '{"id":' || $4[z.i + 1] || E',"status":"conflict","reason":"older","version":' || coalesce(z.v::text, 'null') || ',"deleted":' || CASE WHEN z.d THEN 'true' ELSE 'false' END || ',"row":' || coalesce(z.r::text, 'null') || '}' END) FILTER (WHERE z.s <> 'race'), array_agg(z.i) FILTER (WHERE z.s = 'race'), count(*) FILTER (WHERE CASE z.s WHEN 'forbidden' THEN 'rejected:forbidden' WHEN 'lost' THEN E'conflict:older' END IS NOT NULL) INTO _es_oi, _es_or, _es_race, _es_n FROM json_to_recordset(_es_j::json) AS z(i int, s text, v json, d boolean, r json); IF _es_n > 0 THEN INSERT INTO "edgesync_conflicts" (user_id, client_id, table_name, pk, policy, outcome, client_row, server_row) SELECT $2, $3, 'projects', jsonb_build_object('id', x->'id'), 'lww', o, NULL, z.r::jsonb FROM json_to_recordset(_es_j::json) AS z(i int, s text, v json, d boolean, r json) JOIN jsonb_array_elements($1::jsonb) AS x_(x) ON (x->>'_es_i')::int = z.i, LATERAL (SELECT CASE z.s WHEN 'forbidden' THEN 'rejected:forbidden' WHEN 'lost' THEN E'conflict:older' END AS o) w WHERE o IS NOT NULL ORDER BY z.i; END IF; IF _es_race IS NOT NULL THEN SELECT '[' || string_agg(x::text, ',') || ']' INTO _es_again FROM json_array_elements($1::json) AS x_(x) WHERE (x->>'_es_i')::int = ANY (_es_race); END IF; END$es$;
CREATE OR REPLACE FUNCTION edgesync_6f9b0a6a610fff77_l1(text, text, text) RETURNS text LANGUAGE plpgsql SET enable_seqscan = off AS $es$DECLARE _es_j text; BEGIN WITH x AS (SELECT y."projectId", y."userId" FROM jsonb_to_recordset($1::text::jsonb) AS y("projectId" text, "userId" text) UNION SELECT y."projectId", y."userId" FROM jsonb_to_recordset($3::text::jsonb) AS y("projectId" text, "userId" text)), c AS (SELECT t.* FROM (SELECT * FROM x ORDER BY x."projectId", x."userId" OFFSET 0) x CROSS JOIN LATERAL (SELECT t.*, t.ctid AS "_es_ctid" FROM "project_members" t WHERE t."project_id" = x."projectId" AND t."user_id" = x."userId" AND ((EXISTS (SELECT 1 FROM "project_members" es_m WHERE es_m."project_id" = t."project_id" AND es_m."user_id" = $2 AND NOT es_m."_es_deleted" AND es_m."role" IN ('admin')) OR (EXISTS (SELECT 1 FROM "project_members" es_m WHERE es_m."project_id" = t."project_id" AND es_m."user_id" = $2 AND NOT es_m."_es_deleted" AND es_m."role" IN ('admin')) OR t."user_id" = $2))) IS TRUE FOR UPDATE OF t) t) SELECT count(*)::text AS j FROM c INTO _es_j; RETURN _es_j; END$es$;
CREATE OR REPLACE FUNCTION edgesync_6f9b0a6a610fff77_m2(text, text, text, bigint[], OUT _es_oi int[], OUT _es_or text[], OUT _es_again text) RETURNS record LANGUAGE plpgsql SET enable_seqscan = off AS $es$DECLARE _es_j text; _es_race int[]; _es_n bigint; BEGIN WITH x AS (SELECT * FROM jsonb_to_recordset($1::text::jsonb) AS x("_es_i" int, "_es_h" text, "_es_b" bigint, "_es_c" jsonb, "projectId" text, "userId" text, "role" text)), c AS (SELECT t.* FROM (SELECT * FROM x ORDER BY x."projectId", x."userId" OFFSET 0) x CROSS JOIN LATERAL (SELECT t.*, t.ctid AS "_es_ctid" FROM "project_members" t WHERE t."project_id" = x."projectId" AND t."user_id" = x."userId" AND (EXISTS (SELECT 1 FROM "project_members" es_m WHERE es_m."project_id" = t."project_id" AND es_m."user_id" = $2 AND NOT es_m."_es_deleted" AND es_m."role" IN ('admin')) AND t."project_id" IS NOT DISTINCT FROM x."projectId") IS TRUE FOR UPDATE OF t) t), f AS (SELECT t.*, (EXISTS (SELECT 1 FROM "project_members" es_m WHERE es_m."project_id" = t."project_id" AND es_m."user_id" = $2 AND NOT es_m."_es_deleted" AND es_m."role" IN ('read', 'write', 'admin')) OR t."user_id" = $2) AS "_es_readable" FROM x CROSS JOIN LATERAL (SELECT t.* FROM "project_members" t WHERE t."project_id" = x."projectId" AND t."user_id" = x."userId" OFFSET 0) t WHERE NOT COALESCE(EXISTS (SELECT 1 FROM "project_members" es_m WHERE es_m."project_id" = t."project_id" AND es_m."user_id" = $2 AND NOT es_m."_es_deleted" AND es_m."role" IN ('admin')) AND t."project_id" IS NOT DISTINCT FROM x."projectId", false)), d AS (SELECT x.*, c."_es_version" AS "_es_cur_v", c."added_by" AS "_es_cur_owner", c."_es_deleted" AS "_es_cur_deleted", c."_es_hlc" AS "_es_cur_hlc", c."_es_field_hlc" AS "_es_cur_fh", c."_es_ctid" AS "_es_cur_ctid", (f."_es_version" IS NULL AND ((c."_es_version" IS NULL AND EXISTS (SELECT 1 FROM "project_members" es_m WHERE es_m."project_id" = x."projectId" AND es_m."user_id" = $2 AND NOT es_m."_es_deleted" AND es_m."role" IN ('admin'))) OR (c."_es_version" IS NOT NULL AND x."_es_h" COLLATE "C" > c."_es_hlc"))) AS "_es_ok", (f."_es_version" IS NOT NULL OR (c."_es_version" IS NULL AND NOT EXISTS (SELECT 1 FROM "project_members" es_m WHERE es_m."project_id" = x."projectId" AND es_m."user_id" = $2 AND NOT es_m."_es_deleted" AND es_m."role" IN ('admin')))) AS "_es_foreign" FROM x LEFT JOIN c ON c."project_id" = x."projectId" AND c."user_id" = x."userId" LEFT JOIN f ON f."project_id" = x."projectId" AND f."user_id" = x."userId"), u AS (INSERT INTO "project_members" AS t ("project_id", "user_id", "role", "added_by", "_es_version", "_es_xid", "_es_deleted", "_es_hlc", "_es_field_hlc", "_es_origin", "_es_updated_at") SELECT d."projectId", d."userId", d."role", $2, COALESCE(d."_es_cur_v", nextval('edgesync_version_seq')), pg_current_xact_id(), false, d."_es_h" COLLATE "C", '{}'::jsonb, $3, now() FROM d WHERE d."_es_ok" ORDER BY d."projectId", d."userId" ON CONFLICT ("project_id", "user_id") DO UPDATE SET "role" = EXCLUDED."role", "_es_version" = nextval('edgesync_version_seq'), "_es_xid" = EXCLUDED."_es_xid", "_es_deleted" = false, "_es_hlc" = EXCLUDED."_es_hlc", "_es_field_hlc" = EXCLUDED."_es_field_hlc", "_es_origin" = EXCLUDED."_es_origin", "_es_updated_at" = EXCLUDED."_es_updated_at" WHERE t."_es_version" = EXCLUDED."_es_version" AND t."project_id" = EXCLUDED."project_id" RETURNING t."project_id" AS "_es_key", t."_es_version", t."project_id", t."user_id", json_build_object('projectId', t."project_id", 'userId', t."user_id", 'role', t."role", 'addedBy', t."added_by") AS "_es_row") SELECT COALESCE(json_agg(json_build_object('i', d."_es_i", 's', CASE WHEN u."_es_key" IS NOT NULL THEN 'applied' WHEN d."_es_foreign" THEN 'forbidden' WHEN d."_es_cur_v" IS NULL THEN 'race' ELSE 'lost' END, 'v', COALESCE(u."_es_version", d."_es_cur_v", CASE WHEN f."_es_readable" THEN f."_es_version" END), 'd', COALESCE(d."_es_cur_deleted", CASE WHEN f."_es_readable" THEN f."_es_deleted" END), 'r', CASE WHEN u."_es_key" IS NOT NULL THEN u."_es_row" WHEN d."_es_cur_v" IS NOT NULL AND NOT d."_es_cur_deleted" THEN json_build_object('projectId', c."project_id", 'userId', c."user_id", 'role', c."role", 'addedBy', c."added_by") WHEN f."_es_readable" AND NOT f."_es_deleted" THEN json_build_object('projectId', f."project_id", 'userId', f."user_id", 'role', f."role", 'addedBy', f."added_by") END)), '[]')::text AS j FROM d LEFT JOIN u ON u."project_id" = d."projectId" AND u."user_id" = d."userId" LEFT JOIN c ON c."project_id" = d."projectId" AND c."user_id" = d."userId" LEFT JOIN f ON f."project_id" = d."projectId" AND f."user_id" = d."userId" INTO _es_j; SELECT array_agg(z.i) FILTER (WHERE z.s <> 'race'), array_agg(CASE z.s WHEN 'applied' THEN '{"id":' || $4[z.i + 1] || ',"status":"applied","version":' || coalesce(z.v::text, 'null') || CASE WHEN z.r IS NOT NULL THEN ',"row":' || z.r::text ELSE '' END || '}' WHEN 'forbidden' THEN '{"id":' || $4[z.i + 1] || E',"status":"rejected","reason":"forbidden","message":"membership changes need the admin role in the scope (anyone may remove their own membership)"' || CASE WHEN z.v IS NOT NULL THEN ',"version":' || z.v::text || ',"deleted":' || CASE WHEN z.d THEN 'true' ELSE 'false' END ELSE '' END || CASE WHEN z.r IS NOT NULL THEN ',"row":' || z.r::text ELSE '' END || '}' WHEN 'lost' THEN '{"id":' || $4[z.i + 1] || E',"status":"conflict","reason":"older","version":' || coalesce(z.v::text, 'null') || ',"deleted":' || CASE WHEN z.d THEN 'true' ELSE 'false' END || ',"row":' || coalesce(z.r::text, 'null') || '}' END) FILTER (WHERE z.s <> 'race'), array_agg(z.i) FILTER (WHERE z.s = 'race'), count(*) FILTER (WHERE CASE z.s WHEN 'forbidden' THEN 'rejected:forbidden' WHEN 'lost' THEN E'conflict:older' END IS NOT NULL) INTO _es_oi, _es_or, _es_race, _es_n FROM json_to_recordset(_es_j::json) AS z(i int, s text, v json, d boolean, r json); IF _es_n > 0 THEN INSERT INTO "edgesync_conflicts" (user_id, client_id, table_name, pk, policy, outcome, client_row, server_row) SELECT $2, $3, 'project_members', jsonb_build_object('projectId', x->'projectId', 'userId', x->'userId'), 'lww', o, x - '_es_i' - '_es_h' - '_es_b' - '_es_c', z.r::jsonb FROM json_to_recordset(_es_j::json) AS z(i int, s text, v json, d boolean, r json) JOIN jsonb_array_elements($1::jsonb) AS x_(x) ON (x->>'_es_i')::int = z.i, LATERAL (SELECT CASE z.s WHEN 'forbidden' THEN 'rejected:forbidden' WHEN 'lost' THEN E'conflict:older' END AS o) w WHERE o IS NOT NULL ORDER BY z.i; END IF; IF _es_race IS NOT NULL THEN SELECT '[' || string_agg(x::text, ',') || ']' INTO _es_again FROM json_array_elements($1::json) AS x_(x) WHERE (x->>'_es_i')::int = ANY (_es_race); END IF; END$es$;
CREATE OR REPLACE FUNCTION edgesync_6f9b0a6a610fff77_m3(text, text, text, bigint[], OUT _es_oi int[], OUT _es_or text[], OUT _es_again text) RETURNS record LANGUAGE plpgsql SET enable_seqscan = off AS $es$DECLARE _es_j text; _es_race int[]; _es_n bigint; BEGIN WITH x AS (SELECT * FROM jsonb_to_recordset($1::text::jsonb) AS x("_es_i" int, "_es_h" text, "_es_b" bigint, "projectId" text, "userId" text)), c AS (SELECT t.* FROM (SELECT * FROM x ORDER BY x."projectId", x."userId" OFFSET 0) x CROSS JOIN LATERAL (SELECT t.*, t.ctid AS "_es_ctid" FROM "project_members" t WHERE t."project_id" = x."projectId" AND t."user_id" = x."userId" AND ((EXISTS (SELECT 1 FROM "project_members" es_m WHERE es_m."project_id" = t."project_id" AND es_m."user_id" = $2 AND NOT es_m."_es_deleted" AND es_m."role" IN ('admin')) OR t."user_id" = $2)) IS TRUE FOR UPDATE OF t) t), f AS (SELECT t.*, (EXISTS (SELECT 1 FROM "project_members" es_m WHERE es_m."project_id" = t."project_id" AND es_m."user_id" = $2 AND NOT es_m."_es_deleted" AND es_m."role" IN ('read', 'write', 'admin')) OR t."user_id" = $2) AS "_es_readable" FROM x CROSS JOIN LATERAL (SELECT t.* FROM "project_members" t WHERE t."project_id" = x."projectId" AND t."user_id" = x."userId" OFFSET 0) t WHERE NOT COALESCE((EXISTS (SELECT 1 FROM "project_members" es_m WHERE es_m."project_id" = t."project_id" AND es_m."user_id" = $2 AND NOT es_m."_es_deleted" AND es_m."role" IN ('admin')) OR t."user_id" = $2), false)), d AS (SELECT x.*, c."_es_version" AS "_es_cur_v", c."added_by" AS "_es_cur_owner", c."_es_deleted" AS "_es_cur_deleted", c."_es_hlc" AS "_es_cur_hlc", c."_es_field_hlc" AS "_es_cur_fh", c."_es_ctid" AS "_es_cur_ctid", (f."_es_version" IS NULL AND (c."_es_version" IS NULL OR x."_es_h" COLLATE "C" > c."_es_hlc")) AS "_es_ok", f."_es_version" IS NOT NULL AS "_es_foreign" FROM x LEFT JOIN c ON c."project_id" = x."projectId" AND c."user_id" = x."userId" LEFT JOIN f ON f."project_id" = x."projectId" AND f."user_id" = x."userId"), u AS (UPDATE "project_members" t SET "_es_deleted" = true, "_es_version" = nextval('edgesync_version_seq'), "_es_xid" = pg_current_xact_id(), "_es_hlc" = GREATEST(t."_es_hlc", d."_es_h" COLLATE "C"), "_es_origin" = $3, "_es_updated_at" = now() FROM d WHERE t.ctid = d."_es_cur_ctid" AND d."_es_ok" AND d."_es_cur_v" IS NOT NULL RETURNING t."project_id" AS "_es_key", t."_es_version", t."project_id", t."user_id") SELECT COALESCE(json_agg(CASE WHEN u."_es_key" IS NULL AND NOT d."_es_foreign" AND (d."_es_cur_v" IS NULL OR d."_es_cur_deleted") THEN json_build_object('i', d."_es_i", 's', 'applied', 'v', d."_es_cur_v", 'd', true, 'r', NULL) ELSE json_build_object('i', d."_es_i", 's', CASE WHEN u."_es_key" IS NOT NULL THEN 'applied' WHEN d."_es_foreign" THEN 'forbidden' WHEN d."_es_cur_v" IS NULL THEN 'race' ELSE 'lost' END, 'v', COALESCE(u."_es_version", d."_es_cur_v", CASE WHEN f."_es_readable" THEN f."_es_version" END), 'd', COALESCE(d."_es_cur_deleted", CASE WHEN f."_es_readable" THEN f."_es_deleted" END), 'r', CASE WHEN u."_es_key" IS NOT NULL THEN NULL WHEN d."_es_cur_v" IS NOT NULL AND NOT d."_es_cur_deleted" THEN json_build_object('projectId', c."project_id", 'userId', c."user_id", 'role', c."role", 'addedBy', c."added_by") WHEN f."_es_readable" AND NOT f."_es_deleted" THEN json_build_object('projectId', f."project_id", 'userId', f."user_id", 'role', f."role", 'addedBy', f."added_by") END) END), '[]')::text AS j FROM d LEFT JOIN c ON c."project_id" = d."projectId" AND c."user_id" = d."userId" LEFT JOIN u ON u."project_id" = d."projectId" AND u."user_id" = d."userId" LEFT JOIN f ON f."project_id" = d."projectId" AND f."user_id" = d."userId" INTO _es_j; SELECT array_agg(z.i) FILTER (WHERE z.s <> 'race'), array_agg(CASE z.s WHEN 'applied' THEN '{"id":' || $4[z.i + 1] || ',"status":"applied","version":' || coalesce(z.v::text, 'null') || CASE WHEN z.r IS NOT NULL THEN ',"row":' || z.r::text ELSE '' END || '}' WHEN 'forbidden' THEN '{"id":' || $4[z.i + 1] || E',"status":"rejected","reason":"forbidden","message":"membership changes need the admin role in the scope (anyone may remove their own membership)"' || CASE WHEN z.v IS NOT NULL THEN ',"version":' || z.v::text || ',"deleted":' || CASE WHEN z.d THEN 'true' ELSE 'false' END ELSE '' END || CASE WHEN z.r IS NOT NULL THEN ',"row":' || z.r::text ELSE '' END || '}' WHEN 'lost' THEN '{"id":' || $4[z.i + 1] || E',"status":"conflict","reason":"older","version":' || coalesce(z.v::text, 'null') || ',"deleted":' || CASE WHEN z.d THEN 'true' ELSE 'false' END || ',"row":' || coalesce(z.r::text, 'null') || '}' END) FILTER (WHERE z.s <> 'race'), array_agg(z.i) FILTER (WHERE z.s = 'race'), count(*) FILTER (WHERE CASE z.s WHEN 'forbidden' THEN 'rejected:forbidden' WHEN 'lost' THEN E'conflict:older' END IS NOT NULL) INTO _es_oi, _es_or, _es_race, _es_n FROM json_to_recordset(_es_j::json) AS z(i int, s text, v json, d boolean, r json); IF _es_n > 0 THEN INSERT INTO "edgesync_conflicts" (user_id, client_id, table_name, pk, policy, outcome, client_row, server_row) SELECT $2, $3, 'project_members', jsonb_build_object('projectId', x->'projectId', 'userId', x->'userId'), 'lww', o, NULL, z.r::jsonb FROM json_to_recordset(_es_j::json) AS z(i int, s text, v json, d boolean, r json) JOIN jsonb_array_elements($1::jsonb) AS x_(x) ON (x->>'_es_i')::int = z.i, LATERAL (SELECT CASE z.s WHEN 'forbidden' THEN 'rejected:forbidden' WHEN 'lost' THEN E'conflict:older' END AS o) w WHERE o IS NOT NULL ORDER BY z.i; END IF; IF _es_race IS NOT NULL THEN SELECT '[' || string_agg(x::text, ',') || ']' INTO _es_again FROM json_array_elements($1::json) AS x_(x) WHERE (x->>'_es_i')::int = ANY (_es_race); END IF; END$es$;
CREATE OR REPLACE FUNCTION edgesync_6f9b0a6a610fff77_l2(text, text, text) RETURNS text LANGUAGE plpgsql SET enable_seqscan = off AS $es$DECLARE _es_j text; BEGIN WITH x AS (SELECT y."id" FROM jsonb_to_recordset($1::text::jsonb) AS y("id" text) UNION SELECT y."id" FROM jsonb_to_recordset($3::text::jsonb) AS y("id" text)), c AS (SELECT t.* FROM (SELECT * FROM x ORDER BY x."id" OFFSET 0) x CROSS JOIN LATERAL (SELECT t.*, t.ctid AS "_es_ctid" FROM "nodes" t WHERE t."id" = x."id" AND ((EXISTS (SELECT 1 FROM "project_members" es_m WHERE es_m."project_id" = t."project_id" AND es_m."user_id" = $2 AND NOT es_m."_es_deleted" AND es_m."role" IN ('write', 'admin')) OR EXISTS (SELECT 1 FROM "project_members" es_m WHERE es_m."project_id" = t."project_id" AND es_m."user_id" = $2 AND NOT es_m."_es_deleted" AND es_m."role" IN ('write', 'admin')))) IS TRUE FOR UPDATE OF t) t) SELECT count(*)::text AS j FROM c INTO _es_j; RETURN _es_j; END$es$;
CREATE OR REPLACE FUNCTION edgesync_6f9b0a6a610fff77_m4(text, text, text, bigint[], OUT _es_oi int[], OUT _es_or text[], OUT _es_again text) RETURNS record LANGUAGE plpgsql SET enable_seqscan = off AS $es$DECLARE _es_j text; _es_race int[]; _es_n bigint; BEGIN WITH x AS (SELECT * FROM jsonb_to_recordset($1::text::jsonb) AS x("_es_i" int, "_es_h" text, "_es_b" bigint, "_es_c" jsonb, "id" text, "projectId" text, "label" text)), c AS (SELECT t.* FROM (SELECT * FROM x ORDER BY x."id" OFFSET 0) x CROSS JOIN LATERAL (SELECT t.*, t.ctid AS "_es_ctid" FROM "nodes" t WHERE t."id" = x."id" AND (EXISTS (SELECT 1 FROM "project_members" es_m WHERE es_m."project_id" = t."project_id" AND es_m."user_id" = $2 AND NOT es_m."_es_deleted" AND es_m."role" IN ('write', 'admin')) AND t."project_id" IS NOT DISTINCT FROM x."projectId") IS TRUE FOR UPDATE OF t) t), f AS (SELECT t.*, EXISTS (SELECT 1 FROM "project_members" es_m WHERE es_m."project_id" = t."project_id" AND es_m."user_id" = $2 AND NOT es_m."_es_deleted" AND es_m."role" IN ('read', 'write', 'admin')) AS "_es_readable" FROM x CROSS JOIN LATERAL (SELECT t.* FROM "nodes" t WHERE t."id" = x."id" OFFSET 0) t WHERE NOT COALESCE(EXISTS (SELECT 1 FROM "project_members" es_m WHERE es_m."project_id" = t."project_id" AND es_m."user_id" = $2 AND NOT es_m."_es_deleted" AND es_m."role" IN ('write', 'admin')) AND t."project_id" IS NOT DISTINCT FROM x."projectId", false)), d AS (SELECT x.*, c."_es_version" AS "_es_cur_v", c."owner_id" AS "_es_cur_owner", c."_es_deleted" AS "_es_cur_deleted", c."_es_hlc" AS "_es_cur_hlc", c."_es_field_hlc" AS "_es_cur_fh", c."_es_ctid" AS "_es_cur_ctid", (f."_es_version" IS NULL AND ((c."_es_version" IS NULL AND EXISTS (SELECT 1 FROM "project_members" es_m WHERE es_m."project_id" = x."projectId" AND es_m."user_id" = $2 AND NOT es_m."_es_deleted" AND es_m."role" IN ('write', 'admin'))) OR (c."_es_version" IS NOT NULL AND (NOT c."_es_deleted" OR x."_es_h" COLLATE "C" > c."_es_hlc")))) AS "_es_ok", (f."_es_version" IS NOT NULL OR (c."_es_version" IS NULL AND NOT EXISTS (SELECT 1 FROM "project_members" es_m WHERE es_m."project_id" = x."projectId" AND es_m."user_id" = $2 AND NOT es_m."_es_deleted" AND es_m."role" IN ('write', 'admin')))) AS "_es_foreign", c."id" AS "_es_k0", c."project_id" AS "_es_k1", c."owner_id" AS "_es_k2", c."label" AS "_es_k3" FROM x LEFT JOIN c ON c."id" = x."id" LEFT JOIN f ON f."id" = x."id"), u AS (INSERT INTO "nodes" AS t ("id", "project_id", "owner_id", "label", "_es_version", "_es_xid", "_es_deleted", "_es_hlc", "_es_field_hlc", "_es_origin", "_es_updated_at") SELECT d."id", CASE WHEN d."_es_cur_v" IS NULL OR d."_es_cur_deleted" OR ((d."_es_c" IS NULL OR d."_es_c" ? 'projectId') AND d."_es_h" COLLATE "C" > COALESCE(d."_es_cur_fh" ->> 'projectId', d."_es_cur_hlc")) THEN d."projectId" ELSE d."_es_k1" END, $2, CASE WHEN d."_es_cur_v" IS NULL OR d."_es_cur_deleted" OR ((d."_es_c" IS NULL OR d."_es_c" ? 'label') AND d."_es_h" COLLATE "C" > COALESCE(d."_es_cur_fh" ->> 'label', d."_es_cur_hlc")) THEN d."label" ELSE d."_es_k3" END, COALESCE(d."_es_cur_v", nextval('edgesync_version_seq')), pg_current_xact_id(), false, CASE WHEN d."_es_cur_v" IS NULL OR d."_es_cur_deleted" THEN d."_es_h" COLLATE "C" ELSE GREATEST(d."_es_h" COLLATE "C", d."_es_cur_hlc") END, CASE WHEN d."_es_cur_v" IS NULL OR d."_es_cur_deleted" THEN jsonb_build_object('projectId', d."_es_h", 'label', d."_es_h") ELSE d."_es_cur_fh" || jsonb_strip_nulls(jsonb_build_object('projectId', CASE WHEN ((d."_es_c" IS NULL OR d."_es_c" ? 'projectId') AND d."_es_h" COLLATE "C" > COALESCE(d."_es_cur_fh" ->> 'projectId', d."_es_cur_hlc")) THEN d."_es_h" END, 'label', CASE WHEN ((d."_es_c" IS NULL OR d."_es_c" ? 'label') AND d."_es_h" COLLATE "C" > COALESCE(d."_es_cur_fh" ->> 'label', d."_es_cur_hlc")) THEN d."_es_h" END)) END, $3, now() FROM d WHERE d."_es_ok" ORDER BY d."id" ON CONFLICT ("id") DO UPDATE SET "project_id" = EXCLUDED."project_id", "label" = EXCLUDED."label", "_es_version" = nextval('edgesync_version_seq'), "_es_xid" = EXCLUDED."_es_xid", "_es_deleted" = false, "_es_hlc" = EXCLUDED."_es_hlc", "_es_field_hlc" = EXCLUDED."_es_field_hlc", "_es_origin" = EXCLUDED."_es_origin", "_es_updated_at" = EXCLUDED."_es_updated_at" WHERE t."_es_version" = EXCLUDED."_es_version" AND t."project_id" = EXCLUDED."project_id" RETURNING t."id" AS "_es_key", t."_es_version", t."id", json_build_object('id', t."id", 'projectId', t."project_id", 'ownerId', t."owner_id", 'label', t."label") AS "_es_row") SELECT COALESCE(json_agg(json_build_object('i', d."_es_i", 's', CASE WHEN u."_es_key" IS NOT NULL THEN 'applied' WHEN d."_es_foreign" THEN 'forbidden' WHEN d."_es_cur_v" IS NULL THEN 'race' ELSE 'lost' END, 'v', COALESCE(u."_es_version", d."_es_cur_v", CASE WHEN f."_es_readable" THEN f."_es_version" END), 'd', COALESCE(d."_es_cur_deleted", CASE WHEN f."_es_readable" THEN f."_es_deleted" END), 'r', CASE WHEN u."_es_key" IS NOT NULL THEN u."_es_row" WHEN d."_es_cur_v" IS NOT NULL AND NOT d."_es_cur_deleted" THEN json_build_object('id', c."id", 'projectId', c."project_id", 'ownerId', c."owner_id", 'label', c."label") WHEN f."_es_readable" AND NOT f."_es_deleted" THEN json_build_object('id', f."id", 'projectId', f."project_id", 'ownerId', f."owner_id", 'label', f."label") END)), '[]')::text AS j FROM d LEFT JOIN u ON u."id" = d."id" LEFT JOIN c ON c."id" = d."id" LEFT JOIN f ON f."id" = d."id" INTO _es_j; SELECT array_agg(z.i) FILTER (WHERE z.s <> 'race'), array_agg(CASE z.s WHEN 'applied' THEN '{"id":' || $4[z.i + 1] || ',"status":"applied","version":' || coalesce(z.v::text, 'null') || CASE WHEN z.r IS NOT NULL THEN ',"row":' || z.r::text ELSE '' END || '}' WHEN 'forbidden' THEN '{"id":' || $4[z.i + 1] || E',"status":"rejected","reason":"forbidden","message":"this change needs the write role in the row''s scope (admin to delete a scope''s root row); a row''s scope cannot change"' || CASE WHEN z.v IS NOT NULL THEN ',"version":' || z.v::text || ',"deleted":' || CASE WHEN z.d THEN 'true' ELSE 'false' END ELSE '' END || CASE WHEN z.r IS NOT NULL THEN ',"row":' || z.r::text ELSE '' END || '}' WHEN 'lost' THEN '{"id":' || $4[z.i + 1] || E',"status":"conflict","reason":"older","version":' || coalesce(z.v::text, 'null') || ',"deleted":' || CASE WHEN z.d THEN 'true' ELSE 'false' END || ',"row":' || coalesce(z.r::text, 'null') || '}' END) FILTER (WHERE z.s <> 'race'), array_agg(z.i) FILTER (WHERE z.s = 'race'), count(*) FILTER (WHERE CASE z.s WHEN 'forbidden' THEN 'rejected:forbidden' WHEN 'lost' THEN E'conflict:older' END IS NOT NULL) INTO _es_oi, _es_or, _es_race, _es_n FROM json_to_recordset(_es_j::json) AS z(i int, s text, v json, d boolean, r json); IF _es_n > 0 THEN INSERT INTO "edgesync_conflicts" (user_id, client_id, table_name, pk, policy, outcome, client_row, server_row) SELECT $2, $3, 'nodes', jsonb_build_object('id', x->'id'), 'lww-field', o, x - '_es_i' - '_es_h' - '_es_b' - '_es_c', z.r::jsonb FROM json_to_recordset(_es_j::json) AS z(i int, s text, v json, d boolean, r json) JOIN jsonb_array_elements($1::jsonb) AS x_(x) ON (x->>'_es_i')::int = z.i, LATERAL (SELECT CASE z.s WHEN 'forbidden' THEN 'rejected:forbidden' WHEN 'lost' THEN E'conflict:older' END AS o) w WHERE o IS NOT NULL ORDER BY z.i; END IF; IF _es_race IS NOT NULL THEN SELECT '[' || string_agg(x::text, ',') || ']' INTO _es_again FROM json_array_elements($1::json) AS x_(x) WHERE (x->>'_es_i')::int = ANY (_es_race); END IF; END$es$;
CREATE OR REPLACE FUNCTION edgesync_6f9b0a6a610fff77_m5(text, text, text, bigint[], OUT _es_oi int[], OUT _es_or text[], OUT _es_again text) RETURNS record LANGUAGE plpgsql SET enable_seqscan = off AS $es$DECLARE _es_j text; _es_race int[]; _es_n bigint; BEGIN WITH x AS (SELECT * FROM jsonb_to_recordset($1::text::jsonb) AS x("_es_i" int, "_es_h" text, "_es_b" bigint, "id" text)), c AS (SELECT t.* FROM (SELECT * FROM x ORDER BY x."id" OFFSET 0) x CROSS JOIN LATERAL (SELECT t.*, t.ctid AS "_es_ctid" FROM "nodes" t WHERE t."id" = x."id" AND (EXISTS (SELECT 1 FROM "project_members" es_m WHERE es_m."project_id" = t."project_id" AND es_m."user_id" = $2 AND NOT es_m."_es_deleted" AND es_m."role" IN ('write', 'admin'))) IS TRUE FOR UPDATE OF t) t), f AS (SELECT t.*, EXISTS (SELECT 1 FROM "project_members" es_m WHERE es_m."project_id" = t."project_id" AND es_m."user_id" = $2 AND NOT es_m."_es_deleted" AND es_m."role" IN ('read', 'write', 'admin')) AS "_es_readable" FROM x CROSS JOIN LATERAL (SELECT t.* FROM "nodes" t WHERE t."id" = x."id" OFFSET 0) t WHERE NOT COALESCE(EXISTS (SELECT 1 FROM "project_members" es_m WHERE es_m."project_id" = t."project_id" AND es_m."user_id" = $2 AND NOT es_m."_es_deleted" AND es_m."role" IN ('write', 'admin')), false)), d AS (SELECT x.*, c."_es_version" AS "_es_cur_v", c."owner_id" AS "_es_cur_owner", c."_es_deleted" AS "_es_cur_deleted", c."_es_hlc" AS "_es_cur_hlc", c."_es_field_hlc" AS "_es_cur_fh", c."_es_ctid" AS "_es_cur_ctid", (f."_es_version" IS NULL AND (c."_es_version" IS NULL OR x."_es_h" COLLATE "C" > c."_es_hlc")) AS "_es_ok", f."_es_version" IS NOT NULL AS "_es_foreign" FROM x LEFT JOIN c ON c."id" = x."id" LEFT JOIN f ON f."id" = x."id"), u AS (UPDATE "nodes" t SET "_es_deleted" = true, "_es_version" = nextval('edgesync_version_seq'), "_es_xid" = pg_current_xact_id(), "_es_hlc" = GREATEST(t."_es_hlc", d."_es_h" COLLATE "C"), "_es_origin" = $3, "_es_updated_at" = now() FROM d WHERE t.ctid = d."_es_cur_ctid" AND d."_es_ok" AND d."_es_cur_v" IS NOT NULL RETURNING t."id" AS "_es_key", t."_es_version", t."id") SELECT COALESCE(json_agg(CASE WHEN u."_es_key" IS NULL AND NOT d."_es_foreign" AND (d."_es_cur_v" IS NULL OR d."_es_cur_deleted") THEN json_build_object('i', d."_es_i", 's', 'applied', 'v', d."_es_cur_v", 'd', true, 'r', NULL) ELSE json_build_object('i', d."_es_i", 's', CASE WHEN u."_es_key" IS NOT NULL THEN 'applied' WHEN d."_es_foreign" THEN 'forbidden' WHEN d."_es_cur_v" IS NULL THEN 'race' ELSE 'lost' END, 'v', COALESCE(u."_es_version", d."_es_cur_v", CASE WHEN f."_es_readable" THEN f."_es_version" END), 'd', COALESCE(d."_es_cur_deleted", CASE WHEN f."_es_readable" THEN f."_es_deleted" END), 'r', CASE WHEN u."_es_key" IS NOT NULL THEN NULL WHEN d."_es_cur_v" IS NOT NULL AND NOT d."_es_cur_deleted" THEN json_build_object('id', c."id", 'projectId', c."project_id", 'ownerId', c."owner_id", 'label', c."label") WHEN f."_es_readable" AND NOT f."_es_deleted" THEN json_build_object('id', f."id", 'projectId', f."project_id", 'ownerId', f."owner_id", 'label', f."label") END) END), '[]')::text AS j FROM d LEFT JOIN c ON c."id" = d."id" LEFT JOIN u ON u."id" = d."id" LEFT JOIN f ON f."id" = d."id" INTO _es_j; SELECT array_agg(z.i) FILTER (WHERE z.s <> 'race'), array_agg(CASE z.s WHEN 'applied' THEN '{"id":' || $4[z.i + 1] || ',"status":"applied","version":' || coalesce(z.v::text, 'null') || CASE WHEN z.r IS NOT NULL THEN ',"row":' || z.r::text ELSE '' END || '}' WHEN 'forbidden' THEN '{"id":' || $4[z.i + 1] || E',"status":"rejected","reason":"forbidden","message":"this change needs the write role in the row''s scope (admin to delete a scope''s root row); a row''s scope cannot change"' || CASE WHEN z.v IS NOT NULL THEN ',"version":' || z.v::text || ',"deleted":' || CASE WHEN z.d THEN 'true' ELSE 'false' END ELSE '' END || CASE WHEN z.r IS NOT NULL THEN ',"row":' || z.r::text ELSE '' END || '}' WHEN 'lost' THEN '{"id":' || $4[z.i + 1] || E',"status":"conflict","reason":"older","version":' || coalesce(z.v::text, 'null') || ',"deleted":' || CASE WHEN z.d THEN 'true' ELSE 'false' END || ',"row":' || coalesce(z.r::text, 'null') || '}' END) FILTER (WHERE z.s <> 'race'), array_agg(z.i) FILTER (WHERE z.s = 'race'), count(*) FILTER (WHERE CASE z.s WHEN 'forbidden' THEN 'rejected:forbidden' WHEN 'lost' THEN E'conflict:older' END IS NOT NULL) INTO _es_oi, _es_or, _es_race, _es_n FROM json_to_recordset(_es_j::json) AS z(i int, s text, v json, d boolean, r json); IF _es_n > 0 THEN INSERT INTO "edgesync_conflicts" (user_id, client_id, table_name, pk, policy, outcome, client_row, server_row) SELECT $2, $3, 'nodes', jsonb_build_object('id', x->'id'), 'lww-field', o, NULL, z.r::jsonb FROM json_to_recordset(_es_j::json) AS z(i int, s text, v json, d boolean, r json) JOIN jsonb_array_elements($1::jsonb) AS x_(x) ON (x->>'_es_i')::int = z.i, LATERAL (SELECT CASE z.s WHEN 'forbidden' THEN 'rejected:forbidden' WHEN 'lost' THEN E'conflict:older' END AS o) w WHERE o IS NOT NULL ORDER BY z.i; END IF; IF _es_race IS NOT NULL THEN SELECT '[' || string_agg(x::text, ',') || ']' INTO _es_again FROM json_array_elements($1::json) AS x_(x) WHERE (x->>'_es_i')::int = ANY (_es_race); END IF; END$es$;
CREATE OR REPLACE FUNCTION edgesync_6f9b0a6a610fff77_l3(text, text, text) RETURNS text LANGUAGE plpgsql SET enable_seqscan = off AS $es$DECLARE _es_j text; BEGIN WITH x AS (SELECT y."id" FROM jsonb_to_recordset($1::text::jsonb) AS y("id" text) UNION SELECT y."id" FROM jsonb_to_recordset($3::text::jsonb) AS y("id" text)), c AS (SELECT t.* FROM (SELECT * FROM x ORDER BY x."id" OFFSET 0) x CROSS JOIN LATERAL (SELECT t.*, t.ctid AS "_es_ctid" FROM "notes" t WHERE t."id" = x."id" AND (t."owner_id" = $2) IS TRUE FOR UPDATE OF t) t) SELECT count(*)::text AS j FROM c INTO _es_j; RETURN _es_j; END$es$;
CREATE OR REPLACE FUNCTION edgesync_6f9b0a6a610fff77_m6(text, text, text, bigint[], OUT _es_oi int[], OUT _es_or text[], OUT _es_again text) RETURNS record LANGUAGE plpgsql SET enable_seqscan = off AS $es$DECLARE _es_j text; _es_race int[]; _es_n bigint; BEGIN WITH x AS (SELECT * FROM jsonb_to_recordset($1::text::jsonb) AS x("_es_i" int, "_es_h" text, "_es_b" bigint, "_es_c" jsonb, "id" text, "body" text)), c AS (SELECT t.* FROM (SELECT * FROM x ORDER BY x."id" OFFSET 0) x CROSS JOIN LATERAL (SELECT t.*, t.ctid AS "_es_ctid" FROM "notes" t WHERE t."id" = x."id" AND (t."owner_id" = $2) IS TRUE FOR UPDATE OF t) t), f AS (SELECT t.* FROM x CROSS JOIN LATERAL (SELECT t.* FROM "notes" t WHERE t."id" = x."id" OFFSET 0) t WHERE t."owner_id" IS DISTINCT FROM $2), d AS (SELECT x.*, c."_es_version" AS "_es_cur_v", c."owner_id" AS "_es_cur_owner", c."_es_deleted" AS "_es_cur_deleted", c."_es_hlc" AS "_es_cur_hlc", c."_es_field_hlc" AS "_es_cur_fh", c."_es_ctid" AS "_es_cur_ctid", (f."_es_version" IS NULL AND (c."_es_version" IS NULL OR x."_es_h" COLLATE "C" > c."_es_hlc")) AS "_es_ok", f."_es_version" IS NOT NULL AS "_es_foreign" FROM x LEFT JOIN c ON c."id" = x."id" LEFT JOIN f ON f."id" = x."id"), u AS (INSERT INTO "notes" AS t ("id", "owner_id", "body", "_es_version", "_es_xid", "_es_deleted", "_es_hlc", "_es_field_hlc", "_es_origin", "_es_updated_at") SELECT d."id", $2, d."body", COALESCE(d."_es_cur_v", nextval('edgesync_version_seq')), pg_current_xact_id(), false, d."_es_h" COLLATE "C", '{}'::jsonb, $3, now() FROM d WHERE d."_es_ok" ORDER BY d."id" ON CONFLICT ("id") DO UPDATE SET "body" = EXCLUDED."body", "_es_version" = nextval('edgesync_version_seq'), "_es_xid" = EXCLUDED."_es_xid", "_es_deleted" = false, "_es_hlc" = EXCLUDED."_es_hlc", "_es_field_hlc" = EXCLUDED."_es_field_hlc", "_es_origin" = EXCLUDED."_es_origin", "_es_updated_at" = EXCLUDED."_es_updated_at" WHERE t."_es_version" = EXCLUDED."_es_version" AND t."owner_id" = EXCLUDED."owner_id" RETURNING t."id" AS "_es_key", t."_es_version", t."id") SELECT COALESCE(json_agg(json_build_object('i', d."_es_i", 's', CASE WHEN u."_es_key" IS NOT NULL THEN 'applied' WHEN d."_es_foreign" THEN 'forbidden' WHEN d."_es_cur_v" IS NULL THEN 'race' ELSE 'lost' END, 'v', COALESCE(u."_es_version", d."_es_cur_v"), 'd', d."_es_cur_deleted", 'r', CASE WHEN u."_es_key" IS NOT NULL THEN NULL WHEN d."_es_cur_v" IS NOT NULL AND NOT d."_es_cur_deleted" THEN json_build_object('id', c."id", 'ownerId', c."owner_id", 'body', c."body") END)), '[]')::text AS j FROM d LEFT JOIN u ON u."id" = d."id" LEFT JOIN c ON c."id" = d."id" INTO _es_j; SELECT array_agg(z.i) FILTER (WHERE z.s <> 'race'), array_agg(CASE z.s WHEN 'applied' THEN '{"id":' || $4[z.i + 1] || ',"status":"applied","version":' || coalesce(z.v::text, 'null') || CASE WHEN z.r IS NOT NULL THEN ',"row":' || z.r::text ELSE '' END || '}' WHEN 'forbidden' THEN '{"id":' || $4[z.i + 1] || E',"status":"rejected","reason":"forbidden","message":"the row belongs to another user"' || '}' WHEN 'lost' THEN '{"id":' || $4[z.i + 1] || E',"status":"conflict","reason":"older","version":' || coalesce(z.v::text, 'null') || ',"deleted":' || CASE WHEN z.d THEN 'true' ELSE 'false' END || ',"row":' || coalesce(z.r::text, 'null') || '}' END) FILTER (WHERE z.s <> 'race'), array_agg(z.i) FILTER (WHERE z.s = 'race'), count(*) FILTER (WHERE CASE z.s WHEN 'forbidden' THEN 'rejected:forbidden' WHEN 'lost' THEN E'conflict:older' END IS NOT NULL) INTO _es_oi, _es_or, _es_race, _es_n FROM json_to_recordset(_es_j::json) AS z(i int, s text, v json, d boolean, r json); IF _es_n > 0 THEN INSERT INTO "edgesync_conflicts" (user_id, client_id, table_name, pk, policy, outcome, client_row, server_row) SELECT $2, $3, 'notes', jsonb_build_object('id', x->'id'), 'lww', o, x - '_es_i' - '_es_h' - '_es_b' - '_es_c', z.r::jsonb FROM json_to_recordset(_es_j::json) AS z(i int, s text, v json, d boolean, r json) JOIN jsonb_array_elements($1::jsonb) AS x_(x) ON (x->>'_es_i')::int = z.i, LATERAL (SELECT CASE z.s WHEN 'forbidden' THEN 'rejected:forbidden' WHEN 'lost' THEN E'conflict:older' END AS o) w WHERE o IS NOT NULL ORDER BY z.i; END IF; IF _es_race IS NOT NULL THEN SELECT '[' || string_agg(x::text, ',') || ']' INTO _es_again FROM json_array_elements($1::json) AS x_(x) WHERE (x->>'_es_i')::int = ANY (_es_race); END IF; END$es$;
CREATE OR REPLACE FUNCTION edgesync_6f9b0a6a610fff77_m7(text, text, text, bigint[], OUT _es_oi int[], OUT _es_or text[], OUT _es_again text) RETURNS record LANGUAGE plpgsql SET enable_seqscan = off AS $es$DECLARE _es_j text; _es_race int[]; _es_n bigint; BEGIN WITH x AS (SELECT * FROM jsonb_to_recordset($1::text::jsonb) AS x("_es_i" int, "_es_h" text, "_es_b" bigint, "id" text)), c AS (SELECT t.* FROM (SELECT * FROM x ORDER BY x."id" OFFSET 0) x CROSS JOIN LATERAL (SELECT t.*, t.ctid AS "_es_ctid" FROM "notes" t WHERE t."id" = x."id" AND (t."owner_id" = $2) IS TRUE FOR UPDATE OF t) t), f AS (SELECT t.* FROM x CROSS JOIN LATERAL (SELECT t.* FROM "notes" t WHERE t."id" = x."id" OFFSET 0) t WHERE t."owner_id" IS DISTINCT FROM $2), d AS (SELECT x.*, c."_es_version" AS "_es_cur_v", c."owner_id" AS "_es_cur_owner", c."_es_deleted" AS "_es_cur_deleted", c."_es_hlc" AS "_es_cur_hlc", c."_es_field_hlc" AS "_es_cur_fh", c."_es_ctid" AS "_es_cur_ctid", (f."_es_version" IS NULL AND (c."_es_version" IS NULL OR x."_es_h" COLLATE "C" > c."_es_hlc")) AS "_es_ok", f."_es_version" IS NOT NULL AS "_es_foreign" FROM x LEFT JOIN c ON c."id" = x."id" LEFT JOIN f ON f."id" = x."id"), u0 AS (UPDATE "notes" t SET "_es_deleted" = true, "_es_version" = nextval('edgesync_version_seq'), "_es_xid" = pg_current_xact_id(), "_es_hlc" = GREATEST(t."_es_hlc", d."_es_h" COLLATE "C"), "_es_origin" = $3, "_es_updated_at" = now() FROM d WHERE t.ctid = d."_es_cur_ctid" AND d."_es_ok" AND d."_es_cur_v" IS NOT NULL RETURNING t."id" AS "_es_key", t."_es_version", t."id"), n AS (INSERT INTO "notes" AS t ("id", "owner_id", "_es_version", "_es_xid", "_es_deleted", "_es_hlc", "_es_origin", "_es_updated_at") SELECT d."id", $2, nextval('edgesync_version_seq'), pg_current_xact_id(), true, d."_es_h" COLLATE "C", $3, now() FROM d WHERE d."_es_cur_v" IS NULL AND NOT d."_es_foreign" ORDER BY d."id" ON CONFLICT DO NOTHING RETURNING t."id" AS "_es_key", t."_es_version", t."id"), u AS (SELECT * FROM u0 UNION ALL SELECT * FROM n) SELECT COALESCE(json_agg(CASE WHEN u."_es_key" IS NULL AND NOT d."_es_foreign" AND (d."_es_cur_deleted") THEN json_build_object('i', d."_es_i", 's', 'applied', 'v', d."_es_cur_v", 'd', true, 'r', NULL) ELSE json_build_object('i', d."_es_i", 's', CASE WHEN u."_es_key" IS NOT NULL THEN 'applied' WHEN d."_es_foreign" THEN 'forbidden' WHEN d."_es_cur_v" IS NULL THEN 'race' ELSE 'lost' END, 'v', COALESCE(u."_es_version", d."_es_cur_v"), 'd', d."_es_cur_deleted", 'r', CASE WHEN u."_es_key" IS NOT NULL THEN NULL WHEN d."_es_cur_v" IS NOT NULL AND NOT d."_es_cur_deleted" THEN json_build_object('id', c."id", 'ownerId', c."owner_id", 'body', c."body") END) END), '[]')::text AS j FROM d LEFT JOIN c ON c."id" = d."id" LEFT JOIN u ON u."id" = d."id" INTO _es_j; SELECT array_agg(z.i) FILTER (WHERE z.s <> 'race'), array_agg(CASE z.s WHEN 'applied' THEN '{"id":' || $4[z.i + 1] || ',"status":"applied","version":' || coalesce(z.v::text, 'null') || CASE WHEN z.r IS NOT NULL THEN ',"row":' || z.r::text ELSE '' END || '}' WHEN 'forbidden' THEN '{"id":' || $4[z.i + 1] || E',"status":"rejected","reason":"forbidden","message":"the row belongs to another user"' || '}' WHEN 'lost' THEN '{"id":' || $4[z.i + 1] || E',"status":"conflict","reason":"older","version":' || coalesce(z.v::text, 'null') || ',"deleted":' || CASE WHEN z.d THEN 'true' ELSE 'false' END || ',"row":' || coalesce(z.r::text, 'null') || '}' END) FILTER (WHERE z.s <> 'race'), array_agg(z.i) FILTER (WHERE z.s = 'race'), count(*) FILTER (WHERE CASE z.s WHEN 'forbidden' THEN 'rejected:forbidden' WHEN 'lost' THEN E'conflict:older' END IS NOT NULL) INTO _es_oi, _es_or, _es_race, _es_n FROM json_to_recordset(_es_j::json) AS z(i int, s text, v json, d boolean, r json); IF _es_n > 0 THEN INSERT INTO "edgesync_conflicts" (user_id, client_id, table_name, pk, policy, outcome, client_row, server_row) SELECT $2, $3, 'notes', jsonb_build_object('id', x->'id'), 'lww', o, NULL, z.r::jsonb FROM json_to_recordset(_es_j::json) AS z(i int, s text, v json, d boolean, r json) JOIN jsonb_array_elements($1::jsonb) AS x_(x) ON (x->>'_es_i')::int = z.i, LATERAL (SELECT CASE z.s WHEN 'forbidden' THEN 'rejected:forbidden' WHEN 'lost' THEN E'conflict:older' END AS o) w WHERE o IS NOT NULL ORDER BY z.i; END IF; IF _es_race IS NOT NULL THEN SELECT '[' || string_agg(x::text, ',') || ']' INTO _es_again FROM json_array_elements($1::json) AS x_(x) WHERE (x->>'_es_i')::int = ANY (_es_race); END IF; END$es$;
CREATE OR REPLACE FUNCTION edgesync_6f9b0a6a610fff77_p(text, text, text, text, text, text) RETURNS text LANGUAGE plpgsql SET enable_seqscan = off AS $es$DECLARE _es_j text; BEGIN WITH s AS MATERIALIZED (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin, $6::bigint AS cr), g AS MATERIALIZED (SELECT * FROM (SELECT 'project'::text AS sc, m."project_id"::text AS k, m."_es_xid" AS gx, m."_es_version" AS gv FROM "project_members" m, s WHERE m."user_id" = $1 AND NOT m."_es_deleted" AND (m."_es_xid", m."_es_version") >= ($2::xid8, $3::bigint) AND m."_es_xid" < s.xmin) g0 ORDER BY gx, gv LIMIT 2), b AS MATERIALIZED (SELECT * FROM g ORDER BY gx, gv LIMIT 1), ub AS MATERIALIZED (SELECT COALESCE(g2.gx, s.xmin) AS ux, COALESCE(g2.gv, 0) AS uv FROM s LEFT JOIN (SELECT gx, gv FROM g ORDER BY gx, gv OFFSET 1) g2 ON true), p AS ((SELECT x."_es_xid" AS xid, x."_es_version" AS v, x."_es_version" AS r, json_build_object('table', 'projects', 'op', CASE WHEN x."_es_deleted" THEN 'delete' ELSE 'upsert' END, 'version', x."_es_version", 'row', CASE WHEN x."_es_deleted" THEN json_build_object('id', x."id") ELSE json_build_object('id', x."id", 'ownerId', x."owner_id", 'name', x."name") END) AS c FROM "project_members" m JOIN "projects" x ON x."id" = m."project_id" WHERE m."user_id" = $1 AND NOT m."_es_deleted" AND (x."_es_xid", x."_es_version") > ($2::xid8, $3::bigint) AND (x."_es_xid", x."_es_version") < ((SELECT ux FROM ub), (SELECT uv FROM ub)) AND x."_es_origin" IS DISTINCT FROM $4 AND (x."_es_xid", x."_es_version") > (m."_es_xid", m."_es_version") ORDER BY x."_es_xid", x."_es_version" LIMIT $5::int) UNION ALL (SELECT b.gx AS xid, b.gv AS v, x."_es_version" AS r, json_build_object('table', 'projects', 'op', CASE WHEN x."_es_deleted" THEN 'delete' ELSE 'upsert' END, 'version', x."_es_version", 'row', CASE WHEN x."_es_deleted" THEN json_build_object('id', x."id") ELSE json_build_object('id', x."id", 'ownerId', x."owner_id", 'name', x."name") END) AS c FROM b JOIN "projects" x ON b.sc = 'project' AND x."id" = b.k::text WHERE (x."_es_xid", x."_es_version") <= (b.gx, b.gv) AND ((b.gx, b.gv) > ($2::xid8, $3::bigint) OR x."_es_version" > (SELECT cr FROM s)) ORDER BY x."_es_version" LIMIT $5::int) UNION ALL (SELECT x."_es_xid" AS xid, x."_es_version" AS v, x."_es_version" AS r, json_build_object('table', 'projectMembers', 'op', CASE WHEN x."_es_deleted" THEN 'delete' ELSE 'upsert' END, 'version', x."_es_version", 'row', CASE WHEN x."_es_deleted" THEN json_build_object('projectId', x."project_id", 'userId', x."user_id") ELSE json_build_object('projectId', x."project_id", 'userId', x."user_id", 'role', x."role", 'addedBy', x."added_by") END) AS c FROM "project_members" m JOIN "project_members" x ON x."project_id" = m."project_id" WHERE m."user_id" = $1 AND NOT m."_es_deleted" AND (x."_es_xid", x."_es_version") > ($2::xid8, $3::bigint) AND (x."_es_xid", x."_es_version") < ((SELECT ux FROM ub), (SELECT uv FROM ub)) AND x."_es_origin" IS DISTINCT FROM $4 AND (x."_es_xid", x."_es_version") > (m."_es_xid", m."_es_version") ORDER BY x."_es_xid", x."_es_version" LIMIT $5::int) UNION ALL (SELECT b.gx AS xid, b.gv AS v, x."_es_version" AS r, json_build_object('table', 'projectMembers', 'op', CASE WHEN x."_es_deleted" THEN 'delete' ELSE 'upsert' END, 'version', x."_es_version", 'row', CASE WHEN x."_es_deleted" THEN json_build_object('projectId', x."project_id", 'userId', x."user_id") ELSE json_build_object('projectId', x."project_id", 'userId', x."user_id", 'role', x."role", 'addedBy', x."added_by") END) AS c FROM b JOIN "project_members" x ON b.sc = 'project' AND x."project_id" = b.k::text WHERE (x."_es_xid", x."_es_version") <= (b.gx, b.gv) AND ((b.gx, b.gv) > ($2::xid8, $3::bigint) OR x."_es_version" > (SELECT cr FROM s)) ORDER BY x."_es_version" LIMIT $5::int) UNION ALL (SELECT x."_es_xid" AS xid, x."_es_version" AS v, x."_es_version" AS r, json_build_object('table', 'nodes', 'op', CASE WHEN x."_es_deleted" THEN 'delete' ELSE 'upsert' END, 'version', x."_es_version", 'row', CASE WHEN x."_es_deleted" THEN json_build_object('id', x."id") ELSE json_build_object('id', x."id", 'projectId', x."project_id", 'ownerId', x."owner_id", 'label', x."label") END) AS c FROM "project_members" m JOIN "nodes" x ON x."project_id" = m."project_id" WHERE m."user_id" = $1 AND NOT m."_es_deleted" AND (x."_es_xid", x."_es_version") > ($2::xid8, $3::bigint) AND (x."_es_xid", x."_es_version") < ((SELECT ux FROM ub), (SELECT uv FROM ub)) AND x."_es_origin" IS DISTINCT FROM $4 AND (x."_es_xid", x."_es_version") > (m."_es_xid", m."_es_version") ORDER BY x."_es_xid", x."_es_version" LIMIT $5::int) UNION ALL (SELECT b.gx AS xid, b.gv AS v, x."_es_version" AS r, json_build_object('table', 'nodes', 'op', CASE WHEN x."_es_deleted" THEN 'delete' ELSE 'upsert' END, 'version', x."_es_version", 'row', CASE WHEN x."_es_deleted" THEN json_build_object('id', x."id") ELSE json_build_object('id', x."id", 'projectId', x."project_id", 'ownerId', x."owner_id", 'label', x."label") END) AS c FROM b JOIN "nodes" x ON b.sc = 'project' AND x."project_id" = b.k::text WHERE (x."_es_xid", x."_es_version") <= (b.gx, b.gv) AND ((b.gx, b.gv) > ($2::xid8, $3::bigint) OR x."_es_version" > (SELECT cr FROM s)) ORDER BY x."_es_version" LIMIT $5::int) UNION ALL (SELECT x."_es_xid" AS xid, x."_es_version" AS v, x."_es_version" AS r, json_build_object('table', 'notes', 'op', CASE WHEN x."_es_deleted" THEN 'delete' ELSE 'upsert' END, 'version', x."_es_version", 'row', CASE WHEN x."_es_deleted" THEN json_build_object('id', x."id") ELSE json_build_object('id', x."id", 'ownerId', x."owner_id", 'body', x."body") END) AS c FROM "notes" x WHERE x."owner_id" = $1 AND (x."_es_xid", x."_es_version") > ($2::xid8, $3::bigint) AND (x."_es_xid", x."_es_version") < ((SELECT ux FROM ub), (SELECT uv FROM ub)) AND x."_es_origin" IS DISTINCT FROM $4 ORDER BY x."_es_xid", x."_es_version" LIMIT $5::int) UNION ALL (SELECT x."_es_xid" AS xid, x."_es_version" AS v, x."_es_version" AS r, json_build_object('table', 'projectMembers', 'op', CASE WHEN x."_es_deleted" THEN 'delete' ELSE 'upsert' END, 'version', x."_es_version", 'row', CASE WHEN x."_es_deleted" THEN json_build_object('projectId', x."project_id", 'userId', x."user_id") ELSE json_build_object('projectId', x."project_id", 'userId', x."user_id", 'role', x."role", 'addedBy', x."added_by") END, 'revoked', true) AS c FROM "project_members" x WHERE x."user_id" = $1 AND x."_es_deleted" AND (x."_es_xid", x."_es_version") > ($2::xid8, $3::bigint) AND (x."_es_xid", x."_es_version") < ((SELECT ux FROM ub), (SELECT uv FROM ub)) ORDER BY x."_es_xid", x."_es_version" LIMIT $5::int)), q AS (SELECT xid, v, r, c, row_number() OVER (ORDER BY xid, v, r) AS n FROM (SELECT * FROM p ORDER BY xid, v, r LIMIT $5::int) p2) SELECT COALESCE((SELECT json_agg(c ORDER BY n) FROM q WHERE n < $5::int), '[]'::json)::text || chr(10) || json_build_object('xmin', (SELECT ux FROM ub)::text, 'uv', (SELECT uv FROM ub), 'n', (SELECT count(*) FROM q), 'lx', (SELECT xid::text FROM q WHERE n = $5::int - 1), 'lv', (SELECT v FROM q WHERE n = $5::int - 1), 'lr', (SELECT r FROM q WHERE n = $5::int - 1), 'poke', (SELECT CASE WHEN p = 'all' THEN json_build_object('all', true) WHEN p <> '' THEN json_build_object('u', p::json) END FROM (SELECT current_setting('edgesync.poke', true) AS p) es_p))::text AS j INTO _es_j; RETURN _es_j; END$es$;
CREATE OR REPLACE FUNCTION edgesync_6f9b0a6a610fff77_sync(_es_user text, _es_client text, _es_seq bigint, _es_total int, _es_ids bigint[], _es_kinds int[], _es_inputs text[], _es_xid text, _es_ver text, _es_page text, _es_row text) RETURNS text LANGUAGE plpgsql SET enable_seqscan = off AS $es$DECLARE _es_c record; _es_m record; _es_dup boolean := false; _es_results text := '[]'; _es_idx int[] := '{}'; _es_res text[] := '{}'; _es_in text[] := _es_inputs; _es_g int; _es_pass int := 0; _es_left boolean; _es_n int := coalesce(array_length(_es_kinds, 1), 0); BEGIN INSERT INTO "edgesync_clients" AS c (client_id, user_id) VALUES (_es_client, _es_user) ON CONFLICT (client_id) DO UPDATE SET seen_at = now() WHERE c.user_id = EXCLUDED.user_id RETURNING c.last_seq, c.last_results INTO _es_c; IF NOT FOUND THEN RETURN '{"conflict":true}'; END IF; IF _es_seq IS NOT NULL AND _es_seq <= _es_c.last_seq THEN _es_dup := true; _es_results := CASE WHEN _es_seq = _es_c.last_seq AND _es_c.last_results IS NOT NULL THEN _es_c.last_results::text ELSE '[]' END; ELSIF _es_seq IS NOT NULL THEN FOR _es_g IN 1 .. _es_n - 1 LOOP IF _es_kinds[_es_g] % 2 = 0 AND _es_kinds[_es_g + 1] = _es_kinds[_es_g] + 1 THEN CASE _es_kinds[_es_g] / 2 WHEN 0 THEN PERFORM edgesync_6f9b0a6a610fff77_l0(_es_in[_es_g], _es_user, _es_in[_es_g + 1]); WHEN 1 THEN PERFORM edgesync_6f9b0a6a610fff77_l1(_es_in[_es_g], _es_user, _es_in[_es_g + 1]); WHEN 2 THEN PERFORM edgesync_6f9b0a6a610fff77_l2(_es_in[_es_g], _es_user, _es_in[_es_g + 1]); WHEN 3 THEN PERFORM edgesync_6f9b0a6a610fff77_l3(_es_in[_es_g], _es_user, _es_in[_es_g + 1]); END CASE; END IF; END LOOP; WHILE _es_n > 0 LOOP _es_pass := _es_pass + 1; _es_left := false; FOR _es_g IN 1 .. _es_n LOOP CONTINUE WHEN _es_in[_es_g] IS NULL; CASE _es_kinds[_es_g] WHEN 0 THEN SELECT * INTO _es_m FROM edgesync_6f9b0a6a610fff77_m0(_es_in[_es_g], _es_user, _es_client, _es_ids); WHEN 1 THEN SELECT * INTO _es_m FROM edgesync_6f9b0a6a610fff77_m1(_es_in[_es_g], _es_user, _es_client, _es_ids); WHEN 2 THEN SELECT * INTO _es_m FROM edgesync_6f9b0a6a610fff77_m2(_es_in[_es_g], _es_user, _es_client, _es_ids); WHEN 3 THEN SELECT * INTO _es_m FROM edgesync_6f9b0a6a610fff77_m3(_es_in[_es_g], _es_user, _es_client, _es_ids); WHEN 4 THEN SELECT * INTO _es_m FROM edgesync_6f9b0a6a610fff77_m4(_es_in[_es_g], _es_user, _es_client, _es_ids); WHEN 5 THEN SELECT * INTO _es_m FROM edgesync_6f9b0a6a610fff77_m5(_es_in[_es_g], _es_user, _es_client, _es_ids); WHEN 6 THEN SELECT * INTO _es_m FROM edgesync_6f9b0a6a610fff77_m6(_es_in[_es_g], _es_user, _es_client, _es_ids); WHEN 7 THEN SELECT * INTO _es_m FROM edgesync_6f9b0a6a610fff77_m7(_es_in[_es_g], _es_user, _es_client, _es_ids); END CASE; _es_idx := _es_idx || _es_m._es_oi; _es_res := _es_res || _es_m._es_or; _es_in[_es_g] := _es_m._es_again; _es_left := _es_left OR _es_m._es_again IS NOT NULL; END LOOP; EXIT WHEN NOT _es_left; IF _es_pass >= 4 THEN RAISE EXCEPTION USING ERRCODE = '40001', MESSAGE = 'edgesync: rows of this batch keep being inserted concurrently; retry the batch'; END IF; END LOOP; IF coalesce(array_length(_es_idx, 1), 0) <> _es_total OR array_position(_es_res, NULL) IS NOT NULL THEN RAISE EXCEPTION 'edgesync: a change of the batch has no result'; END IF; SELECT '[' || coalesce(string_agg(r, ',' ORDER BY i), '') || ']' INTO _es_results FROM unnest(_es_idx, _es_res) AS u(i, r); UPDATE "edgesync_clients" SET last_seq = _es_seq, last_results = _es_results::jsonb, seen_at = now() WHERE client_id = _es_client; END IF; RETURN json_build_object('dup', _es_dup)::text || chr(10) || _es_results || chr(10) || edgesync_6f9b0a6a610fff77_p(_es_user, _es_xid, _es_ver, _es_client, _es_page, _es_row); END$es$;
