// The sync endpoint as one environment-neutral function from a web-standard
// Request to a Response: the same code serves node (node.mjs) and workerd
// (../worker/index.mjs). It stays thin on purpose — authenticate, bound the
// body, hand it to the WASM core, run the one statement the core asks for
// (the whole request, in its own transaction: one database round trip),
// answer what the core says. Every decision about the payload
// (validation, conflicts, the pull) is the core's.
import { EdgesyncError } from '../wasm/core.mjs';
import { corsHeaders } from './cors.mjs';

// The protocol's facts (version, default limits, error body shape) are the
// core's: read through core.protocol() and core.errorBody(), never restated.

/** The default limits the core applies (docs/protocol.md), from `core`. */
export function defaultLimits(core) {
  return core.protocol().limits.defaults;
}

const decoder = new TextDecoder();

/**
 * Creates the request handler.
 *
 * @param {object} o
 * @param {import('../wasm/core.mjs').Core} o.core the loaded WASM core
 * @param {number} o.handle the server handle from `server.open`
 * @param {import('postgres').Sql} o.sql a postgres.js client (pool)
 * @param {{verify(h: string|null): Promise<{userId: string}>}} o.verifier see ../auth.mjs
 * @param {object} [o.limits] `maxBodyBytes` is enforced here; the rest by the core
 * @param {number} o.schemaVersion reported by /healthz
 * @param {string|string[]} [o.corsOrigin='*'] allowed origin(s)
 * @param {(req: Request, url: URL) => Promise<Response|null|undefined>} [o.fallback] other routes (static files, /dev/token)
 * @param {{error: Function, warn?: Function}} [o.logger=console]
 * @param {number} [o.healthTimeoutMs=5000]
 * @param {() => number} [o.now=Date.now] the server clock in ms handed to the
 *   core (clamps client clocks, `serverTime`); a simulation passes a virtual one
 * @param {() => Promise<{core: object, handle: number}>} [o.reloadCore] after a
 *   WebAssembly.RuntimeError the instance may be corrupt: the handler answers
 *   500 and swaps in the fresh instance this returns (workers-rs does the same)
 * @param {(payload: string) => (void|Promise<unknown>)} [o.onCommit] called, not awaited, after a
 *   /sync request whose transaction committed writes, with a poke payload in the NOTIFY format
 *   (`{"u":[users]}`, docs/protocol.md "Live pokes"): how a host without LISTEN (workerd) pokes
 * @param {number} [o.streamBudgetMs=20000] a streamed pull ends after this long (the client
 *   goes on with a new request from its last cursor): bounds a worker's wall time
 * @param {(done: Promise<void>) => void} [o.onStream] called with a promise that settles when a
 *   streamed response has been written: a host that ends its pool after each request waits for it
 * @returns {(req: Request) => Promise<Response>}
 */
