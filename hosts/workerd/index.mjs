// The workerd / Cloudflare Workers entry: the same handler as the node host,
// PostgreSQL through the Hyperdrive binding, configuration from `env`.
//
// wrangler.toml supplies the schema through a module alias
// (`[alias] "edgesync:schema" = "./demo/schema.json"`), bundled at build time,
// and the `HYPERDRIVE` binding. Secrets: `wrangler secret put EDGESYNC_JWT_SECRET`
// (or EDGESYNC_JWKS_URL in [vars]); other EDGESYNC_* variables as in
// ../server/config.mjs.
//
// Media files (/media/…, docs/protocol.md "Media"): on when the `MEDIA` R2
// bucket binding is there (and EDGESYNC_MEDIA is not "false"); download links
// are signed with the EDGESYNC_MEDIA_SECRET secret (required then: every
// isolate must check every link; without it /media/… answers 503
// media_not_configured). The lifecycle sweep (../server/media/sweep.mjs) runs
// from the Cron Trigger of wrangler.toml (`scheduled` below), with
// EDGESYNC_MEDIA_GRACE_SEC as on the node host.
//
// Live pokes: `GET /live` upgrades go to the hub Durable Object (`LIVE_HUB`,
// class LiveHub in ./live.mjs); after each /sync commit that wrote rows the
// worker sends the hub the poke payload (there is no LISTEN here).
import wasm from '../../dist/edgesync_server.wasm'; // a WebAssembly.Module in workerd
import createServerModule from '../../dist/edgesync_server.mjs';
import schema from 'edgesync:schema';
import postgres from 'postgres';
import { loadCoreWith } from '../wasm/core-base.mjs';
import { createVerifier } from '../server/auth.mjs';
import { createHandler, openServer, applyDdl, POSTGRES_OPTIONS } from '../server/handler.mjs';
import { loadConfig, ConfigError } from '../server/config.mjs';
import { HUB_NAME } from './live.mjs';
import { AsyncLocalStorage } from 'node:async_hooks';
import { createMediaRoute } from '../server/media/handler.mjs';
import { sweepMedia } from '../server/media/sweep.mjs';
import { corsHeaders } from '../server/cors.mjs';
import { r2MediaStorage } from './media-r2.mjs';

export { LiveHub } from './live.mjs';

// Per isolate: the core instance, the opened server and the verifier (no I/O
// objects — workerd forbids sharing those between requests).
let isolate;
let ddlApplied = false;
// The core is loaded before the configuration is read, so that even a
// misconfigured worker answers in the protocol's error body (the core's).
let corePromise;

function isolateCore() {
  corePromise ??= loadCoreWith(createServerModule, wasm).catch((e) => { corePromise = undefined; throw e; });
  return corePromise;
}

async function init(env) {
  const core = await isolateCore();
  const { cfg, mediaProblem } = workerConfig(env);
  if (!cfg.auth) {
    throw new ConfigError('no token verification is configured: set the EDGESYNC_JWT_SECRET secret ' +
      '(`npx wrangler secret put EDGESYNC_JWT_SECRET`) or the EDGESYNC_JWKS_URL variable');
  }
  const verifier = createVerifier(cfg.auth);
  const opened = openServer(core, schema, cfg.limits);
  return { cfg, verifier, core, opened, media: await mediaRoute(env, cfg, core, verifier, mediaProblem) };
}

// The configuration; a bad EDGESYNC_MEDIA_SECRET (too short) turns off only
// /media/ (answered 503 media_not_configured), not the whole worker.
function workerConfig(env) {
  try {
    return { cfg: loadConfig(env) };
  } catch (e) {
    if (!(e instanceof ConfigError) || !/^EDGESYNC_MEDIA_SECRET /.test(e.message)) throw e;
    return { cfg: loadConfig({ ...env, EDGESYNC_MEDIA_SECRET: undefined }), mediaProblem: e.message };
  }
}

// The postgres.js client of the request being served: the media route is
// built once per isolate, but workerd wants one client per request.
const requestSql = new AsyncLocalStorage();
const sqlOfRequest = new Proxy(function sql() {}, {
  apply: (_, __, args) => requestSql.getStore()(...args),
  get: (_, k) => {
    const s = requestSql.getStore();
    const v = s[k];
    return typeof v === 'function' ? v.bind(s) : v;
  },
});

