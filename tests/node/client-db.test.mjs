// The database API every tab gets (sync.query / exec / transaction) and live
// queries (sync.watch), under node: real SQLite WASM, the in-process Web Locks
// of the tab tests and node's BroadcastChannel. Routing to the leading tab,
// exactly-once writes across a change of leader, transactions lost with their
// leader, a tab going away mid-transaction, watch coalescing per commit, and
// (against PostgreSQL + the node host) a pulled change re-running a watcher.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { sqlite, fakeLocks, waitFor, FAST, startStack, openClient } from '../harness/client.mjs';
import { createSync } from '../../hosts/client/index.mjs';

const schema = JSON.parse(readFileSync(new URL('../../demo/schema.json', import.meta.url), 'utf8'));
const INSERT = "INSERT INTO projects (id, ownerId, name) VALUES (?, 'u', ?)";

/** A protocol-v1 server in memory: acknowledges every change, pulls nothing; counts requests. */
function fakeServer() {
  let version = 0;
  const send = async (url, init) => {
    send.requests++;
    const body = JSON.parse(new TextDecoder().decode(init.body));
    send.changes.push(...(body.batch?.changes ?? []));
    const results = (body.batch?.changes ?? []).map((c) => ({ id: c.id, status: 'applied', version: ++version }));
    return Response.json({
      protocol: 1, serverTime: Date.now(), ack: body.batch ? { seq: body.batch.seq, duplicate: false } : null,
      results, changes: [], cursor: `0:${version}`, hasMore: false,
    });
  };
  send.requests = 0;
  send.changes = [];
  return send;
}

/** node's BroadcastChannel, with a switch that drops this tab's answers (a leader about to vanish). */
class MuteableChannel extends BroadcastChannel {
  postMessage(msg) {
    if (MuteableChannel.muted.has(msg.from) && msg.t === 'rpc_result') return;
    super.postMessage(msg);
  }
}
MuteableChannel.muted = new Set();

const started = [];
after(async () => { for (const s of started) await s.stop(); });

/** Tabs on one shared connection, like tabs on one OPFS database. */
async function tabs(n, { name = `db-${Math.random()}`, sqlite3 = true } = {}) {
  const s3 = await sqlite();
  const shared = new s3.oo1.DB(':memory:', 'c');
  const locks = fakeLocks();
  const server = fakeServer();
  const make = () => {
    const s = createSync({
      db: () => shared, dbName: name, sqlite3: sqlite3 ? s3 : undefined, url: 'http://sync.test', schema,
      getToken: () => 'token', config: FAST, tabs: { locks, BroadcastChannel: MuteableChannel }, fetch: server,
    });
    started.push(s);
    return s;
  };
  const list = [];
  for (let i = 0; i < n; i++) {
    const s = make();
    await s.start();
    list.push(s);
  }
  return { shared, server, tabs: list, make, count: () => Number(shared.selectValue('SELECT count(*) FROM projects')) };
}

