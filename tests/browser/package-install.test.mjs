// The package as an app gets it: `npm pack` (prepack reuses a fresh dist/),
// the tarball installed into a fresh app, a page bundled with esbuild the way
// the README says (edgesync_client.wasm and sqlite3.wasm copied next to the
// bundle) and with Vite (which emits both .wasm files by itself), and in
// headless Chromium each page writes a row that arrives in PostgreSQL 15
// through the installed package's own `edgesync/server`.
//
// The install is offline: the tarball's dependencies (and the app's
// @sqlite.org/sqlite-wasm) are re-packed from this project's node_modules,
// so npm resolves everything from local tarballs and never asks a registry.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, readdirSync, readFileSync, copyFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { build as viteBuild } from 'vite';
import { chromium } from 'playwright-core';
import { startPostgres } from '../harness/postgres.mjs';
import { CHROMIUM_FLAGS } from './harness.mjs';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const CHROMIUM = process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find(existsSync);
const SECRET = 'edgesync-package-test-secret-0123456789';
const WASM = ['dist/edgesync_client.mjs', 'dist/edgesync_client.wasm', 'dist/edgesync_core.mjs', 'dist/edgesync_core.wasm',
  'dist/edgesync_server.mjs', 'dist/edgesync_server.wasm'];
// Packages no browser entry point may pull in.
const SERVER_ONLY = /node_modules\/(@electric-sql\/|postgres\/|ws\/|jose\/)|^node:/;

const schema = {
  version: 1,
  tables: [{ name: 'todos', primaryKey: 'id', owner: 'ownerId', conflict: 'lww-field',
    columns: [{ name: 'id', type: 'text' }, { name: 'ownerId', type: 'text' },
      { name: 'title', type: 'text' }, { name: 'done', type: 'boolean' }] }],
};

// The app's page: the README's quickstart on the main thread, with an
// in-memory database; the token and the row's id and title come in the URL.
// `wasmOption` is how the bundle finds edgesync_client.wasm.
const page = (wasmOption) => `
import sqlite3InitModule from '@sqlite.org/sqlite-wasm';
import { createSync } from 'edgesync/client';
import schema from './schema.json';

async function main() {
  const q = new URLSearchParams(location.search);
  const sqlite3 = await sqlite3InitModule();
  const db = new sqlite3.oo1.DB(':memory:');
  const sync = createSync({ db, sqlite3, dbName: q.get('id'), url: location.origin, getToken: async () => q.get('token'), schema,${wasmOption} });
  await sync.start();
  db.exec({ sql: 'INSERT INTO todos (id, ownerId, title, done) VALUES (?, ?, ?, 0)', bind: [q.get('id'), '', q.get('title')] });
  await sync.syncNow();
  return { pending: await sync.isPending('todos', q.get('id')), state: sync.status.state };
}
main().then((r) => { window.result = r; }, (e) => { window.result = { error: String(e?.stack ?? e) }; });
`;

let tmp, app, tarball, packed;
before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'edgesync-pkg-'));
  // `npm pack` as a user runs it: prepack (scripts/build.sh wasm --if-stale) first.
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: root, maxBuffer: 1 << 24 });
  packed = JSON.parse(stdout.slice(stdout.indexOf('\n[') + 1))[0];
  tarball = join(tmp, packed.filename);
  // The dependencies as local tarballs (an offline install; no lifecycle scripts).
  const deps = join(tmp, 'deps');
  mkdirSync(deps);
  const dirs = [...Object.keys(pkg.dependencies), '@sqlite.org/sqlite-wasm'].map((n) => join(root, 'node_modules', n));
  await run('npm', ['pack', '--ignore-scripts', '--pack-destination', deps, ...dirs], { cwd: tmp });
  app = join(tmp, 'app');
  mkdirSync(join(app, 'src'), { recursive: true });
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  await run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error',
    ...readdirSync(deps).map((f) => join(deps, f)), tarball], { cwd: app });
}, { timeout: 120000 });
after(() => { if (tmp) rmSync(tmp, { recursive: true, force: true }); });

describe('npm pack', () => {
  test('the tarball holds both WASM modules and no tests, sources or build files', () => {
    const files = packed.files.map((f) => f.path);
    for (const f of WASM) assert.ok(files.includes(f), `${f} is in the tarball`);
    assert.equal(files.filter((f) => f.startsWith('dist/')).length, WASM.length);
    for (const f of files) assert.match(f, /^(hosts|types|dist|tools|docs)\/|^README\.md$|^package\.json$/, f);
  });

  test('installing it pulls no PGlite (an optional peer) and gives the app a working CLI', async () => {
    assert.ok(existsSync(join(app, 'node_modules/edgesync/dist/edgesync_client.wasm')));
    assert.equal(existsSync(join(app, 'node_modules/@electric-sql')), false, 'no PGlite for a browser app');
    const bin = join(app, 'node_modules/.bin/edgesync');
    writeFileSync(join(app, 'schema.json'), JSON.stringify(schema));
    const v = await run(bin, ['validate', 'schema.json'], { cwd: app });
    assert.equal(v.stdout, 'schema.json: valid schema v1, 1 table (todos)\n');
    // serve without DATABASE_URL needs the optional peer: one line saying how to install it.
    const r = await run(bin, ['serve', '--schema', 'schema.json', '--dev'], { cwd: app }).catch((e) => e);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`^edgesync: cannot start: the embedded database needs PGlite, which is not installed: run \`npm install --save-dev @electric-sql/pglite@${pkg.peerDependencies['@electric-sql/pglite']} @electric-sql/pglite-socket@${pkg.peerDependencies['@electric-sql/pglite-socket']}\`, or set DATABASE_URL`));
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  });

  test('the browser entry points import no server-only package and no node: module', async () => {
    for (const entry of ['edgesync/client', 'edgesync/schema', 'edgesync/core', 'edgesync/inspector']) {
      const out = await build({
        stdin: { contents: `export * from '${entry}';`, resolveDir: app, loader: 'js' }, absWorkingDir: app,
        bundle: true, write: false, platform: 'browser', format: 'esm', metafile: true, logLevel: 'silent',
      });
      const inputs = Object.keys(out.metafile.inputs);
      assert.ok(inputs.some((i) => i.startsWith('node_modules/edgesync/')), `${entry}: ${inputs}`);
      assert.deepEqual(inputs.filter((i) => SERVER_ONLY.test(i)), [], entry);
    }
  });
});

