// Live pokes (docs/protocol.md, "Live pokes"): PostgreSQL NOTIFYs from the
// generated statement triggers, one LISTEN connection per node host, the
// /live WebSocket, and the client pulling on a poke. Devices poll only every
// 60 s here, so only a poke can explain a change arriving within seconds.
// Real PostgreSQL 15, real node hosts, clients on the official SQLite WASM
// build; the client's WebSocket is the `ws` package's (node 20 has no
// global one; browsers and node 22 use their own).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { startStack, openClient, waitFor, TEST_SECRET } from '../harness/client.mjs';
import { connect, ready, pokes } from '../harness/live.mjs';
import { startServer } from '../../hosts/node/server.mjs';
import { signDevToken } from '../../hosts/server/auth.mjs';
import { SHARED_SCHEMA } from '../harness/shared-schema.mjs';

const schema = JSON.parse(readFileSync(new URL('../../demo/schema.json', import.meta.url), 'utf8'));
const quiet = { error: () => {}, warn: () => {}, log: () => {} };
const auth = { secret: TEST_SECRET, audience: 'authenticated' };
const POLL = { periodicMs: 60000 };
// Well under the 60 s poll; generous for a loaded machine.
const POKE_WITHIN = { timeoutMs: 5000 };

const clients = [];
after(async () => { for (const c of clients) await c.close().catch(() => {}); });

async function device(url, user, opts = {}) {
  const c = await openClient(url, schema, user, { WebSocket, ...opts, config: { ...POLL, ...opts.config } });
  clients.push(c);
  return c;
}


const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('live pokes through one node host', () => {
  let stack, a, b;
  before(async () => {
    stack = await startStack(schema);
    a = await device(stack.url, 'alice');
    b = await device(stack.url, 'alice');
    await Promise.all([a.sync.syncNow(), b.sync.syncNow()]);
    await waitFor(() => a.sync.status.live && b.sync.status.live, { what: 'both devices live' });
  }, { timeout: 60000 });
  after(() => stack?.stop(), { timeout: 30000 });

  test('a write by device A reaches device B through a poke, long before the poll', async () => {
    assert.equal(b.sync.status.live, true);
    const t0 = Date.now();
    a.db.exec(`INSERT INTO projects (id, ownerId, name) VALUES ('p1', 'alice', 'Live')`);
    await a.sync.syncNow();
    await waitFor(() => b.rows(`SELECT name FROM projects WHERE id = 'p1'`).length, { ...POKE_WITHIN, what: 'the poke' });
    assert.ok(Date.now() - t0 < 5000);
    assert.equal(await b.sync.pendingCount(), 0);
  });

  test('a direct UPDATE in PostgreSQL pokes', async () => {
    await stack.sql`update projects set name = 'Fixed in psql' where id = 'p1'`;
    await waitFor(() => b.rows(`SELECT name FROM projects WHERE id = 'p1'`)[0]?.name === 'Fixed in psql',
      { ...POKE_WITHIN, what: 'the direct update' });
    await waitFor(() => a.rows(`SELECT name FROM projects WHERE id = 'p1'`)[0]?.name === 'Fixed in psql',
      { ...POKE_WITHIN, what: 'the direct update on A' });
  });

  test('a direct DELETE (a tombstone) pokes', async () => {
    await stack.sql`insert into projects (id, owner_id, name) values ('p-del', 'alice', 'Doomed')`;
    await waitFor(() => b.rows(`SELECT 1 FROM projects WHERE id = 'p-del'`).length, { ...POKE_WITHIN, what: 'insert' });
    await stack.sql`delete from projects where id = 'p-del'`;
    await waitFor(() => !b.rows(`SELECT 1 FROM projects WHERE id = 'p-del'`).length, { ...POKE_WITHIN, what: 'delete' });
  });

  test('only the affected users are poked; a rolled-back write pokes nobody', async () => {
    const alice = await ready(stack.url, 'alice');
    const bob = await ready(stack.url, 'bob');
    await stack.sql.begin(async (tx) => {
      await tx`update projects set name = 'Never' where id = 'p1'`;
      await tx`select pg_sleep(0.05)`;
      throw new Error('rollback');
    }).catch((e) => { if (e.message !== 'rollback') throw e; });
    await sleep(500);
    assert.equal(pokes(alice), 0, 'no poke for a rolled-back write');
    // The control: the same write committed pokes alice, not bob.
    await stack.sql`update projects set name = 'Committed' where id = 'p1'`;
    await waitFor(() => pokes(alice) === 1, { ...POKE_WITHIN, what: 'a poke after commit' });
    await sleep(200);
    assert.equal(pokes(bob), 0);
    alice.ws.close();
    bob.ws.close();
  });

  test('one statement touching many users names them all; an oversize list becomes "all"', async () => {
    const bob = await ready(stack.url, 'bob');
    const users = Array.from({ length: 800 }, (_, i) => `user-with-a-longish-id-${i}`);
    await stack.sql`insert into projects ${stack.sql(users.map((u, i) => ({ id: `bulk-${i}`, owner_id: u, name: 'x' })))}`;
    // 800 ids of ~27 bytes exceed the payload limit: every connection is poked.
    await waitFor(() => pokes(bob) === 1, { ...POKE_WITHIN, what: 'the "all" poke' });
    await stack.sql`update projects set name = 'y' where id in ('bulk-1', 'bulk-2')`;
    await sleep(300);
    assert.equal(pokes(bob), 1, 'two named users: bob is not poked');
    bob.ws.close();
  });

  test('a device stopped while its live socket is still connecting closes it quietly', async () => {
    // node's `ws` fails a socket closed before it opened with an error event;
    // with no listener that was an uncaught exception in the app.
    class Watched extends WebSocket {
      constructor(...args) { super(...args); Watched.created?.(this); }
    }
    const c = await openClient(stack.url, schema, 'alice', { WebSocket: Watched, config: POLL, start: false });
    clients.push(c);
    let stopped = null;
    // Stopped in the same turn as the socket was made: it cannot be open yet.
    Watched.created = (ws) => queueMicrotask(() => {
      assert.equal(ws.readyState, WebSocket.CONNECTING);
      stopped ??= c.sync.stop();
    });
    await c.sync.start();
    await waitFor(() => stopped !== null, { what: 'the live socket' });
    await stopped;
    await sleep(300); // an uncaught error event fails this file here
  });

  test('ping is answered pong; unknown messages are ignored', async () => {
    const c = await ready(stack.url, 'alice');
    c.ws.send('{"type":"something-new"}');
    c.ws.send('ping');
    await waitFor(() => c.messages.includes('pong'), { what: 'pong' });
    c.ws.close();
    const { code } = await c.closed;
    assert.equal(code, 1005);
  });
});

