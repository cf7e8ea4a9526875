// The server core's SQL against a real PostgreSQL 15: policies, idempotency,
// ownership, tombstones, echoes, paging and the never-skipping cursor.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import postgres from 'postgres';
import { nodeCore } from '../../hosts/wasm/node.mjs';
import { startPostgres } from '../harness/postgres.mjs';
import { driveSync } from '../harness/drive.mjs';
import { POSTGRES_OPTIONS } from '../../hosts/server/handler.mjs';

const schema = JSON.parse(readFileSync(new URL('../fixtures/schema.v1.json', import.meta.url), 'utf8'));
const core = await nodeCore();
let pg, sql, handle;
let seqs = new Map();

const hlc = (ms, node = 'client-a1') => `${String(ms).padStart(15, '0')}:00000:${node}`;
let clock = 1_700_000_000_000;
const tick = () => ++clock;

function push(user, clientId, changes, extra = {}) {
  const seq = (seqs.get(clientId) ?? 0) + 1;
  seqs.set(clientId, seq);
  return driveSync(core, handle, sql, user, {
    protocol: 1, clientId, schemaVersion: 1, batch: { seq, changes }, ...extra,
  });
}
function pull(user, clientId, cursor = null, pageSize) {
  return driveSync(core, handle, sql, user, { protocol: 1, clientId, schemaVersion: 1, cursor, ...(pageSize ? { pageSize } : {}) });
}
async function pullAll(user, clientId, cursor = null, pageSize) {
  const changes = [];
  for (;;) {
    const r = await pull(user, clientId, cursor, pageSize);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    changes.push(...r.body.changes);
    cursor = r.body.cursor;
    if (!r.body.hasMore) return { changes, cursor };
  }
}
const up = (id, table, row, more = {}) => ({ id, table, op: 'upsert', row, hlc: hlc(tick(), more.node), baseVersion: null, ...more, node: undefined });

before(async () => {
  pg = await startPostgres();
  sql = postgres(pg.url, { ...POSTGRES_OPTIONS, max: 8 });
  const opened = core.call('server.open', { schema, limits: { maxChanges: 1000, maxPageSize: 1000 } });
  handle = opened.handle;
  await sql.unsafe(opened.pgDdl);
});
after(async () => {
  await sql?.end();
  await pg?.stop();
});

describe('push and pull', () => {
  test('inserts are applied with server versions; another device pulls them; no echo', async () => {
    const r = await push('u1', 'client-a1', [
      up(1, 'projects', { id: 'p1', name: 'Alpha', archived: false, updatedAt: '2026-11-22T08:00:00Z' }),
      up(2, 'workflowEdges', { projectId: 'p1', edgeId: 'e1', source: 'n1', target: 'n2' }),
      up(3, 'documents', { id: 7, title: 'Doc', body: 'x', revision: 1, coverImage: 'media/7.png' }),
    ]);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.ack, { seq: 1, duplicate: false });
    assert.deepEqual(r.body.results.map((x) => x.status), ['applied', 'applied', 'applied']);
    assert.ok(r.body.results.every((x) => Number.isInteger(x.version)));
    assert.deepEqual(r.body.changes, [], 'own writes are not echoed');
    const [row] = await sql`SELECT owner_id, name FROM projects WHERE id = 'p1'`;
    assert.equal(row.owner_id, 'u1');

    const b = await pullAll('u1', 'client-b1');
    assert.equal(b.changes.length, 3);
    const p1 = b.changes.find((c) => c.table === 'projects');
    assert.deepEqual(p1.row, { id: 'p1', ownerId: 'u1', name: 'Alpha', archived: false, updatedAt: '2026-11-22T08:00:00.000Z' });
    assert.equal(p1.op, 'upsert');
    const again = await pull('u1', 'client-b1', b.cursor);
    assert.deepEqual(again.body.changes, []);
    const other = await pullAll('u2', 'client-c2');
    assert.equal(other.changes.length, 0, 'a pull returns only the caller\'s rows');
  });

  test('the owner column comes from the token, never the payload', async () => {
    const r = await push('u1', 'client-a1', [up(1, 'settings', { key: 'theme', ownerId: 'u2', value: { dark: true } })]);
    assert.equal(r.body.results[0].status, 'applied');
    const [row] = await sql`SELECT owner_id, value FROM settings WHERE key = 'theme'`;
    assert.equal(row.owner_id, 'u1');
    assert.deepEqual(row.value, { dark: true });
  });

  test("a change to another user's row is rejected as forbidden", async () => {
    const r = await push('u2', 'client-c2', [up(9, 'projects', { id: 'p1', name: 'Hijack' })]);
    assert.equal(r.status, 200);
    assert.equal(r.body.results[0].status, 'rejected');
    assert.equal(r.body.results[0].reason, 'forbidden');
    assert.equal(r.body.results[0].row, undefined, 'the other user\'s row is not leaked');
    const [row] = await sql`SELECT name, owner_id FROM projects WHERE id = 'p1'`;
    assert.equal(row.name, 'Alpha');
  });

  test("another user's client id is refused with 403 and nothing changes", async () => {
    const r = await push('u2', 'client-a1', [up(1, 'projects', { id: 'p-x', name: 'X' })]);
    assert.equal(r.status, 403);
    assert.equal(r.body.error.code, 'client_id_conflict');
    assert.equal((await sql`SELECT count(*)::int AS n FROM projects WHERE id = 'p-x'`)[0].n, 0);
  });
});

