// The main job (hosts/node/main.mjs) as a process: embedded PGlite
// persisted across restarts, dev tokens, clean SIGTERM; and with DATABASE_URL
// plus a configured secret (no dev routes).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPostgres, freePort } from '../harness/postgres.mjs';
import { TEST_SECRET, token, postSync, serverCoreAvailable, pushPullRoundTrip } from '../harness/sync-http.mjs';
import { loadConfig, devTokensEnabled, isLoopbackHost, ConfigError } from '../../hosts/server/config.mjs';

const main = fileURLToPath(new URL('../../hosts/node/main.mjs', import.meta.url));
const hasServerCore = await serverCoreAvailable();

/** Starts main.mjs; resolves once it has printed everything (its last line). */
async function startMain(env, timeoutMs = 45000) {
  const port = await freePort();
  const clean = Object.fromEntries(Object.entries(process.env)
    .filter(([k]) => !k.startsWith('EDGESYNC_') && k !== 'DATABASE_URL' && k !== 'PORT'));
  const child = spawn(process.execPath, [main], { env: { ...clean, PORT: String(port), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  let poll, timer;
  const ready = await Promise.race([
    // Wait for the last line main.mjs prints, so the whole banner is there.
    new Promise((r) => { poll = setInterval(() => { if (out.includes('stop with Ctrl-C')) r(true); }, 50); }),
    exited.then(() => false),
    new Promise((r) => { timer = setTimeout(() => r(false), timeoutMs); }),
  ]);
  clearInterval(poll);
  clearTimeout(timer);
  const stop = async (signal = 'SIGTERM') => {
    if (child.exitCode !== null || child.signalCode !== null) return exited;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
    const r = await exited;
    clearTimeout(timer);
    return r;
  };
  if (!ready) {
    await stop('SIGKILL');
    throw new Error(`main.mjs did not become ready:\n${out}`);
  }
  return { url: `http://127.0.0.1:${port}`, output: () => out, stop };
}

/** Runs main.mjs expecting it to refuse to start; resolves { code, out }. */
async function startupFails(env) {
  const port = await freePort();
  const clean = Object.fromEntries(Object.entries(process.env)
    .filter(([k]) => !k.startsWith('EDGESYNC_') && k !== 'DATABASE_URL' && k !== 'PORT' && k !== 'HOST'));
  const child = spawn(process.execPath, [main], { env: { ...clean, PORT: String(port), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30000);
  const code = await new Promise((r) => child.once('exit', r));
  clearTimeout(timer);
  return { code, out };
}

/** GET with an explicit Host header (fetch does not let a caller set one). */
function getWithHost(url, host) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { host } }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('error', reject);
  });
}

describe('npm start: embedded PGlite and dev tokens', { skip: !hasServerCore && 'the server core is not in the WASM build yet' }, () => {
  let dir, app;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgesync-main-'));
    app = await startMain({ EDGESYNC_DATA_DIR: dir });
  }, { timeout: 60000 });
  after(async () => {
    await app?.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }, { timeout: 30000 });

  test('prints each step, the URL, the database and how to stop', () => {
    const out = app.output();
    for (const s of ['WASM core loaded', 'schema v1', 'opening PGlite', 'first run', 'PGlite ready', 'listening',
      `sync server ready: ${app.url}`, 'embedded PGlite', 'DEVELOPMENT MODE', '/dev/token?user=alice', '/_edgesync/inspector?db=<dbName>', 'Ctrl-C']) {
      assert.ok(out.includes(s), `output mentions "${s}":\n${out}`);
    }
  });

  test('healthz', async () => {
    const r = await fetch(`${app.url}/healthz`);
    assert.deepEqual(await r.json(), { ok: true, protocol: 1, schemaVersion: 1 });
  });

  test('/dev/token has no CORS header and answers only a loopback Host (no DNS rebinding)', async () => {
    const r = await fetch(`${app.url}/dev/token?user=erin`, { headers: { origin: 'https://evil.example' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('access-control-allow-origin'), null, 'another site\'s page cannot read a token');
    const rebound = await getWithHost(`${app.url}/dev/token?user=erin`, `evil.example:${new URL(app.url).port}`);
    assert.equal(rebound.status, 403);
    assert.doesNotMatch(rebound.body, /token"/);
    assert.equal((await getWithHost(`${app.url}/dev/token?user=erin`, 'localhost')).status, 200);
  });

  test('a dev token from /dev/token syncs; round trip on PGlite', async () => {
    const { token: t } = await (await fetch(`${app.url}/dev/token?user=erin`)).json();
    const r = await postSync(app.url, t, { protocol: 1, clientId: 'c_main_erin_01', schemaVersion: 1 });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const secret = readFileSync(join(dir, 'dev-jwt-secret'), 'utf8').trim();
    await pushPullRoundTrip(app.url, { tag: 'main', secret });
  });

  test('concurrent requests queue on the single PGlite connection', async () => {
    const t = await token('frank', {}, readFileSync(join(dir, 'dev-jwt-secret'), 'utf8').trim());
    const rs = await Promise.all(Array.from({ length: 6 }, (_, i) => postSync(app.url, t, {
      protocol: 1, clientId: `c_main_frank_${i}0`, schemaVersion: 1,
      batch: { seq: 1, changes: [{ id: 1, table: 'projects', op: 'upsert', row: { id: `frank-${i}`, name: 'F', updatedAt: null },
        hlc: `${String(Date.now()).padStart(15, '0')}:00000:c_main_frank_${i}0`, baseVersion: null }] },
    })));
    for (const r of rs) assert.equal(r.status, 200, JSON.stringify(r.body));
  });

  test('SIGTERM stops cleanly; a restart keeps the data', async () => {
    const { code } = await app.stop('SIGTERM');
    assert.equal(code, 0, app.output());
    assert.match(app.output(), /SIGTERM: shutting down[\s\S]*stopped/);
    assert.equal(existsSync(join(dir, 'pglite.pid')), false, 'the PGlite lock is released');
    app = await startMain({ EDGESYNC_DATA_DIR: dir });
    assert.doesNotMatch(app.output(), /first run/);
    const secret = readFileSync(join(dir, 'dev-jwt-secret'), 'utf8').trim();
    const r = await postSync(app.url, await token('alice-main', {}, secret), { protocol: 1, clientId: 'c_main_tablet_1', schemaVersion: 1 });
    assert.equal(r.status, 200);
    assert.ok(r.body.changes.some((c) => c.row.id === 'p-main'), 'rows written before the restart are still there');
  });
});

describe('npm start with DATABASE_URL and a configured secret', { skip: !hasServerCore && 'the server core is not in the WASM build yet' }, () => {
  let pg, app;
  before(async () => {
    pg = await startPostgres();
    // A configured token check may listen on every interface.
    app = await startMain({ DATABASE_URL: pg.url, EDGESYNC_JWT_SECRET: TEST_SECRET, EDGESYNC_JWT_AUDIENCE: 'authenticated', HOST: '0.0.0.0' });
  }, { timeout: 60000 });
  after(async () => {
    await app?.stop('SIGKILL');
    await pg?.stop();
  }, { timeout: 30000 });

  test('uses the database, hides the password, no dev mode', async () => {
    const out = app.output();
    assert.match(out, /PostgreSQL at postgres:\/\/edgesync:\*\*\*@127\.0\.0\.1/);
    assert.doesNotMatch(out, /DEVELOPMENT MODE|edgesync:edgesync@/);
    assert.equal((await fetch(`${app.url}/dev/token?user=alice`)).status, 404);
    await pushPullRoundTrip(app.url, { tag: 'mainpg' });
  });

  test('a bad setting stops startup with the variable named', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [main], {
      env: { ...process.env, PORT: String(port), DATABASE_URL: pg.url, EDGESYNC_JWT_SECRET: TEST_SECRET, EDGESYNC_MAX_CHANGES: 'lots' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stderr.on('data', (d) => { out += d; });
    const code = await new Promise((r) => child.once('exit', r));
    assert.equal(code, 2);
    assert.match(out, /EDGESYNC_MAX_CHANGES must be an integer/);
  });
});

describe('F3: the main job fails closed without a token check', { skip: !hasServerCore && 'the server core is not in the WASM build yet' }, () => {
  let pg;
  before(async () => { pg = await startPostgres(); }, { timeout: 60000 });
  after(async () => { await pg?.stop(); }, { timeout: 30000 });

  test('DATABASE_URL without EDGESYNC_JWT_SECRET / EDGESYNC_JWKS_URL refuses to start and says what to set', async () => {
    const { code, out } = await startupFails({ DATABASE_URL: pg.url });
    assert.equal(code, 2, out);
    assert.match(out, /no token check is configured: set EDGESYNC_JWT_SECRET .* or EDGESYNC_JWKS_URL/);
    assert.match(out, /EDGESYNC_DEV=1/);
    assert.doesNotMatch(out, /sync server ready/);
  });

  test('development tokens never listen on a reachable address', async () => {
    for (const env of [{ HOST: '0.0.0.0' }, { HOST: '::' }, { HOST: '192.0.2.7' },
      { DATABASE_URL: pg.url, EDGESYNC_DEV: '1', HOST: '0.0.0.0' }]) {
      const { code, out } = await startupFails(env);
      assert.equal(code, 2, `${JSON.stringify(env)}: ${out}`);
      assert.match(out, /reachable from other machines.*set one of them, or listen on HOST=127\.0\.0\.1/s);
      assert.doesNotMatch(out, /sync server ready|opening PGlite/);
    }
  });

  test('EDGESYNC_DEV=1 serves development tokens with DATABASE_URL, on loopback', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgesync-dev-'));
    const app = await startMain({ DATABASE_URL: pg.url, EDGESYNC_DEV: '1', EDGESYNC_DATA_DIR: dir });
    try {
      assert.match(app.output(), /DEVELOPMENT MODE/);
      const r = await fetch(`${app.url}/dev/token?user=dana`);
      assert.equal(r.status, 200);
      const { token: t } = await r.json();
      const s = await postSync(app.url, t, { protocol: 1, clientId: 'c_main_dana_01', schemaVersion: 1 });
      assert.equal(s.status, 200, JSON.stringify(s.body));
    } finally {
      await app.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('config.mjs: when development tokens are allowed', () => {
  const dev = (env) => devTokensEnabled(loadConfig(env));
  test('the embedded database on loopback: yes; a configured token check: never', () => {
    assert.equal(dev({}), true);
    assert.equal(dev({ HOST: 'localhost' }), true);
    assert.equal(dev({ HOST: '::1' }), true);
    assert.equal(dev({ EDGESYNC_JWT_SECRET: TEST_SECRET, HOST: '0.0.0.0' }), false);
    assert.equal(dev({ EDGESYNC_JWKS_URL: 'https://id.example/jwks.json', DATABASE_URL: 'postgres://x@db/x' }), false);
    assert.equal(dev({ DATABASE_URL: 'postgres://x@db/x', EDGESYNC_DEV: '1' }), true);
  });
  test('anything else fails closed', () => {
    for (const env of [{ DATABASE_URL: 'postgres://x@db/x' }, { DATABASE_URL: 'postgres://x@db/x', EDGESYNC_DEV: '0' },
      { HOST: '0.0.0.0' }, { HOST: '10.0.0.5' }, { HOST: 'example.com' }, { HOST: '::' }]) {
      assert.throws(() => dev(env), ConfigError, JSON.stringify(env));
    }
  });
  test('loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '::1', '[::1]', '::ffff:127.0.0.1']) assert.ok(isLoopbackHost(h), h);
    for (const h of ['0.0.0.0', '::', '', '128.0.0.1', 'localhost.evil.example', '127.0.0.1.evil.example', '10.0.0.1']) {
      assert.ok(!isLoopbackHost(h), h);
    }
  });
  test('EDGESYNC_JWT_ROLES sets the accepted roles', () => {
    assert.deepEqual(loadConfig({ EDGESYNC_JWT_SECRET: TEST_SECRET, EDGESYNC_JWT_ROLES: 'authenticated, member' }).auth.roles,
      ['authenticated', 'member']);
    assert.equal(loadConfig({ EDGESYNC_JWT_SECRET: TEST_SECRET }).auth.roles, undefined, 'the verifier default');
    assert.throws(() => loadConfig({ EDGESYNC_JWT_ROLES: 'member' }), /neither EDGESYNC_JWT_SECRET nor EDGESYNC_JWKS_URL/);
  });
});
