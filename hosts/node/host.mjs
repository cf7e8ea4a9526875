// The node host as a process: configuration from the environment, an
// embedded PGlite when there is no DATABASE_URL, development tokens when
// allowed, a banner, and a clean shutdown on SIGINT/SIGTERM. Two entries run
// it: `npm start` (main.mjs: paths relative to the repository, the demo at /)
// and `edgesync serve` (tools/cli/serve.mjs: paths relative to the current
// folder, development tokens only with --dev).
//
// With DATABASE_URL it uses that PostgreSQL; without it, an embedded PGlite
// (PostgreSQL in WASM) persisted in <data dir>/pglite, reached through
// pglite-socket on a private port. Development tokens (a generated secret in
// <data dir>/dev-jwt-secret and GET /dev/token?user=alice) are served on a
// loopback address only; see config.mjs (devTokensEnabled) for when.
import { readFileSync, writeFileSync, mkdirSync, existsSync, rmSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { loadConfig, devTokensEnabled, ConfigError } from '../server/config.mjs';

const packageRoot = fileURLToPath(new URL('../../', import.meta.url));
/** The file in the data folder that holds the development secret (shared with `edgesync dev-token`). */
export const DEV_SECRET_FILE = 'dev-jwt-secret';

/** A startup problem the user fixes (message says how); printed as one line. */
export class StartError extends Error {
  constructor(message) { super(message); this.name = 'StartError'; }
}

async function freePort() {
  return new Promise((ok, fail) => {
    const s = net.createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => ok(port)); });
  });
}

const redact = (url) => url.replace(/\/\/([^:/@]+):([^@]*)@/, '//$1:***@');

// PGlite is an optional peer dependency (27 MB that a browser install never
// needs): a clear instruction when it is missing.
async function importPglite() {
  try {
    return await Promise.all([import('@electric-sql/pglite'), import('@electric-sql/pglite-socket')]);
  } catch (e) {
    if (e.code !== 'ERR_MODULE_NOT_FOUND' || !/@electric-sql\/pglite/.test(e.message)) throw e;
    const peers = JSON.parse(readFileSync(resolve(packageRoot, 'package.json'), 'utf8')).peerDependencies;
    const names = ['@electric-sql/pglite', '@electric-sql/pglite-socket'].map((n) => `${n}@${peers[n]}`).join(' ');
    throw new StartError(`the embedded database needs PGlite, which is not installed: run \`npm install --save-dev ${names}\`, ` +
      'or set DATABASE_URL to use your own PostgreSQL');
  }
}