describe('idempotency', () => {
  test('a retried batch is not applied twice and gets the same results', async () => {
    const changes = [up(1, 'projects', { id: 'p-idem', name: 'Once' })];
    const first = await push('u1', 'client-idem', changes);
    assert.equal(first.body.results[0].status, 'applied');
    const vBefore = (await sql`SELECT _es_version FROM projects WHERE id = 'p-idem'`)[0]._es_version;
    const retry = await driveSync(core, handle, sql, 'u1', { protocol: 1, clientId: 'client-idem', schemaVersion: 1, batch: { seq: 1, changes } });
    assert.equal(retry.status, 200);
    assert.deepEqual(retry.body.ack, { seq: 1, duplicate: true });
    assert.deepEqual(retry.body.results, first.body.results);
    const vAfter = (await sql`SELECT _es_version FROM projects WHERE id = 'p-idem'`)[0]._es_version;
    assert.equal(vAfter, vBefore);
  });
});

describe('conflict policies', () => {
  test('lww: the newer clock wins, the older change gets the server row', async () => {
    const base = await push('u1', 'client-a1', [up(1, 'projects', { id: 'p-lww', name: 'v1' })]);
    const newer = hlc(clock + 1000, 'client-b1');
    const older = hlc(clock + 500, 'client-a1');
    const r1 = await push('u1', 'client-b1', [{ id: 1, table: 'projects', op: 'upsert', row: { id: 'p-lww', name: 'from B' }, hlc: newer, baseVersion: base.body.results[0].version }]);
    assert.equal(r1.body.results[0].status, 'applied');
    const r2 = await push('u1', 'client-a1', [{ id: 2, table: 'projects', op: 'upsert', row: { id: 'p-lww', name: 'from A' }, hlc: older, baseVersion: base.body.results[0].version }]);
    assert.equal(r2.body.results[0].status, 'conflict');
    assert.equal(r2.body.results[0].reason, 'older');
    assert.equal(r2.body.results[0].row.name, 'from B');
    const log = await sql`SELECT outcome FROM edgesync_conflicts WHERE pk = '{"id":"p-lww"}'::jsonb`;
    assert.equal(log.length, 1);
  });

  test('lww-field: concurrent edits of different fields both survive', async () => {
    const base = await push('u1', 'client-a1', [up(1, 'workflowNodes', { id: 'n1', projectId: 'p1', label: 'Start', x: 0, y: 0, data: { k: 1 } })]);
    const v = base.body.results[0].version;
    const t = clock + 100;
    const a = await push('u1', 'client-a1', [{ id: 2, table: 'workflowNodes', op: 'upsert', row: { id: 'n1', projectId: 'p1', label: 'Renamed', x: 0, y: 0, data: { k: 1 } }, changed: ['label'], hlc: hlc(t + 2, 'client-a1'), baseVersion: v }]);
    const b = await push('u1', 'client-b1', [{ id: 3, table: 'workflowNodes', op: 'upsert', row: { id: 'n1', projectId: 'p1', label: 'Start', x: 50, y: 60, data: { k: 1 } }, changed: ['x', 'y'], hlc: hlc(t + 1, 'client-b1'), baseVersion: v }]);
    assert.equal(a.body.results[0].status, 'applied');
    assert.equal(b.body.results[0].status, 'applied');
    assert.deepEqual(b.body.results[0].row, { id: 'n1', projectId: 'p1', ownerId: 'u1', label: 'Renamed', x: 50, y: 60, data: { k: 1 } });
    const [row] = await sql`SELECT label, x, y FROM workflow_nodes WHERE id = 'n1'`;
    assert.deepEqual({ ...row }, { label: 'Renamed', x: 50, y: 60 });
  });

  test('server-wins: a stale change is dropped and the server row returned', async () => {
    const base = await push('u1', 'client-a1', [up(1, 'workflowEdges', { projectId: 'p1', edgeId: 'e-sw', source: 'a', target: 'b' })]);
    const v = base.body.results[0].version;
    const b = await push('u1', 'client-b1', [{ ...up(2, 'workflowEdges', { projectId: 'p1', edgeId: 'e-sw', source: 'a', target: 'c' }), baseVersion: v }]);
    assert.equal(b.body.results[0].status, 'applied');
    const a = await push('u1', 'client-a1', [{ ...up(3, 'workflowEdges', { projectId: 'p1', edgeId: 'e-sw', source: 'a', target: 'z' }), baseVersion: v }]);
    assert.equal(a.body.results[0].status, 'conflict');
    assert.equal(a.body.results[0].reason, 'stale');
    assert.equal(a.body.results[0].row.target, 'c');
  });

  test('client-wins: every change is applied', async () => {
    await push('u1', 'client-a1', [up(1, 'settings', { key: 'lang', value: 'en' })]);
    const r = await push('u1', 'client-b1', [{ ...up(2, 'settings', { key: 'lang', value: 'fr' }), hlc: hlc(1, 'client-b1'), baseVersion: 1 }]);
    assert.equal(r.body.results[0].status, 'applied');
    assert.equal((await sql`SELECT value FROM settings WHERE key = 'lang'`)[0].value, 'fr');
  });

  test('reject-stale: a stale change is rejected with the server copy', async () => {
    const base = await push('u1', 'client-a1', [up(1, 'documents', { id: 100, title: 'T', body: 'one', revision: 1 })]);
    const v = base.body.results[0].version;
    await push('u1', 'client-b1', [{ ...up(2, 'documents', { id: 100, title: 'T', body: 'two', revision: 2 }), baseVersion: v }]);
    const a = await push('u1', 'client-a1', [{ ...up(3, 'documents', { id: 100, title: 'T', body: 'three', revision: 2 }), baseVersion: v }]);
    assert.equal(a.body.results[0].status, 'rejected');
    assert.equal(a.body.results[0].reason, 'stale');
    assert.equal(a.body.results[0].row.body, 'two');
  });
});

