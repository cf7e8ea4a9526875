// The main job (`npm start`): the sync server on http://127.0.0.1:8787.
//
// With DATABASE_URL it uses that PostgreSQL; without it, an embedded PGlite
// (PostgreSQL in WASM) persisted in .data/pglite, reached through
// pglite-socket on a private port. With the embedded PGlite (or EDGESYNC_DEV=1)
// and no JWT configuration it generates a DEVELOPMENT secret and serves
// GET /dev/token?user=alice, on a loopback address only; DATABASE_URL without
// a token check, or development tokens on a reachable address, refuse to start
// (config.mjs, devTokensEnabled). See config.mjs for every variable;
// EDGESYNC_DATA_DIR (default .data in the repository) holds pglite/ and the
// dev secret.
import { readFileSync, writeFileSync, mkdirSync, existsSync, rmSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { loadConfig, devTokensEnabled, ConfigError } from '../server/config.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const t0 = Date.now();
const say = (msg) => console.log(`edgesync: ${msg}`);
const step = (msg) => say(`${msg} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);

const cleanups = []; // run in reverse order on shutdown
let shuttingDown = false;

async function shutdown(signal, code = 0) {
  if (shuttingDown) {
    say('forced exit');
    process.exit(130);
  }
  shuttingDown = true;
  if (signal) say(`${signal}: shutting down (finishing requests in flight; press Ctrl-C again to force)`);
  for (const fn of cleanups.reverse()) {
    try { await fn(); } catch (e) { console.error(`edgesync: while shutting down: ${e.message}`); }
  }
  if (signal) say('stopped');
  process.exit(code);
}
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));

async function freePort() {
  return new Promise((ok, fail) => {
    const s = net.createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => ok(port)); });
  });
}

const redact = (url) => url.replace(/\/\/([^:/@]+):([^@]*)@/, '//$1:***@');

async function startPglite(dataDir) {
  mkdirSync(dataDir, { recursive: true });
  const lock = `${dataDir}.pid`;
  if (existsSync(lock)) {
    const pid = Number(readFileSync(lock, 'utf8'));
    let alive = false;
    try { if (pid && pid !== process.pid) { process.kill(pid, 0); alive = true; } } catch { /* not running */ }
    if (alive) {
      throw new Error(`another edgesync (pid ${pid}) is using ${dataDir}; stop it first, or set DATABASE_URL`);
    }
  }
  writeFileSync(lock, String(process.pid));
  cleanups.push(() => rmSync(lock, { force: true }));

  const [{ PGlite }, { PGLiteSocketServer }] = await Promise.all([
    import('@electric-sql/pglite'), import('@electric-sql/pglite-socket')]);
  step(`opening PGlite in ${dataDir}${existsSync(`${dataDir}/PG_VERSION`) ? '' : ' (first run: creating the database)'}`);
  const db = await PGlite.create({ dataDir });
  cleanups.push(() => db.close());
  const port = await freePort();
  // PGlite is one PostgreSQL session: it serializes connections, so one
  // connection (and a pool of one) keeps transactions from interleaving.
  const socket = new PGLiteSocketServer({ db, port, host: '127.0.0.1', maxConnections: 1 });
  await socket.start();
  cleanups.push(() => socket.stop());
  const [{ version }] = (await db.query('select version()')).rows;
  return { url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`, version: version.split(' ').slice(0, 2).join(' ') };
}

