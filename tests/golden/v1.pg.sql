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
  "name" text NOT NULL,
  "archived" boolean,
  "updated_at" timestamptz,
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
CREATE INDEX IF NOT EXISTS "projects__es_pull" ON "projects" ("owner_id", "_es_xid", "_es_version");
ALTER TABLE "projects" ADD COLUMN IF NOT EXISTS "name" text;
ALTER TABLE "projects" ADD COLUMN IF NOT EXISTS "archived" boolean;
ALTER TABLE "projects" ADD COLUMN IF NOT EXISTS "updated_at" timestamptz;
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
  ELSIF NEW."_es_version" IS DISTINCT FROM OLD."_es_version" OR NOT (NEW."id" IS DISTINCT FROM OLD."id" OR NEW."owner_id" IS DISTINCT FROM OLD."owner_id" OR NEW."name" IS DISTINCT FROM OLD."name" OR NEW."archived" IS DISTINCT FROM OLD."archived" OR NEW."updated_at" IS DISTINCT FROM OLD."updated_at" OR NEW."_es_deleted" IS DISTINCT FROM OLD."_es_deleted") THEN
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
CREATE OR REPLACE FUNCTION "projects__es_n"() RETURNS trigger LANGUAGE plpgsql AS $es$
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
DROP TRIGGER IF EXISTS "projects__es_ni" ON "projects";
CREATE TRIGGER "projects__es_ni" AFTER INSERT ON "projects" REFERENCING NEW TABLE AS es_new FOR EACH STATEMENT EXECUTE FUNCTION "projects__es_n"();
DROP TRIGGER IF EXISTS "projects__es_nu" ON "projects";
CREATE TRIGGER "projects__es_nu" AFTER UPDATE ON "projects" REFERENCING OLD TABLE AS es_old NEW TABLE AS es_new FOR EACH STATEMENT EXECUTE FUNCTION "projects__es_n"();
DROP TRIGGER IF EXISTS "projects__es_nd" ON "projects";
CREATE TRIGGER "projects__es_nd" AFTER DELETE ON "projects" REFERENCING OLD TABLE AS es_old FOR EACH STATEMENT EXECUTE FUNCTION "projects__es_n"();
CREATE TABLE IF NOT EXISTS "workflow_nodes" (
  "id" text NOT NULL,
  "project_id" text NOT NULL,
  "owner_id" text NOT NULL,
  "label" text,
  "x" double precision,
  "y" double precision,
  "data" jsonb,
  "_es_version" bigint NOT NULL DEFAULT nextval('edgesync_version_seq'),
  "_es_xid" xid8 NOT NULL DEFAULT pg_current_xact_id(),
  "_es_deleted" boolean NOT NULL DEFAULT false,
  "_es_hlc" text COLLATE "C" NOT NULL DEFAULT '',
  "_es_field_hlc" jsonb NOT NULL DEFAULT '{}',
  "_es_origin" text,
  "_es_updated_at" timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY ("id")
);
ALTER TABLE "workflow_nodes" ADD COLUMN IF NOT EXISTS "_es_version" bigint;
ALTER TABLE "workflow_nodes" ADD COLUMN IF NOT EXISTS "_es_xid" xid8;
ALTER TABLE "workflow_nodes" ADD COLUMN IF NOT EXISTS "_es_deleted" boolean NOT NULL DEFAULT false;
ALTER TABLE "workflow_nodes" ADD COLUMN IF NOT EXISTS "_es_hlc" text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE "workflow_nodes" ADD COLUMN IF NOT EXISTS "_es_field_hlc" jsonb NOT NULL DEFAULT '{}';
ALTER TABLE "workflow_nodes" ADD COLUMN IF NOT EXISTS "_es_origin" text;
ALTER TABLE "workflow_nodes" ADD COLUMN IF NOT EXISTS "_es_updated_at" timestamptz NOT NULL DEFAULT now();
DO $es$ BEGIN IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '"workflow_nodes"'::regclass AND attname IN ('_es_version', '_es_xid') AND NOT attnotnull) THEN
  UPDATE "workflow_nodes" SET "_es_version" = COALESCE("_es_version", nextval('edgesync_version_seq')), "_es_xid" = COALESCE("_es_xid", pg_current_xact_id()), "_es_hlc" = CASE WHEN "_es_hlc" = '' THEN lpad((floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint)::text, 15, '0') || ':' || lpad((0)::text, 5, '0') || ':server' ELSE "_es_hlc" END WHERE "_es_version" IS NULL OR "_es_xid" IS NULL;
  ALTER TABLE "workflow_nodes" ALTER COLUMN "_es_version" SET DEFAULT nextval('edgesync_version_seq'), ALTER COLUMN "_es_version" SET NOT NULL, ALTER COLUMN "_es_xid" SET DEFAULT pg_current_xact_id(), ALTER COLUMN "_es_xid" SET NOT NULL;