describe('tombstones', () => {
  test('a delete reaches the other devices as a tombstone', async () => {
    const b0 = await pullAll('u1', 'client-b1');
    const ins = await push('u1', 'client-a1', [up(1, 'projects', { id: 'p-del', name: 'Doomed' })]);
    const b1 = await pullAll('u1', 'client-b1', b0.cursor);
    assert.ok(b1.changes.some((c) => c.row.id === 'p-del' && c.op === 'upsert'));
    const del = await push('u1', 'client-a1', [{ id: 2, table: 'projects', op: 'delete', row: { id: 'p-del' }, hlc: hlc(tick()), baseVersion: ins.body.results[0].version }]);
    assert.equal(del.body.results[0].status, 'applied');
    const b2 = await pullAll('u1', 'client-b1', b1.cursor);
    assert.deepEqual(b2.changes.map((c) => [c.op, c.row]), [['delete', { id: 'p-del' }]]);
    const gone = await push('u1', 'client-a1', [{ id: 3, table: 'projects', op: 'delete', row: { id: 'never-existed' }, hlc: hlc(tick()), baseVersion: null }]);
    // projects is lww: the delete is remembered as a tombstone with its
    // clock, so an older insert of the key arriving later loses to it.
    assert.equal(gone.body.results[0].status, 'applied');
    assert.ok(Number.isInteger(gone.body.results[0].version));
    const late = await push('u1', 'client-b1', [{ id: 4, table: 'projects', op: 'upsert', row: { id: 'never-existed', name: 'late' }, hlc: hlc(clock - 1000, 'client-b1'), baseVersion: null }]);
    assert.deepEqual([late.body.results[0].status, late.body.results[0].reason, late.body.results[0].deleted], ['conflict', 'older', true]);
    // settings is client-wins (not clock-ordered): a delete of a key the
    // server never had writes nothing.
    const none = await push('u1', 'client-a1', [{ id: 5, table: 'settings', op: 'delete', row: { key: 'never-existed' }, hlc: hlc(tick()), baseVersion: null }]);
    assert.deepEqual(none.body.results[0], { id: 5, status: 'applied', version: null });
  });
});