describe('the database API', () => {
  test('query, exec and transaction in a single instance; errors carry codes', async () => {
    const s3 = await sqlite();
    const db = new s3.oo1.DB(':memory:', 'c');
    const server = fakeServer();
    const s = createSync({ db, url: 'http://sync.test', schema, getToken: () => 't', fetch: server, config: FAST });
    started.push(s);
    await assert.rejects(s.query('SELECT 1'), { code: 'not_started' });
    await s.start();
    assert.equal(s.role, 'single');
    assert.deepEqual(await s.exec(INSERT, ['p1', 'One']), { changes: 1, lastInsertRowid: 1 });
    assert.deepEqual(await s.query('SELECT id, name FROM projects WHERE id = ?', ['p1']), [{ id: 'p1', name: 'One' }]);
    assert.deepEqual(await s.query('SELECT name FROM projects WHERE id = $id', { $id: 'p1' }), [{ name: 'One' }]);
    const n = await s.transaction(async (tx) => {
      await tx.exec(INSERT, ['p2', 'Two']);
      await tx.exec(INSERT, ['p3', 'Three']);
      return (await tx.query('SELECT count(*) AS n FROM projects'))[0].n;
    });
    assert.equal(n, 3);
    await assert.rejects(s.transaction(async (tx) => {
      await tx.exec(INSERT, ['p4', 'Four']);
      throw new Error('changed my mind');
    }), /changed my mind/);
    assert.deepEqual((await s.query('SELECT id FROM projects ORDER BY id')).map((r) => r.id), ['p1', 'p2', 'p3'], 'rolled back');
    await assert.rejects(s.query('SELECT nope FROM projects'), { code: 'sql_error', message: /no such column: nope/ });
    await assert.rejects(s.exec(''), { code: 'bad_sql' });
    await assert.rejects(s.query('SELECT 1', 5), { code: 'bad_params' });
    // Without the sqlite3 namespace (no hooks) an API write still tells the sync.
    const before = server.requests;
    await s.exec("UPDATE projects SET name = 'Uno' WHERE id = 'p1'");
    await waitFor(() => server.requests > before, { what: 'the write to be pushed' });
    await waitFor(async () => (await s.pendingCount()) === 0, { what: 'the outbox to drain' });
    await s.stop();
  });

  test('followers run every request in the leading tab; transactions from two tabs do not interleave', async () => {
    const { tabs: [a, b, c], count, server } = await tabs(3);
    assert.deepEqual([a.role, b.role, c.role], ['leader', 'follower', 'follower']);
    assert.equal(b.db, null);
    assert.deepEqual(await b.exec(INSERT, ['p1', 'From B']), { changes: 1, lastInsertRowid: 1 });
    assert.deepEqual(await c.query('SELECT name FROM projects'), [{ name: 'From B' }]);
    // The triggers recorded the write: it is pushed (it may be acknowledged
    // already, so isPending() would race the sync loop).
    await waitFor(() => server.changes.some((ch) => ch.table === 'projects' && ch.row?.id === 'p1'));
    // Read-modify-write in two followers at once, with awaits between: the
    // second transaction starts only after the first committed.
    await a.exec("CREATE TABLE IF NOT EXISTS counter (n INTEGER)");
    await a.exec('INSERT INTO counter VALUES (0)');
    const bump = (s) => s.transaction(async (tx) => {
      const [{ n }] = await tx.query('SELECT n FROM counter');
      await new Promise((r) => setTimeout(r, 20));
      await tx.exec('UPDATE counter SET n = ?', [n + 1]);
    });
    await Promise.all([bump(b), bump(c), bump(a), bump(b)]);
    assert.deepEqual(await a.query('SELECT n FROM counter'), [{ n: 4 }]);
    // A follower's failed statement rolls its transaction back.
    await assert.rejects(c.transaction(async (tx) => {
      await tx.exec(INSERT, ['p2', 'rolled back']);
      await tx.exec(INSERT, ['p1', 'duplicate key']);
    }), { code: 'sql_error', message: /UNIQUE/ });
    assert.equal(count(), 1);
    await assert.rejects(b.query('SELEKT'), { code: 'sql_error' });
    // Writes notify the sync: the leader pushes them.
    await b.syncNow();
    assert.equal(await b.pendingCount(), 0);
  });

  test('a write the old leader applied but never answered is answered from its record by the next one (exactly once)', async () => {
    const { tabs: [a, b, c], count } = await tabs(3);
    MuteableChannel.muted.add(a._tab); // A applies, its answer never leaves
    const write = b.exec(INSERT, ['p1', 'once']);
    await waitFor(() => count() === 1, { what: 'the leader to apply it' });
    const stopping = a.stop();
    MuteableChannel.muted.delete(a._tab);
    await stopping;
    await waitFor(() => b.role === 'leader' || c.role === 'leader', { what: 'a new leader' });
    assert.deepEqual(await write, { changes: 1, lastInsertRowid: 1 }, 'the recorded result');
    assert.equal(count(), 1, 'not applied twice');
    // The same from a follower whose request the new leader answers after a takeover.
    const [leader, follower] = b.role === 'leader' ? [b, c] : [c, b];
    MuteableChannel.muted.add(leader._tab);
    const second = follower.exec(INSERT, ['p2', 'twice?']);
    await waitFor(() => count() === 2, { what: 'the leader to apply the second' });
    const gone = leader.stop();
    MuteableChannel.muted.delete(leader._tab);
    await gone;
    await waitFor(() => follower.role === 'leader', { what: 'the follower to take over' });
    assert.equal((await second).changes, 1);
    assert.equal(count(), 2);
  });

  test('a transaction open when its leader goes away fails with tx_lost and leaves nothing', async () => {
    const { tabs: [a, b], count } = await tabs(2);
    let failed;
    const t = b.transaction(async (tx) => {
      await tx.exec(INSERT, ['p1', 'lost']);
      await a.stop(); // the leader goes away mid-transaction
      await waitFor(() => b.role === 'leader', { what: 'the takeover' });
      try {
        await tx.exec(INSERT, ['p2', 'lost too']);
      } catch (e) {
        failed = e;
        throw e;
      }
    });
    await assert.rejects(t, { code: 'tx_lost' });
    assert.equal(failed.code, 'tx_lost');
    assert.equal(count(), 0, 'rolled back');
    // The new leader runs the next one.
    await b.transaction(async (tx) => { await tx.exec(INSERT, ['p3', 'kept']); });
    assert.equal(count(), 1);
  });

  test('a tab that goes away with a transaction open does not block the others', async () => {
    const { tabs: [a, b, c], count } = await tabs(3);
    let opened;
    const openedP = new Promise((r) => { opened = r; });
    b.transaction(async (tx) => {
      await tx.exec(INSERT, ['p1', 'never committed']);
      opened();
      await new Promise(() => {}); // B hangs, then its tab closes
    }).catch(() => {});
    await openedP;
    const queued = c.exec(INSERT, ['p2', 'after']);
    const local = a.query("SELECT count(*) AS n FROM projects WHERE id = 'p1'");
    await b.stop(); // its tab lock goes: the leader rolls back
    assert.equal((await queued).changes, 1);
    assert.deepEqual(await local, [{ n: 0 }], 'the leader\'s own query waited for the rollback');
    assert.deepEqual((await a.query('SELECT id FROM projects')).map((r) => r.id), ['p2']);
    assert.equal(count(), 1);
  });
});