END IF; END $es$;
DO $es$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = '"workflow_nodes"'::regclass AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL AND (SELECT array_agg(a.attname::text ORDER BY a.attname::text COLLATE "C") FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)) = ARRAY['id']::text[]) THEN RAISE EXCEPTION USING MESSAGE = 'edgesync: table workflow_nodes needs a primary key (or unique index) on exactly the schema''s key columns', ERRCODE = 'invalid_table_definition'; END IF; END $es$;
CREATE INDEX IF NOT EXISTS "workflow_nodes__es_pull" ON "workflow_nodes" ("owner_id", "_es_xid", "_es_version");
ALTER TABLE "workflow_nodes" ADD COLUMN IF NOT EXISTS "project_id" text;
ALTER TABLE "workflow_nodes" ADD COLUMN IF NOT EXISTS "label" text;
ALTER TABLE "workflow_nodes" ADD COLUMN IF NOT EXISTS "x" double precision;
ALTER TABLE "workflow_nodes" ADD COLUMN IF NOT EXISTS "y" double precision;
ALTER TABLE "workflow_nodes" ADD COLUMN IF NOT EXISTS "data" jsonb;
CREATE OR REPLACE FUNCTION "workflow_nodes__es_dw"() RETURNS trigger LANGUAGE plpgsql AS $es$
DECLARE
  ms bigint := floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint;
  ctr int := 0;
  stamp text;
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF current_setting('edgesync.purge', true) = 'on' THEN RETURN OLD; END IF;
    UPDATE "workflow_nodes" SET "_es_deleted" = true WHERE "id" = OLD."id";
    RETURN NULL;
  END IF;
  IF TG_OP = 'INSERT' THEN
    IF NEW."_es_origin" IS NOT NULL THEN RETURN NEW; END IF;
  ELSIF NEW."_es_version" IS DISTINCT FROM OLD."_es_version" OR NOT (NEW."id" IS DISTINCT FROM OLD."id" OR NEW."project_id" IS DISTINCT FROM OLD."project_id" OR NEW."owner_id" IS DISTINCT FROM OLD."owner_id" OR NEW."label" IS DISTINCT FROM OLD."label" OR NEW."x" IS DISTINCT FROM OLD."x" OR NEW."y" IS DISTINCT FROM OLD."y" OR NEW."data" IS DISTINCT FROM OLD."data" OR NEW."_es_deleted" IS DISTINCT FROM OLD."_es_deleted") THEN
    RETURN NEW;
  END IF;
  IF TG_OP = 'UPDATE' AND (NEW."id" IS DISTINCT FROM OLD."id" OR NEW."owner_id" IS DISTINCT FROM OLD."owner_id") THEN
    RAISE EXCEPTION USING MESSAGE = 'edgesync: changing the primary key or owner of a synced row of workflow_nodes is refused (devices would keep the old row); delete it and insert a new one', ERRCODE = 'check_violation';
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
    NEW."_es_field_hlc" := jsonb_build_object('projectId', stamp, 'label', stamp, 'x', stamp, 'y', stamp, 'data', stamp);
  ELSE
    NEW."_es_field_hlc" := OLD."_es_field_hlc" || jsonb_strip_nulls(jsonb_build_object('projectId', CASE WHEN NEW."project_id" IS DISTINCT FROM OLD."project_id" THEN stamp END, 'label', CASE WHEN NEW."label" IS DISTINCT FROM OLD."label" THEN stamp END, 'x', CASE WHEN NEW."x" IS DISTINCT FROM OLD."x" THEN stamp END, 'y', CASE WHEN NEW."y" IS DISTINCT FROM OLD."y" THEN stamp END, 'data', CASE WHEN NEW."data" IS DISTINCT FROM OLD."data" THEN stamp END));
  END IF;
  RETURN NEW;