export function createHandler({
  core, handle, sql, verifier, limits = {}, schemaVersion, corsOrigin = '*', fallback,
  logger = console, healthTimeoutMs = 5000, reloadCore, now = Date.now, onCommit, streamBudgetMs = 20000, onStream,
}) {
  // Replaced after a trap in the core; requests already running keep theirs.
  let current = { core, handle };
  let reloading = null;
  function coreCrashed(e) {
    if (!(e instanceof WebAssembly.RuntimeError) || !reloadCore || reloading) return;
    logger.error(`edgesync: the WASM core trapped (${e.message}); loading a fresh instance`);
    reloading = reloadCore().then((fresh) => { current = fresh; bodyCore = fresh.core; }, (err) => {
      logger.error(`edgesync: reloading the core failed: ${err?.message ?? err}`);
    }).finally(() => { reloading = null; });
  }
  bodyCore = core;
  const maxBodyBytes = limits.maxBodyBytes ?? defaultLimits(core).maxBodyBytes;
  // Clients may read the retry hint and the token error.
  const cors = (request) => corsHeaders(corsOrigin, request, 'Retry-After, WWW-Authenticate');

  function json(request, status, body, headers = {}) {
    return new Response(typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body), {
      status,
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...cors(request), ...headers },
    });
  }

  function fail(request, status, code, message, headers) {
    return json(request, status, current.core.errorBody(code, message), headers);
  }

  function preflight(request) {
    return new Response(null, {
      status: 204,
      headers: {
        ...cors(request),
        'access-control-allow-methods': 'POST, GET, HEAD, OPTIONS',
        'access-control-allow-headers': 'Authorization, Content-Type',
        'access-control-max-age': '86400',
      },
    });
  }

  async function health(request) {
    try {
      await withTimeout(sql`select 1`, healthTimeoutMs, 'health check timed out');
    } catch (e) {
      logger.error(`edgesync: /healthz: database unreachable: ${e?.message ?? e}`);
      return fail(request, 503, 'unavailable', 'the database cannot be reached; retry with backoff');
    }
    return json(request, 200, { ok: true, protocol: current.core.protocol().version, schemaVersion });
  }

  async function sync(request) {
    let userId;
    try {
      ({ userId } = await verifier.verify(request.headers.get('authorization')));
    } catch (e) {
      if (e?.code === 'unavailable') {
        logger.error(`edgesync: token check unavailable: ${e.cause?.message ?? e.message}`);
        return fail(request, 503, 'unavailable', e.message, { 'retry-after': '5' });
      }
      if (e?.code !== 'unauthorized') throw e;
      return fail(request, 401, 'unauthorized', e.message,
        { 'www-authenticate': `Bearer error="invalid_token", error_description="${e.message.replace(/["\\]/g, "'")}"` });
    }

    const body = await readBounded(request, maxBodyBytes);
    if (body === TOO_LARGE) {
      return fail(request, 413, 'payload_too_large',
        `the request body is larger than ${maxBodyBytes} bytes; send fewer changes per batch`);
    }

    const { core, handle } = current;
    let out;
    try {
      out = core.callFramed('server.begin', { handle, userId, nowMs: now() }, [body]);
    } catch (e) {
      coreCrashed(e);
      throw e;
    }
    if (out.meta.done) return json(request, out.meta.status, out.segments[0]);

    const { state } = out.meta;
    try {
      out = await runStatements(core, out);
    } catch (e) {
      coreCrashed(e);
      try { core.call('server.abort', { state }); } catch { /* the state may already be gone */ }
      return databaseFailure(request, e);
    }
    if (onCommit && !out.meta.rollback) committed(pokePayload(out));
    if (out.meta.more) return streamed(request, core, out);
    return json(request, out.meta.status, out.segments[0]);
  }

  // Runs the core's statements until it is done: one round trip (the core's
  // statement is the whole request, in its own transaction), sent without
  // parameters so postgres.js needs no Parse/Describe exchange first.
  async function runStatements(core, out) {
    while (!out.meta.done) {
      const { state } = out.meta;
      const { segments } = out;
      const decoded = [];
      const segment = (k) => (decoded[k] ??= decoder.decode(segments[k]));
      // Raw mode: the single text column arrives as bytes (a view of the
      // socket's read chunk, never reused) and goes back into the core
      // without a string round trip.
      // Each statement is atomic on its own; they run in order.
      const texts = [];
      for (const st of out.meta.statements) {
        const text = typeof st.sql === 'string' ? st.sql : segment(st.sql.seg);
        const params = st.params.map((p) => (p !== null && typeof p === 'object' ? segment(p.seg) : p));
        const rows = await sql.unsafe(text, params).raw();
        if (rows.length !== 1 || rows[0].length < 1) {
          throw new ContractError(`a core statement returned ${rows.length} rows (expected exactly one)`);
        }
        texts.push(rows[0][0] ?? 'null');
      }
      out = core.callFramed('server.step', { state, nowMs: now() }, texts);
    }
    return out;
  }

  // A streamed pull (docs/protocol.md, "Streamed pulls"): each frame is one
  // page the core answered, written as soon as it is read; the next page is
  // read while the last one is on the wire. The stream ends when the core
  // says no more, after `streamBudgetMs`, or on a database error (the
  // connection breaks: the client resumes from the last page it applied).
  function streamed(request, core, first) {
    const { state } = first.meta;
    const until = Date.now() + streamBudgetMs;
    let open = true;
    const end = () => {
      if (!open) return;
      open = false;
      try { core.call('server.abort', { state }); } catch { /* gone */ }
    };
    // A TransformStream written by a task of its own: workerd keeps the
    // request alive while its response body is being written.
    const { readable, writable } = new TransformStream();
    const writer = writable.getWriter();
    const task = (async () => {
      let out = first;
      try {
        for (;;) {
          // The next page's statement runs while this frame is on the wire.
          const written = writer.write(out.segments[0]);
          if (!out.meta.more || Date.now() >= until) {
            await written;
            break;
          }
          const next = runStatements(core, core.callFramed('server.next', { state, nowMs: now() }));
          await written;
          out = await next;
          if (out.meta.status !== 200) throw new ContractError(`a stream frame failed with status ${out.meta.status}`);
        }
        end();
        await writer.close();
      } catch (e) {
        coreCrashed(e);
        end();
        logger.error(`edgesync: sync stream ${errorId()}: ${describe(e)}`);
        writer.abort(e).catch(() => {});
      }
    })();
    onStream?.(task);
    return new Response(readable, {
      status: 200,
      headers: { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store', ...cors(request) },
    });
  }

  // Hands a commit's poke payload to the host without waiting for it (the
  // response does not depend on who is poked); a failure is only logged.
  function committed(payload) {
    if (payload === null) return;
    try {
      Promise.resolve(onCommit(payload)).catch((e) => logger.error(`edgesync: onCommit failed: ${describe(e)}`));
    } catch (e) {
      logger.error(`edgesync: onCommit failed: ${describe(e)}`);
    }
  }

  function databaseFailure(request, e) {
    const id = errorId();
    if (isTransient(e)) {
      logger.error(`edgesync: sync ${id}: database unavailable: ${describe(e)}`);
      return fail(request, 503, 'unavailable',
        `the database cannot be reached right now; nothing was written — retry with backoff (error id ${id})`,
        { 'retry-after': '1' });
    }
    logger.error(`edgesync: sync ${id}: internal error: ${describe(e)}`, e?.stack ?? '');
    return fail(request, 500, 'internal', `internal error; nothing was written — retry later (error id ${id})`);
  }

  return async function handle_(request) {
    try {
      const url = new URL(request.url);
      const { pathname } = url;
      if (request.method === 'OPTIONS' && (pathname === '/sync' || pathname === '/healthz')) return preflight(request);
      if (pathname === '/sync') {
        if (request.method !== 'POST') {
          return fail(request, 405, 'method_not_allowed', `${request.method} is not allowed on /sync; use POST`, { allow: 'POST, OPTIONS' });
        }
        return await sync(request);
      }
      if (pathname === '/healthz') {
        if (request.method !== 'GET' && request.method !== 'HEAD') {
          return fail(request, 405, 'method_not_allowed', `${request.method} is not allowed on /healthz; use GET`, { allow: 'GET, HEAD, OPTIONS' });
        }
        return await health(request);
      }
      const other = fallback && await fallback(request, url);
      if (other) return other;
      return fail(request, 404, 'not_found', `no such endpoint: ${pathname} (the sync endpoint is POST /sync)`);
    } catch (e) {
      const id = errorId();
      logger.error(`edgesync: request ${id}: internal error: ${describe(e)}`, e?.stack ?? '');
      return fail(request, 500, 'internal', `internal error — retry later (error id ${id})`);
    }
  };
}