async function main() {
  let cfg;
  let devTokens;
  try {
    cfg = loadConfig(process.env);
    devTokens = devTokensEnabled(cfg);
  } catch (e) {
    if (e instanceof ConfigError) { console.error(`edgesync: configuration error: ${e.message}`); process.exit(2); }
    throw e;
  }
  step('starting');

  const { nodeCore } = await import('../wasm/node.mjs');
  const core = await nodeCore();
  step(`WASM core loaded (edgesync_core.wasm, ${statSync(resolve(root, 'dist/edgesync_core.wasm')).size} bytes)`);

  const schemaPath = resolve(root, cfg.schemaPath);
  const schema = JSON.parse(readFileSync(schemaPath, 'utf8'));
  step(`schema v${schema.version} from ${cfg.schemaPath}: ${(schema.tables ?? []).map((t) => t.name).join(', ')}`);

  const dataRoot = resolve(root, process.env.EDGESYNC_DATA_DIR || '.data');
  let databaseUrl = cfg.databaseUrl;
  let poolSize = cfg.poolSize;
  let dbLabel;
  // Live pokes: a dedicated LISTEN connection (LIVE_DATABASE_URL, default
  // DATABASE_URL); PGlite is one session, so there its pool session listens.
  let live = cfg.live.enabled
    ? {
      databaseUrl: cfg.live.databaseUrl,
      ...(cfg.live.maxConnections ? { maxConnections: cfg.live.maxConnections } : {}),
      ...(cfg.live.authTimeoutMs ? { authTimeoutMs: cfg.live.authTimeoutMs } : {}),
    }
    : false;
  if (databaseUrl) {
    dbLabel = `PostgreSQL at ${redact(databaseUrl)} (DATABASE_URL)`;
  } else {
    const dataDir = resolve(dataRoot, 'pglite');
    const pglite = await startPglite(dataDir);
    databaseUrl = pglite.url;
    poolSize = 1;
    if (live) live = { ...live, databaseUrl: undefined, listen: 'pool' };
    dbLabel = `embedded PGlite (${pglite.version}) in ${dataDir}, via ${redact(pglite.url)} — set DATABASE_URL to use your own PostgreSQL`;
    step('PGlite ready');
  }

  let auth = cfg.auth;
  let devSecret;
  if (devTokens) {
    const secretFile = resolve(dataRoot, 'dev-jwt-secret');
    mkdirSync(dataRoot, { recursive: true });
    if (existsSync(secretFile)) devSecret = readFileSync(secretFile, 'utf8').trim();
    if (!devSecret || devSecret.length < 32) {
      devSecret = randomBytes(32).toString('hex');
      writeFileSync(secretFile, `${devSecret}\n`, { mode: 0o600 });
    }
    auth = { secret: devSecret, audience: 'authenticated' };
  }

  let staticDir = cfg.staticDir ? resolve(root, cfg.staticDir) : undefined;
  if (!staticDir && existsSync(resolve(root, 'demo/dist/index.html'))) staticDir = resolve(root, 'demo/dist');

  step(`connecting to ${dbLabel.split(' —')[0]} and applying the schema${cfg.applyDdl ? '' : ' (skipped: EDGESYNC_APPLY_DDL=false)'}`);
  const { startServer } = await import('./server.mjs');
  const srv = await startServer({
    databaseUrl, port: cfg.port, host: cfg.host, poolSize, limits: cfg.limits, auth, schema, staticDir,
    corsOrigin: cfg.corsOrigin, applyDdl: cfg.applyDdl, devTokenSecret: devSecret, core, live,
  });
  cleanups.push(() => srv.close());
  step('listening');

  console.log('');
  say(`sync server ready: ${srv.url}`);
  say(`  POST ${srv.url}/sync      GET ${srv.url}/healthz${staticDir ? `      static files from ${staticDir} at /` : ''}`);
  say(`  live pokes: ${live ? `${srv.url.replace(/^http/, 'ws')}/live (${live.listen === 'pool' ? 'PGlite session listens' : `LISTEN on ${redact(live.databaseUrl ?? databaseUrl)}`})` : 'off (EDGESYNC_LIVE=false): clients poll'}`);
  say(`  database: ${dbLabel}`);
  if (devSecret) {
    console.log('');
    say('!!! DEVELOPMENT MODE: no EDGESYNC_JWT_SECRET / EDGESYNC_JWKS_URL configured.');
    say(`!!! Tokens are signed with a generated dev secret (kept in ${resolve(dataRoot, 'dev-jwt-secret')}): ${devSecret}`);
    say(`!!! GET ${srv.url}/dev/token?user=alice hands out tokens for ANY user — never expose this server.`);
    say(`  try: TOKEN=$(curl -s '${srv.url}/dev/token?user=alice' | node -pe 'JSON.parse(require("fs").readFileSync(0)).token')`);
    say(`       curl -s -H "Authorization: Bearer $TOKEN" -d '{"protocol":${core.protocol().version},"clientId":"c_try_0001","schemaVersion":${schema.version}}' ${srv.url}/sync`);
  } else {
    say(`  auth: ${auth.jwksUrl ? `JWKS ${auth.jwksUrl}` : 'HS256 secret'}${auth.issuer ? `, issuer ${auth.issuer}` : ''}${auth.audience ? `, audience ${auth.audience}` : ''}`);
  }
  say('stop with Ctrl-C (or SIGTERM): requests in flight finish, then the database is closed cleanly');
}

main().catch(async (e) => {
  console.error(`edgesync: cannot start: ${e.code === 'EADDRINUSE' ? `port ${e.port} is already in use (set PORT)` : (e.message ?? e)}`);
  if (process.env.EDGESYNC_DEBUG) console.error(e);
  await shutdown(null, 1);
});