describe('watch', () => {
  test('re-runs once per commit, in the leader and in followers; only for the tables the query reads', async () => {
    const { shared, tabs: [a, b, c] } = await tabs(3);
    const calls = { a: [], b: [], c: [] };
    const sql = 'SELECT count(*) AS n FROM projects';
    const offA = a.watch(sql, [], (rows) => calls.a.push(rows[0].n));
    const offB = b.watch(sql, (rows) => calls.b.push(rows[0].n));
    // A view reading two tables: its tables come from the authorizer.
    await a.exec('CREATE VIEW IF NOT EXISTS board AS SELECT p.id, n.label FROM projects p JOIN workflowNodes n ON n.projectId = p.id');
    c.watch('SELECT * FROM board', [], (rows) => calls.c.push(rows.length));
    const settle = () => waitFor(() => calls.a.length && calls.b.length && calls.c.length, { what: 'the first runs' });
    await settle();
    const snap = () => ({ a: calls.a.length, b: calls.b.length, c: calls.c.length });
    // 50 rows in one transaction (from a follower): one re-run each.
    let s0 = snap();
    await b.transaction(async (tx) => {
      for (let i = 0; i < 50; i++) await tx.exec(INSERT, [`p${i}`, `P ${i}`]);
    });
    await waitFor(() => calls.a.at(-1) === 50 && calls.b.at(-1) === 50, { what: 'the watchers to see 50 rows' });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(calls.a.length - s0.a, 1, `the leader's watcher ran once: ${calls.a}`);
    assert.equal(calls.b.length - s0.b, 1, `the follower's watcher ran once: ${calls.b}`);
    assert.equal(calls.c.length - s0.c, 1, 'the view reads projects');
    // The app's own direct write on the leader's connection counts too.
    s0 = snap();
    shared.exec(`INSERT INTO projects (id, ownerId, name) VALUES ('direct', 'u', 'direct')`);
    await waitFor(() => calls.b.at(-1) === 51, { what: 'the follower to see a direct write' });
    // A table none of them reads: no re-run (the sync's own bookkeeping commits meanwhile too).
    s0 = snap();
    await c.exec('CREATE TABLE IF NOT EXISTS other (x)');
    await new Promise((r) => setTimeout(r, 50));
    s0 = snap();
    await c.exec('INSERT INTO other VALUES (1)');
    await new Promise((r) => setTimeout(r, 150));
    assert.deepEqual(snap(), s0, 'nothing re-ran for an unrelated table');
    // A node on a project: the view's watcher re-runs, the count's do not.
    await c.exec("INSERT INTO workflowNodes (id, projectId, ownerId, label, x, y, data) VALUES ('n1', 'p1', 'u', 'Node', 0, 0, '{}')");
    await waitFor(() => calls.c.at(-1) === 1, { what: 'the view watcher to see the node' });
    assert.equal(calls.a.length, s0.a);
    // Unsubscribed: no more calls; the watchers move with the leader.
    offA();
    offB();
    s0 = snap();
    await a.stop();
    await waitFor(() => b.role === 'leader' || c.role === 'leader', { what: 'a new leader' });
    await b.exec(INSERT, ['late', 'late']);
    await waitFor(() => calls.c.length > s0.c, { what: 'c to run again after the change of leader' });
    assert.equal(calls.a.length, s0.a);
    assert.equal(calls.b.length, s0.b);
  });

  test('a watcher added before start() runs once started; errors go to onError', async () => {
    const s3 = await sqlite();
    const s = createSync({ db: new s3.oo1.DB(':memory:', 'c'), sqlite3: s3, url: 'http://sync.test', schema, getToken: () => 't', fetch: fakeServer(), config: FAST });
    started.push(s);
    const seen = [];
    s.watch('SELECT count(*) AS n FROM projects', [], (rows) => seen.push(rows[0].n));
    const errors = [];
    s.watch('SELECT * FROM missing_table', [], () => assert.fail('no rows'), { onError: (e) => errors.push(e) });
    await s.start();
    await waitFor(() => seen.length >= 1 && errors.length >= 1, { what: 'the first runs' });
    assert.equal(seen[0], 0);
    assert.equal(errors[0].code, 'sql_error');
    assert.throws(() => s.watch('SELECT 1', [], null), /callback must be a function/);
    await s.stop();
  });
});

