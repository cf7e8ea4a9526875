// Writes made directly in PostgreSQL (the app's own backend: an upsert, a
// psql UPDATE or DELETE) reach devices: the generated trigger stamps them
// (new version and xid, server clock, no origin) and turns a DELETE into a
// tombstone. The sync endpoint's own writes are left as the endpoint made
// them. A table that already exists with rows is adopted by the DDL run,
// and a second run changes nothing. Real PostgreSQL 15, the real node host
// and clients on the official SQLite WASM build.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import postgres from 'postgres';
import { startStack, openClient, waitFor, TEST_SECRET } from '../harness/client.mjs';
import { startPostgres } from '../harness/postgres.mjs';
import { startServer } from '../../hosts/node/server.mjs';
import { nodeCore } from '../../hosts/wasm/node.mjs';
import { pgDdl } from '../../hosts/wasm/schema.mjs';

// The demo board's tables owner-only, as before sharing: these tests count and
// check owner-only rows (shared projects: server-scopes.test.mjs).
const schema = JSON.parse(readFileSync(new URL('../fixtures/schema.demo-owner.json', import.meta.url), 'utf8'));
const core = await nodeCore();
const quiet = { error: () => {}, warn: () => {}, log: () => {} };
const SERVER_STAMP = /^\d{15}:\d{5}:server$/;

const clients = [];
after(async () => { for (const c of clients) await c.close().catch(() => {}); });

/** The sync columns and user columns of every row of `table`, by key. */
async function snapshot(sql, table) {
  const rows = await sql.unsafe(`select *, _es_xid::text as xid from ${table} order by 1`);
  return rows.map((r) => ({ ...r, _es_xid: r.xid }));
}

