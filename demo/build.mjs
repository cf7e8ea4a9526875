// Builds the demo PWA into demo/dist with esbuild, importing the package as
// an app would (`edgesync/client`, `@sqlite.org/sqlite-wasm`).
//
//   node demo/build.mjs              build
//   node demo/build.mjs --if-stale   build only when an input is newer than the last build
//
// dist/: index.html, style.css, manifest, icon, sw.js, app.js (the page),
// worker.js (SQLite + sync), sqlite3.wasm and edgesync_client.wasm next to
// worker.js (both are located relative to it).
import { build } from 'esbuild';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const dist = join(here, 'dist');
const stamp = join(dist, '.build-stamp');
const require = createRequire(import.meta.url);
const sqliteDist = dirname(require.resolve('@sqlite.org/sqlite-wasm/sqlite3.wasm'));

/** Every file the build reads. */
function inputs() {
  const files = [];
  const walk = (dir) => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else files.push(p);
    }
  };
  walk(join(here, 'src'));
  walk(join(here, 'public'));
  walk(join(root, 'hosts/client'));
  walk(join(root, 'hosts/inspector'));
  files.push(
    join(here, 'build.mjs'), join(here, 'schema.json'), join(root, 'hosts/wasm/core-base.mjs'),
    join(root, 'dist/edgesync_client.mjs'), join(root, 'dist/edgesync_client.wasm'),
    join(sqliteDist, 'index.mjs'), join(sqliteDist, 'sqlite3.wasm'),
  );
  return files;
}

/** True when dist is missing or older than an input. */
export function isStale() {
  if (!existsSync(stamp) || !existsSync(join(dist, 'index.html'))) return true;
  const built = statSync(stamp).mtimeMs;
  return inputs().some((f) => !existsSync(f) || statSync(f).mtimeMs > built);
}

/** Builds demo/dist; returns { files: [{name, bytes}], ms }. */
export async function buildDemo({ quiet = false } = {}) {
  const t0 = Date.now();
  for (const f of ['edgesync_client.mjs', 'edgesync_client.wasm']) {
    if (!existsSync(join(root, 'dist', f))) {
      throw new Error(`dist/${f} is missing: run bash scripts/build.sh wasm first`);
    }
  }
  rmSync(dist, { recursive: true, force: true });
  mkdirSync(dist, { recursive: true });
  await build({
    entryPoints: { app: join(here, 'src/app.mjs'), worker: join(here, 'src/worker.mjs') },
    outdir: dist,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome109', 'firefox115', 'safari16.4'],
    minify: true,
    sourcemap: true,
    logLevel: quiet ? 'error' : 'warning',
    absWorkingDir: root,
  });
  cpSync(join(here, 'public'), dist, { recursive: true });
  cpSync(join(sqliteDist, 'sqlite3.wasm'), join(dist, 'sqlite3.wasm'));
  cpSync(join(root, 'dist/edgesync_client.wasm'), join(dist, 'edgesync_client.wasm'));
  // A new service worker cache per build, so an updated app replaces the old shell.
  const sw = join(dist, 'sw.js');
  writeFileSync(sw, readFileSync(sw, 'utf8').replace("'edgesync-demo-v1'", `'edgesync-demo-${t0.toString(36)}'`));
  writeFileSync(stamp, `${new Date(t0).toISOString()}\n`);
  const files = readdirSync(dist).filter((f) => !f.startsWith('.') && !f.endsWith('.map'))
    .map((name) => ({ name, bytes: statSync(join(dist, name)).size }));
  return { files, ms: Date.now() - t0 };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const ifStale = process.argv.includes('--if-stale');
  if (ifStale && !isStale()) {
    console.log('edgesync: demo/dist is up to date');
  } else {
    const { files, ms } = await buildDemo();
    console.log(`edgesync: built demo/dist in ${ms} ms (${files.map((f) => `${f.name} ${f.bytes} B`).join(', ')})`);
  }
}
