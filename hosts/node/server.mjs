// The node host: node:http in front of the environment-neutral handler, a
// postgres.js pool, optional static files, graceful shutdown.
import http from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { resolve, join, extname, sep } from 'node:path';
import postgres from 'postgres';
import { serverCore, loadFreshServerCore } from '../wasm/node.mjs';
import { createVerifier, signDevToken, DEV_USER_PATTERN } from '../server/auth.mjs';
import { createHandler, openServer, applyDdl, errorBody, POSTGRES_OPTIONS } from '../server/handler.mjs';
import { isLoopbackHost } from '../server/config.mjs';
import { inspectorRoute } from './inspector.mjs';
import { startLive } from './live.mjs';
import { LIVE_CHANNEL } from '../server/live.mjs';
import { createMediaRoute } from '../server/media/handler.mjs';
import { fsMediaStorage } from './media-fs.mjs';
import { sweepMedia } from '../server/media/sweep.mjs';
import { randomBytes } from 'node:crypto';

/**
 * Starts the sync server.
 *
 * @param {object} o
 * @param {string} o.databaseUrl postgres://…
 * @param {number} [o.port=8787] 0 picks a free port
 * @param {string} [o.host='127.0.0.1']
 * @param {number} [o.poolSize=10] 1 for PGlite (it serializes connections)
 * @param {object} [o.limits] defaults: core.protocol().limits.defaults (docs/protocol.md)
 * @param {object} o.auth createVerifier options (or a ready verifier with `verify`)
 * @param {object} o.schema the shared schema document
 * @param {string} [o.staticDir] serve this folder at /
 * @param {string|string[]} [o.corsOrigin='*']
 * @param {boolean} [o.applyDdl=true] run the core's idempotent DDL first
 * @param {string} [o.devTokenSecret] enables GET /dev/token?user=… and the inspector page /_edgesync/inspector (development only)
 * @param {import('../wasm/core.mjs').Core} [o.core] defaults to the process-wide core
 * @param {object} [o.logger=console]
 * @param {object} [o.postgresOptions] extra postgres.js options
 * @param {boolean|object} [o.live=true] live pokes at GET /live (docs/protocol.md, "Live pokes"); an object:
 *   `databaseUrl` (the LISTEN connection: direct or session mode; default `databaseUrl`), `listen: 'pool'`
 *   (a single-session database such as PGlite: the pool's session listens), `maxConnections`,
 *   `authTimeoutMs`, `maxMessageBytes`; false: no /live (clients poll)
 * @param {false|import('../../types/server').MediaOptions} [o.media=false] the media endpoints at /media/…
 *   (docs/protocol.md, "Media"): files in `dir` (the filesystem backend) or a ready `storage` backend; `secret`
 *   signs download URLs (default: random per process, so links die on restart); `quotaBytes` per user (default
 *   none); the lifecycle sweep every `sweepIntervalSec` (default 3600; 0: never) with `graceSec` (default 86400)
 *   and `stagedMaxAgeSec` (default 86400)
 * @returns {Promise<{url: string, port: number, sql: object, schemaVersion: number, live: object|null,
 *   media: {sweep(o?: {now?: number}): Promise<object>}|null, close(): Promise<void>}>}
 */