describe('live pokes across two node hosts on one PostgreSQL', () => {
  let stack, host2, a, b;
  before(async () => {
    stack = await startStack(schema);
    host2 = await startServer({ databaseUrl: stack.pg.url, port: 0, poolSize: 2, schema, logger: quiet, auth });
    a = await device(stack.url, 'carol');
    b = await device(host2.url, 'carol');
    await Promise.all([a.sync.syncNow(), b.sync.syncNow()]);
    await waitFor(() => a.sync.status.live && b.sync.status.live, { what: 'both devices live' });
  }, { timeout: 60000 });
  after(async () => { await host2?.close(); await stack?.stop(); }, { timeout: 30000 });

  test('a device on host 2 is poked by a write through host 1', async () => {
    a.db.exec(`INSERT INTO projects (id, ownerId, name) VALUES ('c1', 'carol', 'Across hosts')`);
    await a.sync.syncNow();
    await waitFor(() => b.rows(`SELECT 1 FROM projects WHERE id = 'c1'`).length, { ...POKE_WITHIN, what: 'the poke on host 2' });
  });

  test('a lost LISTEN connection is re-established, and everyone is poked after it', async () => {
    const raw = await ready(host2.url, 'carol');
    await stack.sql`select pg_terminate_backend(pid) from pg_stat_activity
      where query ilike 'listen%' and pid <> pg_backend_pid()`;
    // Both hosts reconnect and poke every connection (notifications may have been lost).
    await waitFor(() => pokes(raw) >= 1, { timeoutMs: 15000, what: 'the poke after reconnecting' });
    await stack.sql`update projects set name = 'After reconnect' where id = 'c1'`;
    await waitFor(() => b.rows(`SELECT name FROM projects WHERE id = 'c1'`)[0]?.name === 'After reconnect',
      { ...POKE_WITHIN, what: 'a poke after the reconnect' });
    raw.ws.close();
  });
});