describe('direct writes in PostgreSQL reach devices', () => {
  let stack, a, b;
  const client = async (user) => {
    const c = await openClient(stack.url, schema, user);
    clients.push(c);
    return c;
  };
  before(async () => {
    stack = await startStack(schema);
    a = await client('alice');
    b = await client('alice');
  }, { timeout: 60000 });
  after(() => stack?.stop(), { timeout: 30000 });

  test('a direct INSERT is stamped and pulled by every device', async () => {
    await stack.sql`insert into projects (id, owner_id, name) values ('p1', 'alice', 'From the backend')`;
    const [row] = await stack.sql`select _es_version, _es_hlc, _es_origin, _es_deleted from projects where id = 'p1'`;
    assert.match(row._es_hlc, SERVER_STAMP);
    assert.equal(row._es_origin, null);
    assert.equal(row._es_deleted, false);
    await Promise.all([a.sync.syncNow(), b.sync.syncNow()]);
    assert.deepEqual(a.rows('SELECT id, name FROM projects'), [{ id: 'p1', name: 'From the backend' }]);
    assert.deepEqual(b.rows('SELECT id, name FROM projects'), [{ id: 'p1', name: 'From the backend' }]);
  });

  test('the endpoint\'s own writes keep the device\'s clock and origin, and are not pulled back', async () => {
    a.db.exec(`INSERT INTO workflowNodes (id, projectId, ownerId, label, x, y) VALUES ('n1', 'p1', 'alice', 'Start', 1, 2)`);
    a.db.exec(`UPDATE projects SET name = 'Renamed on A' WHERE id = 'p1'`);
    await a.sync.syncNow();
    const [n] = await stack.sql`select _es_hlc, _es_origin, _es_field_hlc from workflow_nodes where id = 'n1'`;
    const [p] = await stack.sql`select name, _es_hlc, _es_origin from projects where id = 'p1'`;
    assert.equal(n._es_origin, a.sync.status.clientId);
    assert.ok(n._es_hlc.endsWith(`:${a.sync.status.clientId}`), n._es_hlc);
    assert.deepEqual(Object.keys(n._es_field_hlc).sort(), ['data', 'label', 'projectId', 'x', 'y']);
    for (const v of Object.values(n._es_field_hlc)) assert.equal(v, n._es_hlc);
    assert.equal(p.name, 'Renamed on A');
    assert.equal(p._es_origin, a.sync.status.clientId);
    assert.ok(p._es_hlc.endsWith(`:${a.sync.status.clientId}`), p._es_hlc);
    await b.sync.syncNow();
    assert.deepEqual(b.rows('SELECT label, x, y FROM workflowNodes'), [{ label: 'Start', x: 1, y: 2 }]);
  });

  test('a direct UPDATE is pulled; a no-op UPDATE stamps nothing', async () => {
    const [before] = await stack.sql`select _es_version from projects where id = 'p1'`;
    await stack.sql`update projects set name = 'Fixed by support' where id = 'p1'`;
    const [row] = await stack.sql`select _es_version, _es_hlc, _es_origin from projects where id = 'p1'`;
    assert.ok(BigInt(row._es_version) > BigInt(before._es_version));
    assert.match(row._es_hlc, SERVER_STAMP);
    assert.equal(row._es_origin, null, 'every device pulls it, the last writer included');
    await Promise.all([a.sync.syncNow(), b.sync.syncNow()]);
    assert.deepEqual(a.rows('SELECT name FROM projects'), [{ name: 'Fixed by support' }]);
    assert.deepEqual(b.rows('SELECT name FROM projects'), [{ name: 'Fixed by support' }]);
    await stack.sql`update projects set name = 'Fixed by support' where id = 'p1'`;
    const [same] = await stack.sql`select _es_version from projects where id = 'p1'`;
    assert.equal(same._es_version, row._es_version);
  });

  test('a direct upsert (INSERT … ON CONFLICT DO UPDATE, as Drizzle writes it) is pulled', async () => {
    await stack.sql`insert into projects (id, owner_id, name) values ('p1', 'alice', 'Upserted')
      on conflict (id) do update set name = excluded.name`;
    await stack.sql`insert into projects (id, owner_id, name) values ('p2', 'alice', 'Upserted new')
      on conflict (id) do update set name = excluded.name`;
    await a.sync.syncNow();
    assert.deepEqual(a.rows('SELECT id, name FROM projects ORDER BY id'),
      [{ id: 'p1', name: 'Upserted' }, { id: 'p2', name: 'Upserted new' }]);
  });

  test('lww-field: the column changed directly beats an older device edit; other columns keep their clocks', async () => {
    await b.sync.syncNow();
    const [old] = await stack.sql`select _es_field_hlc from workflow_nodes where id = 'n1'`;
    b.sync.setOnline(false); // B's edit is older than the direct write but arrives after it
    b.db.exec(`UPDATE workflowNodes SET label = 'Label from B', x = 50 WHERE id = 'n1'`);
    await new Promise((r) => setTimeout(r, 15));
    await stack.sql`update workflow_nodes set label = 'Label from backend' where id = 'n1'`;
    const [mid] = await stack.sql`select _es_hlc, _es_field_hlc from workflow_nodes where id = 'n1'`;
    assert.match(mid._es_field_hlc.label, SERVER_STAMP);
    assert.equal(mid._es_field_hlc.label, mid._es_hlc);
    for (const k of ['data', 'projectId', 'x', 'y']) assert.equal(mid._es_field_hlc[k], old._es_field_hlc[k], k);
    b.sync.setOnline(true);
    await b.sync.syncNow();
    await a.sync.syncNow();
    const [srv] = await stack.sql`select label, x, y from workflow_nodes where id = 'n1'`;
    assert.deepEqual({ ...srv }, { label: 'Label from backend', x: 50, y: 2 });
    const q = 'SELECT label, x, y FROM workflowNodes';
    assert.deepEqual(a.rows(q), [{ label: 'Label from backend', x: 50, y: 2 }]);
    assert.deepEqual(b.rows(q), [{ label: 'Label from backend', x: 50, y: 2 }]);
  });

  test('lww: a direct UPDATE beats a device edit stamped before it', async () => {
    a.sync.setOnline(false);
    a.db.exec(`UPDATE projects SET name = 'Older edit on A' WHERE id = 'p2'`);
    await new Promise((r) => setTimeout(r, 15));
    await stack.sql`update projects set name = 'Newer direct edit' where id = 'p2'`;
    a.sync.setOnline(true);
    await a.sync.syncNow();
    assert.deepEqual(a.rows(`SELECT name FROM projects WHERE id = 'p2'`), [{ name: 'Newer direct edit' }]);
    const [srv] = await stack.sql`select name from projects where id = 'p2'`;
    assert.equal(srv.name, 'Newer direct edit');
  });

  test('a plain DELETE becomes a tombstone every device receives', async () => {
    await b.sync.syncNow();
    assert.equal(b.rows(`SELECT id FROM workflowNodes WHERE id = 'n1'`).length, 1);
    const gone = await stack.sql`delete from workflow_nodes where id = 'n1'`;
    assert.equal(gone.count, 0, 'the row is kept as a tombstone, not removed');
    const [t] = await stack.sql`select _es_deleted, _es_hlc, _es_origin from workflow_nodes where id = 'n1'`;
    assert.equal(t._es_deleted, true);
    assert.match(t._es_hlc, SERVER_STAMP);
    assert.equal(t._es_origin, null);
    await Promise.all([a.sync.syncNow(), b.sync.syncNow()]);
    assert.deepEqual(a.rows('SELECT id FROM workflowNodes'), []);
    assert.deepEqual(b.rows('SELECT id FROM workflowNodes'), []);
    // Deleting a tombstone again changes nothing.
    const [v1] = await stack.sql`select _es_version from workflow_nodes where id = 'n1'`;
    await stack.sql`delete from workflow_nodes where id = 'n1'`;
    const [v2] = await stack.sql`select _es_version from workflow_nodes where id = 'n1'`;
    assert.equal(v2._es_version, v1._es_version);
  });

  test('a DELETE of many rows in one statement tombstones each; an older device edit does not revive them', async () => {
    await stack.sql`insert into workflow_edges (id, project_id, owner_id, source, target)
      select 'e' || i, 'p1', 'alice', 's', 't' from generate_series(1, 5) i`;
    await a.sync.syncNow();
    assert.equal(a.rows('SELECT id FROM workflowEdges').length, 5);
    a.sync.setOnline(false);
    a.db.exec(`UPDATE workflowEdges SET source = 'edited' WHERE id = 'e1'`);
    await new Promise((r) => setTimeout(r, 15));
    await stack.sql`delete from workflow_edges where project_id = 'p1'`;
    a.sync.setOnline(true);
    await a.sync.syncNow();
    await a.sync.syncNow();
    assert.deepEqual(a.rows('SELECT id FROM workflowEdges'), []);
    const live = await stack.sql`select id from workflow_edges where not _es_deleted`;
    assert.equal(live.length, 0);
  });

  test('the purge escape hatch really removes rows (SET LOCAL edgesync.purge)', async () => {
    const n = await stack.sql.begin(async (tx) => {
      await tx`set local edgesync.purge = 'on'`;
      return (await tx`delete from workflow_edges where project_id = 'p1'`).count;
    });
    assert.equal(n, 5);
    const left = await stack.sql`select count(*)::int as n from workflow_edges`;
    assert.equal(left[0].n, 0);
    // Outside that transaction a DELETE is a tombstone again.
    await stack.sql`delete from projects where id = 'p2'`;
    const [t] = await stack.sql`select _es_deleted from projects where id = 'p2'`;
    assert.equal(t._es_deleted, true);
  });

  test('changing a synced row\'s key or owner directly is refused with what to do instead', async () => {
    await assert.rejects(stack.sql`update projects set id = 'p9' where id = 'p1'`, /primary key or owner.*delete it and insert/);
    await assert.rejects(stack.sql`update projects set owner_id = 'bob' where id = 'p1'`, /primary key or owner/);
    const [row] = await stack.sql`select id, owner_id from projects where id = 'p1'`;
    assert.deepEqual({ ...row }, { id: 'p1', owner_id: 'alice' });
  });

  test('running the DDL again changes no row and keeps the triggers', async () => {
    const tables = ['projects', 'workflow_nodes', 'workflow_edges'];
    const before = {};
    for (const t of tables) before[t] = await snapshot(stack.sql, t);
    const seq = await stack.sql`select last_value from edgesync_version_seq`;
    await stack.sql.begin((tx) => tx.unsafe(pgDdl(core, schema)));
    for (const t of tables) assert.deepEqual(await snapshot(stack.sql, t), before[t], t);
    const seq2 = await stack.sql`select last_value from edgesync_version_seq`;
    assert.equal(seq2[0].last_value, seq[0].last_value, 'no version was drawn');
    const trig = await stack.sql`select tgname from pg_trigger where tgname like '%__es_dw' order by 1`;
    assert.deepEqual(trig.map((r) => r.tgname), ['projects__es_dw', 'workflow_edges__es_dw', 'workflow_nodes__es_dw']);
  });
});