describe('watch and pulls (PostgreSQL + the node host)', () => {
  test('a pulled change re-runs the watcher, with the hooks and without them', { timeout: 60000 }, async () => {
    const stack = await startStack(schema);
    try {
      const w = await openClient(stack.url, schema, 'wanda');
      const r1 = await openClient(stack.url, schema, 'wanda');
      const r2 = await openClient(stack.url, schema, 'wanda', { sqlite3: undefined }); // no hooks: the changes event
      const seen1 = [];
      const seen2 = [];
      r1.sync.watch("SELECT name FROM projects WHERE id = 'pw'", [], (rows) => seen1.push(rows[0]?.name ?? null));
      r2.sync.watch("SELECT name FROM projects WHERE id = 'pw'", [], (rows) => seen2.push(rows[0]?.name ?? null));
      await waitFor(() => seen1.length && seen2.length, { what: 'the first runs' });
      await w.sync.exec("INSERT INTO projects (id, ownerId, name) VALUES ('pw', 'wanda', 'pulled')");
      await w.sync.syncNow();
      await r1.sync.syncNow();
      await r2.sync.syncNow();
      await waitFor(() => seen1.at(-1) === 'pulled' && seen2.at(-1) === 'pulled', { what: 'the pulled row in both watchers' });
      for (const c of [w, r1, r2]) await c.close();
    } finally {
      await stack.stop();
    }
  });
});
