// The node host over real HTTP against PostgreSQL 15: routing, auth, limits,
// CORS, the host's transaction loop (with a scripted core) and — with the real
// server core — a push/pull round trip.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { startPostgres, freePort } from '../harness/postgres.mjs';
import { scriptedCore } from '../harness/scripted-core.mjs';
import {
  TEST_SECRET, token, postSync, assertError, serverCoreAvailable, pushPullRoundTrip,
} from '../harness/sync-http.mjs';
import { startServer } from '../../hosts/node/server.mjs';

const schema = JSON.parse(readFileSync(new URL('../../demo/schema.json', import.meta.url), 'utf8'));
const auth = { secret: TEST_SECRET, audience: 'authenticated', issuer: 'https://auth.test' };
const quiet = { error: () => {}, warn: () => {}, log: () => {} };
const hasServerCore = await serverCoreAvailable();

let pg, sql;
before(async () => {
  pg = await startPostgres();
  sql = postgres(pg.url, { max: 2, onnotice: () => {} });
}, { timeout: 60000 });
after(async () => {
  await sql?.end();
  await pg?.stop();
}, { timeout: 30000 });

const tok = (sub, over) => token(sub, { iss: 'https://auth.test', ...over });

describe('the HTTP shell and the transaction loop (scripted core)', () => {
  let srv, core;
  const logged = [];
  before(async () => {
    core = scriptedCore();
    srv = await startServer({
      databaseUrl: pg.url, port: 0, poolSize: 3, auth, schema, core,
      limits: { maxBodyBytes: 64 * 1024 }, corsOrigin: ['https://app.example'],
      logger: { error: (...a) => logged.push(a.join(' ')) },
    });
  }, { timeout: 60000 });
  after(() => srv?.close(), { timeout: 30000 });
  const rows = async () => (await sql`select k, v, owner from scripted_kv order by k`).map((r) => ({ ...r }));

  test('healthz', async () => {
    const r = await fetch(`${srv.url}/healthz`);
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { ok: true, protocol: 1, schemaVersion: 1 });
  });

  test('a push commits: statements run in order, segments reach SQL as text, the owner is the token subject', async () => {
    const r = await postSync(srv.url, await tok('alice'), { put: [['a', '1'], ['b', '2'], ['a', '3']] });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body, { protocol: 1, user: 'alice', results: [{ k: 'a', v: '1' }, { k: 'b', v: '2' }, { k: 'a', v: '3' }] });
    assert.equal(r.headers.get('content-type'), 'application/json');
    assert.deepEqual(await rows(), [{ k: 'a', v: '3', owner: 'alice' }, { k: 'b', v: '2', owner: 'alice' }]);
  });

  test('an answer with meta.rollback (the core wrote nothing) keeps the core\'s status and body', async () => {
    const r = await postSync(srv.url, await tok('alice'), { put: [['c', '1']], then: 'rollback' });
    assert.equal(r.status, 409);
    assert.deepEqual(r.body.results, [{ k: 'c', v: '1' }]);
    assert.equal((await rows()).length, 2);
  });

  test('a failing statement rolls back, aborts the core state and answers 500 without leaking SQL', async () => {
    const before_ = core.calls.filter((c) => c === 'server.abort').length;
    const r = await postSync(srv.url, await tok('alice'), { put: [['d', '1']], then: 'bad_sql' });
    assertError(r, 500, 'internal');
    assert.doesNotMatch(r.body.error.message, /no_such_function|select|scripted_kv/i);
    assert.equal((await rows()).length, 2, 'the failing statement\'s own insert was not kept');
    assert.equal(core.calls.filter((c) => c === 'server.abort').length, before_ + 1);
    assert.equal(core.states.size, 0);
    assert.ok(logged.some((l) => /no_such_function/.test(l)), 'the cause is logged server-side');
  });

  test('validation errors answered by the core (done at begin) touch no database', async () => {
    const r = await postSync(srv.url, await tok('alice'), '{"put": [');
    assertError(r, 400, 'invalid_json');
  });

  describe('401 unauthorized, with WWW-Authenticate, and nothing written', () => {
    const cases = {
      'no token': async () => null,
      'expired token': () => tok('mallory', { exp: Math.floor(Date.now() / 1000) - 60 }),
      'wrong audience': () => tok('mallory', { aud: 'other-app' }),
      'another issuer': () => tok('mallory', { iss: 'https://evil.test' }),
      'signed with another secret': () => token('mallory', { iss: 'https://auth.test' }, 'another-secret-0123456789abcdef-0123'),
      'anon key': () => tok('mallory', { role: 'anon' }),
    };
    for (const [name, make] of Object.entries(cases)) {
      test(name, async () => {
        const r = await postSync(srv.url, await make(), { put: [['m', 'x']] });
        assertError(r, 401, 'unauthorized');
        assert.match(r.headers.get('www-authenticate'), /^Bearer/);
        assert.equal((await rows()).filter((x) => x.owner === 'mallory').length, 0);
      });
    }
    test('a malformed Authorization header', async () => {
      const r = await postSync(srv.url, null, { put: [] }, { authorization: 'Token abc' });
      assertError(r, 401, 'unauthorized');
      assert.match(r.body.error.message, /Bearer/);
    });
  });

  test('404 for an unknown path', async () => {
    const r = await fetch(`${srv.url}/nope`);
    assert.equal(r.status, 404);
    assert.equal((await r.json()).error.code, 'not_found');
  });

  test('405 for the wrong method, with Allow', async () => {
    let r = await fetch(`${srv.url}/sync`);
    assert.equal(r.status, 405);
    assert.equal((await r.json()).error.code, 'method_not_allowed');
    assert.match(r.headers.get('allow'), /POST/);
    r = await fetch(`${srv.url}/healthz`, { method: 'DELETE' });
    assert.equal(r.status, 405);
    assert.equal((await r.json()).error.code, 'method_not_allowed');
  });

  test('413 when Content-Length is over maxBodyBytes (checked before the body is read)', async () => {
    const big = JSON.stringify({ put: [['big', 'x'.repeat(100 * 1024)]] });
    const r = await postSync(srv.url, await tok('alice'), big);
    assertError(r, 413, 'payload_too_large');
    assert.equal((await rows()).filter((x) => x.k === 'big').length, 0);
  });

  test('413 for a streamed (chunked) body that grows past the limit', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(16 * 1024));
    let sent = 0;
    const body = new ReadableStream({
      pull(c) { if (sent++ < 8) c.enqueue(chunk); else c.close(); },
    });
    const res = await fetch(`${srv.url}/sync`, {
      method: 'POST', body, duplex: 'half', headers: { authorization: `Bearer ${await tok('alice')}` },
    });
    assert.equal(res.status, 413);
    assert.equal((await res.json()).error.code, 'payload_too_large');
    // The connection survives: the next request on the pool works.
    assert.equal((await fetch(`${srv.url}/healthz`)).status, 200);
  });

  test('a body just under the limit is accepted', async () => {
    const r = await postSync(srv.url, await tok('alice'), { put: [['edge', 'y'.repeat(60 * 1024)]] });
    assert.equal(r.status, 200);
  });

  test('CORS: preflight and allowed origin', async () => {
    const pre = await fetch(`${srv.url}/sync`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type' },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), 'https://app.example');
    assert.match(pre.headers.get('access-control-allow-methods'), /POST/);
    assert.match(pre.headers.get('access-control-allow-headers'), /Authorization/i);
    assert.match(pre.headers.get('access-control-allow-headers'), /Content-Type/i);
    const denied = await fetch(`${srv.url}/healthz`, { headers: { origin: 'https://evil.example' } });
    assert.equal(denied.headers.get('access-control-allow-origin'), null);
    const err = await postSync(srv.url, null, {}, { origin: 'https://app.example' });
    assert.equal(err.status, 401);
    assert.equal(err.headers.get('access-control-allow-origin'), 'https://app.example', 'errors carry CORS headers too');
    assert.match(err.headers.get('access-control-expose-headers'), /WWW-Authenticate/);
  });

  test('requests in flight finish during a graceful close', async () => {
    const other = await startServer({ databaseUrl: pg.url, port: 0, poolSize: 2, auth, schema, core: scriptedCore(), logger: quiet });
    const slow = postSync(other.url, await tok('alice'), { put: [['slow', '1']], then: 'sleep', sleepMs: 400 });
    await new Promise((r) => setTimeout(r, 150));
    const closed = other.close();
    const r = await slow;
    await closed;
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.results, [{ k: 'slow', v: '1' }, 'slept']);
    await assert.rejects(fetch(`${other.url}/healthz`));
  });
});