/** Reads and parses the schema file, with a one-line error naming it. */
export function readSchemaFile(path) {
  let text;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new StartError(e.code === 'ENOENT' ? `schema file ${path} does not exist`
      : e.code === 'EISDIR' ? `schema file ${path} is a folder, not a JSON file`
        : `cannot read the schema file ${path} (${e.code ?? e.message})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new StartError(`schema file ${path} is not valid JSON: ${e.message}`);
  }
}

/**
 * Runs the host until SIGINT/SIGTERM. Never returns on failure: prints one
 * line and exits (2 for configuration errors, 1 otherwise).
 *
 * @param {object} o
 * @param {Record<string, string|undefined>} o.env the configuration variables (config.mjs)
 * @param {string} o.baseDir relative paths (schema, data and static folders) resolve against it
 * @param {string} [o.defaultStaticDir] served at / when EDGESYNC_STATIC_DIR is unset and it holds index.html
 * @param {boolean} [o.devOnlyWhenAsked] development tokens only with EDGESYNC_DEV=1 (`edgesync serve --dev`):
 *   without a token check and without it, refuse to start
 * @param {string} [o.tokenHint] how to get a development token, printed in development mode
 */
export async function runHost({ env, baseDir, defaultStaticDir, devOnlyWhenAsked = false, tokenHint }) {
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

  async function startPglite(dataDir) {
    const [{ PGlite }, { PGLiteSocketServer }] = await importPglite();
    mkdirSync(dataDir, { recursive: true });
    const lock = `${dataDir}.pid`;
    if (existsSync(lock)) {
      const pid = Number(readFileSync(lock, 'utf8'));
      let alive = false;
      try { if (pid && pid !== process.pid) { process.kill(pid, 0); alive = true; } } catch { /* not running */ }
      if (alive) {
        throw new StartError(`another edgesync (pid ${pid}) is using ${dataDir}; stop it first, or set DATABASE_URL`);
      }
    }
    writeFileSync(lock, String(process.pid));
    cleanups.push(() => rmSync(lock, { force: true }));

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
    const cfg = loadConfig(env);
    if (devOnlyWhenAsked && !cfg.auth && !cfg.dev) {
      throw new ConfigError('no token check is configured: set EDGESYNC_JWT_SECRET (HS256, e.g. Supabase\'s JWT secret) ' +
        'or EDGESYNC_JWKS_URL, or pass --dev for development tokens on this machine');
    }
    if (devOnlyWhenAsked && cfg.auth && cfg.dev) {
      throw new ConfigError('--dev generates its own development secret, but EDGESYNC_JWT_SECRET or EDGESYNC_JWKS_URL ' +
        'is set: unset it, or drop --dev');
    }
    const devTokens = devTokensEnabled(cfg);
    const schema = readSchemaFile(resolve(baseDir, cfg.schemaPath));
    step('starting');

    const { serverCore } = await import('../wasm/node.mjs');
    const core = await serverCore();
    step(`WASM core loaded (edgesync_server.wasm, ${statSync(resolve(packageRoot, 'dist/edgesync_server.wasm')).size} bytes)`);

    step(`schema v${schema.version} from ${cfg.schemaPath}: ${(schema.tables ?? []).map((t) => t.name).join(', ')}`);

    const dataRoot = resolve(baseDir, env.EDGESYNC_DATA_DIR || '.data');
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
    const secretFile = resolve(dataRoot, DEV_SECRET_FILE);
    if (devTokens) {
      mkdirSync(dataRoot, { recursive: true });
      if (existsSync(secretFile)) devSecret = readFileSync(secretFile, 'utf8').trim();
      if (!devSecret || devSecret.length < 32) {
        devSecret = randomBytes(32).toString('hex');
        writeFileSync(secretFile, `${devSecret}\n`, { mode: 0o600 });
      }
      auth = { secret: devSecret, audience: 'authenticated' };
    }

    let staticDir = cfg.staticDir ? resolve(baseDir, cfg.staticDir) : undefined;
    if (!staticDir && defaultStaticDir && existsSync(resolve(defaultStaticDir, 'index.html'))) staticDir = defaultStaticDir;

    step(`connecting to ${dbLabel.split(' —')[0]} and applying the schema${cfg.applyDdl ? '' : ' (skipped: EDGESYNC_APPLY_DDL=false)'}`);
    const { startServer } = await import('./server.mjs');
    // Media bytes: an S3-compatible bucket when configured, else the data folder.
    const s3 = cfg.media.s3;
    const mediaStore = s3 ? { storage: (await import('./media-s3.mjs')).s3MediaStorage(s3) } : { dir: resolve(dataRoot, 'media') };
    const mediaWhere = s3 ? `${s3.endpoint} bucket ${s3.bucket}${s3.prefix ? ` under ${s3.prefix}` : ''}` : resolve(dataRoot, 'media');
    const srv = await startServer({
      databaseUrl, port: cfg.port, host: cfg.host, poolSize, limits: cfg.limits, auth, schema, staticDir,
      corsOrigin: cfg.corsOrigin, applyDdl: cfg.applyDdl, devTokenSecret: devSecret, core, live,
      media: cfg.media.enabled ? {
        ...mediaStore, secret: cfg.media.secret, quotaBytes: cfg.media.quotaBytes,
        graceSec: cfg.media.graceSec, sweepIntervalSec: cfg.media.sweepIntervalSec,
      } : false,
    });
    cleanups.push(() => srv.close());
    step('listening');

    console.log('');
    say(`sync server ready: ${srv.url}`);
    say(`  POST ${srv.url}/sync      GET ${srv.url}/healthz${staticDir ? `      static files from ${staticDir} at /` : ''}`);
    say(`  live pokes: ${live ? `${srv.url.replace(/^http/, 'ws')}/live (${live.listen === 'pool' ? 'PGlite session listens' : `LISTEN on ${redact(live.databaseUrl ?? databaseUrl)}`})` : 'off (EDGESYNC_LIVE=false): clients poll'}`);
    say(`  database: ${dbLabel}`);
    say(`  media files: ${cfg.media.enabled ? `${srv.url}/media/… stored in ${mediaWhere}` : 'off (EDGESYNC_MEDIA=false)'}`);
    if (devSecret) {
      console.log('');
      say('!!! DEVELOPMENT MODE: no EDGESYNC_JWT_SECRET / EDGESYNC_JWKS_URL configured.');
      say(`!!! Tokens are signed with a generated dev secret (kept in ${secretFile}): ${devSecret}`);
      say(`!!! GET ${srv.url}/dev/token?user=alice hands out tokens for ANY user — never expose this server.`);
      if (tokenHint) say(`  token: ${tokenHint}`);
      say(`  inspector: ${srv.url}/_edgesync/inspector?db=<dbName> (follows the app served here${staticDir ? '' : ' — give --static DIR'}; or embed edgesync/inspector)`);
      say(`  try: TOKEN=$(curl -s '${srv.url}/dev/token?user=alice' | node -pe 'JSON.parse(require("fs").readFileSync(0)).token')`);
      say(`       curl -s -H "Authorization: Bearer $TOKEN" -d '{"protocol":${core.protocol().version},"clientId":"c_try_0001","schemaVersion":${schema.version}}' ${srv.url}/sync`);
    } else {
      say(`  auth: ${auth.jwksUrl ? `JWKS ${auth.jwksUrl}` : 'HS256 secret'}${auth.issuer ? `, issuer ${auth.issuer}` : ''}${auth.audience ? `, audience ${auth.audience}` : ''}`);
    }
    say('stop with Ctrl-C (or SIGTERM): requests in flight finish, then the database is closed cleanly');
  }

  try {
    await main();
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`edgesync: configuration error: ${e.message}`);
      await shutdown(null, 2);
    }
    const why = e.code === 'EADDRINUSE' ? `port ${e.port} is already in use (set PORT)` : (e.message ?? e);
    console.error(`edgesync: cannot start: ${why}`);
    if (env.EDGESYNC_DEBUG) console.error(e);
    await shutdown(null, 1);
  }
}