/** What is wrong with the media configuration and what to set (the 503 body and the log say it). */
const mediaNotConfigured = (why) => `media files are not configured: the MEDIA bucket is bound but ${why}: ` +
  'set the EDGESYNC_MEDIA_SECRET secret (`npx wrangler secret put EDGESYNC_MEDIA_SECRET`, 32+ characters), ' +
  'or EDGESYNC_MEDIA = "false"';

// The media route, plan (DDL and sweep statements) and storage; null without
// the MEDIA binding (media off), or {misconfigured} when the binding has no
// (valid) secret to sign links with.
async function mediaRoute(env, cfg, core, verifier, problem) {
  if (!env.MEDIA || !cfg.media.enabled) return null;
  if (problem) return { misconfigured: mediaNotConfigured(problem) };
  if (!cfg.media.secret) return { misconfigured: mediaNotConfigured('EDGESYNC_MEDIA_SECRET is not set') };
  const storage = r2MediaStorage(env.MEDIA);
  const route = await createMediaRoute({
    core, schema, sql: sqlOfRequest, verifier, storage, secret: cfg.media.secret,
    quotaBytes: cfg.media.quotaBytes ?? null, corsOrigin: cfg.corsOrigin,
  });
  const plan = core.call('schema.media_sql', schema);
  return { route, plan, storage, ddl: plan.ddl };
}

// Logged once per isolate, not on every /media/ request.
let misconfigurationLogged = false;

// The schema's DDL and the media tables, once per isolate.
async function ensureDdl(sql, opened, media) {
  await applyDdl(sql, opened.pgDdl);
  if (media?.ddl) await applyDdl(sql, media.ddl);
  ddlApplied = true;
}

const json = (status, body) => new Response(JSON.stringify(body), {
  status, headers: { 'content-type': 'application/json', 'cache-control': 'no-store', 'access-control-allow-origin': '*' },
});

// The hub's stub, or null without live pokes (no binding, or EDGESYNC_LIVE=false).
function liveHub(env, cfg) {
  if (!env.LIVE_HUB || !cfg.live.enabled) return null;
  return env.LIVE_HUB.get(env.LIVE_HUB.idFromName(HUB_NAME));
}

// GET /live: a WebSocket upgrade, accepted by the hub.
function live(request, hub) {
  if (request.method !== 'GET') {
    return new Response('GET /live is a WebSocket endpoint', { status: 405, headers: { allow: 'GET' } });
  }
  if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') {
    return new Response('GET /live is a WebSocket endpoint: send Upgrade: websocket', { status: 426, headers: { upgrade: 'websocket' } });
  }
  return hub.fetch(request);
}

// Sends a commit's poke payload to the hub (the response is not awaited by /sync).
async function notifyHub(hub, payload) {
  const r = await hub.fetch('https://hub/notify', { method: 'POST', body: payload });
  await r.arrayBuffer();
  if (!r.ok) throw new Error(`the live hub answered ${r.status}`);
}

/**
 * 503 `code` (not_configured, media_not_configured) with what to set; clients
 * retry with backoff as after any 5xx. `cors`: the CORS headers, where the
 * request is known to be the app's.
 */
function notConfigured(core, message, code = 'not_configured', cors = {}) {
  return new Response(JSON.stringify(core.errorBody(code, message)), {
    status: 503,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', 'retry-after': '60', ...cors },
  });
}

