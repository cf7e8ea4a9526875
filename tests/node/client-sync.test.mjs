// The JS client (`edgesync/client`) end to end: clients on the official SQLite
// WASM build syncing through the real node host to PostgreSQL 15, with HS256
// tokens. Convergence, offline edits, deletes, rejected changes, a dropped
// response, tokens, and state persisted across re-opening a database.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  startStack, openClient, waitFor, sqlite, tokenFor,
} from '../harness/client.mjs';
import { createSync, statusLabel, SyncError } from '../../hosts/client/index.mjs';

// The demo board's tables owner-only, as before sharing: these tests count and
// check owner-only rows (shared projects: server-scopes.test.mjs).
const demo = JSON.parse(readFileSync(new URL('../fixtures/schema.demo-owner.json', import.meta.url), 'utf8'));
// The demo tables plus one reject-stale table.
const schema = {
  ...demo,
  tables: [...demo.tables, {
    name: 'notes',
    columns: [
      { name: 'id', type: 'text' },
      { name: 'ownerId', type: 'text' },
      { name: 'body', type: 'text' },
    ],
    primaryKey: 'id', owner: 'ownerId', conflict: 'reject-stale',
  }],
};

let stack;
before(async () => { stack = await startStack(schema); }, { timeout: 60000 });
after(() => stack?.stop(), { timeout: 30000 });

const clients = [];
async function client(user, opts) {
  const c = await openClient(stack.url, schema, user, opts);
  clients.push(c);
  return c;
}
after(async () => { for (const c of clients) await c.close().catch(() => {}); });

const project = (c, id, name) => c.db.exec({
  sql: 'INSERT INTO projects (id, ownerId, name) VALUES (?, ?, ?)', bind: [id, c.user, name],
});
const node = (c, id, projectId, label, x = 0, y = 0) => c.db.exec({
  sql: 'INSERT INTO workflowNodes (id, projectId, ownerId, label, x, y, data) VALUES (?, ?, ?, ?, ?, ?, ?)',
  bind: [id, projectId, c.user, label, x, y, JSON.stringify({ kind: 'task' })],
});

