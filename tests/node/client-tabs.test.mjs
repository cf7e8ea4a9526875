// The JS client's multi-tab logic under node, with an in-process Web Locks
// implementation and node's BroadcastChannel: one leader syncs, followers
// mirror its status and forward sync-now requests, local-change notices and
// outbox queries; the next tab takes over when the leader stops. A small
// in-memory sync server stands in for the real one (tests/node/client-sync
// covers that); the browser end-to-end test covers real tabs.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { sqlite, fakeLocks, waitFor, FAST } from '../harness/client.mjs';
import { createSync, loadClientCore } from '../../hosts/client/index.mjs';

const schema = JSON.parse(readFileSync(new URL('../../demo/schema.json', import.meta.url), 'utf8'));

/** A protocol-v1 server in memory: acknowledges every change, pulls nothing. */
function fakeServer() {
  let version = 0;
  return () => async (url, init) => {
    const body = JSON.parse(new TextDecoder().decode(init.body));
    const results = (body.batch?.changes ?? []).map((c) => ({ id: c.id, status: 'applied', version: ++version }));
    return Response.json({
      protocol: 1, serverTime: Date.now(), ack: body.batch ? { seq: body.batch.seq, duplicate: false } : null,
      results, changes: [], cursor: `0:${version}`, hasMore: false,
    });
  };
}

