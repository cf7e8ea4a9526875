// The WASM build's code generation: byte-identical to the native golden files,
// executed against the official SQLite WASM build and a real PostgreSQL 15.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import postgres from 'postgres';
import { nodeCore, EdgesyncError } from '../../hosts/wasm/node.mjs';
import { sqliteDdl, pgDdl, sqliteMigration, pgMigration, validateSchema } from '../../hosts/wasm/schema.mjs';
import { openSqlite } from '../harness/sqlite.mjs';
import { startPostgres } from '../harness/postgres.mjs';

const root = new URL('../../', import.meta.url);
const read = (p) => readFileSync(new URL(p, root), 'utf8');
const v1 = JSON.parse(read('tests/fixtures/schema.v1.json'));
const v2 = JSON.parse(read('tests/fixtures/schema.v2.json'));
const core = await nodeCore();

describe('golden files (native and WASM builds agree byte for byte)', () => {
  test('SQLite DDL', () => assert.equal(sqliteDdl(core, v1), read('tests/golden/v1.sqlite.sql')));
  test('PostgreSQL DDL', () => assert.equal(pgDdl(core, v1), read('tests/golden/v1.pg.sql')));
  test('SQLite migration', () => assert.equal(sqliteMigration(core, v1, v2), read('tests/golden/v1-v2.sqlite.sql')));
  test('PostgreSQL migration', () => assert.equal(pgMigration(core, v1, v2), read('tests/golden/v1-v2.pg.sql')));
});

describe('schema errors reach JS as EdgesyncError with a path', () => {
  test('unknown type', () => {
    assert.throws(() => validateSchema(core, read('tests/fixtures/bad-schemas/unknown-type.json')), (e) => {
      assert.ok(e instanceof EdgesyncError);
      assert.equal(e.code, 'invalid_schema');
      assert.equal(e.path, 'tables[0].columns[1].type');
      assert.match(e.message, /unknown type "strng"/);
      return true;
    });
  });
  test('destructive migration', () => {
    const v3 = read('tests/fixtures/schema.v3-destructive.json');
    assert.throws(() => pgMigration(core, v2, JSON.parse(v3)), { code: 'destructive_migration', path: 'tables[0].columns' });
  });
  test('malformed JSON', () => {
    assert.throws(() => validateSchema(core, '{"version": 1,'), { code: 'invalid_json' });
  });
});

describe('SQLite WASM: triggers fill sync_outbox', () => {
  let db;
  before(async () => {
    db = await openSqlite();
    db.exec(sqliteDdl(core, v1));
    db.exec(sqliteDdl(core, v1)); // idempotent
    db.exec("UPDATE sync_clock SET node = 'c1'");
  });
  after(() => db.close());
  const outbox = () => db.selectObjects('SELECT tbl, pk, op, row, changed, hlc FROM sync_outbox ORDER BY id');

  test('insert, update and delete each leave one outbox row', () => {
    db.exec("INSERT INTO projects (id, ownerId, name, archived) VALUES ('p1', 'u1', 'Alpha', 0)");
    db.exec("UPDATE projects SET name = 'Beta' WHERE id = 'p1'");
    db.exec("DELETE FROM projects WHERE id = 'p1'");
    const rows = outbox();
    assert.deepEqual(rows.map((r) => r.op), ['I', 'U', 'D']);
    assert.deepEqual(JSON.parse(rows[0].row), { id: 'p1', ownerId: 'u1', name: 'Alpha', archived: false, updatedAt: null });
    assert.deepEqual(JSON.parse(rows[1].changed), ['name']);
    assert.equal(rows[2].row, null);
    assert.ok(rows.every((r) => r.tbl === 'projects' && r.pk === '["p1"]' && r.hlc.endsWith(':c1')));
    db.exec('DELETE FROM sync_outbox');
  });

  test('a write applied by the sync itself leaves no outbox row', () => {
    db.exec(`BEGIN; INSERT INTO sync_apply_guard VALUES (1);
      INSERT INTO workflowNodes (id, projectId, ownerId, data) VALUES ('n1', 'p1', 'u1', '{"a":1}');
      UPDATE workflowNodes SET x = 1; DELETE FROM sync_apply_guard; COMMIT;`);
    assert.equal(outbox().length, 0);
    db.exec('UPDATE workflowNodes SET x = 2');
    assert.equal(outbox().length, 1);
  });
});

// One PostgreSQL cluster for the file; each suite gets its own database.
let pg;
let databases = 0;
async function freshDatabase() {
  pg ??= await startPostgres();
  const name = `schema_test_${++databases}`;
  pg.psql(`CREATE DATABASE ${name} OWNER edgesync`);
  return postgres(pg.url.replace(/\/edgesync$/, `/${name}`), { max: 1, onnotice: () => {} });
}
after(async () => { await pg?.stop(); });

describe('PostgreSQL 15: generated DDL and an additive migration', () => {
  let sql;
  before(async () => { sql = await freshDatabase(); });
  after(async () => { await sql?.end(); });

  test('v1 DDL applies twice (idempotent)', async () => {
    await sql.unsafe(pgDdl(core, v1));
    await sql.unsafe(pgDdl(core, v1));
    const [{ version }] = await sql`SELECT version FROM edgesync_schema`;
    assert.equal(Number(version), 1);
    const cols = await sql`SELECT column_name FROM information_schema.columns WHERE table_name = 'workflow_nodes' ORDER BY ordinal_position`;
    assert.deepEqual(cols.map((c) => c.column_name).slice(0, 3), ['id', 'project_id', 'owner_id']);
  });

  test('v1 -> v2 migration keeps v1 data', async () => {
    await sql`INSERT INTO projects (id, owner_id, name, archived) VALUES ('p1', 'u1', 'Alpha', true)`;
    await sql`INSERT INTO workflow_nodes (id, project_id, owner_id, data) VALUES ('n1', 'p1', 'u1', '{"k": [1]}')`;
    await sql.unsafe(pgMigration(core, v1, v2));
    await sql.unsafe(pgMigration(core, v1, v2)); // re-running is harmless
    const [p] = await sql`SELECT name, archived, color, _es_version, _es_deleted FROM projects`;
    assert.equal(p.name, 'Alpha');
    assert.equal(p.archived, true);
    assert.equal(p.color, null);
    assert.equal(p._es_deleted, false);
    const [n] = await sql`SELECT data FROM workflow_nodes`;
    assert.deepEqual(n.data, { k: [1] });
    await sql`INSERT INTO tags (id, owner_id, label) VALUES ('t1', 'u1', 'x')`;
    const [{ version }] = await sql`SELECT version FROM edgesync_schema`;
    assert.equal(Number(version), 2);
  });
});

describe('PostgreSQL 15: the idempotent DDL converges older databases', () => {
  let sql;
  before(async () => { sql = await freshDatabase(); });
  after(async () => { await sql?.end(); });

  test('v2 DDL on a v1 database adds the new column and table, keeping the data', async () => {
    await sql.unsafe(pgDdl(core, v1));
    await sql`INSERT INTO projects (id, owner_id, name) VALUES ('p1', 'u1', 'Alpha')`;
    await sql.unsafe(pgDdl(core, v2));
    const [p] = await sql`SELECT name, color FROM projects`;
    assert.deepEqual({ ...p }, { name: 'Alpha', color: null });
    await sql`INSERT INTO tags (id, owner_id, label) VALUES ('t1', 'u1', 'x')`;
  });

  test('an older server refuses a database set up by a newer schema', async () => {
    await assert.rejects(sql.unsafe(pgDdl(core, v1)), /newer schema version than this server/);
  });
});