END $es$;
DO $es$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = '"workflow_nodes"'::regclass AND tgname = 'workflow_nodes__es_dw') THEN CREATE TRIGGER "workflow_nodes__es_dw" BEFORE INSERT OR UPDATE OR DELETE ON "workflow_nodes" FOR EACH ROW EXECUTE FUNCTION "workflow_nodes__es_dw"(); END IF; END $es$;
CREATE OR REPLACE FUNCTION "workflow_nodes__es_n"() RETURNS trigger LANGUAGE plpgsql AS $es$
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
DROP TRIGGER IF EXISTS "workflow_nodes__es_ni" ON "workflow_nodes";
CREATE TRIGGER "workflow_nodes__es_ni" AFTER INSERT ON "workflow_nodes" REFERENCING NEW TABLE AS es_new FOR EACH STATEMENT EXECUTE FUNCTION "workflow_nodes__es_n"();
DROP TRIGGER IF EXISTS "workflow_nodes__es_nu" ON "workflow_nodes";
CREATE TRIGGER "workflow_nodes__es_nu" AFTER UPDATE ON "workflow_nodes" REFERENCING OLD TABLE AS es_old NEW TABLE AS es_new FOR EACH STATEMENT EXECUTE FUNCTION "workflow_nodes__es_n"();
DROP TRIGGER IF EXISTS "workflow_nodes__es_nd" ON "workflow_nodes";
CREATE TRIGGER "workflow_nodes__es_nd" AFTER DELETE ON "workflow_nodes" REFERENCING OLD TABLE AS es_old FOR EACH STATEMENT EXECUTE FUNCTION "workflow_nodes__es_n"();
CREATE TABLE IF NOT EXISTS "workflow_edges" (
  "project_id" text NOT NULL,
  "edge_id" text NOT NULL,
  "owner_id" text NOT NULL,
  "source" text NOT NULL,
  "target" text NOT NULL,
  "_es_version" bigint NOT NULL DEFAULT nextval('edgesync_version_seq'),
  "_es_xid" xid8 NOT NULL DEFAULT pg_current_xact_id(),
  "_es_deleted" boolean NOT NULL DEFAULT false,
  "_es_hlc" text COLLATE "C" NOT NULL DEFAULT '',
  "_es_field_hlc" jsonb NOT NULL DEFAULT '{}',
  "_es_origin" text,
  "_es_updated_at" timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY ("project_id", "edge_id")
);
ALTER TABLE "workflow_edges" ADD COLUMN IF NOT EXISTS "_es_version" bigint;
ALTER TABLE "workflow_edges" ADD COLUMN IF NOT EXISTS "_es_xid" xid8;
ALTER TABLE "workflow_edges" ADD COLUMN IF NOT EXISTS "_es_deleted" boolean NOT NULL DEFAULT false;
ALTER TABLE "workflow_edges" ADD COLUMN IF NOT EXISTS "_es_hlc" text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE "workflow_edges" ADD COLUMN IF NOT EXISTS "_es_field_hlc" jsonb NOT NULL DEFAULT '{}';
ALTER TABLE "workflow_edges" ADD COLUMN IF NOT EXISTS "_es_origin" text;
ALTER TABLE "workflow_edges" ADD COLUMN IF NOT EXISTS "_es_updated_at" timestamptz NOT NULL DEFAULT now();
DO $es$ BEGIN IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '"workflow_edges"'::regclass AND attname IN ('_es_version', '_es_xid') AND NOT attnotnull) THEN
  UPDATE "workflow_edges" SET "_es_version" = COALESCE("_es_version", nextval('edgesync_version_seq')), "_es_xid" = COALESCE("_es_xid", pg_current_xact_id()), "_es_hlc" = CASE WHEN "_es_hlc" = '' THEN lpad((floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint)::text, 15, '0') || ':' || lpad((0)::text, 5, '0') || ':server' ELSE "_es_hlc" END WHERE "_es_version" IS NULL OR "_es_xid" IS NULL;
  ALTER TABLE "workflow_edges" ALTER COLUMN "_es_version" SET DEFAULT nextval('edgesync_version_seq'), ALTER COLUMN "_es_version" SET NOT NULL, ALTER COLUMN "_es_xid" SET DEFAULT pg_current_xact_id(), ALTER COLUMN "_es_xid" SET NOT NULL;