describe('tabs', () => {
  const started = [];
  after(async () => { for (const s of started) await s.stop(); });

  test('one leader syncs; followers follow, forward, and take over', async () => {
    const s3 = await sqlite();
    const shared = new s3.oo1.DB(':memory:', 'c'); // the one database the tabs share
    const locks = fakeLocks();
    const counts = new Map();
    const server = fakeServer();
    const opened = [];
    const tab = (name) => {
      const send = server(name);
      const s = createSync({
        db: () => { opened.push(name); return shared; }, dbName: 'board.sqlite3', sqlite3: s3,
        url: 'http://sync.test', schema, getToken: () => 'token', config: FAST,
        tabs: { locks, BroadcastChannel },
        fetch: (u, i) => { counts.set(name, (counts.get(name) ?? 0) + 1); return send(u, i); },
      });
      started.push(s);
      return s;
    };
    const a = tab('A');
    const b = tab('B');
    const roles = [];
    b.on('role', (r) => roles.push(r));
    await a.start();
    await b.start();
    assert.equal(a.role, 'leader');
    assert.equal(b.role, 'follower');
    assert.deepEqual(opened, ['A'], 'only the leader opened the database');
    assert.equal(b.db, null);

    await a.syncNow();
    await waitFor(() => b.status.state === 'idle', { what: 'the follower to see the leader\'s status' });
    assert.equal(b.status.clientId, a.status.clientId);
    assert.equal(b.status.role, 'follower');

    // A follower's sync-now is served by the leader.
    const before = counts.get('A');
    const st = await b.syncNow();
    assert.equal(st.state, 'idle');
    assert.ok(counts.get('A') > before, 'the leader sent the request');
    assert.equal(counts.get('B') ?? 0, 0, 'the follower never sent one');

    // Outbox queries are answered by the leader's database.
    assert.equal(await b.isPending('projects', 'p1'), false);
    shared.exec(`INSERT INTO projects (id, ownerId, name) VALUES ('p1', 'u', 'x')`);
    assert.equal(await b.isPending('projects', 'p1'), true);
    assert.equal(await b.pendingCount(), 1);
    await b.syncNow();
    assert.equal(await b.isPending('projects', 'p1'), false);

    // A follower waits for a row to be acknowledged (through the leader).
    shared.exec(`UPDATE projects SET name = 'y' WHERE id = 'p1'`);
    const synced = b.whenSynced('projects', 'p1');
    a.notifyLocalChange();
    const ws = await synced;
    assert.equal(ws.status, 'applied');
    assert.ok(ws.version > 0);
    assert.equal((await b.whenSynced('projects', 'p1')).status, 'none');

    // A follower's local-change notice makes the leader sync (after its debounce).
    const n = counts.get('A');
    b.notifyLocalChange();
    await waitFor(() => counts.get('A') > n, { what: 'the forwarded local change to trigger a round' });

    // The leader goes away: the follower takes over, opening the database.
    await a.stop();
    await waitFor(() => b.role === 'leader', { what: 'the takeover' });
    assert.deepEqual(roles, ['follower', 'leader']);
    assert.deepEqual(opened, ['A', 'B']);
    shared.exec(`INSERT INTO projects (id, ownerId, name) VALUES ('p2', 'u', 'y')`);
    await b.syncNow();
    assert.ok(counts.get('B') > 0, 'the new leader syncs');
    assert.equal(await b.pendingCount(), 0);
    await b.stop();
    shared.close();
  });

  test('a WebAssembly trap drops the core instance and restarts from the persisted state', async () => {
    const s3 = await sqlite();
    const real = await loadClientCore();
    let trap = false;
    const core = {
      call: (...a) => real.call(...a),
      callFramed(op, meta, segs) {
        if (trap && op === 'client.handle') {
          trap = false;
          throw new WebAssembly.RuntimeError('unreachable (injected)');
        }
        return real.callFramed(op, meta, segs);
      },
    };
    const db = new s3.oo1.DB(':memory:', 'c');
    const s = createSync({ db, url: 'http://sync.test', schema, getToken: () => 't', fetch: fakeServer()('x'), config: FAST, core });
    const errors = [];
    s.on('error', (e) => errors.push(e));
    started.push(s);
    await s.start();
    await s.syncNow();
    const id = s.status.clientId;
    db.exec(`INSERT INTO projects (id, ownerId, name) VALUES ('t1', 'u', 'before the trap')`);
    trap = true;
    s.notifyLocalChange();
    await waitFor(() => s.status.lastError?.code === 'core_crashed', { what: 'the crash status' });
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof WebAssembly.RuntimeError);
    await waitFor(() => s.status.state === 'idle' && s.status.pending === 0, { what: 'the restart' });
    assert.equal(s.status.clientId, id, 'the same client, reloaded from sync_state');
    assert.equal(await s.pendingCount(), 0);
  });

  test('without Web Locks (or for in-memory databases) every instance just runs', async () => {
    const s3 = await sqlite();
    const send = fakeServer()('x');
    const s = createSync({ db: new s3.oo1.DB(':memory:', 'c'), url: 'http://sync.test', schema, getToken: () => 't', fetch: send, config: FAST });
    started.push(s);
    await s.start();
    assert.equal(s.role, 'single');
    await s.syncNow();
  });
  test('signOut() in a follower tab: the leader clears the shared database and takes a new client id', async () => {
    const s3 = await sqlite();
    const shared = new s3.oo1.DB(':memory:', 'c');
    const locks = fakeLocks();
    const send = fakeServer()('x');
    const tab = () => {
      const s = createSync({
        db: () => shared, dbName: 'signout.sqlite3', sqlite3: s3, url: 'http://sync.test', schema,
        getToken: () => 'token', config: FAST, tabs: { locks, BroadcastChannel }, fetch: send,
      });
      started.push(s);
      return s;
    };
    const a = tab();
    const b = tab();
    await a.start();
    await b.start();
    assert.equal(b.role, 'follower');
    shared.exec("INSERT INTO projects (id, ownerId, name) VALUES ('t1', '', 'Synced')");
    await b.syncNow();
    const id = a.status.clientId;
    assert.match(id, /^c_/);
    shared.exec("INSERT INTO projects (id, ownerId, name) VALUES ('t2', '', 'Pending')");
    await b.signOut();
    assert.equal(Number(shared.selectValue('SELECT count(*) FROM projects')), 0);
    assert.equal(Number(shared.selectValue('SELECT count(*) FROM sync_outbox')), 0);
    await waitFor(() => a.status.clientId && a.status.clientId !== id, { what: 'a new client id' });
    await waitFor(() => b.status.clientId === a.status.clientId, { what: 'the follower sees it' });
  });
});
