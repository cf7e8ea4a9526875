-- edgesync SQLite migration v1 -> v2 (generated)
ALTER TABLE "projects" ADD COLUMN "color" TEXT;
DROP TRIGGER IF EXISTS "sync_projects_base_insert";
CREATE TRIGGER "sync_projects_base_insert" BEFORE INSERT ON "projects"
WHEN NOT EXISTS (SELECT 1 FROM "sync_apply_guard") AND EXISTS (SELECT 1 FROM "projects" AS o WHERE o."id" = NEW."id")
BEGIN
  INSERT INTO "sync_base" (tbl, pk, version, row)
    SELECT 'projects', json_array(NEW."id"), (SELECT version FROM "sync_rows" WHERE tbl = 'projects' AND pk = json_array(NEW."id")), (SELECT json_object('id', o."id", 'ownerId', o."ownerId", 'name', o."name", 'archived', CASE WHEN o."archived" IS NULL THEN NULL WHEN o."archived" THEN json('true') ELSE json('false') END, 'updatedAt', o."updatedAt", 'color', o."color") FROM "projects" AS o WHERE o."id" = NEW."id")
    WHERE NOT EXISTS (SELECT 1 FROM "sync_outbox" WHERE tbl = 'projects' AND pk = json_array(NEW."id"))
      AND NOT EXISTS (SELECT 1 FROM "sync_base" WHERE tbl = 'projects' AND pk = json_array(NEW."id"));
END;
DROP TRIGGER IF EXISTS "sync_projects_insert";
CREATE TRIGGER "sync_projects_insert" AFTER INSERT ON "projects"
WHEN NOT EXISTS (SELECT 1 FROM "sync_apply_guard")
BEGIN
  UPDATE "sync_clock" SET (ms, ctr) = (SELECT CASE WHEN n > ms THEN n WHEN ctr >= 99999 THEN ms + 1 ELSE ms END, CASE WHEN n > ms THEN 0 WHEN ctr >= 99999 THEN 0 ELSE ctr + 1 END FROM (SELECT edgesync_now_ms() AS n));
  INSERT INTO "sync_outbox" (tbl, pk, op, row, changed, hlc, base_version, created_at)
    SELECT 'projects', json_array(NEW."id"), 'I', json_object('id', NEW."id", 'ownerId', NEW."ownerId", 'name', NEW."name", 'archived', CASE WHEN NEW."archived" IS NULL THEN NULL WHEN NEW."archived" THEN json('true') ELSE json('false') END, 'updatedAt', NEW."updatedAt", 'color', NEW."color"), NULL,
      printf('%015d:%05d:%s', ms, ctr, node),
      (SELECT version FROM "sync_rows" WHERE tbl = 'projects' AND pk = json_array(NEW."id")),
      edgesync_now_ms()
    FROM "sync_clock";
END;
DROP TRIGGER IF EXISTS "sync_projects_update";
CREATE TRIGGER "sync_projects_update" AFTER UPDATE ON "projects"
WHEN NOT EXISTS (SELECT 1 FROM "sync_apply_guard") AND (OLD."id" IS NEW."id") AND (OLD."id" IS NOT NEW."id" OR OLD."ownerId" IS NOT NEW."ownerId" OR OLD."name" IS NOT NEW."name" OR OLD."archived" IS NOT NEW."archived" OR OLD."updatedAt" IS NOT NEW."updatedAt" OR OLD."color" IS NOT NEW."color")
BEGIN
  INSERT INTO "sync_base" (tbl, pk, version, row)
    SELECT 'projects', json_array(OLD."id"), (SELECT version FROM "sync_rows" WHERE tbl = 'projects' AND pk = json_array(OLD."id")), json_object('id', OLD."id", 'ownerId', OLD."ownerId", 'name', OLD."name", 'archived', CASE WHEN OLD."archived" IS NULL THEN NULL WHEN OLD."archived" THEN json('true') ELSE json('false') END, 'updatedAt', OLD."updatedAt", 'color', OLD."color")
    WHERE NOT EXISTS (SELECT 1 FROM "sync_outbox" WHERE tbl = 'projects' AND pk = json_array(OLD."id"))
      AND NOT EXISTS (SELECT 1 FROM "sync_base" WHERE tbl = 'projects' AND pk = json_array(OLD."id"));
  UPDATE "sync_clock" SET (ms, ctr) = (SELECT CASE WHEN n > ms THEN n WHEN ctr >= 99999 THEN ms + 1 ELSE ms END, CASE WHEN n > ms THEN 0 WHEN ctr >= 99999 THEN 0 ELSE ctr + 1 END FROM (SELECT edgesync_now_ms() AS n));
  INSERT INTO "sync_outbox" (tbl, pk, op, row, changed, hlc, base_version, created_at)
    SELECT 'projects', json_array(NEW."id"), 'U', json_object('id', NEW."id", 'ownerId', NEW."ownerId", 'name', NEW."name", 'archived', CASE WHEN NEW."archived" IS NULL THEN NULL WHEN NEW."archived" THEN json('true') ELSE json('false') END, 'updatedAt', NEW."updatedAt", 'color', NEW."color"), (SELECT json_group_array(c) FROM (SELECT 'id' AS c WHERE OLD."id" IS NOT NEW."id" UNION ALL SELECT 'ownerId' AS c WHERE OLD."ownerId" IS NOT NEW."ownerId" UNION ALL SELECT 'name' AS c WHERE OLD."name" IS NOT NEW."name" UNION ALL SELECT 'archived' AS c WHERE OLD."archived" IS NOT NEW."archived" UNION ALL SELECT 'updatedAt' AS c WHERE OLD."updatedAt" IS NOT NEW."updatedAt" UNION ALL SELECT 'color' AS c WHERE OLD."color" IS NOT NEW."color")),
      printf('%015d:%05d:%s', ms, ctr, node),
      (SELECT version FROM "sync_rows" WHERE tbl = 'projects' AND pk = json_array(NEW."id")),
      edgesync_now_ms()
    FROM "sync_clock";