describe('bad input changes nothing', () => {
  const cases = [
    ['malformed JSON', '{"protocol":1,', 400, 'invalid_json', undefined],
    ['unknown table', { batch: { seq: 50, changes: [{ id: 1, table: 'nope', op: 'upsert', row: {}, hlc: hlc(1) }] } }, 400, 'unknown_table', 'batch.changes[0].table'],
    ['unknown column', { batch: { seq: 50, changes: [{ id: 1, table: 'projects', op: 'upsert', row: { id: 'bad1', name: 'x', colour: 'red' }, hlc: hlc(1) }] } }, 400, 'unknown_column', 'batch.changes[0].row.colour'],
    ['wrong type', { batch: { seq: 50, changes: [{ id: 1, table: 'workflowNodes', op: 'upsert', row: { id: 'bad2', projectId: 'p', x: 'left' }, hlc: hlc(1) }] } }, 400, 'type_mismatch', 'batch.changes[0].row.x'],
    ['missing primary key', { batch: { seq: 50, changes: [{ id: 1, table: 'projects', op: 'upsert', row: { name: 'x' }, hlc: hlc(1) }] } }, 400, 'missing_primary_key', 'batch.changes[0].row.id'],
    ['null in a non-nullable column', { batch: { seq: 50, changes: [{ id: 1, table: 'projects', op: 'upsert', row: { id: 'bad3', name: null }, hlc: hlc(1) }] } }, 400, 'type_mismatch', 'batch.changes[0].row.name'],
    ['bad timestamp', { batch: { seq: 50, changes: [{ id: 1, table: 'projects', op: 'upsert', row: { id: 'bad4', name: 'x', updatedAt: '2026-13-01T00:00:00Z' }, hlc: hlc(1) }] } }, 400, 'type_mismatch', 'batch.changes[0].row.updatedAt'],
    ['duplicate row', { batch: { seq: 50, changes: [{ id: 1, table: 'projects', op: 'upsert', row: { id: 'bad5', name: 'x' }, hlc: hlc(1) }, { id: 2, table: 'projects', op: 'delete', row: { id: 'bad5' }, hlc: hlc(2) }] } }, 400, 'duplicate_row', 'batch.changes[1]'],
    ['schema version', { schemaVersion: 2 }, 409, 'schema_version_mismatch', 'schemaVersion'],
    ['protocol', { protocol: 9 }, 400, 'invalid_request', 'protocol'],
    ['bad cursor', { cursor: "1'; DROP TABLE projects; --" }, 400, 'invalid_request', 'cursor'],
    ['injection in a table name', { batch: { seq: 50, changes: [{ id: 1, table: 'projects"; DROP TABLE projects; --', op: 'upsert', row: {}, hlc: hlc(1) }] } }, 400, 'unknown_table', 'batch.changes[0].table'],
    ['injection in a column name', { batch: { seq: 50, changes: [{ id: 1, table: 'projects', op: 'upsert', row: { id: 'b', name: 'n', 'name" = 1; --': 1 }, hlc: hlc(1) }] } }, 400, 'unknown_column', undefined],
  ];
  for (const [name, body, status, code, path] of cases) {
    test(name, async () => {
      const before = await sql`SELECT (SELECT count(*) FROM projects) + (SELECT count(*) FROM workflow_nodes) AS n, (SELECT max(last_seq) FROM edgesync_clients) AS s`;
      const req = typeof body === 'string' ? body : { protocol: 1, clientId: 'client-bad', schemaVersion: 1, ...body };
      const r = await driveSync(core, handle, sql, 'u1', req);
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.equal(r.body.error.code, code);
      if (path) assert.equal(r.body.error.path, path);
      assert.ok(r.body.error.message.length > 10);
      const afterRows = await sql`SELECT (SELECT count(*) FROM projects) + (SELECT count(*) FROM workflow_nodes) AS n, (SELECT max(last_seq) FROM edgesync_clients) AS s`;
      assert.deepEqual(afterRows, before);
    });
  }
  test('clocks far in the future are clamped', async () => {
    const r = await push('u1', 'client-a1', [{ id: 1, table: 'projects', op: 'upsert', row: { id: 'p-future', name: 'x' }, hlc: hlc(9e14), baseVersion: null }]);
    assert.equal(r.body.results[0].status, 'applied');
    const [{ _es_hlc: h }] = await sql`SELECT _es_hlc FROM projects WHERE id = 'p-future'`;
    assert.ok(Number(h.slice(0, 15)) <= Date.now() + 61_000, h);
  });
});