describe('the live endpoint\'s authentication', () => {
  let stack, srv;
  before(async () => {
    stack = await startStack(schema);
    srv = await startServer({
      databaseUrl: stack.pg.url, port: 0, poolSize: 2, schema, logger: quiet, auth, applyDdl: false,
      live: { authTimeoutMs: 300 },
    });
  }, { timeout: 60000 });
  after(async () => { await srv?.close(); await stack?.stop(); }, { timeout: 30000 });

  test('a bad token is closed with 4401 and a JSON reason', async () => {
    const c = connect(srv.url);
    await c.opened;
    c.ws.send(JSON.stringify({ type: 'auth', token: 'not.a.jwt' }));
    const { code, reason } = await c.closed;
    assert.equal(code, 4401);
    assert.equal(JSON.parse(reason).code, 'unauthorized');
    assert.equal(c.messages.length, 0);
  });

  test('a token signed with another secret is refused too', async () => {
    const c = connect(srv.url);
    await c.opened;
    const token = await signDevToken('x'.repeat(40), { sub: 'alice', audience: 'authenticated' });
    c.ws.send(JSON.stringify({ type: 'auth', token }));
    assert.equal((await c.closed).code, 4401);
  });

  test('no auth message in time: 4400', async () => {
    const c = connect(srv.url);
    await c.opened;
    const { code, reason } = await c.closed;
    assert.equal(code, 4400);
    assert.equal(JSON.parse(reason).code, 'auth_timeout');
  });

  test('a first message that is not auth: 4400', async () => {
    const c = connect(srv.url);
    await c.opened;
    c.ws.send('{"type":"hello"}');
    assert.equal((await c.closed).code, 4400);
  });

  test('a message over 4 KB closes the connection (1009)', async () => {
    const c = connect(srv.url);
    await c.opened;
    c.ws.send('x'.repeat(5000));
    assert.equal((await c.closed).code, 1009);
  });

  test('ready carries the user and expiry; at exp the server closes with 4001', async () => {
    const c = connect(srv.url);
    await c.opened;
    const token = await signDevToken(TEST_SECRET, { sub: 'dave', ttlSec: 2, audience: 'authenticated' });
    c.ws.send(JSON.stringify({ type: 'auth', token }));
    await waitFor(() => c.messages.length, { what: 'ready' });
    const msg = JSON.parse(c.messages[0]);
    assert.equal(msg.type, 'ready');
    assert.equal(msg.user, 'dave');
    assert.equal(typeof msg.expiresAt, 'number');
    const { code, reason } = await c.closed;
    assert.equal(code, 4001);
    assert.equal(JSON.parse(reason).code, 'token_expired');
    assert.ok(Date.now() >= msg.expiresAt - 50);
  });

  test('the client reconnects with a fresh token after 4001 and keeps getting pokes', async () => {
    const asked = [];
    const c = await device(srv.url, 'erin', {
      getToken: ({ refresh }) => {
        asked.push(refresh);
        return signDevToken(TEST_SECRET, { sub: 'erin', ttlSec: refresh ? 600 : 2, audience: 'authenticated' });
      },
    });
    await waitFor(() => c.sync.status.live, { what: 'live' });
    await waitFor(() => c.events.status.some((s) => !s.live) && asked.includes(true) && c.sync.status.live,
      { timeoutMs: 10000, what: 'expiry, then a reconnect with a fresh token' });
    await stack.sql`insert into projects (id, owner_id, name) values ('e1', 'erin', 'After expiry')`;
    await waitFor(() => c.rows(`SELECT 1 FROM projects WHERE id = 'e1'`).length, { ...POKE_WITHIN, what: 'the poke' });
  });

  test('the connection cap refuses more connections (4503)', async () => {
    const capped = await startServer({
      databaseUrl: stack.pg.url, port: 0, poolSize: 1, schema, logger: quiet, auth, applyDdl: false,
      live: { maxConnections: 1 },
    });
    try {
      const first = await ready(capped.url, 'alice');
      const second = connect(capped.url);
      assert.equal((await second.closed).code, 4503);
      assert.deepEqual(capped.live.hub.stats().connections, 1);
      first.ws.close();
    } finally {
      await capped.close();
    }
  });
});