export async function startServer({
  databaseUrl, port = 8787, host = '127.0.0.1', poolSize = 10, limits = {}, auth, schema, staticDir,
  corsOrigin = '*', applyDdl: ddl = true, devTokenSecret, core, logger = console, postgresOptions = {}, live = true, media = false,
}) {
  if (!databaseUrl) throw new TypeError('startServer: databaseUrl is required');
  if (!schema) throw new TypeError('startServer: schema is required');
  core ??= await serverCore();
  const verifier = typeof auth?.verify === 'function' ? auth : createVerifier(auth);
  const opened = openServer(core, schema, limits);
  const liveOptions = live === true ? {} : live || null;
  const poolListens = liveOptions?.listen === 'pool';
  let liveSide = null;
  const sql = postgres(databaseUrl, {
    ...POSTGRES_OPTIONS,
    max: poolSize,
    connect_timeout: 10,
    idle_timeout: 60,
    ...postgresOptions,
    ...(poolListens ? { onnotify: (channel, payload) => { if (channel === LIVE_CHANNEL) liveSide?.hub.notify(payload); } } : {}),
  });
  let server;
  let mediaSide = null;
  try {
    if (ddl) await applyDdl(sql, opened.pgDdl);

    const routes = [];
    if (devTokenSecret) routes.push(devTokenRoute(devTokenSecret, auth), inspectorRoute());
    if (media) {
      const storage = media.storage ?? await fsMediaStorage(media.dir);
      const route = await createMediaRoute({
        core, schema, sql, verifier, storage, corsOrigin, logger, urlTtlSec: media.urlTtlSec,
        quotaBytes: media.quotaBytes ?? null, secret: media.secret ?? randomBytes(32).toString('hex'),
      });
      const plan = core.call('schema.media_sql', schema);
      if (ddl) await applyDdl(sql, plan.ddl);
      routes.push(route);
      mediaSide = mediaSweeper({
        sql, storage, plan, logger, sweepIntervalSec: media.sweepIntervalSec, graceSec: media.graceSec,
        stagedMaxAgeSec: media.stagedMaxAgeSec,
      });
    }
    if (staticDir) routes.push(staticRoute(resolve(staticDir)));
    const handler = createHandler({
      core, handle: opened.handle, sql, verifier, limits: opened.limits, schemaVersion: opened.schemaVersion,
      corsOrigin, logger,
      reloadCore: async () => {
        const fresh = await loadFreshServerCore();
        return { core: fresh, handle: openServer(fresh, schema, limits).handle };
      },
      fallback: async (request, url) => {
        for (const route of routes) {
          const response = await route(request, url);
          if (response) return response;
        }
        return null;
      },
    });

    server = http.createServer((req, res) => {
      if (closing) res.shouldKeepAlive = false;
      serve(handler, req, res, logger);
    });
    // Before listening, so no /live upgrade arrives without its handler.
    if (liveOptions) {
      liveSide = await startLive({
        ...liveOptions, server, verifier, logger, pool: sql, databaseUrl: liveOptions.databaseUrl ?? databaseUrl,
      });
    }
    await new Promise((ok, fail) => {
      server.once('error', fail);
      server.listen(port, host, () => { server.off('error', fail); ok(); });
    });
  } catch (e) {
    await mediaSide?.stop();
    await liveSide?.close();
    server?.close();
    await sql.end({ timeout: 1 }).catch(() => {});
    throw e;
  }

  const addr = server.address();
  const urlHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  let closing;
  return {
    url: `http://${urlHost === '0.0.0.0' ? '127.0.0.1' : urlHost}:${addr.port}`,
    port: addr.port,
    sql,
    schemaVersion: opened.schemaVersion,
    /** The live side (`hub.stats()`), or null without live pokes. */
    live: liveSide,
    /** The media side (`sweep({now})` runs the lifecycle sweep once), or null without media endpoints. */
    media: mediaSide && { sweep: mediaSide.sweep },
    /** Stops accepting, lets in-flight requests finish (up to `timeoutMs`), ends the pool. */
    close({ timeoutMs = 10000 } = {}) {
      closing ??= (async () => {
        const closed = new Promise((r) => server.close(r));
        await mediaSide?.stop();
        await liveSide?.close();
        // Keep-alive connections become idle as their last response is sent.
        server.closeIdleConnections();
        const idle = setInterval(() => server.closeIdleConnections(), 50);
        const timer = setTimeout(() => server.closeAllConnections(), timeoutMs);
        await closed;
        clearInterval(idle);
        clearTimeout(timer);
        await sql.end({ timeout: 5 });
      })();
      return closing;
    },
  };
}

/** The media lifecycle sweep on an unref'd interval (one at a time), and on demand. */
function mediaSweeper({ sql, storage, plan, logger, sweepIntervalSec = 3600, graceSec, stagedMaxAgeSec }) {
  let chain = Promise.resolve(); // sweeps run one after another
  const sweep = ({ now } = {}) => {
    const run = chain.then(() => sweepMedia({ sql, storage, plan, graceSec, stagedMaxAgeSec, now, logger }));
    chain = run.catch(() => {});
    return run;
  };
  const timer = sweepIntervalSec > 0
    ? setInterval(() => { sweep().catch((e) => logger.error('edgesync: media sweep failed:', e)); }, sweepIntervalSec * 1000)
    : null;
  timer?.unref();
  return {
    sweep,
    /** Stops the timer and waits for a sweep in progress. */
    async stop() {
      if (timer) clearInterval(timer);
      await chain;
    },
  };
}

/** Runs one node request through the web-standard handler. */
async function serve(handler, req, res, logger) {
  try {
    // A body the handler gives up on (far over the limit) ends the connection
    // after the response instead of being read to its end.
    const response = await handler(toRequest(req, () => { res.shouldKeepAlive = false; }));
    const headers = {};
    response.headers.forEach((v, k) => { headers[k] = v; });
    if (response.body && (headers['content-type'] === 'application/x-ndjson' || headers['content-length'] !== undefined)) {
      // A streamed pull (each frame goes out as soon as it is read) or a
      // body of known length (a media file, a static file): never held whole.
      res.writeHead(response.status, headers);
      await pipeBody(response.body, res);
      return;
    }
    const body = response.body ? Buffer.from(await response.arrayBuffer()) : undefined;
    if (body) headers['content-length'] = String(body.length);
    res.writeHead(response.status, headers);
    res.end(body);
  } catch (e) {
    logger.error('edgesync: cannot answer a request:', e);
    if (!res.headersSent) {
      let body = '';
      try {
        body = JSON.stringify(errorBody('internal', 'internal error — retry later'));
      } catch { /* the core cannot answer either: an empty 500 */ }
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(body);
    } else {
      res.destroy();
    }
  }
}