describe('static files and the dev token route', () => {
  let srv, dir;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgesync-static-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>demo</title>');
    writeFileSync(join(dir, 'app.mjs'), 'export {};');
    writeFileSync(join(dir, 'core.wasm'), new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
    writeFileSync(join(dir, 'manifest.webmanifest'), '{}');
    srv = await startServer({
      databaseUrl: pg.url, port: 0, poolSize: 1, auth: { secret: TEST_SECRET }, schema, core: scriptedCore(),
      staticDir: dir, devTokenSecret: TEST_SECRET, logger: quiet,
    });
  }, { timeout: 60000 });
  after(async () => {
    await srv?.close();
    rmSync(dir, { recursive: true, force: true });
  }, { timeout: 30000 });

  test('content types', async () => {
    for (const [path, type] of [['/', 'text/html'], ['/app.mjs', 'text/javascript'], ['/core.wasm', 'application/wasm'],
      ['/manifest.webmanifest', 'application/manifest+json']]) {
      const r = await fetch(srv.url + path);
      assert.equal(r.status, 200, path);
      assert.ok(r.headers.get('content-type').startsWith(type), `${path}: ${r.headers.get('content-type')}`);
    }
    const wasm = new Uint8Array(await (await fetch(`${srv.url}/core.wasm`)).arrayBuffer());
    assert.deepEqual([...wasm.subarray(0, 4)], [0, 0x61, 0x73, 0x6d]);
  });
  test('no escape from the static folder', async () => {
    for (const p of ['/../../package.json', '/%2e%2e/%2e%2e/package.json', '/..%2f..%2fpackage.json']) {
      const r = await fetch(srv.url + p);
      assert.equal(r.status, 404, p);
    }
  });
  test('/dev/token signs a token the server accepts', async () => {
    const r = await fetch(`${srv.url}/dev/token?user=alice`);
    assert.equal(r.status, 200);
    const { token: t, userId } = await r.json();
    assert.equal(userId, 'alice');
    const s = await postSync(srv.url, t, { put: [] });
    assert.equal(s.status, 200);
    assert.equal(s.body.user, 'alice');
  });
});