END;
DROP TRIGGER IF EXISTS "sync_projects_base_rekey";
CREATE TRIGGER "sync_projects_base_rekey" BEFORE UPDATE OF "id" ON "projects"
WHEN NOT EXISTS (SELECT 1 FROM "sync_apply_guard") AND NOT (OLD."id" IS NEW."id")
BEGIN
  INSERT INTO "sync_base" (tbl, pk, version, row)
    SELECT 'projects', json_array(OLD."id"), (SELECT version FROM "sync_rows" WHERE tbl = 'projects' AND pk = json_array(OLD."id")), json_object('id', OLD."id", 'ownerId', OLD."ownerId", 'name', OLD."name", 'archived', CASE WHEN OLD."archived" IS NULL THEN NULL WHEN OLD."archived" THEN json('true') ELSE json('false') END, 'updatedAt', OLD."updatedAt", 'color', OLD."color")
    WHERE NOT EXISTS (SELECT 1 FROM "sync_outbox" WHERE tbl = 'projects' AND pk = json_array(OLD."id"))
      AND NOT EXISTS (SELECT 1 FROM "sync_base" WHERE tbl = 'projects' AND pk = json_array(OLD."id"));
  INSERT INTO "sync_base" (tbl, pk, version, row)
    SELECT 'projects', json_array(NEW."id"), (SELECT version FROM "sync_rows" WHERE tbl = 'projects' AND pk = json_array(NEW."id")), (SELECT json_object('id', o."id", 'ownerId', o."ownerId", 'name', o."name", 'archived', CASE WHEN o."archived" IS NULL THEN NULL WHEN o."archived" THEN json('true') ELSE json('false') END, 'updatedAt', o."updatedAt", 'color', o."color") FROM "projects" AS o WHERE o."id" = NEW."id")
    WHERE NOT EXISTS (SELECT 1 FROM "sync_outbox" WHERE tbl = 'projects' AND pk = json_array(NEW."id"))
      AND NOT EXISTS (SELECT 1 FROM "sync_base" WHERE tbl = 'projects' AND pk = json_array(NEW."id"));
