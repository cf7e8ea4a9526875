// The worker in workerd (`wrangler dev`, offline) with its Hyperdrive binding
// pointed at PostgreSQL 15: the same handler as node, the WASM core as a
// compiled module, jose and postgres.js inside workerd.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import postgres from 'postgres';
import { startPostgres } from '../harness/postgres.mjs';
import { startWranglerDev } from '../harness/wrangler.mjs';
import {
  TEST_SECRET, token, postSync, assertError, serverCoreAvailable, pushPullRoundTrip, streamedPull,
} from '../harness/sync-http.mjs';

const hasServerCore = await serverCoreAvailable();

describe('wrangler dev (workerd + Hyperdrive binding)', { skip: !hasServerCore && 'the server core is not in the WASM build yet' }, () => {
  let pg, sql, worker;
  before(async () => {
    pg = await startPostgres();
    // A superuser connection (connection limits do not apply to it).
    sql = postgres(pg.url.replace('edgesync:edgesync@', 'postgres:edgesync@'), { max: 1, onnotice: () => {} });
    worker = await startWranglerDev({
      databaseUrl: pg.url,
      vars: { EDGESYNC_JWT_SECRET: TEST_SECRET, EDGESYNC_MAX_BODY_BYTES: String(64 * 1024) },
    });
  }, { timeout: 60000 });
  after(async () => {
    await worker?.stop();
    await sql?.end();
    await pg?.stop();
  }, { timeout: 30000 });

  test('healthz', async () => {
    const r = await fetch(`${worker.url}/healthz`);
    assert.equal(r.status, 200, worker.log());
    assert.deepEqual(await r.json(), { ok: true, protocol: 1, schemaVersion: 1 });
  });

  test('the schema was applied through the binding', async () => {
    const tables = await sql`select table_name from information_schema.tables where table_schema = 'public' order by 1`;
    const names = tables.map((t) => t.table_name);
    for (const t of ['edgesync_clients', 'projects', 'workflow_nodes', 'workflow_edges']) assert.ok(names.includes(t), t);
  });

  test('push and pull round trip', async () => {
    await pushPullRoundTrip(worker.url, { tag: 'workerd' });
    const [p] = await sql`select name, owner_id from projects where id = 'p-workerd'`;
    assert.deepEqual({ ...p }, { name: 'Alpha', owner_id: 'alice-workerd' });
  });

  test('a streamed pull: one NDJSON frame per page', async () => {
    try {
      await streamedPull(worker.url, sql, 'wd');
    } catch (e) {
      e.message += `\n${worker.log().slice(-2000)}`;
      throw e;
    }
  });

  test('401 without a token or with an expired one, nothing written', async () => {
    const body = { protocol: 1, clientId: 'c_wd_mallory_01', schemaVersion: 1,
      batch: { seq: 1, changes: [{ id: 1, table: 'projects', op: 'upsert', row: { id: 'evil-wd', name: 'x', updatedAt: null },
        hlc: '001763798400000:00000:c_wd_mallory_01', baseVersion: null }] } };
    const r = await postSync(worker.url, null, body);
    assertError(r, 401, 'unauthorized');
    assert.match(r.headers.get('www-authenticate'), /^Bearer/);
    assertError(await postSync(worker.url, await token('mallory', { exp: Math.floor(Date.now() / 1000) - 60 }), body), 401, 'unauthorized');
    assertError(await postSync(worker.url, await token('mallory', { role: 'service_role' }), body), 401, 'unauthorized');
    assert.equal((await sql`select count(*)::int as n from projects where id = 'evil-wd'`)[0].n, 0);
  });

  test('400 invalid_json, 404, 405, 413', async () => {
    assertError(await postSync(worker.url, await token('alice'), '{"protocol":'), 400, 'invalid_json');
    let r = await fetch(`${worker.url}/nope`);
    assert.equal(r.status, 404);
    assert.equal((await r.json()).error.code, 'not_found');
    r = await fetch(`${worker.url}/sync`);
    assert.equal(r.status, 405);
    assert.equal((await r.json()).error.code, 'method_not_allowed');
    assertError(await postSync(worker.url, await token('alice'), 'x'.repeat(65 * 1024)), 413, 'payload_too_large');
  });

  test('CORS preflight', async () => {
    const r = await fetch(`${worker.url}/sync`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type' },
    });
    assert.equal(r.status, 204);
    assert.equal(r.headers.get('access-control-allow-origin'), '*');
    assert.match(r.headers.get('access-control-allow-headers'), /Authorization/i);
  });

  // A database that asks to retry (here: lock_timeout, SQLSTATE 55P03) rolls
  // the transaction back and answers 503. (Stopping PostgreSQL outright would
  // kill `wrangler dev` 4.86 itself: its local Hyperdrive proxy dies on the
  // socket error.)
  test('a transient database error mid-transaction: 503 unavailable, nothing written, then it works again', async () => {
    await sql`alter role edgesync set lock_timeout = '300ms'`;
    const clients = async () => (await sql`select count(*)::int as n from edgesync_clients`)[0].n;
    const before_ = await clients();
    const body = { protocol: 1, clientId: 'c_wd_locked_001', schemaVersion: 1,
      batch: { seq: 1, changes: [{ id: 1, table: 'projects', op: 'upsert', row: { id: 'p-locked', name: 'L', updatedAt: null },
        hlc: '001763798400000:00000:c_wd_locked_001', baseVersion: null }] } };
    let release;
    const held = new Promise((r) => { release = r; });
    const hold = sql.begin(async (tx) => {
      await tx`lock table edgesync_clients, projects in access exclusive mode`;
      await held;
    });
    try {
      await new Promise((r) => setTimeout(r, 100));
      const r = await postSync(worker.url, await token('alice'), body);
      assertError(r, 503, 'unavailable');
      assert.equal(r.headers.get('retry-after'), '1');
      assert.doesNotMatch(r.body.error.message, /lock|edgesync_clients|select|insert/i);
    } finally {
      release();
      await hold;
      await sql`alter role edgesync reset lock_timeout`;
    }
    assert.equal(await clients(), before_);
    const ok = await postSync(worker.url, await token('alice'), body);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.results[0].status, 'applied');
  });

  test('no workerd warnings about sharing I/O between requests', () => {
    assert.doesNotMatch(worker.log(), /Cannot perform I\/O on behalf of a different request|different request context/i);
  });
});