describe('two devices of one user', () => {
  let a, b;
  before(async () => {
    a = await client('alice');
    b = await client('alice');
    await Promise.all([a.sync.syncNow(), b.sync.syncNow()]);
  });

  test('start installs the schema, opens the core and reports a client id', async () => {
    assert.equal(a.sync.role, 'single');
    assert.match(a.sync.status.clientId, /^c_[0-9a-f]{16}$/);
    assert.notEqual(a.sync.status.clientId, b.sync.status.clientId);
    assert.equal(a.sync.status.state, 'idle');
    assert.equal(statusLabel(a.sync.status), 'Synced');
    assert.ok(a.events.status.some((s) => s.state === 'syncing'));
    // The DDL is idempotent: a second start on the same database is fine.
    const again = createSync({ db: a.db, url: stack.url, schema, getToken: () => tokenFor('alice') });
    await again.start();
    assert.equal(again.status.clientId, a.sync.status.clientId);
    await again.stop();
  });

  test('writes sync: pending while unacknowledged, then pulled by the other device', async () => {
    project(a, 'p1', 'Alpha');
    node(a, 'n1', 'p1', 'Start', 10, 20);
    assert.equal(await a.sync.isPending('projects', 'p1'), true);
    assert.equal(await a.sync.isPending('projects', ['p1']), true);
    assert.equal(await a.sync.isPending('projects', 'nope'), false);
    assert.ok(await a.sync.pendingCount() >= 2);
    const st = await a.sync.syncNow();
    assert.equal(st.state, 'idle');
    assert.equal(st.pending, 0);
    assert.equal(await a.sync.isPending('projects', 'p1'), false);
    assert.equal(await a.sync.pendingCount(), 0);
    const changesBefore = b.events.changes.length;
    await b.sync.syncNow();
    assert.deepEqual(b.rows('SELECT id, name FROM projects'), [{ id: 'p1', name: 'Alpha' }]);
    assert.deepEqual(b.rows('SELECT id, label, x, y, data FROM workflowNodes'),
      [{ id: 'n1', label: 'Start', x: 10, y: 20, data: '{"kind":"task"}' }]);
    const ch = b.events.changes.slice(changesBefore);
    assert.ok(ch.some((c) => c.tables.includes('projects') && c.tables.includes('workflowNodes')), JSON.stringify(ch));
    // Pulled rows never re-enter the outbox.
    assert.equal(await b.sync.pendingCount(), 0);
    const [row] = await stack.sql`select name, owner_id from projects where id = 'p1'`;
    assert.deepEqual({ ...row }, { name: 'Alpha', owner_id: 'alice' });
  });

  test('whenSynced resolves once the server applied the row (acked event), at once when nothing is pending', async () => {
    assert.deepEqual(await a.sync.whenSynced('projects', 'p1'), { table: 'projects', pk: ['p1'], status: 'none', version: null });
    const acked = a.events.acked.length;
    a.db.exec(`UPDATE projects SET name = 'Alpha again' WHERE id = 'p1'`);
    project(a, 'p-ws', 'When synced');
    const p1 = a.sync.whenSynced('projects', 'p1');
    const pws = a.sync.whenSynced('projects', ['p-ws']);
    let settled = false;
    p1.then(() => { settled = true; });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(settled, false, 'not before the server answered');
    const r = await p1;
    assert.equal(r.status, 'applied');
    const [srv] = await stack.sql`select name, _es_version::int as v from projects where id = 'p1'`;
    assert.equal(srv.name, 'Alpha again', 'on the server when whenSynced resolves');
    assert.equal(r.version, srv.v);
    const r2 = await pws;
    assert.equal(r2.status, 'applied');
    const events = a.events.acked.slice(acked);
    const ev = events.find((e) => e.table === 'projects' && e.pk[0] === 'p1');
    assert.ok(ev, JSON.stringify(events));
    assert.equal(ev.op, 'upsert');
    assert.equal(ev.version, srv.v);
    assert.ok(ev.ids.length >= 1);
    assert.ok(events.some((e) => e.pk[0] === 'p-ws' && e.version === r2.version));
  });

  test('concurrent edits converge: lww-field merges columns, lww picks one value everywhere', async () => {
    a.db.exec(`UPDATE workflowNodes SET label = 'From A' WHERE id = 'n1'`);
    b.db.exec(`UPDATE workflowNodes SET x = 99 WHERE id = 'n1'`);
    a.db.exec(`UPDATE projects SET name = 'Alpha (A)' WHERE id = 'p1'`);
    await new Promise((r) => setTimeout(r, 15)); // B's stamp is strictly later
    b.db.exec(`UPDATE projects SET name = 'Alpha (B)' WHERE id = 'p1'`);
    await Promise.all([a.sync.syncNow(), b.sync.syncNow()]);
    await a.sync.syncNow();
    await b.sync.syncNow();
    const q = 'SELECT id, label, x, y FROM workflowNodes ORDER BY id';
    assert.deepEqual(a.rows(q), [{ id: 'n1', label: 'From A', x: 99, y: 20 }]);
    assert.deepEqual(b.rows(q), a.rows(q));
    const pa = a.rows('SELECT name FROM projects');
    assert.deepEqual(b.rows('SELECT name FROM projects'), pa);
    assert.equal(pa[0].name, 'Alpha (B)', 'the later edit (B) wins under lww');
    const [srv] = await stack.sql`select name from projects where id = 'p1'`;
    assert.equal(srv.name, pa[0].name);
  });

  test('an older edit arriving second is a conflict: the app is told and gets the server row', async () => {
    a.sync.setOnline(false); // A holds its edit back until B's newer one is on the server
    a.db.exec(`UPDATE projects SET name = 'older (A)' WHERE id = 'p1'`);
    await new Promise((r) => setTimeout(r, 15));
    b.db.exec(`UPDATE projects SET name = 'newer (B)' WHERE id = 'p1'`);
    await b.sync.syncNow();
    const before = a.events.conflict.length;
    a.sync.setOnline(true);
    await a.sync.syncNow();
    const conflicts = a.events.conflict.slice(before);
    assert.equal(conflicts.length, 1, JSON.stringify(a.events.conflict));
    assert.equal(conflicts[0].table, 'projects');
    assert.deepEqual(conflicts[0].pk, ['p1']);
    assert.equal(conflicts[0].reason, 'older');
    assert.equal(conflicts[0].row.name, 'newer (B)');
    assert.deepEqual(a.rows(`SELECT name FROM projects WHERE id = 'p1'`), [{ name: 'newer (B)' }]);
    assert.equal(await a.sync.isPending('projects', 'p1'), false);
  });

  test('deletes propagate (tombstones)', async () => {
    node(b, 'n2', 'p1', 'Temp');
    await b.sync.syncNow();
    await a.sync.syncNow();
    assert.equal(a.rows(`SELECT id FROM workflowNodes WHERE id = 'n2'`).length, 1);
    a.db.exec(`DELETE FROM workflowNodes WHERE id = 'n2'`);
    await a.sync.syncNow();
    await b.sync.syncNow();
    assert.deepEqual(b.rows(`SELECT id FROM workflowNodes ORDER BY id`), [{ id: 'n1' }]);
    const [t] = await stack.sql`select _es_deleted from workflow_nodes where id = 'n2'`;
    assert.equal(t._es_deleted, true);
  });

  test('offline edits stay queued and sync after reconnect', async () => {
    let offline = false;
    const c = await client('alice', {
      fetch: (url, init) => (offline ? Promise.reject(new TypeError('fetch failed (offline)')) : fetch(url, init)),
    });
    await c.sync.syncNow();
    offline = true;
    c.sync.setOnline(false);
    project(c, 'p-off', 'Written offline');
    node(c, 'n-off', 'p-off', 'Offline node');
    await assert.rejects(c.sync.syncNow(), (e) => e instanceof SyncError && e.code === 'network');
    assert.equal(c.sync.status.state, 'offline');
    assert.equal(statusLabel(c.sync.status), 'Offline');
    assert.equal(await c.sync.pendingCount(), 2);
    offline = false;
    c.sync.setOnline(true); // the core syncs on `online` by itself
    await waitFor(() => c.sync.status.state === 'idle' && c.sync.status.pending === 0, { what: 'the reconnect sync' });
    assert.equal(await c.sync.pendingCount(), 0);
    await b.sync.syncNow();
    assert.deepEqual(b.rows(`SELECT name FROM projects WHERE id = 'p-off'`), [{ name: 'Written offline' }]);
    assert.deepEqual(b.rows(`SELECT label FROM workflowNodes WHERE id = 'n-off'`), [{ label: 'Offline node' }]);
  });
});