END IF; END $es$;
DO $es$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = '"workflow_edges"'::regclass AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL AND (SELECT array_agg(a.attname::text ORDER BY a.attname::text COLLATE "C") FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)) = ARRAY['edge_id', 'project_id']::text[]) THEN RAISE EXCEPTION USING MESSAGE = 'edgesync: table workflow_edges needs a primary key (or unique index) on exactly the schema''s key columns', ERRCODE = 'invalid_table_definition'; END IF; END $es$;
CREATE INDEX IF NOT EXISTS "workflow_edges__es_pull" ON "workflow_edges" ("owner_id", "_es_xid", "_es_version");
ALTER TABLE "workflow_edges" ADD COLUMN IF NOT EXISTS "source" text;
ALTER TABLE "workflow_edges" ADD COLUMN IF NOT EXISTS "target" text;
CREATE OR REPLACE FUNCTION "workflow_edges__es_dw"() RETURNS trigger LANGUAGE plpgsql AS $es$
DECLARE
  ms bigint := floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint;
  ctr int := 0;
  stamp text;
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF current_setting('edgesync.purge', true) = 'on' THEN RETURN OLD; END IF;
    UPDATE "workflow_edges" SET "_es_deleted" = true WHERE "project_id" = OLD."project_id" AND "edge_id" = OLD."edge_id";
    RETURN NULL;
  END IF;
  IF TG_OP = 'INSERT' THEN
    IF NEW."_es_origin" IS NOT NULL THEN RETURN NEW; END IF;
  ELSIF NEW."_es_version" IS DISTINCT FROM OLD."_es_version" OR NOT (NEW."project_id" IS DISTINCT FROM OLD."project_id" OR NEW."edge_id" IS DISTINCT FROM OLD."edge_id" OR NEW."owner_id" IS DISTINCT FROM OLD."owner_id" OR NEW."source" IS DISTINCT FROM OLD."source" OR NEW."target" IS DISTINCT FROM OLD."target" OR NEW."_es_deleted" IS DISTINCT FROM OLD."_es_deleted") THEN
    RETURN NEW;
  END IF;
  IF TG_OP = 'UPDATE' AND (NEW."project_id" IS DISTINCT FROM OLD."project_id" OR NEW."edge_id" IS DISTINCT FROM OLD."edge_id" OR NEW."owner_id" IS DISTINCT FROM OLD."owner_id") THEN
    RAISE EXCEPTION USING MESSAGE = 'edgesync: changing the primary key or owner of a synced row of workflow_edges is refused (devices would keep the old row); delete it and insert a new one', ERRCODE = 'check_violation';
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
DO $es$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = '"workflow_edges"'::regclass AND tgname = 'workflow_edges__es_dw') THEN CREATE TRIGGER "workflow_edges__es_dw" BEFORE INSERT OR UPDATE OR DELETE ON "workflow_edges" FOR EACH ROW EXECUTE FUNCTION "workflow_edges__es_dw"(); END IF; END $es$;
CREATE OR REPLACE FUNCTION "workflow_edges__es_n"() RETURNS trigger LANGUAGE plpgsql AS $es$
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
DROP TRIGGER IF EXISTS "workflow_edges__es_ni" ON "workflow_edges";
CREATE TRIGGER "workflow_edges__es_ni" AFTER INSERT ON "workflow_edges" REFERENCING NEW TABLE AS es_new FOR EACH STATEMENT EXECUTE FUNCTION "workflow_edges__es_n"();
DROP TRIGGER IF EXISTS "workflow_edges__es_nu" ON "workflow_edges";
CREATE TRIGGER "workflow_edges__es_nu" AFTER UPDATE ON "workflow_edges" REFERENCING OLD TABLE AS es_old NEW TABLE AS es_new FOR EACH STATEMENT EXECUTE FUNCTION "workflow_edges__es_n"();
DROP TRIGGER IF EXISTS "workflow_edges__es_nd" ON "workflow_edges";
CREATE TRIGGER "workflow_edges__es_nd" AFTER DELETE ON "workflow_edges" REFERENCING OLD TABLE AS es_old FOR EACH STATEMENT EXECUTE FUNCTION "workflow_edges__es_n"();
CREATE TABLE IF NOT EXISTS "settings" (
  "key" text NOT NULL,
  "owner_id" text NOT NULL,
  "value" jsonb,
  "_es_version" bigint NOT NULL DEFAULT nextval('edgesync_version_seq'),
  "_es_xid" xid8 NOT NULL DEFAULT pg_current_xact_id(),
  "_es_deleted" boolean NOT NULL DEFAULT false,
  "_es_hlc" text COLLATE "C" NOT NULL DEFAULT '',
  "_es_field_hlc" jsonb NOT NULL DEFAULT '{}',
  "_es_origin" text,
  "_es_updated_at" timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY ("key")
);
ALTER TABLE "settings" ADD COLUMN IF NOT EXISTS "_es_version" bigint;
ALTER TABLE "settings" ADD COLUMN IF NOT EXISTS "_es_xid" xid8;
ALTER TABLE "settings" ADD COLUMN IF NOT EXISTS "_es_deleted" boolean NOT NULL DEFAULT false;
ALTER TABLE "settings" ADD COLUMN IF NOT EXISTS "_es_hlc" text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE "settings" ADD COLUMN IF NOT EXISTS "_es_field_hlc" jsonb NOT NULL DEFAULT '{}';
ALTER TABLE "settings" ADD COLUMN IF NOT EXISTS "_es_origin" text;
ALTER TABLE "settings" ADD COLUMN IF NOT EXISTS "_es_updated_at" timestamptz NOT NULL DEFAULT now();
DO $es$ BEGIN IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '"settings"'::regclass AND attname IN ('_es_version', '_es_xid') AND NOT attnotnull) THEN
  UPDATE "settings" SET "_es_version" = COALESCE("_es_version", nextval('edgesync_version_seq')), "_es_xid" = COALESCE("_es_xid", pg_current_xact_id()), "_es_hlc" = CASE WHEN "_es_hlc" = '' THEN lpad((floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint)::text, 15, '0') || ':' || lpad((0)::text, 5, '0') || ':server' ELSE "_es_hlc" END WHERE "_es_version" IS NULL OR "_es_xid" IS NULL;
  ALTER TABLE "settings" ALTER COLUMN "_es_version" SET DEFAULT nextval('edgesync_version_seq'), ALTER COLUMN "_es_version" SET NOT NULL, ALTER COLUMN "_es_xid" SET DEFAULT pg_current_xact_id(), ALTER COLUMN "_es_xid" SET NOT NULL;
