// Live pokes on workerd (docs/protocol.md, "Live pokes"): `wrangler dev`
// runs the worker and its hub Durable Object (hibernatable WebSockets)
// locally, PostgreSQL 15 behind the Hyperdrive binding. There is no LISTEN
// on workerd: the worker pokes the hub after its own commits. Devices poll
// only every 60 s, so only a poke explains a change arriving within seconds.
// One wrangler instance for the whole file (its startup is slow).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { startPostgres } from '../harness/postgres.mjs';
import { startWranglerDev } from '../harness/wrangler.mjs';
import { openClient, waitFor, TEST_SECRET } from '../harness/client.mjs';
import { connect, ready, pokes } from '../harness/live.mjs';
import { token, postSync, hlc, serverCoreAvailable } from '../harness/sync-http.mjs';
import { pokePayload } from '../../hosts/server/handler.mjs';

const hasServerCore = await serverCoreAvailable();
const schema = JSON.parse(readFileSync(new URL('../../demo/schema.json', import.meta.url), 'utf8'));
const POKE_WITHIN = { timeoutMs: 3000 };
const AUTH_TIMEOUT_MS = 1000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));


test('the poke payload of a commit: the core\'s meta.poke decides', () => {
  const enc = (o) => new TextEncoder().encode(JSON.stringify(o));
  const body = (ack) => enc({ protocol: 1, serverTime: 1, ack, results: [], changes: [], cursor: '0:0', hasMore: false });
  const done = (meta, seg) => ({ meta: { done: true, status: 200, rollback: false, ...meta }, segments: [seg] });
  const fresh = body({ seq: 3, duplicate: false });
  // The core's field decides: it names the users whose rows the transaction
  // wrote (members of shared scopes included), and is absent when nothing was.
  assert.equal(pokePayload(done({}, fresh)), null);
  assert.equal(pokePayload(done({ poke: { u: ['alice', 'bob'] } }, fresh)), '{"u":["alice","bob"]}');
  assert.equal(pokePayload(done({ poke: '{"all":true}' }, body(null))), '{"all":true}');
  assert.equal(pokePayload(done({ status: 409, poke: { u: ['alice'] } }, fresh)), null);
  assert.equal(pokePayload(done({ poke: null }, fresh)), null);
});