describe('without /live the client polls', () => {
  let stack, srv, a, b;
  before(async () => {
    stack = await startStack(schema);
    srv = await startServer({
      databaseUrl: stack.pg.url, port: 0, poolSize: 2, schema, logger: quiet, auth, applyDdl: false, live: false,
    });
    a = await device(srv.url, 'frank', { config: { periodicMs: 300 } });
    b = await device(srv.url, 'frank', { config: { periodicMs: 300 } });
  }, { timeout: 60000 });
  after(async () => { await srv?.close(); await stack?.stop(); }, { timeout: 30000 });

  test('the upgrade fails, status.live stays false, and periodic sync carries the change', async () => {
    const c = connect(srv.url);
    await assert.rejects(c.opened);
    a.db.exec(`INSERT INTO projects (id, ownerId, name) VALUES ('f1', 'frank', 'Polled')`);
    await a.sync.syncNow();
    await waitFor(() => b.rows(`SELECT 1 FROM projects WHERE id = 'f1'`).length, { what: 'the polled change' });
    assert.equal(b.sync.status.live, false);
    assert.equal(a.sync.status.live, false);
    assert.ok(b.events.status.every((s) => s.live === false));
    assert.equal(b.sync.status.lastError, null);
  });
});

describe('embedded PGlite (npm start): the pool\'s single session listens', () => {
  let db, socket, srv, a, b;
  before(async () => {
    const [{ PGlite }, { PGLiteSocketServer }, { freePort }] = await Promise.all([
      import('@electric-sql/pglite'), import('@electric-sql/pglite-socket'), import('../harness/postgres.mjs')]);
    db = await PGlite.create();
    const port = await freePort();
    socket = new PGLiteSocketServer({ db, port, host: '127.0.0.1', maxConnections: 1 });
    await socket.start();
    srv = await startServer({
      databaseUrl: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`, port: 0, poolSize: 1, schema,
      logger: quiet, auth, live: { listen: 'pool' },
    });
    a = await device(srv.url, 'gina');
    b = await device(srv.url, 'gina');
    await waitFor(() => a.sync.status.live && b.sync.status.live, { what: 'both devices live' });
  }, { timeout: 60000 });
  after(async () => {
    await a?.close();
    await b?.close();
    await srv?.close();
    await socket?.stop();
    await db?.close();
  }, { timeout: 30000 });

  test('a write by one device pokes the other', async () => {
    a.db.exec(`INSERT INTO projects (id, ownerId, name) VALUES ('g1', 'gina', 'On PGlite')`);
    await a.sync.syncNow();
    await waitFor(() => b.rows(`SELECT 1 FROM projects WHERE id = 'g1'`).length, { ...POKE_WITHIN, what: 'the poke' });
  });
});

describe('live pokes in a shared scope', () => {
  let stack;
  before(async () => { stack = await startStack(SHARED_SCHEMA); }, { timeout: 60000 });
  after(() => stack?.stop(), { timeout: 30000 });
  const member = async (user) => {
    const c = await openClient(stack.url, SHARED_SCHEMA, user, { WebSocket, config: POLL });
    clients.push(c);
    await c.sync.syncNow();
    await waitFor(() => c.sync.status.live, { what: `${user} live` });
    return c;
  };

  test('a write in a project pokes its other members; a removed member is poked and drops it', async () => {
    const alice = await member('alice');
    const bob = await member('bob');
    const carol = await ready(stack.url, 'carol');
    alice.db.exec(`INSERT INTO projects (id, ownerId, name) VALUES ('p1', 'alice', 'Shared')`);
    alice.db.exec(`INSERT INTO projectMembers (projectId, userId, role, addedBy) VALUES ('p1', 'bob', 'write', 'alice')`);
    await alice.sync.syncNow();
    await waitFor(() => bob.rows(`SELECT name FROM projects WHERE id = 'p1'`).length, { ...POKE_WITHIN, what: 'bob poked on joining' });
    bob.db.exec(`INSERT INTO nodes (id, projectId, ownerId, label) VALUES ('n1', 'p1', 'bob', 'from bob')`);
    await bob.sync.syncNow();
    await waitFor(() => alice.rows(`SELECT label FROM nodes WHERE id = 'n1'`).length, { ...POKE_WITHIN, what: 'alice poked by a member\'s write' });
    alice.db.exec(`DELETE FROM projectMembers WHERE projectId = 'p1' AND userId = 'bob'`);
    await alice.sync.syncNow();
    await waitFor(() => bob.rows('SELECT id FROM projects').length === 0, { ...POKE_WITHIN, what: 'bob poked on removal' });
    assert.deepEqual(bob.rows('SELECT id FROM nodes'), []);
    assert.equal(pokes(carol), 0, 'a non-member is never poked');
    carol.ws.close();
  });
});