describe('rejections never block the queue', () => {
  test('a row owned by another user is rejected (forbidden) and later changes go through', async () => {
    const alice = await client('alice');
    project(alice, 'shared-id', 'Alice owns this');
    await alice.sync.syncNow();
    const bob = await client('bob');
    await bob.sync.syncNow();
    assert.equal(bob.rows('SELECT id FROM projects').length, 0, 'a pull returns only the user\'s rows');
    project(bob, 'shared-id', 'Bob tries');
    const refused = assert.rejects(bob.sync.whenSynced('projects', 'shared-id'), (e) => e instanceof SyncError &&
      e.reason === 'forbidden' && e.code === 'forbidden' && e.rejected?.pk?.[0] === 'shared-id');
    await bob.sync.syncNow();
    await refused;
    assert.equal(bob.events.rejected.length, 1, JSON.stringify(bob.events.rejected));
    const r = bob.events.rejected[0];
    assert.equal(r.table, 'projects');
    assert.deepEqual(r.pk, ['shared-id']);
    assert.equal(r.reason, 'forbidden');
    assert.equal(r.restored, true);
    assert.equal(r.deleted, true, 'Bob may not see the server row');
    assert.equal(r.row, null);
    assert.equal(await bob.sync.pendingCount(), 0, 'the rejected change left the queue');
    assert.deepEqual(bob.rows('SELECT id FROM projects'), [], 'the refused row left Bob\'s device');
    project(bob, 'bob-1', 'Bob\'s own');
    await bob.sync.syncNow();
    const rows = await stack.sql`select id, name, owner_id from projects where id in ('shared-id', 'bob-1') order by id`;
    assert.deepEqual(rows.map((x) => ({ ...x })), [
      { id: 'bob-1', name: 'Bob\'s own', owner_id: 'bob' },
      { id: 'shared-id', name: 'Alice owns this', owner_id: 'alice' },
    ]);
  });

  test('reject-stale: the stale edit is rejected with the server copy, which replaces the local row', async () => {
    const a = await client('carol');
    const b = await client('carol');
    a.db.exec(`INSERT INTO notes (id, ownerId, body) VALUES ('note1', 'carol', 'v1')`);
    await a.sync.syncNow();
    await b.sync.syncNow();
    a.db.exec(`UPDATE notes SET body = 'v2 from A' WHERE id = 'note1'`);
    await a.sync.syncNow();
    b.db.exec(`UPDATE notes SET body = 'v2 from B (stale)' WHERE id = 'note1'`);
    await b.sync.syncNow();
    assert.equal(b.events.rejected.length, 1, JSON.stringify(b.events));
    const r = b.events.rejected[0];
    assert.equal(r.reason, 'stale');
    assert.equal(r.restored, true);
    assert.equal(r.row.body, 'v2 from A');
    assert.deepEqual(b.rows('SELECT body FROM notes'), [{ body: 'v2 from A' }]);
    b.db.exec(`UPDATE notes SET body = 'v3 from B' WHERE id = 'note1'`);
    await b.sync.syncNow();
    await a.sync.syncNow();
    assert.deepEqual(a.rows('SELECT body FROM notes'), [{ body: 'v3 from B' }]);
    assert.equal(b.events.rejected.length, 1);
  });

  test('an invalid change (type mismatch) is dropped and reported; the rest of the batch syncs', async () => {
    const c = await client('dave');
    project(c, 'd1', 'Fine');
    c.db.exec(`INSERT INTO workflowNodes (id, projectId, ownerId, label, x) VALUES ('bad', 'd1', 'dave', 'x is text', 'not a number')`);
    node(c, 'good', 'd1', 'Fine too');
    const bad = assert.rejects(c.sync.whenSynced('workflowNodes', 'bad'), (e) => e.reason === 'invalid' && e.code === 'type_mismatch');
    const good = c.sync.whenSynced('workflowNodes', 'good');
    await c.sync.syncNow();
    await bad;
    assert.equal((await good).status, 'applied');
    assert.equal(c.events.rejected.length, 1, JSON.stringify(c.events.rejected));
    const r = c.events.rejected[0];
    assert.equal(r.reason, 'invalid');
    assert.equal(r.code, 'type_mismatch');
    assert.deepEqual(r.pk, ['bad']);
    assert.match(r.path, /^batch\.changes\[\d+\]\.row\.x$/);
    assert.equal(r.restored, true);
    assert.equal(r.deleted, true, 'the server never had the row');
    assert.equal(await c.sync.pendingCount(), 0);
    assert.deepEqual(c.rows('SELECT id FROM workflowNodes ORDER BY id'), [{ id: 'good' }], 'the refused row was rolled back');
    const ids = (await stack.sql`select id from workflow_nodes where owner_id = 'dave' order by id`).map((x) => x.id);
    assert.deepEqual(ids, ['good']);
    assert.equal((await stack.sql`select count(*)::int as n from projects where id = 'd1'`)[0].n, 1);
  });
});