END;
DROP TRIGGER IF EXISTS "sync_projects_rekey";
CREATE TRIGGER "sync_projects_rekey" AFTER UPDATE OF "id" ON "projects"
WHEN NOT EXISTS (SELECT 1 FROM "sync_apply_guard") AND NOT (OLD."id" IS NEW."id")
BEGIN
  UPDATE "sync_clock" SET (ms, ctr) = (SELECT CASE WHEN n > ms THEN n WHEN ctr >= 99999 THEN ms + 1 ELSE ms END, CASE WHEN n > ms THEN 0 WHEN ctr >= 99999 THEN 0 ELSE ctr + 1 END FROM (SELECT edgesync_now_ms() AS n));
  INSERT INTO "sync_outbox" (tbl, pk, op, row, changed, hlc, base_version, created_at)
    SELECT 'projects', json_array(OLD."id"), 'D', NULL, NULL,
      printf('%015d:%05d:%s', ms, ctr, node),
      (SELECT version FROM "sync_rows" WHERE tbl = 'projects' AND pk = json_array(OLD."id")),
      edgesync_now_ms()
    FROM "sync_clock";
  UPDATE "sync_clock" SET (ms, ctr) = (SELECT CASE WHEN n > ms THEN n WHEN ctr >= 99999 THEN ms + 1 ELSE ms END, CASE WHEN n > ms THEN 0 WHEN ctr >= 99999 THEN 0 ELSE ctr + 1 END FROM (SELECT edgesync_now_ms() AS n));
  INSERT INTO "sync_outbox" (tbl, pk, op, row, changed, hlc, base_version, created_at)
    SELECT 'projects', json_array(NEW."id"), 'I', json_object('id', NEW."id", 'ownerId', NEW."ownerId", 'name', NEW."name", 'archived', CASE WHEN NEW."archived" IS NULL THEN NULL WHEN NEW."archived" THEN json('true') ELSE json('false') END, 'updatedAt', NEW."updatedAt", 'color', NEW."color"), NULL,
      printf('%015d:%05d:%s', ms, ctr, node),
      (SELECT version FROM "sync_rows" WHERE tbl = 'projects' AND pk = json_array(NEW."id")),
      edgesync_now_ms()
    FROM "sync_clock";
END;
DROP TRIGGER IF EXISTS "sync_projects_delete";
CREATE TRIGGER "sync_projects_delete" AFTER DELETE ON "projects"
WHEN NOT EXISTS (SELECT 1 FROM "sync_apply_guard")
BEGIN
  INSERT INTO "sync_base" (tbl, pk, version, row)
    SELECT 'projects', json_array(OLD."id"), (SELECT version FROM "sync_rows" WHERE tbl = 'projects' AND pk = json_array(OLD."id")), json_object('id', OLD."id", 'ownerId', OLD."ownerId", 'name', OLD."name", 'archived', CASE WHEN OLD."archived" IS NULL THEN NULL WHEN OLD."archived" THEN json('true') ELSE json('false') END, 'updatedAt', OLD."updatedAt", 'color', OLD."color")
    WHERE NOT EXISTS (SELECT 1 FROM "sync_outbox" WHERE tbl = 'projects' AND pk = json_array(OLD."id"))
      AND NOT EXISTS (SELECT 1 FROM "sync_base" WHERE tbl = 'projects' AND pk = json_array(OLD."id"));
  UPDATE "sync_clock" SET (ms, ctr) = (SELECT CASE WHEN n > ms THEN n WHEN ctr >= 99999 THEN ms + 1 ELSE ms END, CASE WHEN n > ms THEN 0 WHEN ctr >= 99999 THEN 0 ELSE ctr + 1 END FROM (SELECT edgesync_now_ms() AS n));
  INSERT INTO "sync_outbox" (tbl, pk, op, row, changed, hlc, base_version, created_at)
    SELECT 'projects', json_array(OLD."id"), 'D', NULL, NULL,
      printf('%015d:%05d:%s', ms, ctr, node),
      (SELECT version FROM "sync_rows" WHERE tbl = 'projects' AND pk = json_array(OLD."id")),
      edgesync_now_ms()
    FROM "sync_clock";
END;
DROP TRIGGER IF EXISTS "sync_projects_base_update";
DROP TRIGGER IF EXISTS "sync_projects_base_delete";
CREATE TABLE IF NOT EXISTS "tags" (
  "id" TEXT NOT NULL,
  "ownerId" TEXT NOT NULL,
  "label" TEXT NOT NULL,
  PRIMARY KEY ("id")
);
DROP TRIGGER IF EXISTS "sync_tags_base_insert";
CREATE TRIGGER "sync_tags_base_insert" BEFORE INSERT ON "tags"
WHEN NOT EXISTS (SELECT 1 FROM "sync_apply_guard") AND EXISTS (SELECT 1 FROM "tags" AS o WHERE o."id" = NEW."id")
BEGIN
  INSERT INTO "sync_base" (tbl, pk, version, row)
    SELECT 'tags', json_array(NEW."id"), (SELECT version FROM "sync_rows" WHERE tbl = 'tags' AND pk = json_array(NEW."id")), (SELECT json_object('id', o."id", 'ownerId', o."ownerId", 'label', o."label") FROM "tags" AS o WHERE o."id" = NEW."id")
    WHERE NOT EXISTS (SELECT 1 FROM "sync_outbox" WHERE tbl = 'tags' AND pk = json_array(NEW."id"))
      AND NOT EXISTS (SELECT 1 FROM "sync_base" WHERE tbl = 'tags' AND pk = json_array(NEW."id"));
