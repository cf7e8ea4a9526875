-- edgesync PostgreSQL migration v1 -> v2 (generated; idempotent)
ALTER TABLE "projects" ADD COLUMN IF NOT EXISTS "color" text;
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
CREATE INDEX IF NOT EXISTS "tags__es_pull" ON "tags" ("owner_id", "_es_xid", "_es_version");
INSERT INTO "edgesync_schema" (id, version) VALUES (1, 2)
  ON CONFLICT (id) DO UPDATE SET version = GREATEST("edgesync_schema".version, EXCLUDED.version), applied_at = now();