/**
 * Opens the server core for `schema`: `{handle, schemaVersion, pgDdl}`.
 * Throws EdgesyncError (e.g. `invalid_schema`, with a path) on a bad schema.
 */
export function openServer(core, schema, limits = {}) {
  bodyCore = core;
  const l = { ...defaultLimits(core) };
  for (const [k, v] of Object.entries(limits)) if (v !== undefined && v !== null) l[k] = v;
  const { handle, schemaVersion, pgDdl } = core.call('server.open', { schema, limits: l });
  return { handle, schemaVersion, pgDdl, limits: l };
}

// The core's parameters are already PostgreSQL text (or null). postgres.js
// serializes by the type the server infers for each `$n`: it would JSON-encode
// a string bound to json/jsonb (a JSON string instead of the document), send
// 'f' for the string 'true' bound to boolean and re-format timestamps. These
// types send strings untouched; other values keep postgres.js's behaviour.
const passText = (serialize) => (x) => (typeof x === 'string' ? x : serialize(x));
const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

/**
 * postgres.js options every host must use for the pool it gives the handler:
 * text parameters pass through, no array-type lookup (`fetch_types: false`,
 * as Hyperdrive recommends), no named prepared statements (pgbouncer in
 * transaction mode), notices not printed.
 */
export const POSTGRES_OPTIONS = Object.freeze({
  prepare: false,
  fetch_types: false,
  onnotice: () => {},
  types: {
    json: { to: 114, from: [114, 3802], serialize: passText(JSON.stringify), parse: JSON.parse },
    boolean: { to: 16, from: [16], serialize: passText((x) => (x === true ? 't' : 'f')), parse: (x) => x === 't' },
    date: { to: 1184, from: [1082, 1114, 1184], serialize: passText((x) => (x instanceof Date ? x : new Date(x)).toISOString()),
      parse: (x) => new Date(x) },
    bytea: { to: 17, from: [17], serialize: passText((x) => `\\x${hex(x)}`),
      parse: (x) => Uint8Array.from(x.slice(2).match(/../g) ?? [], (h) => parseInt(h, 16)) },
  },
});