describe('pull cursor', () => {
  test('pages through everything in order', async () => {
    const changes = Array.from({ length: 25 }, (_, i) => up(i + 1, 'projects', { id: `page-${i}`, name: `n${i}` }));
    await push('u3', 'client-u3a', changes);
    const all = await pullAll('u3', 'client-u3b', null, 7);
    assert.equal(all.changes.length, 25);
    assert.deepEqual(new Set(all.changes.map((c) => c.row.id)).size, 25);
  });

  test('never skips a row committed out of order (a writer held open with pg_sleep)', async () => {
    const start = await pullAll('u4', 'client-u4-reader');
    // Writer 1 takes its transaction id first, then sleeps while holding it open.
    const slow = sql.begin(async (tx) => {
      await tx`INSERT INTO projects (id, owner_id, name, _es_origin) VALUES ('slow', 'u4', 'slow', 'client-u4-w1')`;
      await tx`SELECT pg_sleep(1.5)`;
    });
    await new Promise((r) => setTimeout(r, 200));
    // Later writers commit while the slow one is still open.
    for (let i = 0; i < 5; i++) await push('u4', `client-u4-w${i + 2}`, [up(1, 'projects', { id: `fast-${i}`, name: 'f' })]);
    const mid = await pullAll('u4', 'client-u4-reader', start.cursor);
    assert.equal(mid.changes.length, 0, 'rows above the open transaction wait until it commits');
    await slow;
    const end = await pullAll('u4', 'client-u4-reader', mid.cursor);
    assert.deepEqual(end.changes.map((c) => c.row.id).sort(), ['fast-0', 'fast-1', 'fast-2', 'fast-3', 'fast-4', 'slow']);
  });
});