describe('adopting a table that already holds data', () => {
  let pg, sql, srv;
  const userRows = () => sql`select id, owner_id, name, updated_at, legacy from projects order by id`;
  let original;
  before(async () => {
    pg = await startPostgres();
    sql = postgres(pg.url, { max: 2, onnotice: () => {} });
    // Made by the app's own migrations (e.g. Drizzle), with a column the
    // sync schema does not know.
    await sql`create table projects (id text primary key, owner_id text not null, name text not null,
      updated_at timestamptz, legacy integer default 7)`;
    await sql`insert into projects (id, owner_id, name, updated_at)
      select 'p' || i, case when i % 2 = 0 then 'alice' else 'bob' end, 'Project ' || i,
        timestamptz '2024-01-01 00:00:00+00' + i * interval '1 day' from generate_series(1, 20) i`;
    original = await userRows();
    srv = await startServer({
      databaseUrl: pg.url, port: 0, poolSize: 4, schema, logger: quiet,
      auth: { secret: TEST_SECRET, audience: 'authenticated' },
    });
  }, { timeout: 60000 });
  after(async () => {
    await sql?.end();
    await srv?.close();
    await pg?.stop();
  }, { timeout: 30000 });

  test('the DDL adds and backfills the sync columns without changing user columns', async () => {
    assert.deepEqual(await userRows(), original);
    const cols = await sql`select column_name, is_nullable from information_schema.columns
      where table_name = 'projects' and column_name like '\\_es\\_%' order by 1`;
    assert.deepEqual(cols.map((c) => c.column_name),
      ['_es_deleted', '_es_field_hlc', '_es_hlc', '_es_origin', '_es_updated_at', '_es_version', '_es_xid']);
    for (const c of cols) assert.equal(c.is_nullable, c.column_name === '_es_origin' ? 'YES' : 'NO', c.column_name);
    const rows = await sql`select _es_version, _es_xid::text as xid, _es_deleted, _es_hlc, _es_origin from projects`;
    assert.equal(new Set(rows.map((r) => r._es_version)).size, 20, 'a version per row');
    for (const r of rows) {
      assert.ok(Number(r.xid) > 0);
      assert.equal(r._es_deleted, false);
      assert.match(r._es_hlc, SERVER_STAMP);
      assert.equal(r._es_origin, null);
    }
    const idx = await sql`select 1 from pg_indexes where indexname = 'projects__es_pull'`;
    assert.equal(idx.length, 1);
  });

  test('the adopted rows reach a fresh device, and the table syncs both ways', async () => {
    const c = await openClient(srv.url, schema, 'alice');
    clients.push(c);
    await c.sync.syncNow();
    const got = c.rows('SELECT id, name FROM projects ORDER BY id');
    const want = original.filter((r) => r.owner_id === 'alice').map((r) => ({ id: r.id, name: r.name }))
      .sort((x, y) => (x.id < y.id ? -1 : 1));
    assert.deepEqual(got, want);
    c.db.exec(`UPDATE projects SET name = 'Edited on device' WHERE id = 'p2'`);
    await c.sync.syncNow();
    const [row] = await sql`select name, legacy from projects where id = 'p2'`;
    assert.deepEqual({ ...row }, { name: 'Edited on device', legacy: 7 });
    await sql`update projects set name = 'Edited by backend' where id = 'p4'`;
    await waitFor(async () => {
      await c.sync.syncNow();
      return c.rows(`SELECT name FROM projects WHERE id = 'p4'`)[0]?.name === 'Edited by backend';
    }, { what: 'the direct edit on the device' });
  });

  test('a table without a key matching the schema is refused, and the DDL changes nothing', async () => {
    await sql`create schema nokey`;
    const other = postgres(pg.url, { max: 1, onnotice: () => {}, connection: { search_path: 'nokey' } });
    try {
      await other`create table projects (id text, owner_id text not null, name text not null)`;
      await other`insert into projects values ('p1', 'alice', 'No key')`;
      await assert.rejects(other.begin((tx) => tx.unsafe(pgDdl(core, schema))),
        /table projects needs a primary key \(or unique index\) on exactly the schema's key columns/);
      const cols = await other`select column_name from information_schema.columns
        where table_schema = 'nokey' and table_name = 'projects' order by 1`;
      assert.deepEqual(cols.map((c) => c.column_name), ['id', 'name', 'owner_id']);
    } finally {
      await other.end();
    }
  });

  test('running the DDL again is a no-op', async () => {
    const before = await snapshot(sql, 'projects');
    await sql.begin((tx) => tx.unsafe(pgDdl(core, schema)));
    await sql.begin((tx) => tx.unsafe(pgDdl(core, schema)));
    assert.deepEqual(await snapshot(sql, 'projects'), before);
  });
});