describe('live pokes through wrangler dev (Durable Object hub)', { skip: !hasServerCore && 'the server core is not in the WASM build yet' }, () => {
  let pg, worker;
  const clients = [];
  const device = async (user) => {
    const c = await openClient(worker.url, schema, user, { WebSocket, config: { periodicMs: 60000 } });
    clients.push(c);
    return c;
  };
  before(async () => {
    pg = await startPostgres();
    worker = await startWranglerDev({
      databaseUrl: pg.url,
      vars: { EDGESYNC_JWT_SECRET: TEST_SECRET, EDGESYNC_LIVE_AUTH_TIMEOUT_MS: String(AUTH_TIMEOUT_MS) },
    });
  }, { timeout: 60000 });
  after(async () => {
    for (const c of clients) await c.close().catch(() => {});
    await worker?.stop();
    await pg?.stop();
  }, { timeout: 30000 });

  test('a write by device A reaches device B through a poke, long before the poll', async () => {
    const a = await device('alice');
    const b = await device('alice');
    await waitFor(() => a.sync.status.live && b.sync.status.live, { what: 'both devices live', timeoutMs: 15000 });
    const t0 = Date.now();
    a.db.exec(`INSERT INTO projects (id, ownerId, name) VALUES ('wl1', 'alice', 'Live on workerd')`);
    await a.sync.syncNow();
    await waitFor(() => b.rows(`SELECT name FROM projects WHERE id = 'wl1'`).length, { ...POKE_WITHIN, what: 'the poke' });
    assert.ok(Date.now() - t0 < POKE_WITHIN.timeoutMs, `${Date.now() - t0} ms`);
    // And back: B's edit reaches A.
    b.db.exec(`UPDATE projects SET name = 'Edited on B' WHERE id = 'wl1'`);
    await b.sync.syncNow();
    await waitFor(() => a.rows(`SELECT name FROM projects WHERE id = 'wl1'`)[0]?.name === 'Edited on B',
      { ...POKE_WITHIN, what: 'the poke back' });
  });

  test('only the writer\'s user is poked, once per committed batch; pulls and retried batches poke nobody', async () => {
    const alice = await ready(worker.url, 'alice');
    const bob = await ready(worker.url, 'bob');
    const tok = await token('alice');
    const cid = 'c_wl_raw_alice_1';
    const body = { protocol: 1, clientId: cid, schemaVersion: 1,
      batch: { seq: 1, changes: [{ id: 1, table: 'projects', op: 'upsert', row: { id: 'wl-raw', name: 'Raw', updatedAt: null },
        hlc: hlc(cid), baseVersion: null }] } };
    const r = await postSync(worker.url, tok, body);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await waitFor(() => pokes(alice) === 1, { ...POKE_WITHIN, what: 'alice\'s poke' });
    // The same batch again (a duplicate) and a pull-only request write nothing.
    assert.equal((await postSync(worker.url, tok, body)).body.ack.duplicate, true);
    assert.equal((await postSync(worker.url, tok, { protocol: 1, clientId: cid, schemaVersion: 1 })).status, 200);
    await sleep(500);
    assert.equal(pokes(alice), 1, 'no poke without a write');
    assert.equal(pokes(bob), 0, 'bob owns nothing that changed');
    alice.ws.close();
    bob.ws.close();
  });

  test('ping is answered pong (the hub\'s auto-response); unknown messages are ignored', async () => {
    const c = await ready(worker.url, 'alice');
    c.ws.send('{"type":"something-new"}');
    c.ws.send('ping');
    await waitFor(() => c.messages.includes('pong'), { what: 'pong' });
    c.ws.close(1000);
    assert.equal((await c.closed).code, 1000);
  });

  test('GET /live without an upgrade: 426', async () => {
    const r = await fetch(`${worker.url}/live`);
    assert.equal(r.status, 426);
    await r.arrayBuffer();
  });

  test('a bad token: 4401 with a JSON reason', async () => {
    const c = connect(worker.url);
    await c.opened;
    c.ws.send(JSON.stringify({ type: 'auth', token: 'not.a.jwt' }));
    const { code, reason } = await c.closed;
    assert.equal(code, 4401);
    assert.equal(JSON.parse(reason).code, 'unauthorized');
    assert.equal(c.messages.length, 0);
    // Signed with another secret, or a privileged role: refused like on /sync.
    for (const tok of [await token('alice', {}, 'y'.repeat(40)), await token('alice', { role: 'service_role' })]) {
      const d = connect(worker.url);
      await d.opened;
      d.ws.send(JSON.stringify({ type: 'auth', token: tok }));
      assert.equal((await d.closed).code, 4401);
    }
  });

  test('no auth: 4400 (a first message that is not auth, or none in time: the hub\'s alarm)', async () => {
    const c = connect(worker.url);
    await c.opened;
    c.ws.send('{"type":"hello"}');
    let closed = await c.closed;
    assert.equal(closed.code, 4400);
    assert.equal(JSON.parse(closed.reason).code, 'auth_required');

    // A ping in the meantime is answered but is no auth. (It also makes
    // wrangler dev's local proxy pass the close on at once: on a socket the
    // client never wrote to, it holds the TCP close back ~10 s.)
    const d = connect(worker.url);
    await d.opened;
    const t0 = Date.now();
    d.ws.send('ping');
    closed = await d.closed;
    assert.deepEqual(d.messages, ['pong']);
    assert.equal(closed.code, 4400);
    assert.equal(JSON.parse(closed.reason).code, 'auth_timeout');
    assert.ok(Date.now() - t0 >= AUTH_TIMEOUT_MS - 100, `${Date.now() - t0} ms`);
  });

  test('a message over 4 KB: 1009', async () => {
    const c = connect(worker.url);
    await c.opened;
    c.ws.send('x'.repeat(5000));
    assert.equal((await c.closed).code, 1009);
  });

  test('expired tokens: 4001 at auth time, and at exp on a ready connection (the hub\'s alarm)', async () => {
    // Inside the verifier's 5 s clock tolerance: accepted by jose, but past exp.
    const c = connect(worker.url);
    await c.opened;
    c.ws.send(JSON.stringify({ type: 'auth', token: await token('dave', { exp: Math.floor(Date.now() / 1000) - 2 }) }));
    assert.equal((await c.closed).code, 4001);

    const d = connect(worker.url);
    await d.opened;
    d.ws.send(JSON.stringify({ type: 'auth', token: await token('dave', { exp: Math.floor(Date.now() / 1000) + 2 }) }));
    await waitFor(() => d.messages.length, { what: 'ready' });
    const msg = JSON.parse(d.messages[0]);
    assert.deepEqual({ type: msg.type, user: msg.user }, { type: 'ready', user: 'dave' });
    assert.equal(typeof msg.expiresAt, 'number');
    // A connection with a later expiry stays open meanwhile (one alarm, the earliest deadline).
    const later = await ready(worker.url, 'erin');
    const { code, reason } = await d.closed;
    assert.equal(code, 4001);
    assert.equal(JSON.parse(reason).code, 'token_expired');
    assert.ok(Date.now() >= msg.expiresAt - 50);
    await sleep(200);
    assert.equal(later.ws.readyState, WebSocket.OPEN);
    later.ws.close();
  });

  test('after the hub hibernated, a commit still pokes (the index is rebuilt from the attachments)', async () => {
    const alice = await ready(worker.url, 'alice');
    // workerd lets an idle Durable Object hibernate after ~10 s; the ping
    // (auto-answered) does not wake it.
    await sleep(11_000);
    alice.ws.send('ping');
    await waitFor(() => alice.messages.includes('pong'), { what: 'pong while hibernated' });
    const cid = 'c_wl_hibernate_1';
    const r = await postSync(worker.url, await token('alice'), { protocol: 1, clientId: cid, schemaVersion: 1,
      batch: { seq: 1, changes: [{ id: 1, table: 'projects', op: 'upsert', row: { id: 'wl-hib', name: 'H', updatedAt: null },
        hlc: hlc(cid), baseVersion: null }] } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await waitFor(() => pokes(alice) === 1, { ...POKE_WITHIN, what: 'the poke after hibernation' });
    alice.ws.close();
  });

  test('no workerd errors in the log', () => {
    assert.doesNotMatch(worker.log(), /Cannot perform I\/O on behalf of a different request|different request context|cannot poke the live hub|Uncaught/i);
  });
});