END;
DROP TRIGGER IF EXISTS "sync_tags_insert";
CREATE TRIGGER "sync_tags_insert" AFTER INSERT ON "tags"
WHEN NOT EXISTS (SELECT 1 FROM "sync_apply_guard")
BEGIN
  UPDATE "sync_clock" SET (ms, ctr) = (SELECT CASE WHEN n > ms THEN n WHEN ctr >= 99999 THEN ms + 1 ELSE ms END, CASE WHEN n > ms THEN 0 WHEN ctr >= 99999 THEN 0 ELSE ctr + 1 END FROM (SELECT edgesync_now_ms() AS n));
  INSERT INTO "sync_outbox" (tbl, pk, op, row, changed, hlc, base_version, created_at)
    SELECT 'tags', json_array(NEW."id"), 'I', json_object('id', NEW."id", 'ownerId', NEW."ownerId", 'label', NEW."label"), NULL,
      printf('%015d:%05d:%s', ms, ctr, node),
      (SELECT version FROM "sync_rows" WHERE tbl = 'tags' AND pk = json_array(NEW."id")),
      edgesync_now_ms()
    FROM "sync_clock";
END;
DROP TRIGGER IF EXISTS "sync_tags_update";
CREATE TRIGGER "sync_tags_update" AFTER UPDATE ON "tags"
WHEN NOT EXISTS (SELECT 1 FROM "sync_apply_guard") AND (OLD."id" IS NEW."id") AND (OLD."id" IS NOT NEW."id" OR OLD."ownerId" IS NOT NEW."ownerId" OR OLD."label" IS NOT NEW."label")
BEGIN
  INSERT INTO "sync_base" (tbl, pk, version, row)
    SELECT 'tags', json_array(OLD."id"), (SELECT version FROM "sync_rows" WHERE tbl = 'tags' AND pk = json_array(OLD."id")), json_object('id', OLD."id", 'ownerId', OLD."ownerId", 'label', OLD."label")
    WHERE NOT EXISTS (SELECT 1 FROM "sync_outbox" WHERE tbl = 'tags' AND pk = json_array(OLD."id"))
      AND NOT EXISTS (SELECT 1 FROM "sync_base" WHERE tbl = 'tags' AND pk = json_array(OLD."id"));
  UPDATE "sync_clock" SET (ms, ctr) = (SELECT CASE WHEN n > ms THEN n WHEN ctr >= 99999 THEN ms + 1 ELSE ms END, CASE WHEN n > ms THEN 0 WHEN ctr >= 99999 THEN 0 ELSE ctr + 1 END FROM (SELECT edgesync_now_ms() AS n));
  INSERT INTO "sync_outbox" (tbl, pk, op, row, changed, hlc, base_version, created_at)
    SELECT 'tags', json_array(NEW."id"), 'U', json_object('id', NEW."id", 'ownerId', NEW."ownerId", 'label', NEW."label"), (SELECT json_group_array(c) FROM (SELECT 'id' AS c WHERE OLD."id" IS NOT NEW."id" UNION ALL SELECT 'ownerId' AS c WHERE OLD."ownerId" IS NOT NEW."ownerId" UNION ALL SELECT 'label' AS c WHERE OLD."label" IS NOT NEW."label")),
      printf('%015d:%05d:%s', ms, ctr, node),
      (SELECT version FROM "sync_rows" WHERE tbl = 'tags' AND pk = json_array(NEW."id")),
      edgesync_now_ms()
    FROM "sync_clock";
END;
DROP TRIGGER IF EXISTS "sync_tags_base_rekey";
CREATE TRIGGER "sync_tags_base_rekey" BEFORE UPDATE OF "id" ON "tags"
WHEN NOT EXISTS (SELECT 1 FROM "sync_apply_guard") AND NOT (OLD."id" IS NEW."id")
BEGIN
  INSERT INTO "sync_base" (tbl, pk, version, row)
    SELECT 'tags', json_array(OLD."id"), (SELECT version FROM "sync_rows" WHERE tbl = 'tags' AND pk = json_array(OLD."id")), json_object('id', OLD."id", 'ownerId', OLD."ownerId", 'label', OLD."label")
    WHERE NOT EXISTS (SELECT 1 FROM "sync_outbox" WHERE tbl = 'tags' AND pk = json_array(OLD."id"))
      AND NOT EXISTS (SELECT 1 FROM "sync_base" WHERE tbl = 'tags' AND pk = json_array(OLD."id"));
  INSERT INTO "sync_base" (tbl, pk, version, row)
    SELECT 'tags', json_array(NEW."id"), (SELECT version FROM "sync_rows" WHERE tbl = 'tags' AND pk = json_array(NEW."id")), (SELECT json_object('id', o."id", 'ownerId', o."ownerId", 'label', o."label") FROM "tags" AS o WHERE o."id" = NEW."id")
    WHERE NOT EXISTS (SELECT 1 FROM "sync_outbox" WHERE tbl = 'tags' AND pk = json_array(NEW."id"))
      AND NOT EXISTS (SELECT 1 FROM "sync_base" WHERE tbl = 'tags' AND pk = json_array(NEW."id"));