describe('page lifecycle', () => {
  test('hidden (pagehide) flushes the outbox at once with a keepalive request', async () => {
    const seen = [];
    const c = await client('kim', {
      config: { debounceMs: 60000, maxDebounceMs: 60000 },
      fetch: (url, init) => {
        seen.push({ keepalive: init.keepalive, batch: JSON.parse(new TextDecoder().decode(init.body)).batch });
        return fetch(url, init);
      },
    });
    await c.sync.syncNow();
    project(c, 'k1', 'Flushed on hide');
    const n = seen.length;
    c.sync.setVisible(false);
    await waitFor(() => seen.length > n && c.sync.status.state === 'idle', { what: 'the flush' });
    assert.equal(seen[n].keepalive, true);
    assert.equal(seen[n].batch.changes[0].row.name, 'Flushed on hide');
    assert.equal(await c.sync.pendingCount(), 0);
  });
});

describe('exactly once', () => {
  test('a response dropped after the server committed: the same batch is re-sent, applied once', async () => {
    const sent = [];
    let drop = true;
    const c = await client('erin', {
      fetch: async (url, init) => {
        const body = JSON.parse(new TextDecoder().decode(init.body));
        const res = await fetch(url, init);
        const text = await res.text();
        sent.push({ batch: body.batch, answer: JSON.parse(text) });
        if (drop && body.batch) {
          drop = false;
          throw new TypeError('network connection lost (response dropped by the test)');
        }
        return new Response(text, { status: res.status, headers: res.headers });
      },
    });
    const other = await client('erin');
    await other.sync.syncNow();
    project(c, 'e1', 'Once');
    node(c, 'e-n1', 'e1', 'Only once');
    await assert.rejects(c.sync.syncNow(), (e) => e.code === 'network');
    assert.equal(await c.sync.pendingCount(), 2, 'nothing acknowledged yet');
    await c.sync.syncNow();
    const pushes = sent.filter((s) => s.batch);
    assert.equal(pushes.length, 2);
    assert.equal(pushes[1].batch.seq, pushes[0].batch.seq, 'the retry carries the same seq');
    assert.deepEqual(pushes[1].batch, pushes[0].batch, 'and exactly the same batch');
    assert.equal(pushes[0].answer.ack.duplicate, false);
    assert.equal(pushes[1].answer.ack.duplicate, true);
    assert.deepEqual(pushes[1].answer.results, pushes[0].answer.results, 'the original results are repeated');
    assert.equal(await c.sync.pendingCount(), 0);
    const [row] = await stack.sql`select _es_version from projects where id = 'e1'`;
    assert.equal(Number(row._es_version), pushes[0].answer.results.find((r) => r.id === pushes[0].batch.changes[0].id).version,
      'the row was written once: its version is the first answer\'s');
    const [cl] = await stack.sql`select last_seq from edgesync_clients where client_id = ${c.sync.status.clientId}`;
    assert.equal(Number(cl.last_seq), pushes[0].batch.seq);
    const before = other.events.changes.length;
    await other.sync.syncNow();
    const pulled = other.events.changes.slice(before);
    assert.equal(pulled.reduce((n, x) => n + x.rows, 0), 2, 'the other device pulls the two rows once');
    assert.deepEqual(other.rows('SELECT id FROM projects'), [{ id: 'e1' }]);
  });
});

