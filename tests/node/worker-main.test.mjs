// The main job (wasm-glue/js/server/main.mjs) as a process: embedded PGlite
// persisted across restarts, dev tokens, clean SIGTERM; and with DATABASE_URL
// plus a configured secret (no dev routes).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPostgres, freePort } from '../harness/postgres.mjs';
import { TEST_SECRET, token, postSync, serverCoreAvailable, pushPullRoundTrip } from '../harness/sync-http.mjs';

const main = fileURLToPath(new URL('../../wasm-glue/js/server/main.mjs', import.meta.url));
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
      `sync server ready: ${app.url}`, 'embedded PGlite', 'DEVELOPMENT MODE', '/dev/token?user=alice', 'Ctrl-C']) {
      assert.ok(out.includes(s), `output mentions "${s}":\n${out}`);
    }
  });

  test('healthz', async () => {
    const r = await fetch(`${app.url}/healthz`);
    assert.deepEqual(await r.json(), { ok: true, protocol: 1, schemaVersion: 1 });
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
    app = await startMain({ DATABASE_URL: pg.url, EDGESYNC_JWT_SECRET: TEST_SECRET, EDGESYNC_JWT_AUDIENCE: 'authenticated' });
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