END IF; END $es$;
DO $es$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = '"settings"'::regclass AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL AND (SELECT array_agg(a.attname::text ORDER BY a.attname::text COLLATE "C") FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)) = ARRAY['key']::text[]) THEN RAISE EXCEPTION USING MESSAGE = 'edgesync: table settings needs a primary key (or unique index) on exactly the schema''s key columns', ERRCODE = 'invalid_table_definition'; END IF; END $es$;
CREATE INDEX IF NOT EXISTS "settings__es_pull" ON "settings" ("owner_id", "_es_xid", "_es_version");
ALTER TABLE "settings" ADD COLUMN IF NOT EXISTS "value" jsonb;
CREATE OR REPLACE FUNCTION "settings__es_dw"() RETURNS trigger LANGUAGE plpgsql AS $es$
DECLARE
  ms bigint := floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint;
  ctr int := 0;
  stamp text;
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF current_setting('edgesync.purge', true) = 'on' THEN RETURN OLD; END IF;
    UPDATE "settings" SET "_es_deleted" = true WHERE "key" = OLD."key";
    RETURN NULL;
  END IF;
  IF TG_OP = 'INSERT' THEN
    IF NEW."_es_origin" IS NOT NULL THEN RETURN NEW; END IF;
  ELSIF NEW."_es_version" IS DISTINCT FROM OLD."_es_version" OR NOT (NEW."key" IS DISTINCT FROM OLD."key" OR NEW."owner_id" IS DISTINCT FROM OLD."owner_id" OR NEW."value" IS DISTINCT FROM OLD."value" OR NEW."_es_deleted" IS DISTINCT FROM OLD."_es_deleted") THEN
    RETURN NEW;
  END IF;
  IF TG_OP = 'UPDATE' AND (NEW."key" IS DISTINCT FROM OLD."key" OR NEW."owner_id" IS DISTINCT FROM OLD."owner_id") THEN
    RAISE EXCEPTION USING MESSAGE = 'edgesync: changing the primary key or owner of a synced row of settings is refused (devices would keep the old row); delete it and insert a new one', ERRCODE = 'check_violation';
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
DO $es$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = '"settings"'::regclass AND tgname = 'settings__es_dw') THEN CREATE TRIGGER "settings__es_dw" BEFORE INSERT OR UPDATE OR DELETE ON "settings" FOR EACH ROW EXECUTE FUNCTION "settings__es_dw"(); END IF; END $es$;
CREATE OR REPLACE FUNCTION "settings__es_n"() RETURNS trigger LANGUAGE plpgsql AS $es$
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
DROP TRIGGER IF EXISTS "settings__es_ni" ON "settings";
CREATE TRIGGER "settings__es_ni" AFTER INSERT ON "settings" REFERENCING NEW TABLE AS es_new FOR EACH STATEMENT EXECUTE FUNCTION "settings__es_n"();
DROP TRIGGER IF EXISTS "settings__es_nu" ON "settings";
CREATE TRIGGER "settings__es_nu" AFTER UPDATE ON "settings" REFERENCING OLD TABLE AS es_old NEW TABLE AS es_new FOR EACH STATEMENT EXECUTE FUNCTION "settings__es_n"();
DROP TRIGGER IF EXISTS "settings__es_nd" ON "settings";
CREATE TRIGGER "settings__es_nd" AFTER DELETE ON "settings" REFERENCING OLD TABLE AS es_old FOR EACH STATEMENT EXECUTE FUNCTION "settings__es_n"();
CREATE TABLE IF NOT EXISTS "documents" (
  "id" bigint NOT NULL,
  "owner_id" text NOT NULL,
  "title" text,
  "body" text,
  "revision" bigint,
  "cover_image" text,
  "_es_version" bigint NOT NULL DEFAULT nextval('edgesync_version_seq'),
  "_es_xid" xid8 NOT NULL DEFAULT pg_current_xact_id(),
  "_es_deleted" boolean NOT NULL DEFAULT false,
  "_es_hlc" text COLLATE "C" NOT NULL DEFAULT '',
  "_es_field_hlc" jsonb NOT NULL DEFAULT '{}',
  "_es_origin" text,
  "_es_updated_at" timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY ("id")
);
ALTER TABLE "documents" ADD COLUMN IF NOT EXISTS "_es_version" bigint;
ALTER TABLE "documents" ADD COLUMN IF NOT EXISTS "_es_xid" xid8;
ALTER TABLE "documents" ADD COLUMN IF NOT EXISTS "_es_deleted" boolean NOT NULL DEFAULT false;
ALTER TABLE "documents" ADD COLUMN IF NOT EXISTS "_es_hlc" text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE "documents" ADD COLUMN IF NOT EXISTS "_es_field_hlc" jsonb NOT NULL DEFAULT '{}';
ALTER TABLE "documents" ADD COLUMN IF NOT EXISTS "_es_origin" text;
ALTER TABLE "documents" ADD COLUMN IF NOT EXISTS "_es_updated_at" timestamptz NOT NULL DEFAULT now();
DO $es$ BEGIN IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '"documents"'::regclass AND attname IN ('_es_version', '_es_xid') AND NOT attnotnull) THEN
  UPDATE "documents" SET "_es_version" = COALESCE("_es_version", nextval('edgesync_version_seq')), "_es_xid" = COALESCE("_es_xid", pg_current_xact_id()), "_es_hlc" = CASE WHEN "_es_hlc" = '' THEN lpad((floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint)::text, 15, '0') || ':' || lpad((0)::text, 5, '0') || ':server' ELSE "_es_hlc" END WHERE "_es_version" IS NULL OR "_es_xid" IS NULL;
  ALTER TABLE "documents" ALTER COLUMN "_es_version" SET DEFAULT nextval('edgesync_version_seq'), ALTER COLUMN "_es_version" SET NOT NULL, ALTER COLUMN "_es_xid" SET DEFAULT pg_current_xact_id(), ALTER COLUMN "_es_xid" SET NOT NULL;
