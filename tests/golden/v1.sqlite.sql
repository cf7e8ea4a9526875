-- edgesync SQLite schema v1 (generated; idempotent)
CREATE TABLE IF NOT EXISTS "sync_outbox" (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  tbl TEXT NOT NULL,
  pk TEXT NOT NULL,
  op TEXT NOT NULL CHECK (op IN ('I', 'U', 'D')),
  row TEXT,
  changed TEXT,
  hlc TEXT NOT NULL,
  base_version INTEGER,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS "sync_outbox_row" ON "sync_outbox" (tbl, pk);
CREATE TABLE IF NOT EXISTS "sync_state" (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS "sync_clock" (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  ms INTEGER NOT NULL,
  ctr INTEGER NOT NULL,
  node TEXT NOT NULL
);
INSERT OR IGNORE INTO "sync_clock" (id, ms, ctr, node) VALUES (1, 0, 0, '');
CREATE TABLE IF NOT EXISTS "sync_apply_guard" (id INTEGER PRIMARY KEY CHECK (id = 1));
CREATE TABLE IF NOT EXISTS "sync_rows" (
  tbl TEXT NOT NULL,
  pk TEXT NOT NULL,
  version INTEGER NOT NULL,
  PRIMARY KEY (tbl, pk)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS "sync_base" (
  tbl TEXT NOT NULL,
  pk TEXT NOT NULL,
  version INTEGER,
  row TEXT,
  PRIMARY KEY (tbl, pk)
) WITHOUT ROWID;
INSERT OR IGNORE INTO "sync_state" (key, value) VALUES ('schema_version', 1);
CREATE TABLE IF NOT EXISTS "projects" (
  "id" TEXT NOT NULL,
  "ownerId" TEXT NOT NULL,
  "name" TEXT NOT NULL,
  "archived" INTEGER,
  "updatedAt" TEXT,
  PRIMARY KEY ("id")
);
DROP TRIGGER IF EXISTS "sync_projects_base_insert";
CREATE TRIGGER "sync_projects_base_insert" BEFORE INSERT ON "projects"
WHEN NOT EXISTS (SELECT 1 FROM "sync_apply_guard") AND EXISTS (SELECT 1 FROM "projects" AS o WHERE o."id" = NEW."id")
BEGIN
  INSERT INTO "sync_base" (tbl, pk, version, row)
    SELECT 'projects', json_array(NEW."id"), (SELECT version FROM "sync_rows" WHERE tbl = 'projects' AND pk = json_array(NEW."id")), (SELECT json_object('id', o."id", 'ownerId', o."ownerId", 'name', o."name", 'archived', CASE WHEN o."archived" IS NULL THEN NULL WHEN o."archived" THEN json('true') ELSE json('false') END, 'updatedAt', o."updatedAt") FROM "projects" AS o WHERE o."id" = NEW."id")
    WHERE NOT EXISTS (SELECT 1 FROM "sync_outbox" WHERE tbl = 'projects' AND pk = json_array(NEW."id"))
      AND NOT EXISTS (SELECT 1 FROM "sync_base" WHERE tbl = 'projects' AND pk = json_array(NEW."id"));
END;
DROP TRIGGER IF EXISTS "sync_projects_insert";
CREATE TRIGGER "sync_projects_insert" AFTER INSERT ON "projects"
WHEN NOT EXISTS (SELECT 1 FROM "sync_apply_guard")
BEGIN
  UPDATE "sync_clock" SET (ms, ctr) = (SELECT CASE WHEN n > ms THEN n WHEN ctr >= 99999 THEN ms + 1 ELSE ms END, CASE WHEN n > ms THEN 0 WHEN ctr >= 99999 THEN 0 ELSE ctr + 1 END FROM (SELECT edgesync_now_ms() AS n));
  INSERT INTO "sync_outbox" (tbl, pk, op, row, changed, hlc, base_version, created_at)
    SELECT 'projects', json_array(NEW."id"), 'I', json_object('id', NEW."id", 'ownerId', NEW."ownerId", 'name', NEW."name", 'archived', CASE WHEN NEW."archived" IS NULL THEN NULL WHEN NEW."archived" THEN json('true') ELSE json('false') END, 'updatedAt', NEW."updatedAt"), NULL,
      printf('%015d:%05d:%s', ms, ctr, node),
      (SELECT version FROM "sync_rows" WHERE tbl = 'projects' AND pk = json_array(NEW."id")),
      edgesync_now_ms()
    FROM "sync_clock";
END;
DROP TRIGGER IF EXISTS "sync_projects_update";
CREATE TRIGGER "sync_projects_update" AFTER UPDATE ON "projects"
WHEN NOT EXISTS (SELECT 1 FROM "sync_apply_guard") AND (OLD."id" IS NEW."id") AND (OLD."id" IS NOT NEW."id" OR OLD."ownerId" IS NOT NEW."ownerId" OR OLD."name" IS NOT NEW."name" OR OLD."archived" IS NOT NEW."archived" OR OLD."updatedAt" IS NOT NEW."updatedAt")
BEGIN
  INSERT INTO "sync_base" (tbl, pk, version, row)
    SELECT 'projects', json_array(OLD."id"), (SELECT version FROM "sync_rows" WHERE tbl = 'projects' AND pk = json_array(OLD."id")), json_object('id', OLD."id", 'ownerId', OLD."ownerId", 'name', OLD."name", 'archived', CASE WHEN OLD."archived" IS NULL THEN NULL WHEN OLD."archived" THEN json('true') ELSE json('false') END, 'updatedAt', OLD."updatedAt")
    WHERE NOT EXISTS (SELECT 1 FROM "sync_outbox" WHERE tbl = 'projects' AND pk = json_array(OLD."id"))
      AND NOT EXISTS (SELECT 1 FROM "sync_base" WHERE tbl = 'projects' AND pk = json_array(OLD."id"));
  UPDATE "sync_clock" SET (ms, ctr) = (SELECT CASE WHEN n > ms THEN n WHEN ctr >= 99999 THEN ms + 1 ELSE ms END, CASE WHEN n > ms THEN 0 WHEN ctr >= 99999 THEN 0 ELSE ctr + 1 END FROM (SELECT edgesync_now_ms() AS n));
  INSERT INTO "sync_outbox" (tbl, pk, op, row, changed, hlc, base_version, created_at)
    SELECT 'projects', json_array(NEW."id"), 'U', json_object('id', NEW."id", 'ownerId', NEW."ownerId", 'name', NEW."name", 'archived', CASE WHEN NEW."archived" IS NULL THEN NULL WHEN NEW."archived" THEN json('true') ELSE json('false') END, 'updatedAt', NEW."updatedAt"), (SELECT json_group_array(c) FROM (SELECT 'id' AS c WHERE OLD."id" IS NOT NEW."id" UNION ALL SELECT 'ownerId' AS c WHERE OLD."ownerId" IS NOT NEW."ownerId" UNION ALL SELECT 'name' AS c WHERE OLD."name" IS NOT NEW."name" UNION ALL SELECT 'archived' AS c WHERE OLD."archived" IS NOT NEW."archived" UNION ALL SELECT 'updatedAt' AS c WHERE OLD."updatedAt" IS NOT NEW."updatedAt")),
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
    SELECT 'projects', json_array(OLD."id"), (SELECT version FROM "sync_rows" WHERE tbl = 'projects' AND pk = json_array(OLD."id")), json_object('id', OLD."id", 'ownerId', OLD."ownerId", 'name', OLD."name", 'archived', CASE WHEN OLD."archived" IS NULL THEN NULL WHEN OLD."archived" THEN json('true') ELSE json('false') END, 'updatedAt', OLD."updatedAt")
    WHERE NOT EXISTS (SELECT 1 FROM "sync_outbox" WHERE tbl = 'projects' AND pk = json_array(OLD."id"))
      AND NOT EXISTS (SELECT 1 FROM "sync_base" WHERE tbl = 'projects' AND pk = json_array(OLD."id"));
  INSERT INTO "sync_base" (tbl, pk, version, row)
    SELECT 'projects', json_array(NEW."id"), (SELECT version FROM "sync_rows" WHERE tbl = 'projects' AND pk = json_array(NEW."id")), (SELECT json_object('id', o."id", 'ownerId', o."ownerId", 'name', o."name", 'archived', CASE WHEN o."archived" IS NULL THEN NULL WHEN o."archived" THEN json('true') ELSE json('false') END, 'updatedAt', o."updatedAt") FROM "projects" AS o WHERE o."id" = NEW."id")
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
    SELECT 'projects', json_array(NEW."id"), 'I', json_object('id', NEW."id", 'ownerId', NEW."ownerId", 'name', NEW."name", 'archived', CASE WHEN NEW."archived" IS NULL THEN NULL WHEN NEW."archived" THEN json('true') ELSE json('false') END, 'updatedAt', NEW."updatedAt"), NULL,
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
    SELECT 'projects', json_array(OLD."id"), (SELECT version FROM "sync_rows" WHERE tbl = 'projects' AND pk = json_array(OLD."id")), json_object('id', OLD."id", 'ownerId', OLD."ownerId", 'name', OLD."name", 'archived', CASE WHEN OLD."archived" IS NULL THEN NULL WHEN OLD."archived" THEN json('true') ELSE json('false') END, 'updatedAt', OLD."updatedAt")
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
CREATE TABLE IF NOT EXISTS "workflowNodes" (
  "id" TEXT NOT NULL,
  "projectId" TEXT NOT NULL,
  "ownerId" TEXT NOT NULL,
  "label" TEXT,
  "x" REAL,
  "y" REAL,
  "data" TEXT,
  PRIMARY KEY ("id")
);
DROP TRIGGER IF EXISTS "sync_workflowNodes_base_insert";
CREATE TRIGGER "sync_workflowNodes_base_insert" BEFORE INSERT ON "workflowNodes"
WHEN NOT EXISTS (SELECT 1 FROM "sync_apply_guard") AND EXISTS (SELECT 1 FROM "workflowNodes" AS o WHERE o."id" = NEW."id")
BEGIN
  INSERT INTO "sync_base" (tbl, pk, version, row)
    SELECT 'workflowNodes', json_array(NEW."id"), (SELECT version FROM "sync_rows" WHERE tbl = 'workflowNodes' AND pk = json_array(NEW."id")), (SELECT json_object('id', o."id", 'projectId', o."projectId", 'ownerId', o."ownerId", 'label', o."label", 'x', o."x", 'y', o."y", 'data', json(o."data")) FROM "workflowNodes" AS o WHERE o."id" = NEW."id")
    WHERE NOT EXISTS (SELECT 1 FROM "sync_outbox" WHERE tbl = 'workflowNodes' AND pk = json_array(NEW."id"))
      AND NOT EXISTS (SELECT 1 FROM "sync_base" WHERE tbl = 'workflowNodes' AND pk = json_array(NEW."id"));
END;
DROP TRIGGER IF EXISTS "sync_workflowNodes_insert";
CREATE TRIGGER "sync_workflowNodes_insert" AFTER INSERT ON "workflowNodes"
WHEN NOT EXISTS (SELECT 1 FROM "sync_apply_guard")
BEGIN
  UPDATE "sync_clock" SET (ms, ctr) = (SELECT CASE WHEN n > ms THEN n WHEN ctr >= 99999 THEN ms + 1 ELSE ms END, CASE WHEN n > ms THEN 0 WHEN ctr >= 99999 THEN 0 ELSE ctr + 1 END FROM (SELECT edgesync_now_ms() AS n));
  INSERT INTO "sync_outbox" (tbl, pk, op, row, changed, hlc, base_version, created_at)
    SELECT 'workflowNodes', json_array(NEW."id"), 'I', json_object('id', NEW."id", 'projectId', NEW."projectId", 'ownerId', NEW."ownerId", 'label', NEW."label", 'x', NEW."x", 'y', NEW."y", 'data', json(NEW."data")), NULL,
      printf('%015d:%05d:%s', ms, ctr, node),
      (SELECT version FROM "sync_rows" WHERE tbl = 'workflowNodes' AND pk = json_array(NEW."id")),
      edgesync_now_ms()
    FROM "sync_clock";
END;
DROP TRIGGER IF EXISTS "sync_workflowNodes_update";
CREATE TRIGGER "sync_workflowNodes_update" AFTER UPDATE ON "workflowNodes"
WHEN NOT EXISTS (SELECT 1 FROM "sync_apply_guard") AND (OLD."id" IS NEW."id") AND (OLD."id" IS NOT NEW."id" OR OLD."projectId" IS NOT NEW."projectId" OR OLD."ownerId" IS NOT NEW."ownerId" OR OLD."label" IS NOT NEW."label" OR OLD."x" IS NOT NEW."x" OR OLD."y" IS NOT NEW."y" OR OLD."data" IS NOT NEW."data")
BEGIN
  INSERT INTO "sync_base" (tbl, pk, version, row)
    SELECT 'workflowNodes', json_array(OLD."id"), (SELECT version FROM "sync_rows" WHERE tbl = 'workflowNodes' AND pk = json_array(OLD."id")), json_object('id', OLD."id", 'projectId', OLD."projectId", 'ownerId', OLD."ownerId", 'label', OLD."label", 'x', OLD."x", 'y', OLD."y", 'data', json(OLD."data"))
    WHERE NOT EXISTS (SELECT 1 FROM "sync_outbox" WHERE tbl = 'workflowNodes' AND pk = json_array(OLD."id"))
      AND NOT EXISTS (SELECT 1 FROM "sync_base" WHERE tbl = 'workflowNodes' AND pk = json_array(OLD."id"));
  UPDATE "sync_clock" SET (ms, ctr) = (SELECT CASE WHEN n > ms THEN n WHEN ctr >= 99999 THEN ms + 1 ELSE ms END, CASE WHEN n > ms THEN 0 WHEN ctr >= 99999 THEN 0 ELSE ctr + 1 END FROM (SELECT edgesync_now_ms() AS n));
  INSERT INTO "sync_outbox" (tbl, pk, op, row, changed, hlc, base_version, created_at)
    SELECT 'workflowNodes', json_array(NEW."id"), 'U', json_object('id', NEW."id", 'projectId', NEW."projectId", 'ownerId', NEW."ownerId", 'label', NEW."label", 'x', NEW."x", 'y', NEW."y", 'data', json(NEW."data")), (SELECT json_group_array(c) FROM (SELECT 'id' AS c WHERE OLD."id" IS NOT NEW."id" UNION ALL SELECT 'projectId' AS c WHERE OLD."projectId" IS NOT NEW."projectId" UNION ALL SELECT 'ownerId' AS c WHERE OLD."ownerId" IS NOT NEW."ownerId" UNION ALL SELECT 'label' AS c WHERE OLD."label" IS NOT NEW."label" UNION ALL SELECT 'x' AS c WHERE OLD."x" IS NOT NEW."x" UNION ALL SELECT 'y' AS c WHERE OLD."y" IS NOT NEW."y" UNION ALL SELECT 'data' AS c WHERE OLD."data" IS NOT NEW."data")),
      printf('%015d:%05d:%s', ms, ctr, node),
      (SELECT version FROM "sync_rows" WHERE tbl = 'workflowNodes' AND pk = json_array(NEW."id")),
      edgesync_now_ms()
    FROM "sync_clock";
END;
DROP TRIGGER IF EXISTS "sync_workflowNodes_base_rekey";
CREATE TRIGGER "sync_workflowNodes_base_rekey" BEFORE UPDATE OF "id" ON "workflowNodes"
WHEN NOT EXISTS (SELECT 1 FROM "sync_apply_guard") AND NOT (OLD."id" IS NEW."id")
BEGIN
  INSERT INTO "sync_base" (tbl, pk, version, row)
    SELECT 'workflowNodes', json_array(OLD."id"), (SELECT version FROM "sync_rows" WHERE tbl = 'workflowNodes' AND pk = json_array(OLD."id")), json_object('id', OLD."id", 'projectId', OLD."projectId", 'ownerId', OLD."ownerId", 'label', OLD."label", 'x', OLD."x", 'y', OLD."y", 'data', json(OLD."data"))
    WHERE NOT EXISTS (SELECT 1 FROM "sync_outbox" WHERE tbl = 'workflowNodes' AND pk = json_array(OLD."id"))
      AND NOT EXISTS (SELECT 1 FROM "sync_base" WHERE tbl = 'workflowNodes' AND pk = json_array(OLD."id"));
  INSERT INTO "sync_base" (tbl, pk, version, row)
    SELECT 'workflowNodes', json_array(NEW."id"), (SELECT version FROM "sync_rows" WHERE tbl = 'workflowNodes' AND pk = json_array(NEW."id")), (SELECT json_object('id', o."id", 'projectId', o."projectId", 'ownerId', o."ownerId", 'label', o."label", 'x', o."x", 'y', o."y", 'data', json(o."data")) FROM "workflowNodes" AS o WHERE o."id" = NEW."id")
    WHERE NOT EXISTS (SELECT 1 FROM "sync_outbox" WHERE tbl = 'workflowNodes' AND pk = json_array(NEW."id"))
      AND NOT EXISTS (SELECT 1 FROM "sync_base" WHERE tbl = 'workflowNodes' AND pk = json_array(NEW."id"));
END;
DROP TRIGGER IF EXISTS "sync_workflowNodes_rekey";
CREATE TRIGGER "sync_workflowNodes_rekey" AFTER UPDATE OF "id" ON "workflowNodes"
WHEN NOT EXISTS (SELECT 1 FROM "sync_apply_guard") AND NOT (OLD."id" IS NEW."id")
BEGIN
  UPDATE "sync_clock" SET (ms, ctr) = (SELECT CASE WHEN n > ms THEN n WHEN ctr >= 99999 THEN ms + 1 ELSE ms END, CASE WHEN n > ms THEN 0 WHEN ctr >= 99999 THEN 0 ELSE ctr + 1 END FROM (SELECT edgesync_now_ms() AS n));
  INSERT INTO "sync_outbox" (tbl, pk, op, row, changed, hlc, base_version, created_at)
    SELECT 'workflowNodes', json_array(OLD."id"), 'D', NULL, NULL,
      printf('%015d:%05d:%s', ms, ctr, node),
      (SELECT version FROM "sync_rows" WHERE tbl = 'workflowNodes' AND pk = json_array(OLD."id")),
      edgesync_now_ms()
    FROM "sync_clock";
  UPDATE "sync_clock" SET (ms, ctr) = (SELECT CASE WHEN n > ms THEN n WHEN ctr >= 99999 THEN ms + 1 ELSE ms END, CASE WHEN n > ms THEN 0 WHEN ctr >= 99999 THEN 0 ELSE ctr + 1 END FROM (SELECT edgesync_now_ms() AS n));
  INSERT INTO "sync_outbox" (tbl, pk, op, row, changed, hlc, base_version, created_at)
    SELECT 'workflowNodes', json_array(NEW."id"), 'I', json_object('id', NEW."id", 'projectId', NEW."projectId", 'ownerId', NEW."ownerId", 'label', NEW."label", 'x', NEW."x", 'y', NEW."y", 'data', json(NEW."data")), NULL,
      printf('%015d:%05d:%s', ms, ctr, node),
      (SELECT version FROM "sync_rows" WHERE tbl = 'workflowNodes' AND pk = json_array(NEW."id")),
      edgesync_now_ms()
    FROM "sync_clock";
END;
DROP TRIGGER IF EXISTS "sync_workflowNodes_delete";
CREATE TRIGGER "sync_workflowNodes_delete" AFTER DELETE ON "workflowNodes"
WHEN NOT EXISTS (SELECT 1 FROM "sync_apply_guard")
BEGIN
  INSERT INTO "sync_base" (tbl, pk, version, row)
    SELECT 'workflowNodes', json_array(OLD."id"), (SELECT version FROM "sync_rows" WHERE tbl = 'workflowNodes' AND pk = json_array(OLD."id")), json_object('id', OLD."id", 'projectId', OLD."projectId", 'ownerId', OLD."ownerId", 'label', OLD."label", 'x', OLD."x", 'y', OLD."y", 'data', json(OLD."data"))
    WHERE NOT EXISTS (SELECT 1 FROM "sync_outbox" WHERE tbl = 'workflowNodes' AND pk = json_array(OLD."id"))
      AND NOT EXISTS (SELECT 1 FROM "sync_base" WHERE tbl = 'workflowNodes' AND pk = json_array(OLD."id"));
  UPDATE "sync_clock" SET (ms, ctr) = (SELECT CASE WHEN n > ms THEN n WHEN ctr >= 99999 THEN ms + 1 ELSE ms END, CASE WHEN n > ms THEN 0 WHEN ctr >= 99999 THEN 0 ELSE ctr + 1 END FROM (SELECT edgesync_now_ms() AS n));
  INSERT INTO "sync_outbox" (tbl, pk, op, row, changed, hlc, base_version, created_at)
    SELECT 'workflowNodes', json_array(OLD."id"), 'D', NULL, NULL,
      printf('%015d:%05d:%s', ms, ctr, node),
      (SELECT version FROM "sync_rows" WHERE tbl = 'workflowNodes' AND pk = json_array(OLD."id")),
      edgesync_now_ms()
    FROM "sync_clock";
END;
DROP TRIGGER IF EXISTS "sync_workflowNodes_base_update";
DROP TRIGGER IF EXISTS "sync_workflowNodes_base_delete";
CREATE TABLE IF NOT EXISTS "workflowEdges" (
  "projectId" TEXT NOT NULL,
  "edgeId" TEXT NOT NULL,
  "ownerId" TEXT NOT NULL,
  "source" TEXT NOT NULL,
  "target" TEXT NOT NULL,
  PRIMARY KEY ("projectId", "edgeId")
);
DROP TRIGGER IF EXISTS "sync_workflowEdges_base_insert";
CREATE TRIGGER "sync_workflowEdges_base_insert" BEFORE INSERT ON "workflowEdges"
WHEN NOT EXISTS (SELECT 1 FROM "sync_apply_guard") AND EXISTS (SELECT 1 FROM "workflowEdges" AS o WHERE o."projectId" = NEW."projectId" AND o."edgeId" = NEW."edgeId")
BEGIN
  INSERT INTO "sync_base" (tbl, pk, version, row)
    SELECT 'workflowEdges', json_array(NEW."projectId", NEW."edgeId"), (SELECT version FROM "sync_rows" WHERE tbl = 'workflowEdges' AND pk = json_array(NEW."projectId", NEW."edgeId")), (SELECT json_object('projectId', o."projectId", 'edgeId', o."edgeId", 'ownerId', o."ownerId", 'source', o."source", 'target', o."target") FROM "workflowEdges" AS o WHERE o."projectId" = NEW."projectId" AND o."edgeId" = NEW."edgeId")
    WHERE NOT EXISTS (SELECT 1 FROM "sync_outbox" WHERE tbl = 'workflowEdges' AND pk = json_array(NEW."projectId", NEW."edgeId"))
      AND NOT EXISTS (SELECT 1 FROM "sync_base" WHERE tbl = 'workflowEdges' AND pk = json_array(NEW."projectId", NEW."edgeId"));
END;
DROP TRIGGER IF EXISTS "sync_workflowEdges_insert";
CREATE TRIGGER "sync_workflowEdges_insert" AFTER INSERT ON "workflowEdges"
WHEN NOT EXISTS (SELECT 1 FROM "sync_apply_guard")
BEGIN
  UPDATE "sync_clock" SET (ms, ctr) = (SELECT CASE WHEN n > ms THEN n WHEN ctr >= 99999 THEN ms + 1 ELSE ms END, CASE WHEN n > ms THEN 0 WHEN ctr >= 99999 THEN 0 ELSE ctr + 1 END FROM (SELECT edgesync_now_ms() AS n));
  INSERT INTO "sync_outbox" (tbl, pk, op, row, changed, hlc, base_version, created_at)
    SELECT 'workflowEdges', json_array(NEW."projectId", NEW."edgeId"), 'I', json_object('projectId', NEW."projectId", 'edgeId', NEW."edgeId", 'ownerId', NEW."ownerId", 'source', NEW."source", 'target', NEW."target"), NULL,
      printf('%015d:%05d:%s', ms, ctr, node),
      (SELECT version FROM "sync_rows" WHERE tbl = 'workflowEdges' AND pk = json_array(NEW."projectId", NEW."edgeId")),
      edgesync_now_ms()
    FROM "sync_clock";
END;
DROP TRIGGER IF EXISTS "sync_workflowEdges_update";
CREATE TRIGGER "sync_workflowEdges_update" AFTER UPDATE ON "workflowEdges"
WHEN NOT EXISTS (SELECT 1 FROM "sync_apply_guard") AND (OLD."projectId" IS NEW."projectId" AND OLD."edgeId" IS NEW."edgeId") AND (OLD."projectId" IS NOT NEW."projectId" OR OLD."edgeId" IS NOT NEW."edgeId" OR OLD."ownerId" IS NOT NEW."ownerId" OR OLD."source" IS NOT NEW."source" OR OLD."target" IS NOT NEW."target")
BEGIN
  INSERT INTO "sync_base" (tbl, pk, version, row)
    SELECT 'workflowEdges', json_array(OLD."projectId", OLD."edgeId"), (SELECT version FROM "sync_rows" WHERE tbl = 'workflowEdges' AND pk = json_array(OLD."projectId", OLD."edgeId")), json_object('projectId', OLD."projectId", 'edgeId', OLD."edgeId", 'ownerId', OLD."ownerId", 'source', OLD."source", 'target', OLD."target")
    WHERE NOT EXISTS (SELECT 1 FROM "sync_outbox" WHERE tbl = 'workflowEdges' AND pk = json_array(OLD."projectId", OLD."edgeId"))
      AND NOT EXISTS (SELECT 1 FROM "sync_base" WHERE tbl = 'workflowEdges' AND pk = json_array(OLD."projectId", OLD."edgeId"));
  UPDATE "sync_clock" SET (ms, ctr) = (SELECT CASE WHEN n > ms THEN n WHEN ctr >= 99999 THEN ms + 1 ELSE ms END, CASE WHEN n > ms THEN 0 WHEN ctr >= 99999 THEN 0 ELSE ctr + 1 END FROM (SELECT edgesync_now_ms() AS n));
  INSERT INTO "sync_outbox" (tbl, pk, op, row, changed, hlc, base_version, created_at)
    SELECT 'workflowEdges', json_array(NEW."projectId", NEW."edgeId"), 'U', json_object('projectId', NEW."projectId", 'edgeId', NEW."edgeId", 'ownerId', NEW."ownerId", 'source', NEW."source", 'target', NEW."target"), (SELECT json_group_array(c) FROM (SELECT 'projectId' AS c WHERE OLD."projectId" IS NOT NEW."projectId" UNION ALL SELECT 'edgeId' AS c WHERE OLD."edgeId" IS NOT NEW."edgeId" UNION ALL SELECT 'ownerId' AS c WHERE OLD."ownerId" IS NOT NEW."ownerId" UNION ALL SELECT 'source' AS c WHERE OLD."source" IS NOT NEW."source" UNION ALL SELECT 'target' AS c WHERE OLD."target" IS NOT NEW."target")),
      printf('%015d:%05d:%s', ms, ctr, node),
      (SELECT version FROM "sync_rows" WHERE tbl = 'workflowEdges' AND pk = json_array(NEW."projectId", NEW."edgeId")),
      edgesync_now_ms()
    FROM "sync_clock";
END;
DROP TRIGGER IF EXISTS "sync_workflowEdges_base_rekey";
CREATE TRIGGER "sync_workflowEdges_base_rekey" BEFORE UPDATE OF "projectId", "edgeId" ON "workflowEdges"
WHEN NOT EXISTS (SELECT 1 FROM "sync_apply_guard") AND NOT (OLD."projectId" IS NEW."projectId" AND OLD."edgeId" IS NEW."edgeId")
BEGIN
  INSERT INTO "sync_base" (tbl, pk, version, row)
    SELECT 'workflowEdges', json_array(OLD."projectId", OLD."edgeId"), (SELECT version FROM "sync_rows" WHERE tbl = 'workflowEdges' AND pk = json_array(OLD."projectId", OLD."edgeId")), json_object('projectId', OLD."projectId", 'edgeId', OLD."edgeId", 'ownerId', OLD."ownerId", 'source', OLD."source", 'target', OLD."target")
    WHERE NOT EXISTS (SELECT 1 FROM "sync_outbox" WHERE tbl = 'workflowEdges' AND pk = json_array(OLD."projectId", OLD."edgeId"))
      AND NOT EXISTS (SELECT 1 FROM "sync_base" WHERE tbl = 'workflowEdges' AND pk = json_array(OLD."projectId", OLD."edgeId"));
  INSERT INTO "sync_base" (tbl, pk, version, row)
    SELECT 'workflowEdges', json_array(NEW."projectId", NEW."edgeId"), (SELECT version FROM "sync_rows" WHERE tbl = 'workflowEdges' AND pk = json_array(NEW."projectId", NEW."edgeId")), (SELECT json_object('projectId', o."projectId", 'edgeId', o."edgeId", 'ownerId', o."ownerId", 'source', o."source", 'target', o."target") FROM "workflowEdges" AS o WHERE o."projectId" = NEW."projectId" AND o."edgeId" = NEW."edgeId")
    WHERE NOT EXISTS (SELECT 1 FROM "sync_outbox" WHERE tbl = 'workflowEdges' AND pk = json_array(NEW."projectId", NEW."edgeId"))
      AND NOT EXISTS (SELECT 1 FROM "sync_base" WHERE tbl = 'workflowEdges' AND pk = json_array(NEW."projectId", NEW."edgeId"));
END;
DROP TRIGGER IF EXISTS "sync_workflowEdges_rekey";
CREATE TRIGGER "sync_workflowEdges_rekey" AFTER UPDATE OF "projectId", "edgeId" ON "workflowEdges"
WHEN NOT EXISTS (SELECT 1 FROM "sync_apply_guard") AND NOT (OLD."projectId" IS NEW."projectId" AND OLD."edgeId" IS NEW."edgeId")
BEGIN
  UPDATE "sync_clock" SET (ms, ctr) = (SELECT CASE WHEN n > ms THEN n WHEN ctr >= 99999 THEN ms + 1 ELSE ms END, CASE WHEN n > ms THEN 0 WHEN ctr >= 99999 THEN 0 ELSE ctr + 1 END FROM (SELECT edgesync_now_ms() AS n));
  INSERT INTO "sync_outbox" (tbl, pk, op, row, changed, hlc, base_version, created_at)
    SELECT 'workflowEdges', json_array(OLD."projectId", OLD."edgeId"), 'D', NULL, NULL,
      printf('%015d:%05d:%s', ms, ctr, node),
      (SELECT version FROM "sync_rows" WHERE tbl = 'workflowEdges' AND pk = json_array(OLD."projectId", OLD."edgeId")),
      edgesync_now_ms()
    FROM "sync_clock";
  UPDATE "sync_clock" SET (ms, ctr) = (SELECT CASE WHEN n > ms THEN n WHEN ctr >= 99999 THEN ms + 1 ELSE ms END, CASE WHEN n > ms THEN 0 WHEN ctr >= 99999 THEN 0 ELSE ctr + 1 END FROM (SELECT edgesync_now_ms() AS n));
  INSERT INTO "sync_outbox" (tbl, pk, op, row, changed, hlc, base_version, created_at)
    SELECT 'workflowEdges', json_array(NEW."projectId", NEW."edgeId"), 'I', json_object('projectId', NEW."projectId", 'edgeId', NEW."edgeId", 'ownerId', NEW."ownerId", 'source', NEW."source", 'target', NEW."target"), NULL,
      printf('%015d:%05d:%s', ms, ctr, node),
      (SELECT version FROM "sync_rows" WHERE tbl = 'workflowEdges' AND pk = json_array(NEW."projectId", NEW."edgeId")),
      edgesync_now_ms()
    FROM "sync_clock";
END;
DROP TRIGGER IF EXISTS "sync_workflowEdges_delete";
CREATE TRIGGER "sync_workflowEdges_delete" AFTER DELETE ON "workflowEdges"
WHEN NOT EXISTS (SELECT 1 FROM "sync_apply_guard")
BEGIN
  INSERT INTO "sync_base" (tbl, pk, version, row)
    SELECT 'workflowEdges', json_array(OLD."projectId", OLD."edgeId"), (SELECT version FROM "sync_rows" WHERE tbl = 'workflowEdges' AND pk = json_array(OLD."projectId", OLD."edgeId")), json_object('projectId', OLD."projectId", 'edgeId', OLD."edgeId", 'ownerId', OLD."ownerId", 'source', OLD."source", 'target', OLD."target")
    WHERE NOT EXISTS (SELECT 1 FROM "sync_outbox" WHERE tbl = 'workflowEdges' AND pk = json_array(OLD."projectId", OLD."edgeId"))
      AND NOT EXISTS (SELECT 1 FROM "sync_base" WHERE tbl = 'workflowEdges' AND pk = json_array(OLD."projectId", OLD."edgeId"));
  UPDATE "sync_clock" SET (ms, ctr) = (SELECT CASE WHEN n > ms THEN n WHEN ctr >= 99999 THEN ms + 1 ELSE ms END, CASE WHEN n > ms THEN 0 WHEN ctr >= 99999 THEN 0 ELSE ctr + 1 END FROM (SELECT edgesync_now_ms() AS n));
  INSERT INTO "sync_outbox" (tbl, pk, op, row, changed, hlc, base_version, created_at)
    SELECT 'workflowEdges', json_array(OLD."projectId", OLD."edgeId"), 'D', NULL, NULL,
      printf('%015d:%05d:%s', ms, ctr, node),
      (SELECT version FROM "sync_rows" WHERE tbl = 'workflowEdges' AND pk = json_array(OLD."projectId", OLD."edgeId")),
      edgesync_now_ms()
    FROM "sync_clock";
END;
DROP TRIGGER IF EXISTS "sync_workflowEdges_base_update";
DROP TRIGGER IF EXISTS "sync_workflowEdges_base_delete";
CREATE TABLE IF NOT EXISTS "settings" (
  "key" TEXT NOT NULL,
  "ownerId" TEXT NOT NULL,
  "value" TEXT,
  PRIMARY KEY ("key")
);
DROP TRIGGER IF EXISTS "sync_settings_base_insert";
CREATE TRIGGER "sync_settings_base_insert" BEFORE INSERT ON "settings"
WHEN NOT EXISTS (SELECT 1 FROM "sync_apply_guard") AND EXISTS (SELECT 1 FROM "settings" AS o WHERE o."key" = NEW."key")
BEGIN
  INSERT INTO "sync_base" (tbl, pk, version, row)
    SELECT 'settings', json_array(NEW."key"), (SELECT version FROM "sync_rows" WHERE tbl = 'settings' AND pk = json_array(NEW."key")), (SELECT json_object('key', o."key", 'ownerId', o."ownerId", 'value', json(o."value")) FROM "settings" AS o WHERE o."key" = NEW."key")
    WHERE NOT EXISTS (SELECT 1 FROM "sync_outbox" WHERE tbl = 'settings' AND pk = json_array(NEW."key"))
      AND NOT EXISTS (SELECT 1 FROM "sync_base" WHERE tbl = 'settings' AND pk = json_array(NEW."key"));
END;
DROP TRIGGER IF EXISTS "sync_settings_insert";
CREATE TRIGGER "sync_settings_insert" AFTER INSERT ON "settings"
WHEN NOT EXISTS (SELECT 1 FROM "sync_apply_guard")
BEGIN
  UPDATE "sync_clock" SET (ms, ctr) = (SELECT CASE WHEN n > ms THEN n WHEN ctr >= 99999 THEN ms + 1 ELSE ms END, CASE WHEN n > ms THEN 0 WHEN ctr >= 99999 THEN 0 ELSE ctr + 1 END FROM (SELECT edgesync_now_ms() AS n));
  INSERT INTO "sync_outbox" (tbl, pk, op, row, changed, hlc, base_version, created_at)
    SELECT 'settings', json_array(NEW."key"), 'I', json_object('key', NEW."key", 'ownerId', NEW."ownerId", 'value', json(NEW."value")), NULL,
      printf('%015d:%05d:%s', ms, ctr, node),
      (SELECT version FROM "sync_rows" WHERE tbl = 'settings' AND pk = json_array(NEW."key")),
      edgesync_now_ms()
    FROM "sync_clock";
END;
DROP TRIGGER IF EXISTS "sync_settings_update";
CREATE TRIGGER "sync_settings_update" AFTER UPDATE ON "settings"
WHEN NOT EXISTS (SELECT 1 FROM "sync_apply_guard") AND (OLD."key" IS NEW."key") AND (OLD."key" IS NOT NEW."key" OR OLD."ownerId" IS NOT NEW."ownerId" OR OLD."value" IS NOT NEW."value")
BEGIN
  INSERT INTO "sync_base" (tbl, pk, version, row)
    SELECT 'settings', json_array(OLD."key"), (SELECT version FROM "sync_rows" WHERE tbl = 'settings' AND pk = json_array(OLD."key")), json_object('key', OLD."key", 'ownerId', OLD."ownerId", 'value', json(OLD."value"))
    WHERE NOT EXISTS (SELECT 1 FROM "sync_outbox" WHERE tbl = 'settings' AND pk = json_array(OLD."key"))
      AND NOT EXISTS (SELECT 1 FROM "sync_base" WHERE tbl = 'settings' AND pk = json_array(OLD."key"));
  UPDATE "sync_clock" SET (ms, ctr) = (SELECT CASE WHEN n > ms THEN n WHEN ctr >= 99999 THEN ms + 1 ELSE ms END, CASE WHEN n > ms THEN 0 WHEN ctr >= 99999 THEN 0 ELSE ctr + 1 END FROM (SELECT edgesync_now_ms() AS n));
  INSERT INTO "sync_outbox" (tbl, pk, op, row, changed, hlc, base_version, created_at)
    SELECT 'settings', json_array(NEW."key"), 'U', json_object('key', NEW."key", 'ownerId', NEW."ownerId", 'value', json(NEW."value")), (SELECT json_group_array(c) FROM (SELECT 'key' AS c WHERE OLD."key" IS NOT NEW."key" UNION ALL SELECT 'ownerId' AS c WHERE OLD."ownerId" IS NOT NEW."ownerId" UNION ALL SELECT 'value' AS c WHERE OLD."value" IS NOT NEW."value")),
      printf('%015d:%05d:%s', ms, ctr, node),
      (SELECT version FROM "sync_rows" WHERE tbl = 'settings' AND pk = json_array(NEW."key")),
      edgesync_now_ms()
    FROM "sync_clock";
END;
DROP TRIGGER IF EXISTS "sync_settings_base_rekey";
CREATE TRIGGER "sync_settings_base_rekey" BEFORE UPDATE OF "key" ON "settings"
WHEN NOT EXISTS (SELECT 1 FROM "sync_apply_guard") AND NOT (OLD."key" IS NEW."key")
BEGIN
  INSERT INTO "sync_base" (tbl, pk, version, row)
    SELECT 'settings', json_array(OLD."key"), (SELECT version FROM "sync_rows" WHERE tbl = 'settings' AND pk = json_array(OLD."key")), json_object('key', OLD."key", 'ownerId', OLD."ownerId", 'value', json(OLD."value"))
    WHERE NOT EXISTS (SELECT 1 FROM "sync_outbox" WHERE tbl = 'settings' AND pk = json_array(OLD."key"))
      AND NOT EXISTS (SELECT 1 FROM "sync_base" WHERE tbl = 'settings' AND pk = json_array(OLD."key"));
  INSERT INTO "sync_base" (tbl, pk, version, row)
    SELECT 'settings', json_array(NEW."key"), (SELECT version FROM "sync_rows" WHERE tbl = 'settings' AND pk = json_array(NEW."key")), (SELECT json_object('key', o."key", 'ownerId', o."ownerId", 'value', json(o."value")) FROM "settings" AS o WHERE o."key" = NEW."key")
    WHERE NOT EXISTS (SELECT 1 FROM "sync_outbox" WHERE tbl = 'settings' AND pk = json_array(NEW."key"))
      AND NOT EXISTS (SELECT 1 FROM "sync_base" WHERE tbl = 'settings' AND pk = json_array(NEW."key"));
END;
DROP TRIGGER IF EXISTS "sync_settings_rekey";
CREATE TRIGGER "sync_settings_rekey" AFTER UPDATE OF "key" ON "settings"
WHEN NOT EXISTS (SELECT 1 FROM "sync_apply_guard") AND NOT (OLD."key" IS NEW."key")
BEGIN
  UPDATE "sync_clock" SET (ms, ctr) = (SELECT CASE WHEN n > ms THEN n WHEN ctr >= 99999 THEN ms + 1 ELSE ms END, CASE WHEN n > ms THEN 0 WHEN ctr >= 99999 THEN 0 ELSE ctr + 1 END FROM (SELECT edgesync_now_ms() AS n));
  INSERT INTO "sync_outbox" (tbl, pk, op, row, changed, hlc, base_version, created_at)
    SELECT 'settings', json_array(OLD."key"), 'D', NULL, NULL,
      printf('%015d:%05d:%s', ms, ctr, node),
      (SELECT version FROM "sync_rows" WHERE tbl = 'settings' AND pk = json_array(OLD."key")),
      edgesync_now_ms()
    FROM "sync_clock";
  UPDATE "sync_clock" SET (ms, ctr) = (SELECT CASE WHEN n > ms THEN n WHEN ctr >= 99999 THEN ms + 1 ELSE ms END, CASE WHEN n > ms THEN 0 WHEN ctr >= 99999 THEN 0 ELSE ctr + 1 END FROM (SELECT edgesync_now_ms() AS n));
  INSERT INTO "sync_outbox" (tbl, pk, op, row, changed, hlc, base_version, created_at)
    SELECT 'settings', json_array(NEW."key"), 'I', json_object('key', NEW."key", 'ownerId', NEW."ownerId", 'value', json(NEW."value")), NULL,
      printf('%015d:%05d:%s', ms, ctr, node),
      (SELECT version FROM "sync_rows" WHERE tbl = 'settings' AND pk = json_array(NEW."key")),
      edgesync_now_ms()
    FROM "sync_clock";
END;
DROP TRIGGER IF EXISTS "sync_settings_delete";
CREATE TRIGGER "sync_settings_delete" AFTER DELETE ON "settings"
WHEN NOT EXISTS (SELECT 1 FROM "sync_apply_guard")
BEGIN
  INSERT INTO "sync_base" (tbl, pk, version, row)
    SELECT 'settings', json_array(OLD."key"), (SELECT version FROM "sync_rows" WHERE tbl = 'settings' AND pk = json_array(OLD."key")), json_object('key', OLD."key", 'ownerId', OLD."ownerId", 'value', json(OLD."value"))
    WHERE NOT EXISTS (SELECT 1 FROM "sync_outbox" WHERE tbl = 'settings' AND pk = json_array(OLD."key"))
      AND NOT EXISTS (SELECT 1 FROM "sync_base" WHERE tbl = 'settings' AND pk = json_array(OLD."key"));
  UPDATE "sync_clock" SET (ms, ctr) = (SELECT CASE WHEN n > ms THEN n WHEN ctr >= 99999 THEN ms + 1 ELSE ms END, CASE WHEN n > ms THEN 0 WHEN ctr >= 99999 THEN 0 ELSE ctr + 1 END FROM (SELECT edgesync_now_ms() AS n));
  INSERT INTO "sync_outbox" (tbl, pk, op, row, changed, hlc, base_version, created_at)
    SELECT 'settings', json_array(OLD."key"), 'D', NULL, NULL,
      printf('%015d:%05d:%s', ms, ctr, node),
      (SELECT version FROM "sync_rows" WHERE tbl = 'settings' AND pk = json_array(OLD."key")),
      edgesync_now_ms()
    FROM "sync_clock";
END;
DROP TRIGGER IF EXISTS "sync_settings_base_update";
DROP TRIGGER IF EXISTS "sync_settings_base_delete";
CREATE TABLE IF NOT EXISTS "documents" (
  "id" INTEGER NOT NULL,
  "ownerId" TEXT NOT NULL,
  "title" TEXT,
  "body" TEXT,
  "revision" INTEGER,
  "coverImage" TEXT,
  PRIMARY KEY ("id")
);
DROP TRIGGER IF EXISTS "sync_documents_base_insert";
CREATE TRIGGER "sync_documents_base_insert" BEFORE INSERT ON "documents"
WHEN NOT EXISTS (SELECT 1 FROM "sync_apply_guard") AND EXISTS (SELECT 1 FROM "documents" AS o WHERE o."id" = NEW."id")
BEGIN
  INSERT INTO "sync_base" (tbl, pk, version, row)
    SELECT 'documents', json_array(NEW."id"), (SELECT version FROM "sync_rows" WHERE tbl = 'documents' AND pk = json_array(NEW."id")), (SELECT json_object('id', o."id", 'ownerId', o."ownerId", 'title', o."title", 'body', o."body", 'revision', o."revision", 'coverImage', o."coverImage") FROM "documents" AS o WHERE o."id" = NEW."id")
    WHERE NOT EXISTS (SELECT 1 FROM "sync_outbox" WHERE tbl = 'documents' AND pk = json_array(NEW."id"))
      AND NOT EXISTS (SELECT 1 FROM "sync_base" WHERE tbl = 'documents' AND pk = json_array(NEW."id"));
END;
DROP TRIGGER IF EXISTS "sync_documents_insert";
CREATE TRIGGER "sync_documents_insert" AFTER INSERT ON "documents"
WHEN NOT EXISTS (SELECT 1 FROM "sync_apply_guard")
BEGIN
  UPDATE "sync_clock" SET (ms, ctr) = (SELECT CASE WHEN n > ms THEN n WHEN ctr >= 99999 THEN ms + 1 ELSE ms END, CASE WHEN n > ms THEN 0 WHEN ctr >= 99999 THEN 0 ELSE ctr + 1 END FROM (SELECT edgesync_now_ms() AS n));
  INSERT INTO "sync_outbox" (tbl, pk, op, row, changed, hlc, base_version, created_at)
    SELECT 'documents', json_array(NEW."id"), 'I', json_object('id', NEW."id", 'ownerId', NEW."ownerId", 'title', NEW."title", 'body', NEW."body", 'revision', NEW."revision", 'coverImage', NEW."coverImage"), NULL,
      printf('%015d:%05d:%s', ms, ctr, node),
      (SELECT version FROM "sync_rows" WHERE tbl = 'documents' AND pk = json_array(NEW."id")),
      edgesync_now_ms()
    FROM "sync_clock";
END;
DROP TRIGGER IF EXISTS "sync_documents_update";
CREATE TRIGGER "sync_documents_update" AFTER UPDATE ON "documents"
WHEN NOT EXISTS (SELECT 1 FROM "sync_apply_guard") AND (OLD."id" IS NEW."id") AND (OLD."id" IS NOT NEW."id" OR OLD."ownerId" IS NOT NEW."ownerId" OR OLD."title" IS NOT NEW."title" OR OLD."body" IS NOT NEW."body" OR OLD."revision" IS NOT NEW."revision" OR OLD."coverImage" IS NOT NEW."coverImage")
BEGIN
  INSERT INTO "sync_base" (tbl, pk, version, row)
    SELECT 'documents', json_array(OLD."id"), (SELECT version FROM "sync_rows" WHERE tbl = 'documents' AND pk = json_array(OLD."id")), json_object('id', OLD."id", 'ownerId', OLD."ownerId", 'title', OLD."title", 'body', OLD."body", 'revision', OLD."revision", 'coverImage', OLD."coverImage")
    WHERE NOT EXISTS (SELECT 1 FROM "sync_outbox" WHERE tbl = 'documents' AND pk = json_array(OLD."id"))
      AND NOT EXISTS (SELECT 1 FROM "sync_base" WHERE tbl = 'documents' AND pk = json_array(OLD."id"));
  UPDATE "sync_clock" SET (ms, ctr) = (SELECT CASE WHEN n > ms THEN n WHEN ctr >= 99999 THEN ms + 1 ELSE ms END, CASE WHEN n > ms THEN 0 WHEN ctr >= 99999 THEN 0 ELSE ctr + 1 END FROM (SELECT edgesync_now_ms() AS n));
  INSERT INTO "sync_outbox" (tbl, pk, op, row, changed, hlc, base_version, created_at)
    SELECT 'documents', json_array(NEW."id"), 'U', json_object('id', NEW."id", 'ownerId', NEW."ownerId", 'title', NEW."title", 'body', NEW."body", 'revision', NEW."revision", 'coverImage', NEW."coverImage"), (SELECT json_group_array(c) FROM (SELECT 'id' AS c WHERE OLD."id" IS NOT NEW."id" UNION ALL SELECT 'ownerId' AS c WHERE OLD."ownerId" IS NOT NEW."ownerId" UNION ALL SELECT 'title' AS c WHERE OLD."title" IS NOT NEW."title" UNION ALL SELECT 'body' AS c WHERE OLD."body" IS NOT NEW."body" UNION ALL SELECT 'revision' AS c WHERE OLD."revision" IS NOT NEW."revision" UNION ALL SELECT 'coverImage' AS c WHERE OLD."coverImage" IS NOT NEW."coverImage")),
      printf('%015d:%05d:%s', ms, ctr, node),
      (SELECT version FROM "sync_rows" WHERE tbl = 'documents' AND pk = json_array(NEW."id")),
      edgesync_now_ms()
    FROM "sync_clock";
END;
DROP TRIGGER IF EXISTS "sync_documents_base_rekey";
CREATE TRIGGER "sync_documents_base_rekey" BEFORE UPDATE OF "id" ON "documents"
WHEN NOT EXISTS (SELECT 1 FROM "sync_apply_guard") AND NOT (OLD."id" IS NEW."id")
BEGIN
  INSERT INTO "sync_base" (tbl, pk, version, row)
    SELECT 'documents', json_array(OLD."id"), (SELECT version FROM "sync_rows" WHERE tbl = 'documents' AND pk = json_array(OLD."id")), json_object('id', OLD."id", 'ownerId', OLD."ownerId", 'title', OLD."title", 'body', OLD."body", 'revision', OLD."revision", 'coverImage', OLD."coverImage")
    WHERE NOT EXISTS (SELECT 1 FROM "sync_outbox" WHERE tbl = 'documents' AND pk = json_array(OLD."id"))
      AND NOT EXISTS (SELECT 1 FROM "sync_base" WHERE tbl = 'documents' AND pk = json_array(OLD."id"));
  INSERT INTO "sync_base" (tbl, pk, version, row)
    SELECT 'documents', json_array(NEW."id"), (SELECT version FROM "sync_rows" WHERE tbl = 'documents' AND pk = json_array(NEW."id")), (SELECT json_object('id', o."id", 'ownerId', o."ownerId", 'title', o."title", 'body', o."body", 'revision', o."revision", 'coverImage', o."coverImage") FROM "documents" AS o WHERE o."id" = NEW."id")
    WHERE NOT EXISTS (SELECT 1 FROM "sync_outbox" WHERE tbl = 'documents' AND pk = json_array(NEW."id"))
      AND NOT EXISTS (SELECT 1 FROM "sync_base" WHERE tbl = 'documents' AND pk = json_array(NEW."id"));
END;
DROP TRIGGER IF EXISTS "sync_documents_rekey";
CREATE TRIGGER "sync_documents_rekey" AFTER UPDATE OF "id" ON "documents"
WHEN NOT EXISTS (SELECT 1 FROM "sync_apply_guard") AND NOT (OLD."id" IS NEW."id")
BEGIN
  UPDATE "sync_clock" SET (ms, ctr) = (SELECT CASE WHEN n > ms THEN n WHEN ctr >= 99999 THEN ms + 1 ELSE ms END, CASE WHEN n > ms THEN 0 WHEN ctr >= 99999 THEN 0 ELSE ctr + 1 END FROM (SELECT edgesync_now_ms() AS n));
  INSERT INTO "sync_outbox" (tbl, pk, op, row, changed, hlc, base_version, created_at)
    SELECT 'documents', json_array(OLD."id"), 'D', NULL, NULL,
      printf('%015d:%05d:%s', ms, ctr, node),
      (SELECT version FROM "sync_rows" WHERE tbl = 'documents' AND pk = json_array(OLD."id")),
      edgesync_now_ms()
    FROM "sync_clock";
  UPDATE "sync_clock" SET (ms, ctr) = (SELECT CASE WHEN n > ms THEN n WHEN ctr >= 99999 THEN ms + 1 ELSE ms END, CASE WHEN n > ms THEN 0 WHEN ctr >= 99999 THEN 0 ELSE ctr + 1 END FROM (SELECT edgesync_now_ms() AS n));
  INSERT INTO "sync_outbox" (tbl, pk, op, row, changed, hlc, base_version, created_at)
    SELECT 'documents', json_array(NEW."id"), 'I', json_object('id', NEW."id", 'ownerId', NEW."ownerId", 'title', NEW."title", 'body', NEW."body", 'revision', NEW."revision", 'coverImage', NEW."coverImage"), NULL,
      printf('%015d:%05d:%s', ms, ctr, node),
      (SELECT version FROM "sync_rows" WHERE tbl = 'documents' AND pk = json_array(NEW."id")),
      edgesync_now_ms()
    FROM "sync_clock";
END;
DROP TRIGGER IF EXISTS "sync_documents_delete";
CREATE TRIGGER "sync_documents_delete" AFTER DELETE ON "documents"
WHEN NOT EXISTS (SELECT 1 FROM "sync_apply_guard")
BEGIN
  INSERT INTO "sync_base" (tbl, pk, version, row)
    SELECT 'documents', json_array(OLD."id"), (SELECT version FROM "sync_rows" WHERE tbl = 'documents' AND pk = json_array(OLD."id")), json_object('id', OLD."id", 'ownerId', OLD."ownerId", 'title', OLD."title", 'body', OLD."body", 'revision', OLD."revision", 'coverImage', OLD."coverImage")
    WHERE NOT EXISTS (SELECT 1 FROM "sync_outbox" WHERE tbl = 'documents' AND pk = json_array(OLD."id"))
      AND NOT EXISTS (SELECT 1 FROM "sync_base" WHERE tbl = 'documents' AND pk = json_array(OLD."id"));
  UPDATE "sync_clock" SET (ms, ctr) = (SELECT CASE WHEN n > ms THEN n WHEN ctr >= 99999 THEN ms + 1 ELSE ms END, CASE WHEN n > ms THEN 0 WHEN ctr >= 99999 THEN 0 ELSE ctr + 1 END FROM (SELECT edgesync_now_ms() AS n));
  INSERT INTO "sync_outbox" (tbl, pk, op, row, changed, hlc, base_version, created_at)
    SELECT 'documents', json_array(OLD."id"), 'D', NULL, NULL,
      printf('%015d:%05d:%s', ms, ctr, node),
      (SELECT version FROM "sync_rows" WHERE tbl = 'documents' AND pk = json_array(OLD."id")),
      edgesync_now_ms()
    FROM "sync_clock";
END;
DROP TRIGGER IF EXISTS "sync_documents_base_update";
DROP TRIGGER IF EXISTS "sync_documents_base_delete";
