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
CREATE INDEX IF NOT EXISTS "projects__es_pull" ON "projects" ("owner_id", "_es_xid", "_es_version");
ALTER TABLE "projects" ADD COLUMN IF NOT EXISTS "name" text;
ALTER TABLE "projects" ADD COLUMN IF NOT EXISTS "archived" boolean;
ALTER TABLE "projects" ADD COLUMN IF NOT EXISTS "updated_at" timestamptz;
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
CREATE INDEX IF NOT EXISTS "workflow_nodes__es_pull" ON "workflow_nodes" ("owner_id", "_es_xid", "_es_version");
ALTER TABLE "workflow_nodes" ADD COLUMN IF NOT EXISTS "project_id" text;
ALTER TABLE "workflow_nodes" ADD COLUMN IF NOT EXISTS "label" text;
ALTER TABLE "workflow_nodes" ADD COLUMN IF NOT EXISTS "x" double precision;
ALTER TABLE "workflow_nodes" ADD COLUMN IF NOT EXISTS "y" double precision;
ALTER TABLE "workflow_nodes" ADD COLUMN IF NOT EXISTS "data" jsonb;
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
CREATE INDEX IF NOT EXISTS "workflow_edges__es_pull" ON "workflow_edges" ("owner_id", "_es_xid", "_es_version");
ALTER TABLE "workflow_edges" ADD COLUMN IF NOT EXISTS "source" text;
ALTER TABLE "workflow_edges" ADD COLUMN IF NOT EXISTS "target" text;
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
CREATE INDEX IF NOT EXISTS "settings__es_pull" ON "settings" ("owner_id", "_es_xid", "_es_version");
ALTER TABLE "settings" ADD COLUMN IF NOT EXISTS "value" jsonb;
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
CREATE INDEX IF NOT EXISTS "documents__es_pull" ON "documents" ("owner_id", "_es_xid", "_es_version");
ALTER TABLE "documents" ADD COLUMN IF NOT EXISTS "title" text;
ALTER TABLE "documents" ADD COLUMN IF NOT EXISTS "body" text;
ALTER TABLE "documents" ADD COLUMN IF NOT EXISTS "revision" bigint;
ALTER TABLE "documents" ADD COLUMN IF NOT EXISTS "cover_image" text;
INSERT INTO "edgesync_schema" (id, version) VALUES (1, 1)
  ON CONFLICT (id) DO UPDATE SET version = GREATEST("edgesync_schema".version, EXCLUDED.version), applied_at = now();