END IF; END $es$;
DO $es$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = '"documents"'::regclass AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL AND (SELECT array_agg(a.attname::text ORDER BY a.attname::text COLLATE "C") FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)) = ARRAY['id']::text[]) THEN RAISE EXCEPTION USING MESSAGE = 'edgesync: table documents needs a primary key (or unique index) on exactly the schema''s key columns', ERRCODE = 'invalid_table_definition'; END IF; END $es$;
CREATE INDEX IF NOT EXISTS "documents__es_pull" ON "documents" ("owner_id", "_es_xid", "_es_version");
ALTER TABLE "documents" ADD COLUMN IF NOT EXISTS "title" text;
ALTER TABLE "documents" ADD COLUMN IF NOT EXISTS "body" text;
ALTER TABLE "documents" ADD COLUMN IF NOT EXISTS "revision" bigint;
ALTER TABLE "documents" ADD COLUMN IF NOT EXISTS "cover_image" text;
CREATE OR REPLACE FUNCTION "documents__es_dw"() RETURNS trigger LANGUAGE plpgsql AS $es$
DECLARE
  ms bigint := floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint;
  ctr int := 0;
  stamp text;
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF current_setting('edgesync.purge', true) = 'on' THEN RETURN OLD; END IF;
    UPDATE "documents" SET "_es_deleted" = true WHERE "id" = OLD."id";
    RETURN NULL;
  END IF;
  IF TG_OP = 'INSERT' THEN
    IF NEW."_es_origin" IS NOT NULL THEN RETURN NEW; END IF;
  ELSIF NEW."_es_version" IS DISTINCT FROM OLD."_es_version" OR NOT (NEW."id" IS DISTINCT FROM OLD."id" OR NEW."owner_id" IS DISTINCT FROM OLD."owner_id" OR NEW."title" IS DISTINCT FROM OLD."title" OR NEW."body" IS DISTINCT FROM OLD."body" OR NEW."revision" IS DISTINCT FROM OLD."revision" OR NEW."cover_image" IS DISTINCT FROM OLD."cover_image" OR NEW."_es_deleted" IS DISTINCT FROM OLD."_es_deleted") THEN
    RETURN NEW;
  END IF;
  IF TG_OP = 'UPDATE' AND (NEW."id" IS DISTINCT FROM OLD."id" OR NEW."owner_id" IS DISTINCT FROM OLD."owner_id") THEN
    RAISE EXCEPTION USING MESSAGE = 'edgesync: changing the primary key or owner of a synced row of documents is refused (devices would keep the old row); delete it and insert a new one', ERRCODE = 'check_violation';
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
DO $es$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = '"documents"'::regclass AND tgname = 'documents__es_dw') THEN CREATE TRIGGER "documents__es_dw" BEFORE INSERT OR UPDATE OR DELETE ON "documents" FOR EACH ROW EXECUTE FUNCTION "documents__es_dw"(); END IF; END $es$;
CREATE OR REPLACE FUNCTION "documents__es_n"() RETURNS trigger LANGUAGE plpgsql AS $es$
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
DROP TRIGGER IF EXISTS "documents__es_ni" ON "documents";
CREATE TRIGGER "documents__es_ni" AFTER INSERT ON "documents" REFERENCING NEW TABLE AS es_new FOR EACH STATEMENT EXECUTE FUNCTION "documents__es_n"();
DROP TRIGGER IF EXISTS "documents__es_nu" ON "documents";
CREATE TRIGGER "documents__es_nu" AFTER UPDATE ON "documents" REFERENCING OLD TABLE AS es_old NEW TABLE AS es_new FOR EACH STATEMENT EXECUTE FUNCTION "documents__es_n"();
DROP TRIGGER IF EXISTS "documents__es_nd" ON "documents";
CREATE TRIGGER "documents__es_nd" AFTER DELETE ON "documents" REFERENCING OLD TABLE AS es_old FOR EACH STATEMENT EXECUTE FUNCTION "documents__es_n"();
INSERT INTO "edgesync_schema" (id, version) VALUES (1, 1)
  ON CONFLICT (id) DO UPDATE SET version = GREATEST("edgesync_schema".version, EXCLUDED.version), applied_at = now();