/** Any 64-bit key; only edgesync's DDL takes this advisory lock. */
const DDL_LOCK_KEY = '7318296517331125760';

/**
 * Runs the core's idempotent DDL in one transaction under an advisory lock,
 * so several hosts starting at once (isolates, node processes) do not race on
 * CREATE ... IF NOT EXISTS. Works through pgbouncer/Hyperdrive (no session state).
 */
export async function applyDdl(sql, pgDdl) {
  await sql.begin(async (tx) => {
    await tx.unsafe(`select pg_advisory_xact_lock(${DDL_LOCK_KEY})`);
    await tx.unsafe(pgDdl);
  });
}

// The core host-side error bodies come from: every host opens a server
// (openServer) or a handler before it answers anything.
let bodyCore = null;

/**
 * The protocol's error body for an error the host answers itself, built by
 * the core (the shape of its own error bodies, `errors` list included).
 */
export function errorBody(code, message, path) {
  if (!bodyCore) throw new Error('edgesync: errorBody() needs the core: call openServer(core, …) first');
  return bodyCore.errorBody(code, message, path);
}

class ContractError extends Error {}

/**
 * The poke payload of a committed request, or null when it wrote nothing:
 * the core's `meta.poke` on the final step (the users whose rows the
 * transaction wrote, members of shared scopes included, collected by the
 * notify triggers; docs/protocol.md "Live pokes").
 */
export function pokePayload(out) {
  const { meta } = out;
  if (meta.status !== 200 || !meta.poke) return null;
  return typeof meta.poke === 'string' ? meta.poke : JSON.stringify(meta.poke);
}

const TOO_LARGE = Symbol('edgesync.tooLarge');

/** Bytes of an oversize body read and discarded before giving up on it. */
const DRAIN_LIMIT = 64 * 1024 * 1024;

/**
 * Reads the body, refusing anything over `max` bytes without keeping it. The
 * rest of a refused body is read and discarded (up to DRAIN_LIMIT) rather than
 * cancelled: proxies in front of the handler (wrangler's dev proxy, some load
 * balancers) break the connection when a response races an unread upload,
 * and the client would see a reset instead of the 413.
 */
async function readBounded(request, max) {
  const declared = request.headers.get('content-length');
  if (!request.body) return declared !== null && Number(declared) > max ? TOO_LARGE : new Uint8Array(0);
  const reader = request.body.getReader();
  if (declared !== null && Number(declared) > max) {
    await drain(reader, 0);
    return TOO_LARGE;
  }
  const chunks = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      chunks.length = 0;
      await drain(reader, total);
      return TOO_LARGE;
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0];
  const body = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) { body.set(c, off); off += c.byteLength; }
  return body;
}

async function drain(reader, seen) {
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      seen += value.byteLength;
      if (seen > DRAIN_LIMIT) { await reader.cancel(); return; }
    }
  } catch { /* the client went away */ }
}

// Connection-level failures, and PostgreSQL states that mean "try again":
// connection exceptions (08), insufficient resources (53), operator
// intervention (57: shutdown, cancel), serialization failure and deadlock.
const CONNECTION_CODES = new Set(['CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT',
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
const TRANSIENT_SQLSTATE = /^(08|53|57P0|57014|40001|40P01|55P03)/;

function isTransient(e) {
  if (!e || e instanceof ContractError || e instanceof EdgesyncError) return false;
  const code = typeof e.code === 'string' ? e.code : '';
  if (CONNECTION_CODES.has(code)) return true;
  if (e.name === 'PostgresError' || /^[0-9A-Z]{5}$/.test(code)) return TRANSIENT_SQLSTATE.test(code);
  if (e.errno !== undefined && e.syscall) return true;
  // workerd sockets report closed/refused connections without a code.
  return /network connection lost|connection (closed|refused|reset|terminated)|socket (closed|hang up)|failed to connect|stream was cancelled/i
    .test(String(e.message));
}

function describe(e) {
  if (!e) return String(e);
  const code = e.code ? ` [${e.code}]` : '';
  return `${e.name ?? 'Error'}${code}: ${e.message ?? e}`;
}

function errorId() {
  return Math.random().toString(36).slice(2, 10);
}

function withTimeout(promise, ms, message) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(message)), ms); }),
  ]).finally(() => clearTimeout(timer));
}