END;
DROP TRIGGER IF EXISTS "sync_tags_rekey";
CREATE TRIGGER "sync_tags_rekey" AFTER UPDATE OF "id" ON "tags"
WHEN NOT EXISTS (SELECT 1 FROM "sync_apply_guard") AND NOT (OLD."id" IS NEW."id")
BEGIN
  UPDATE "sync_clock" SET (ms, ctr) = (SELECT CASE WHEN n > ms THEN n WHEN ctr >= 99999 THEN ms + 1 ELSE ms END, CASE WHEN n > ms THEN 0 WHEN ctr >= 99999 THEN 0 ELSE ctr + 1 END FROM (SELECT edgesync_now_ms() AS n));
  INSERT INTO "sync_outbox" (tbl, pk, op, row, changed, hlc, base_version, created_at)
    SELECT 'tags', json_array(OLD."id"), 'D', NULL, NULL,
      printf('%015d:%05d:%s', ms, ctr, node),
      (SELECT version FROM "sync_rows" WHERE tbl = 'tags' AND pk = json_array(OLD."id")),
      edgesync_now_ms()
    FROM "sync_clock";
  UPDATE "sync_clock" SET (ms, ctr) = (SELECT CASE WHEN n > ms THEN n WHEN ctr >= 99999 THEN ms + 1 ELSE ms END, CASE WHEN n > ms THEN 0 WHEN ctr >= 99999 THEN 0 ELSE ctr + 1 END FROM (SELECT edgesync_now_ms() AS n));
  INSERT INTO "sync_outbox" (tbl, pk, op, row, changed, hlc, base_version, created_at)
    SELECT 'tags', json_array(NEW."id"), 'I', json_object('id', NEW."id", 'ownerId', NEW."ownerId", 'label', NEW."label"), NULL,
      printf('%015d:%05d:%s', ms, ctr, node),
      (SELECT version FROM "sync_rows" WHERE tbl = 'tags' AND pk = json_array(NEW."id")),
      edgesync_now_ms()
    FROM "sync_clock";
END;
DROP TRIGGER IF EXISTS "sync_tags_delete";
CREATE TRIGGER "sync_tags_delete" AFTER DELETE ON "tags"
WHEN NOT EXISTS (SELECT 1 FROM "sync_apply_guard")
BEGIN
  INSERT INTO "sync_base" (tbl, pk, version, row)
    SELECT 'tags', json_array(OLD."id"), (SELECT version FROM "sync_rows" WHERE tbl = 'tags' AND pk = json_array(OLD."id")), json_object('id', OLD."id", 'ownerId', OLD."ownerId", 'label', OLD."label")
    WHERE NOT EXISTS (SELECT 1 FROM "sync_outbox" WHERE tbl = 'tags' AND pk = json_array(OLD."id"))
      AND NOT EXISTS (SELECT 1 FROM "sync_base" WHERE tbl = 'tags' AND pk = json_array(OLD."id"));
  UPDATE "sync_clock" SET (ms, ctr) = (SELECT CASE WHEN n > ms THEN n WHEN ctr >= 99999 THEN ms + 1 ELSE ms END, CASE WHEN n > ms THEN 0 WHEN ctr >= 99999 THEN 0 ELSE ctr + 1 END FROM (SELECT edgesync_now_ms() AS n));
  INSERT INTO "sync_outbox" (tbl, pk, op, row, changed, hlc, base_version, created_at)
    SELECT 'tags', json_array(OLD."id"), 'D', NULL, NULL,
      printf('%015d:%05d:%s', ms, ctr, node),
      (SELECT version FROM "sync_rows" WHERE tbl = 'tags' AND pk = json_array(OLD."id")),
      edgesync_now_ms()
    FROM "sync_clock";
END;
DROP TRIGGER IF EXISTS "sync_tags_base_update";
DROP TRIGGER IF EXISTS "sync_tags_base_delete";
INSERT OR REPLACE INTO "sync_state" (key, value) VALUES ('schema_version', 2);