export default {
  async fetch(request, env, ctx) {
    let state;
    try {
      isolate ??= init(env).catch((e) => { isolate = undefined; throw e; });
      state = await isolate;
    } catch (e) {
      console.error(`edgesync: worker misconfigured: ${e?.message ?? e}`);
      const core = await corePromise?.catch(() => null);
      // Without a core (the WASM itself failed to load) there is no protocol
      // body to give: a plain 500.
      if (!core) return new Response('the sync worker is misconfigured; see its logs', { status: 500 });
      // A setting the operator must make (ConfigError): 503 not_configured
      // saying what to set, not 500 — nothing is wrong with the request or
      // the code, and nothing is served (fails closed).
      if (e instanceof ConfigError) return notConfigured(core, e.message);
      return json(500, core.errorBody('internal', 'the sync worker is misconfigured; see its logs'));
    }
    const { cfg, verifier, core, opened, media } = state;
    const hub = liveHub(env, cfg);
    if (hub && new URL(request.url).pathname === '/live') return live(request, hub);
    if (!env.HYPERDRIVE?.connectionString) {
      const why = 'no database is bound: add a [[hyperdrive]] binding named HYPERDRIVE to wrangler.toml';
      console.error(`edgesync: ${why}`);
      return notConfigured(core, why);
    }
    // One client per request (Hyperdrive pools the real connections); lazy,
    // so requests that never reach the database never connect.
    const sql = postgres(env.HYPERDRIVE.connectionString, { ...POSTGRES_OPTIONS, max: 2, connect_timeout: 10 });
    // A streamed pull goes on querying after the response is returned.
    let streaming = Promise.resolve();
    try {
      const { pathname } = new URL(request.url);
      const isMedia = pathname.startsWith('/media/');
      if (isMedia && media?.misconfigured) {
        // The operator's to fix, not a fault of the request: 503 with the
        // setting to make (clients retry with backoff); /sync is unaffected.
        if (!misconfigurationLogged) console.error(`edgesync: ${media.misconfigured}`);
        misconfigurationLogged = true;
        return notConfigured(core, media.misconfigured, 'media_not_configured',
          corsHeaders(cfg.corsOrigin, request, 'Retry-After'));
      }
      if (cfg.applyDdl && !ddlApplied && request.method !== 'OPTIONS' && (pathname === '/sync' || pathname === '/healthz' || isMedia)) {
        try {
          await ensureDdl(sql, opened, media);
        } catch (e) {
          console.error(`edgesync: cannot apply the schema: ${e?.message ?? e}`);
          return json(503, core.errorBody('unavailable', 'the database cannot be reached; retry with backoff'));
        }
      }
      const handler = createHandler({
        core, handle: opened.handle, sql, verifier, limits: opened.limits, schemaVersion: opened.schemaVersion,
        corsOrigin: cfg.corsOrigin,
        fallback: media?.route ? (req, url) => media.route(req, url) : undefined,
        onStream: (done) => { streaming = done; },
        onCommit: hub ? (payload) => ctx.waitUntil(notifyHub(hub, payload)
          .catch((e) => console.error(`edgesync: cannot poke the live hub: ${e?.message ?? e}`))) : undefined,
        // A trapped core is dropped with its isolate state; the next request
        // instantiates a fresh one.
        reloadCore: async () => {
          isolate = undefined;
          corePromise = undefined;
          return { core, handle: opened.handle };
        },
      });
      return await requestSql.run(sql, () => handler(request));
    } finally {
      ctx.waitUntil(streaming.then(() => sql.end({ timeout: 5 })));
    }
  },

  /**
   * The Cron Trigger (wrangler.toml [triggers]): one media lifecycle sweep
   * (marks files of deleted rows and replaced files, deletes them from R2
   * after EDGESYNC_MEDIA_GRACE_SEC, drops unfinished uploads); nothing
   * without media. Throws (the invocation shows as failed) when the sweep
   * could not do all of its work; the log says what.
   */
  async scheduled(controller, env, ctx) {
    isolate ??= init(env).catch((e) => { isolate = undefined; throw e; });
    const { cfg, opened, media } = await isolate;
    if (!media) return;
    if (media.misconfigured) throw new Error(`edgesync: ${media.misconfigured}`);
    if (!env.HYPERDRIVE?.connectionString) throw new Error('edgesync: no HYPERDRIVE binding');
    const sql = postgres(env.HYPERDRIVE.connectionString, { ...POSTGRES_OPTIONS, max: 2, connect_timeout: 10 });
    try {
      if (cfg.applyDdl && !ddlApplied) await ensureDdl(sql, opened, media);
      const stats = await sweepMedia({ sql, storage: media.storage, plan: media.plan, graceSec: cfg.media.graceSec });
      console.log(`edgesync: media sweep (${controller?.cron ?? 'cron'}): ${JSON.stringify(stats)}`);
      if (stats.errors > 0) throw new Error(`edgesync: the media sweep had ${stats.errors} error(s); see the log above`);
    } finally {
      ctx.waitUntil(sql.end({ timeout: 5 }));
    }
  },
};