/** Writes a web stream to `res` chunk by chunk, waiting when the socket is
 * full; a client that goes away cancels the stream (the core's request ends). */
async function pipeBody(stream, res) {
  const reader = stream.getReader();
  const gone = () => { reader.cancel().catch(() => {}); };
  res.on('close', gone);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!res.write(value)) {
        await new Promise((r) => {
          const done = () => { res.off('drain', done); res.off('close', done); r(); };
          res.on('drain', done);
          res.on('close', done);
        });
      }
      if (res.destroyed) return;
    }
    res.end();
  } finally {
    res.off('close', gone);
  }
}

/** IncomingMessage -> Request. Cancelling the body stream never destroys the
 * socket (the 413 must still reach the client): the rest is discarded and
 * `onCancel` runs. */
function toRequest(req, onCancel) {
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    try { headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]); } catch { /* invalid for fetch: skip */ }
  }
  const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  let body;
  if (hasBody) {
    let cancelled = false;
    body = new ReadableStream({
      start(controller) {
        req.on('data', (chunk) => {
          if (cancelled) return;
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if (controller.desiredSize <= 0) req.pause();
        });
        req.on('end', () => { if (!cancelled) controller.close(); });
        req.on('error', (e) => { if (!cancelled) controller.error(e); });
      },
      pull() { req.resume(); },
      cancel() { cancelled = true; onCancel(); req.resume(); },
    }, { highWaterMark: 4 });
  }
  return new Request(url, { method: req.method, headers, body, duplex: 'half' });
}

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.htm': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.map': 'application/json',
  '.webmanifest': 'application/manifest+json', '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg',
  '.gif': 'image/gif', '.webp': 'image/webp', '.ico': 'image/x-icon', '.txt': 'text/plain; charset=utf-8',
  '.woff': 'font/woff', '.woff2': 'font/woff2', '.sql': 'text/plain; charset=utf-8',
};

/** GET/HEAD of files under `root` (index.html for folders); never outside it. */
function staticRoute(root) {
  return async (request, url) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return null;
    let path;
    try { path = decodeURIComponent(url.pathname); } catch { return null; }
    if (path.includes('\0')) return null;
    let file = resolve(join(root, path));
    if (file !== root && !file.startsWith(root + sep)) return null;
    try {
      if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
      const data = await readFile(file);
      const type = TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
      return new Response(request.method === 'HEAD' ? null : data, {
        headers: {
          'content-type': type,
          'content-length': String(data.length),
          'cache-control': type.startsWith('text/html') ? 'no-cache' : 'public, max-age=0, must-revalidate',
          'x-content-type-options': 'nosniff',
        },
      });
    } catch {
      return null;
    }
  };
}

/** DEVELOPMENT ONLY: GET /dev/token?user=alice signs a token with the
 * generated dev secret. Never enabled with a configured secret or JWKS. No
 * CORS header (other sites' pages must not read a token) and only for a
 * loopback Host (a DNS-rebound name is not one). */
function devTokenRoute(secret, auth) {
  return async (request, url) => {
    if (url.pathname !== '/dev/token') return null;
    if (request.method !== 'GET') return null;
    if (!isLoopbackHost(url.hostname)) { // the request's Host header
      return Response.json(errorBody('forbidden', 'development tokens are only served to localhost'), { status: 403 });
    }
    const user = url.searchParams.get('user') ?? 'dev-user';
    if (!DEV_USER_PATTERN.test(user)) {
      return Response.json(errorBody('invalid_request', 'user must be 1-128 characters [A-Za-z0-9_.@-]', 'user'),
        { status: 400 });
    }
    const ttlSec = Math.min(Number(url.searchParams.get('ttl')) || 3600, 86400);
    const audience = Array.isArray(auth?.audience) ? auth.audience[0] : auth?.audience;
    const token = await signDevToken(secret, { sub: user, ttlSec, audience, issuer: auth?.issuer });
    return Response.json({ token, userId: user, expiresIn: ttlSec, warning: 'development token: never enable /dev/token in production' },
      { headers: { 'cache-control': 'no-store' } });
  };
}