describe('with the real server core', { skip: !hasServerCore && 'the server core (server.open) is not in the WASM build yet' }, () => {
  let srv;
  before(async () => {
    srv = await startServer({ databaseUrl: pg.url, port: 0, poolSize: 4, auth, schema, logger: quiet });
  }, { timeout: 60000 });
  after(() => srv?.close(), { timeout: 30000 });
  const clients = async () => Number((await sql`select count(*)::int as n from edgesync_clients`)[0].n);

  test('healthz reports the schema version', async () => {
    const r = await fetch(`${srv.url}/healthz`);
    assert.deepEqual(await r.json(), { ok: true, protocol: 1, schemaVersion: schema.version });
  });
  test('malformed JSON -> 400 invalid_json', async () => {
    assertError(await postSync(srv.url, await tok('alice'), '{"protocol": 1,'), 400, 'invalid_json');
  });
  test('push and pull round trip', async () => {
    const push = await pushPullRoundTrip(srv.url, { tag: 'http', claims: { iss: 'https://auth.test' } });
    assert.equal(push.body.protocol, 1);
    const [p] = await sql`select name, owner_id from projects where id = 'p-http'`;
    assert.deepEqual({ ...p }, { name: 'Alpha', owner_id: 'alice-http' });
  });
  test('401s write nothing', async () => {
    const n = await clients();
    const body = { protocol: 1, clientId: 'c_mallory_000001', schemaVersion: 1,
      batch: { seq: 1, changes: [{ id: 1, table: 'projects', op: 'upsert', row: { id: 'evil', name: 'x', updatedAt: null },
        hlc: '001763798400000:00000:c_mallory_000001', baseVersion: null }] } };
    for (const t of [null, await tok('mallory', { exp: 1 }), await tok('mallory', { aud: 'x' }), await tok('mallory', { iss: 'https://evil.test' })]) {
      assertError(await postSync(srv.url, t, body), 401, 'unauthorized');
    }
    assert.equal(await clients(), n);
    assert.equal((await sql`select count(*)::int as n from projects where id = 'evil'`)[0].n, 0);
  });
});

describe('database down', () => {
  let srv;
  before(async () => {
    const dead = `postgres://edgesync:edgesync@127.0.0.1:${await freePort()}/edgesync`;
    srv = await startServer({ databaseUrl: dead, port: 0, poolSize: 2, auth, schema, core: scriptedCore(), logger: quiet,
      applyDdl: false, postgresOptions: { connect_timeout: 2 } });
  }, { timeout: 60000 });
  after(() => srv?.close(), { timeout: 30000 });

  test('healthz -> 503 unavailable', async () => {
    const r = await fetch(`${srv.url}/healthz`);
    assert.equal(r.status, 503);
    assert.equal((await r.json()).error.code, 'unavailable');
  });
  test('sync -> 503 unavailable with a retry hint', async () => {
    const r = await postSync(srv.url, await tok('alice'), { put: [['z', '1']] });
    assertError(r, 503, 'unavailable');
    assert.match(r.body.error.message, /retry/);
    assert.equal(r.headers.get('retry-after'), '1');
  });
});