describe('an app bundled with esbuild or Vite syncs in Chromium', { skip: !CHROMIUM && 'chromium is not installed (npm test installs it)' }, () => {
  let pg, srv, browser;
  before(async () => {
    pg = await startPostgres();
    // The installed package's server (jose, postgres.js and ws from the tarball's dependencies).
    const { startServer } = await import(pathToFileURL(createRequire(join(app, 'package.json')).resolve('edgesync/server')));
    const dist = join(app, 'dist');
    srv = await startServer({
      databaseUrl: pg.url, port: 0, poolSize: 2, schema, staticDir: dist,
      auth: { secret: SECRET, audience: 'authenticated' },
      logger: { error: (...a) => console.error(...a), warn: () => {}, log: () => {} },
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
  }, { timeout: 60000 });
  after(async () => {
    await browser?.close().catch(() => {});
    await srv?.close();
    await pg?.stop();
  }, { timeout: 30000 });

  /** Opens `path` as `user` and resolves once the page's row is in PostgreSQL. */
  async function syncsFrom(path, user, id, title) {
    const { signDevToken } = await import('../../hosts/server/auth.mjs');
    const token = await signDevToken(SECRET, { sub: user, audience: 'authenticated' });
    const ctx = await browser.newContext();
    try {
      const tab = await ctx.newPage();
      const logs = [];
      tab.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
      tab.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
      await tab.goto(`${srv.url}${path}?${new URLSearchParams({ token, id, title })}`);
      await tab.waitForFunction(() => window.result, null, { timeout: 45000 });
      const result = await tab.evaluate(() => window.result);
      assert.deepEqual(result, { pending: false, state: 'idle' }, logs.join('\n'));
    } finally {
      await ctx.close();
    }
    const rows = await srv.sql`select id, owner_id, title from todos where id = ${id}`;
    assert.deepEqual(rows.map((r) => ({ ...r })), [{ id, owner_id: user, title }]);
  }

  test('bundled with esbuild, the WASM files copied as the README says: the row reaches PostgreSQL', { timeout: 60000 }, async () => {
    writeFileSync(join(app, 'src/schema.json'), JSON.stringify(schema));
    writeFileSync(join(app, 'src/esbuild.js'), page("\n    wasmUrl: '/edgesync_client.wasm'"));
    const dist = join(app, 'dist');
    const out = await build({
      entryPoints: [join(app, 'src/esbuild.js')], bundle: true, format: 'esm', platform: 'browser',
      outfile: join(dist, 'main.js'), metafile: true, logLevel: 'silent', absWorkingDir: app,
    });
    assert.deepEqual(Object.keys(out.metafile.inputs).filter((i) => SERVER_ONLY.test(i)), []);
    const req = createRequire(join(app, 'package.json'));
    copyFileSync(join(app, 'node_modules/edgesync/dist/edgesync_client.wasm'), join(dist, 'edgesync_client.wasm'));
    copyFileSync(req.resolve('@sqlite.org/sqlite-wasm/sqlite3.wasm'), join(dist, 'sqlite3.wasm'));
    writeFileSync(join(dist, 'index.html'), '<!doctype html><meta charset="utf-8"><script type="module" src="/main.js"></script>');
    await syncsFrom('/', 'ada', 't-esbuild', 'from the esbuild bundle');
  });

  test('built with Vite (no config, no copying): the row reaches PostgreSQL', { timeout: 60000 }, async () => {
    writeFileSync(join(app, 'src/schema.json'), JSON.stringify(schema));
    writeFileSync(join(app, 'src/vite.js'), page(''));
    writeFileSync(join(app, 'index.html'), '<!doctype html><meta charset="utf-8"><script type="module" src="/src/vite.js"></script>');
    await viteBuild({
      root: app, base: '/vite/', configFile: false, logLevel: 'warn',
      build: { outDir: join(app, 'dist/vite'), emptyOutDir: true },
    });
    const assets = readdirSync(join(app, 'dist/vite/assets'));
    assert.ok(assets.some((f) => /^edgesync_client-.*\.wasm$/.test(f)) && assets.some((f) => /^sqlite3-.*\.wasm$/.test(f)), `${assets}`);
    await syncsFrom('/vite/', 'vic', 't-vite', 'from the Vite build');
  });
});