describe('tokens and errors', () => {
  test('a refused token is refreshed once, then the round succeeds', async () => {
    const calls = [];
    const c = await client('frank', {
      getToken: async ({ refresh }) => {
        calls.push(refresh);
        return refresh ? tokenFor('frank') : 'not-a-valid-token';
      },
      start: false,
    });
    await c.sync.start();
    const st = await c.sync.syncNow();
    assert.equal(st.state, 'idle');
    assert.ok(calls.includes(true), `a refresh was asked for: ${JSON.stringify(calls)}`);
  });

  test('no token at all: signed out (client-claim.test.mjs has more), syncNow rejects with signed_out', async () => {
    const c = await client('gina', { getToken: async () => null, start: false });
    await c.sync.start();
    await assert.rejects(c.sync.syncNow(), (e) => e instanceof SyncError && e.code === 'signed_out');
    assert.equal(c.sync.status.state, 'signed_out');
    assert.equal(statusLabel(c.sync.status), 'Signed out');
  });

  test('getToken() throwing is an error (unauthorized), not signed out', async () => {
    const c = await client('gino', { getToken: async () => { throw new Error('auth server down'); }, start: false });
    await c.sync.start();
    await assert.rejects(c.sync.syncNow(), (e) => e instanceof SyncError && e.code === 'unauthorized' && /auth server down/.test(e.message));
    assert.equal(c.sync.status.state, 'error');
    assert.equal(statusLabel(c.sync.status), 'Error');
  });

  test('a server on another schema version stops sync with a clear error', async () => {
    const c = await client('hank', { schema: { ...schema, version: 2 }, start: false });
    await c.sync.start();
    await assert.rejects(c.sync.syncNow(), (e) => e.code === 'schema_version_mismatch');
    assert.equal(c.sync.status.state, 'error');
    await assert.rejects(c.sync.syncNow(), (e) => e.code === 'schema_version_mismatch', 'stays stopped');
  });

  test('syncNow before start is refused', async () => {
    const s3 = await sqlite();
    const s = createSync({ db: new s3.oo1.DB(':memory:'), url: stack.url, schema, getToken: () => 'x' });
    await assert.rejects(s.syncNow(), (e) => e.code === 'not_started');
    assert.equal(s.status.state, 'stopped');
  });
});

describe('persistence', () => {
  test('client id, seq and cursor survive re-opening a file database; nothing is pulled twice', async () => {
    const file = `/persist-${process.pid}.sqlite3`;
    const a = await client('ivy', { file });
    project(a, 'i1', 'Before');
    await a.sync.syncNow();
    const state1 = Object.fromEntries(a.db.selectArrays('SELECT key, value FROM sync_state'));
    assert.ok(state1.cursor, 'a cursor was stored');
    assert.equal(Number(state1.seq), 2, 'one batch acknowledged');
    const id = a.sync.status.clientId;
    await a.close();

    const other = await client('ivy');
    project(other, 'i2', 'From elsewhere');
    await other.sync.syncNow();

    const b = await client('ivy', { file });
    await b.sync.syncNow();
    assert.equal(b.sync.status.clientId, id, 'the same client id');
    assert.equal(b.events.changes.reduce((n, x) => n + x.rows, 0), 1, 'only the new row was pulled');
    project(b, 'i3', 'After');
    await b.sync.syncNow();
    const state2 = Object.fromEntries(b.db.selectArrays('SELECT key, value FROM sync_state'));
    assert.equal(Number(state2.seq), 3, 'seq continued');
    assert.deepEqual(b.rows('SELECT id FROM projects ORDER BY id'), [{ id: 'i1' }, { id: 'i2' }, { id: 'i3' }]);
    const [cl] = await stack.sql`select last_seq from edgesync_clients where client_id = ${id}`;
    assert.equal(Number(cl.last_seq), 2, 'the server saw batches 1 and 2 of this client');
  });

  test('a batch sealed but never answered (the app closed mid-sync) is re-sent after re-opening', async () => {
    const file = `/sealed-${process.pid}.sqlite3`;
    let seen = 0;
    const a = await client('jack', {
      file,
      // The request reaches the server (which commits) but the page dies
      // before the answer: the promise never settles.
      fetch: async (url, init) => {
        const body = JSON.parse(new TextDecoder().decode(init.body));
        if (!body.batch) return fetch(url, init);
        seen++;
        await fetch(url, init);
        return new Promise(() => {});
      },
    });
    await a.sync.syncNow();
    project(a, 'j1', 'Sealed');
    await waitFor(() => seen === 1, { what: 'the push' });
    const sealed = Object.fromEntries(a.db.selectArrays('SELECT key, value FROM sync_state'));
    assert.ok(sealed.inflight_seq, 'the in-flight batch is persisted before it is sent');
    await a.close();

    const b = await client('jack', { file });
    await b.sync.syncNow();
    assert.equal(await b.sync.pendingCount(), 0);
    const [row] = await stack.sql`select name from projects where id = 'j1'`;
    assert.equal(row.name, 'Sealed');
  });
});
