// `edgesync/client`: keeps an app's SQLite WASM database in sync.
//
//   const sync = createSync({ db, sqlite3, url, getToken, schema });
//   sync.on('status', (s) => render(s));     // idle | syncing | offline | error
//   await sync.start();
//
// The sync logic lives in the WASM client core (core/client/
// client.h): a sans-I/O state machine. This module is the thin loop around
// it: it feeds the core events (`client.handle`) and performs the effects the
// core returns, strictly in order —
//
//   effect         | what the host does
//   ---------------+-----------------------------------------------------------
//   sql            | runs the statements on the app's oo1.DB, in one
//                  | transaction when `tx`; answers sql_done (+ the `out`
//                  | values as segments) or sql_failed
//   http           | fetch(url + path) with `Authorization: Bearer <getToken()>`,
//                  | `keepalive` as asked, an AbortController; answers
//                  | http_response (status + body segment) or http_failed
//   abort_http     | aborts that request
//   timer          | one setTimeout (replacing the last); sends `tick`
//   refresh_token  | getToken({ refresh: true }); answers token_refreshed or
//                  | token_failed
//   status         | `status` event (and the `status` getter)
//   acked, rejected, conflict, changes | the events of the same names
//
// Events the host sends on its own: local_change (notifyLocalChange(), or
// automatically from an update hook on sync_outbox when `sqlite3` is given),
// online/offline, visible/hidden (visibilitychange, pagehide: a keepalive
// flush), sync_now (syncNow()).
//
// Several tabs on one database: only the tab holding the Web Lock
// `edgesync:<dbName>` runs the core (the leader); the others follow its status
// over a BroadcastChannel of the same name and forward their local-change
// notifications, sync-now requests and outbox queries to it. When the leader
// goes away the next tab takes over. Without Web Locks (node) it just runs.
import { loadClientCore, forgetClientCore } from './core.mjs';
import { runSqlEffect, rowIsPending, outboxCount, outboxIds, registerClock } from './sqlite.mjs';

export { loadClientCore } from './core.mjs';
export { registerClock } from './sqlite.mjs';
export { EdgesyncError } from '../wasm/core-base.mjs';

/**
 * A sync failure surfaced by syncNow() or whenSynced(): `code`, `status`
 * (HTTP) and `at`; for a refused change also `reason` and `rejected` (the
 * rejected event).
 */
export class SyncError extends Error {
  constructor(failure, fallback = 'sync failed') {
    super(failure?.message || fallback);
    this.name = 'SyncError';
    this.code = failure?.code ?? 'sync_failed';
    this.status = failure?.status ?? null;
    this.at = failure?.at ?? null;
    if (failure?.reason !== undefined) this.reason = failure.reason;
    if (failure?.rejected !== undefined) this.rejected = failure.rejected;
  }
}

const STOPPED = Object.freeze({
  state: 'stopped', pending: 0, lastSyncedAt: null, lastError: null, nextRetryAt: null, clientId: '', role: null,
});
const EVENTS = new Set(['status', 'acked', 'rejected', 'conflict', 'changes', 'role', 'error']);
const MAX_KICKS = 10;
const RPC_TIMEOUT_MS = 15000;

/**
 * What the UI shows for a status: "Synced", "Saving", "Offline" or "Error"
 * ("Stopped" before start()).
 */
export function statusLabel(s) {
  if (!s || s.state === 'stopped') return 'Stopped';
  if (s.state === 'error') return 'Error';
  if (s.state === 'offline') return 'Offline';
  if (s.state === 'syncing' || s.pending > 0) return 'Saving';
  return 'Synced';
}

/**
 * A `Retry-After` header in milliseconds from `nowMs`: delay-seconds or an
 * HTTP-date (RFC 9110 §10.2.3); undefined when absent or unreadable.
 */
export function retryAfterMs(header, nowMs) {
  const v = header?.trim();
  if (!v) return undefined;
  if (/^\d+$/.test(v)) return Math.min(Number(v) * 1000, Number.MAX_SAFE_INTEGER);
  const at = /[A-Za-z]{3}/.test(v) ? Date.parse(v) : NaN; // dates name the month
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** Creates a sync client; nothing happens until start(). */
export function createSync(options) {
  return new Sync(options);
}

function defaultRandomHex(random) {
  const bytes = new Uint8Array(16);
  if (random) {
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256) & 255;
  } else {
    globalThis.crypto.getRandomValues(bytes);
  }
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function isMemoryName(name) {
  return !name || name === ':memory:' || name.startsWith('file::memory:');
}

class Sync {
  constructor(o = {}) {
    if (!o.db || (typeof o.db !== 'object' && typeof o.db !== 'function')) {
      throw new TypeError('createSync: db must be an oo1.DB (or a function opening one)');
    }
    if (typeof o.getToken !== 'function') throw new TypeError('createSync: getToken must be a function');
    if (!o.schema || typeof o.schema !== 'object') throw new TypeError('createSync: schema must be the shared schema document');
    if (o.url === undefined || o.url === null) throw new TypeError('createSync: url is required (the sync server base, e.g. "https://sync.example.com"; "" = this origin)');
    this._o = o;
    this._now = o.now ?? (() => Date.now());
    this._fetch = o.fetch ?? ((...a) => globalThis.fetch(...a));
    // Every host timer goes through `timers` so a virtual clock can drive them.
    this._timers = o.timers ?? { set: (fn, ms) => setTimeout(fn, ms), clear: (id) => clearTimeout(id) };
    this._listeners = new Map();
    this._status = STOPPED;
    this._role = null;
    this._db = typeof o.db === 'object' ? o.db : null;
    this._dbName = o.dbName ?? (typeof o.db === 'object' ? o.db.filename : undefined);
    // The triggers stamp writes with edgesync_now_ms(): this instance's clock.
    if (this._db) registerClock(this._db, this._now);
    if (typeof o.db === 'function' && !o.dbName) throw new TypeError('createSync: dbName is required when db is a function');
    this._running = false;
    this._gen = 0;
    this._resetLoop();
  }

  _resetLoop() {
    this._handle = null;
    this._inbox = [];
    this._fx = [];
    this._pumping = false;
    this._timer = null;
    this._inflight = new Map();
    this._freshToken = null;
    this._waiters = new Set();
    this._rowWaiters = new Set(); // whenSynced()
    this._requests = new Map(); // follower: id -> { msg, onAck?, resolve?, reject?, timer? }
    this._notifyQueued = false;
    this._seq = 0;
  }

  // ------------------------------------------------------------------ API

  /** The last status: { state, pending, lastSyncedAt, lastError, nextRetryAt, clientId, role }. */
  get status() {
    return this._status;
  }

  /** 'leader' (this instance syncs), 'follower' (another tab does) or 'single' (no Web Locks); null until started. */
  get role() {
    return this._role;
  }

  /** The database this instance uses (null in a follower that opens it lazily). */
  get db() {
    return this._db;
  }

  /** Subscribes to 'status', 'acked', 'rejected', 'conflict', 'changes', 'role' or 'error'; returns an unsubscribe function. */
  on(event, fn) {
    if (!EVENTS.has(event)) throw new TypeError(`createSync: unknown event "${event}"`);
    if (!this._listeners.has(event)) this._listeners.set(event, new Set());
    this._listeners.get(event).add(fn);
    return () => this.off(event, fn);
  }

  off(event, fn) {
    this._listeners.get(event)?.delete(fn);
  }

  /** Starts syncing: installs the schema, elects a leader among tabs, opens the core. */
  start() {
    if (this._started) return this._started;
    this._running = true;
    this._gen++;
    this._started = (async () => {
      this._core = await (this._o.core ?? loadClientCore(this._o.wasmUrl));
      if (!this._running) return this;
      this._wire();
      const tabs = this._tabsSupport();
      try {
        if (tabs) await this._elect(tabs);
        else await this._lead('single');
      } catch (e) {
        await this.stop();
        throw e;
      }
      return this;
    })();
    return this._started;
  }

  /** Stops syncing (the database stays open; it is the app's). */
  async stop() {
    if (!this._running) return;
    this._running = false;
    this._gen++;
    this._started = null;
    this._timers.clear(this._timer);
    for (const ctrl of this._inflight.values()) ctrl.abort();
    if (this._handle !== null) {
      try { this._core.callFramed('client.close', { client: this._handle }); } catch { /* closing */ }
    }
    this._unhook?.();
    this._unhook = null;
    for (const off of this._unwire ?? []) off();
    this._unwire = null;
    this._releaseLock?.();
    this._releaseLock = null;
    this._lockAbort?.abort();
    this._lockAbort = null;
    this._channel?.close();
    this._channel = null;
    for (const w of this._waiters) w.reject(new SyncError({ code: 'stopped', message: 'sync stopped' }));
    for (const w of this._rowWaiters) w.reject(new SyncError({ code: 'stopped', message: 'sync stopped' }));
    for (const r of this._requests.values()) r.reject?.(new SyncError({ code: 'stopped', message: 'sync stopped' }));
    this._resetLoop();
    if (typeof this._o.db === 'function') this._db = null;
    this._role = null;
    this._setStatus(STOPPED);
  }

  /**
   * Asks for a sync now and resolves with the status once a sync round that
   * started after this call has completed with the outbox drained: the first
   * status after the request that is not `syncing`, has `lastSyncedAt` at or
   * after the call, `pending === 0` and no newer `lastError`. When rows were
   * written meanwhile (pending > 0) it asks again (up to 10 times). Rejects
   * with a SyncError when a round fails after the call (offline, HTTP error,
   * stopped), or after `timeoutMs` when given.
   */
  async syncNow({ timeoutMs } = {}) {
    if (!this._started) throw new SyncError({ code: 'not_started', message: 'call start() before syncNow()' });
    await this._started;
    return new Promise((resolve, reject) => {
      const w = { armedAt: this._now(), armed: false, kicks: 0, timer: null };
      const done = (fn) => (v) => {
        this._timers.clear(w.timer);
        this._waiters.delete(w);
        fn(v);
      };
      w.resolve = done(resolve);
      w.reject = done(reject);
      if (timeoutMs !== undefined) {
        w.timer = this._timers.set(() => w.reject(new SyncError({ code: 'timeout', message: `no completed sync within ${timeoutMs} ms` })), timeoutMs);
      }
      this._waiters.add(w);
      this._requestSyncNow((status) => this._arm(w, status));
    });
  }

  /** Tells the sync that the app wrote to synced tables (cheap; coalesced). */
  notifyLocalChange() {
    if (!this._running || this._notifyQueued) return;
    this._notifyQueued = true;
    queueMicrotask(() => this._flushNotify());
  }

  _flushNotify() {
    if (!this._notifyQueued) return;
    this._notifyQueued = false;
    if (!this._running) return;
    if (this._handle !== null) this._dispatch({ type: 'local_change' });
    else if (this._role === 'follower') this._post({ t: 'local_change' });
  }

  /** Page visibility (call it from a worker when the page forwards visibilitychange/pagehide). Hidden flushes with keepalive. */
  setVisible(visible) {
    // A write notified in this same task must be known before the flush.
    this._flushNotify();
    if (this._handle !== null) this._dispatch({ type: visible ? 'visible' : 'hidden' });
  }

  /** Connectivity, when the host knows better than navigator.onLine. */
  setOnline(online) {
    this._online = Boolean(online);
    if (this._handle !== null) this._dispatch({ type: online ? 'online' : 'offline' });
  }

  /** Tells the core a fresh token is available (e.g. after the user signed in again). */
  tokenRefreshed() {
    if (this._handle !== null) this._dispatch({ type: 'token_refreshed' });
  }

  /** True while the row (`pk`: a value or an array in key order) has unacknowledged local changes. */
  async isPending(table, pk) {
    return this._query('isPending', [table, pk]);
  }

  /** The number of outbox rows (local changes not yet acknowledged). */
  async pendingCount() {
    return this._query('pendingCount', []);
  }

  // ------------------------------------------- per-row acknowledgement

  /**
   * Resolves once every local change of the row (`pk`: a value or the values
   * in key order) made before this call has been answered by the server:
   * `{ table, pk, status, version }` with status `applied` (the server
   * applied the last of them; `version` is the row's server version),
   * `conflict` (the server kept its own row, which the device now has) or
   * `none` (nothing was pending). Rejects with a SyncError carrying `reason`,
   * `code` and the `rejected` event when the server (or validation) refused
   * one of them, with code `stopped` on stop(), or after `timeoutMs`.
   * Works in follower tabs (the outbox is read through the leading tab).
   */
  async whenSynced(table, pk, { timeoutMs } = {}) {
    if (!this._started) throw new SyncError({ code: 'not_started', message: 'call start() before whenSynced()' });
    const ids = await this._query('outboxIds', [table, pk, null]);
    const key = { table, pk: Array.isArray(pk) ? pk : [pk] };
    if (!ids.length) return { ...key, status: 'none', version: null };
    return new Promise((resolve, reject) => {
      const w = { table, pk, ids: new Set(ids), maxId: ids[ids.length - 1], last: null, timer: null, checking: false };
      const done = (fn) => (v) => {
        if (!this._rowWaiters.delete(w)) return;
        clearTimeout(w.timer);
        fn(v);
      };
      w.resolve = done(() => resolve({ ...key, status: w.last?.status ?? 'applied', version: w.last?.version ?? null }));
      w.reject = done(reject);
      if (timeoutMs !== undefined) {
        w.timer = setTimeout(() => w.reject(new SyncError({ code: 'timeout', message: `the row was not synced within ${timeoutMs} ms` })), timeoutMs);
      }
      this._rowWaiters.add(w);
    });
  }

  // Follows the answers to the changes whenSynced() waits for: acked,
  // conflict and rejected events name the outbox ids they covered; a status
  // that is not `syncing` re-reads which of the ids are still queued (ids can
  // also leave the queue without an event of their own).
  _feedRowWaiters(event, data) {
    for (const w of [...this._rowWaiters]) {
      if (event === 'status') {
        if (data.state !== 'syncing' && data.state !== 'stopped') this._recheck(w);
        continue;
      }
      if (event !== 'acked' && event !== 'conflict' && event !== 'rejected') continue;
      const hit = (data.ids ?? []).filter((id) => w.ids.has(id));
      if (!hit.length) continue;
      for (const id of hit) w.ids.delete(id);
      if (event === 'rejected') {
        w.reject(new SyncError({ code: data.code || data.reason, reason: data.reason, message: data.message || `the server refused a change of ${w.table} (${data.reason})`, rejected: data }));
        continue;
      }
      w.last = { status: event === 'acked' ? 'applied' : 'conflict', version: data.version ?? null };
      if (!w.ids.size) w.resolve();
    }
  }

  async _recheck(w) {
    if (w.checking) return;
    w.checking = true;
    try {
      const left = new Set(await this._query('outboxIds', [w.table, w.pk, w.maxId]));
      for (const id of [...w.ids]) if (!left.has(id)) w.ids.delete(id);
      if (!w.ids.size) w.resolve();
    } catch { /* no leader right now: the next status asks again */ } finally {
      w.checking = false;
    }
  }

  // --------------------------------------------------------------- events

  _emit(event, data) {
    for (const fn of this._listeners.get(event) ?? []) {
      try {
        fn(data);
      } catch (e) {
        console.error(`edgesync: a "${event}" listener threw:`, e);
      }
    }
    if (this._rowWaiters.size) this._feedRowWaiters(event, data);
  }

  _setStatus(status) {
    this._status = Object.freeze({ ...status, role: this._role });
    this._emit('status', this._status);
    for (const w of [...this._waiters]) if (w.armed) this._evaluate(w, this._status, false);
  }

  _arm(w, status) {
    if (!this._waiters.has(w)) return;
    w.armed = true;
    this._evaluate(w, status ?? this._status, true);
  }

  // Decides a syncNow() waiter on a status seen after its request.
  _evaluate(w, s, atArm) {
    if (s.state === 'syncing') return;
    if (s.state === 'stopped') return w.reject(new SyncError({ code: 'stopped', message: 'sync stopped' }));
    if (s.lastError && s.lastError.at >= w.armedAt) return w.reject(new SyncError(s.lastError));
    const synced = s.lastSyncedAt !== null && s.lastSyncedAt >= w.armedAt;
    if (synced && s.pending === 0) return w.resolve(s);
    if (synced && s.pending > 0 && w.kicks < MAX_KICKS) {
      // Rows were written during the round: one more.
      w.kicks++;
      w.armed = false;
      this._requestSyncNow((st) => this._arm(w, st));
      return;
    }
    if (synced) {
      return w.reject(new SyncError({ code: 'not_drained', message: `the outbox still holds ${s.pending} rows after ${MAX_KICKS} rounds` }));
    }
    if (atArm || s.state === 'error' || s.state === 'offline') {
      return w.reject(new SyncError(s.lastError, s.state === 'offline' ? 'offline' : 'sync did not start'));
    }
  }

  // ------------------------------------------------------------ the loop

  _call(op, meta, segs = []) {
    try {
      return this._core.callFramed(op, meta, segs);
    } catch (e) {
      if (e instanceof WebAssembly.RuntimeError) {
        this._crash(e);
        return null;
      }
      throw e;
    }
  }

  _dispatch(event, segs = [], after = null) {
    this._inbox.push({ event, segs, after });
    this._pump();
  }

  _queue(out) {
    for (const fx of out.meta.effects ?? []) this._fx.push({ fx, segs: out.segments });
  }

  _pump() {
    if (this._pumping) return;
    this._pumping = true;
    try {
      while (this._running && this._handle !== null) {
        if (this._fx.length) {
          this._perform(this._fx.shift());
          continue;
        }
        if (!this._inbox.length) break;
        const { event, segs, after } = this._inbox.shift();
        let out;
        try {
          out = this._call('client.handle', { ...event, client: this._handle, now: this._now() }, segs);
        } catch (e) {
          // The core refused the event (a host bug): report, keep going.
          this._emit('error', e);
          continue;
        }
        if (!out) break;
        this._queue(out);
        if (after) this._fx.push({ fx: { type: '_after' }, fn: after });
      }
    } finally {
      this._pumping = false;
    }
  }

  _perform({ fx, segs, fn }) {
    switch (fx.type) {
      case 'sql': {
        const r = this._db ? runSqlEffect(this._db, fx, segs) : { ok: false, message: 'no database' };
        if (r.ok) this._inbox.push({ event: { type: 'sql_done', id: fx.id }, segs: r.values });
        else this._inbox.push({ event: { type: 'sql_failed', id: fx.id, message: r.message }, segs: [] });
        break;
      }
      case 'http':
        this._http(fx, segs);
        break;
      case 'abort_http':
        this._inflight.get(fx.id)?.abort();
        this._inflight.delete(fx.id);
        break;
      case 'timer':
        this._setTimer(fx.at);
        break;
      case 'refresh_token':
        this._refreshToken();
        break;
      case 'status':
        this._setStatus(fx.status);
        this._post({ t: 'status', status: fx.status });
        break;
      case 'acked':
      case 'rejected':
      case 'conflict':
      case 'changes': {
        const { type, ...data } = fx;
        this._emit(type, data);
        this._post({ t: 'event', name: type, data });
        break;
      }
      case '_after':
        fn();
        break;
      default:
        break; // an effect this host does not know: newer core, ignore
    }
  }

  _setTimer(at) {
    this._timers.clear(this._timer);
    this._timer = null;
    if (at === null || at === undefined) return;
    const delay = Math.max(0, Math.min(at - this._now(), 0x7fffffff));
    const gen = this._gen;
    this._timer = this._timers.set(() => {
      this._timer = null;
      if (gen === this._gen) this._dispatch({ type: 'tick' });
    }, delay);
  }

  _baseUrl() {
    const url = String(this._o.url);
    const base = globalThis.location?.href;
    const abs = base ? new URL(url || '.', base).href : url;
    return abs.replace(/\/+$/, '');
  }

  async _token() {
    if (this._freshToken) {
      const t = this._freshToken;
      this._freshToken = null;
      return t;
    }
    return this._o.getToken({ refresh: false });
  }

  async _http(fx, segs) {
    const gen = this._gen;
    const ctrl = new AbortController();
    this._inflight.set(fx.id, ctrl);
    const answer = (event, body) => {
      if (gen !== this._gen || ctrl.signal.aborted) return;
      this._inflight.delete(fx.id);
      this._dispatch(event, body ? [body] : []);
    };
    let token;
    try {
      token = await this._token();
    } catch (e) {
      token = null;
      this._tokenError = String(e?.message ?? e);
    }
    if (!token) {
      // No token at all: answer like the server would, so the core asks for
      // a refresh and reports `unauthorized` if that fails too.
      const body = JSON.stringify(this._core.errorBody('unauthorized',
        `getToken() gave no token${this._tokenError ? ` (${this._tokenError})` : ''}`));
      this._tokenError = null;
      answer({ type: 'http_response', id: fx.id, status: 401 }, new TextEncoder().encode(body));
      return;
    }
    try {
      const res = await this._fetch(this._baseUrl() + fx.path, {
        method: fx.method ?? 'POST',
        headers: { 'content-type': fx.contentType ?? 'application/json', authorization: `Bearer ${token}` },
        body: fx.body ? segs[fx.body.seg] : undefined,
        keepalive: Boolean(fx.keepalive),
        signal: ctrl.signal,
        cache: 'no-store',
      });
      const body = new Uint8Array(await res.arrayBuffer());
      // The core waits at least this long before the next request.
      const wait = retryAfterMs(res.headers.get('retry-after'), this._now());
      answer({ type: 'http_response', id: fx.id, status: res.status, ...(wait === undefined ? {} : { retryAfterMs: wait }) }, body);
    } catch (e) {
      answer({ type: 'http_failed', id: fx.id, message: String(e?.message ?? e) });
    }
  }

  async _refreshToken() {
    const gen = this._gen;
    let token = null;
    let message = 'getToken({ refresh: true }) gave no token';
    try {
      token = await this._o.getToken({ refresh: true });
    } catch (e) {
      message = String(e?.message ?? e);
    }
    if (gen !== this._gen) return;
    if (token) {
      this._freshToken = token;
      this._dispatch({ type: 'token_refreshed' });
    } else {
      this._dispatch({ type: 'token_failed', message });
    }
  }

  // ------------------------------------------------------- leading a db

  async _openDb() {
    if (!this._db) {
      this._db = await this._o.db();
      registerClock(this._db, this._now);
    }
    return this._db;
  }

  _installSchema(db) {
    const ddl = this._core.call('schema.sqlite_ddl', this._o.schema);
    db.exec('BEGIN');
    try {
      db.exec(ddl);
      db.exec('COMMIT');
    } catch (e) {
      try { db.exec('ROLLBACK'); } catch { /* not in a transaction */ }
      throw e;
    }
  }

  // Calls notifyLocalChange() after app writes: an update hook that watches
  // inserts into sync_outbox (the triggers' writes). Needs the sqlite3 namespace.
  _hook(db) {
    const s3 = this._o.sqlite3;
    if (!s3?.capi?.sqlite3_update_hook || this._o.autoNotify === false) return;
    const INSERT = s3.capi.SQLITE_INSERT;
    s3.capi.sqlite3_update_hook(db, (_ctx, op, _dbName, table) => {
      if (op === INSERT && table === 'sync_outbox') this.notifyLocalChange();
    }, 0);
    this._unhook = () => {
      try { if (db.isOpen()) s3.capi.sqlite3_update_hook(db, 0, 0); } catch { /* closed */ }
    };
  }

  async _lead(role) {
    const gen = this._gen;
    const db = await this._openDb();
    if (gen !== this._gen) return;
    this._installSchema(db);
    this._hook(db);
    this._role = role;
    this._emit('role', role);
    const meta = {
      schema: this._o.schema,
      seed: defaultRandomHex(this._o.random),
      online: this._online ?? (globalThis.navigator?.onLine ?? true) !== false,
      now: this._now(),
    };
    if (this._o.config) meta.config = this._o.config;
    if (this._o.clientId) meta.clientId = this._o.clientId;
    const out = this._call('client.open', meta);
    if (!out) return;
    this._handle = out.meta.client;
    this._queue(out);
    this._pump();
    if (role === 'leader') {
      this._post({ t: 'leader' });
      // What this tab asked the previous leader and never got answered.
      for (const [id, r] of this._requests) {
        this._requests.delete(id);
        if (r.msg.t === 'sync_now') {
          this._dispatch({ type: 'sync_now' }, [], () => r.onAck(this._status));
        } else if (r.msg.t === 'rpc') {
          this._timers.clear(r.timer);
          try { r.resolve(this._runQuery(r.msg.m, r.msg.a)); } catch (e) { r.reject(e); }
        }
      }
    }
  }

  _crash(e) {
    const wasm = this._o.wasmUrl;
    this._emit('error', e);
    this._handle = null;
    this._gen++;
    this._timers.clear(this._timer);
    for (const ctrl of this._inflight.values()) ctrl.abort();
    this._inflight.clear();
    this._inbox = [];
    this._fx = [];
    this._setStatus({ ...this._status, state: 'error', lastError: { code: 'core_crashed', message: `the sync core crashed (${e.message}); restarting`, status: null, at: this._now() } });
    if (!this._o.core) forgetClientCore(wasm);
    this._timers.set(async () => {
      if (!this._running) return;
      try {
        if (!this._o.core) this._core = await loadClientCore(wasm);
        this._unhook?.();
        await this._lead(this._role ?? 'single');
      } catch (err) {
        this._emit('error', err);
      }
    }, 1000);
  }

  // ------------------------------------------------------------ browser

  _wire() {
    if (this._o.wire === false) return;
    const g = globalThis;
    const offs = [];
    const on = (target, type, fn) => {
      target.addEventListener(type, fn);
      offs.push(() => target.removeEventListener(type, fn));
    };
    if (typeof g.addEventListener === 'function') {
      on(g, 'online', () => this.setOnline(true));
      on(g, 'offline', () => this.setOnline(false));
      if (typeof g.document !== 'undefined') {
        on(g.document, 'visibilitychange', () => this.setVisible(g.document.visibilityState === 'visible'));
        on(g, 'pagehide', () => this.setVisible(false));
        on(g, 'pageshow', () => this.setVisible(true));
      }
    }
    this._unwire = offs;
  }

  // -------------------------------------------------------------- tabs

  _tabsSupport() {
    const t = this._o.tabs;
    if (t === false) return null;
    const locks = t?.locks ?? globalThis.navigator?.locks;
    const Channel = t?.BroadcastChannel ?? globalThis.BroadcastChannel;
    const name = t?.name ?? this._dbName;
    if (!locks?.request || !Channel || isMemoryName(name)) return null;
    return { locks, Channel, name: `edgesync:${name}` };
  }

  async _elect({ locks, Channel, name }) {
    this._tab = defaultRandomHex(this._o.random).slice(0, 12);
    this._channel = new Channel(name);
    this._channel.onmessage = (e) => this._onMessage(e.data);
    const gen = this._gen;
    // Leads while holding the lock; the lock is released by stop() (or when
    // the tab goes away).
    const lead = async (first, onReady) => {
      if (gen !== this._gen) {
        onReady?.(null); // stopped meanwhile
        return;
      }
      try {
        await this._lead('leader');
      } catch (e) {
        if (first) {
          onReady(e);
          return;
        }
        // Could not open the database or the core: let another tab try.
        this._emit('error', e);
        this._setStatus({ ...STOPPED, state: 'error', lastError: { code: 'start_failed', message: String(e?.message ?? e), status: null, at: this._now() } });
        this._timers.set(() => { if (gen === this._gen) this._queueForLock(locks, name, lead); }, 1000);
        return;
      }
      onReady?.(null);
      await new Promise((resolve) => { this._releaseLock = resolve; });
    };
    const outcome = await new Promise((resolve) => {
      locks.request(name, { ifAvailable: true }, (lock) => {
        if (!lock) {
          resolve({ won: false });
          return null;
        }
        return lead(true, (err) => resolve({ won: true, err }));
      }).catch((err) => resolve({ won: false, err }));
    });
    if (outcome.err) throw outcome.err;
    if (outcome.won) return;
    // Another tab leads: follow it, and queue for the lock.
    this._role = 'follower';
    this._emit('role', 'follower');
    this._setStatus({ ...STOPPED, state: 'syncing' });
    this._post({ t: 'hello' });
    if (this._db) {
      this._installSchema(this._db);
      this._hook(this._db);
    }
    this._queueForLock(locks, name, lead);
  }

  _queueForLock(locks, name, lead) {
    this._lockAbort = new AbortController();
    locks.request(name, { signal: this._lockAbort.signal }, () => lead(false, null))
      .catch(() => { /* aborted by stop() */ });
  }

  _post(msg) {
    if (!this._channel) return;
    try {
      this._channel.postMessage({ ...msg, from: this._tab });
    } catch { /* closed */ }
  }

  _onMessage(msg) {
    if (!msg || typeof msg !== 'object' || !this._running) return;
    if (this._role === 'leader') {
      this._serve(msg);
      return;
    }
    if (this._role !== 'follower') return;
    switch (msg.t) {
      case 'status':
        this._setStatus(msg.status);
        break;
      case 'event':
        this._emit(msg.name, msg.data);
        break;
      case 'leader':
        // A new leader: send it what the previous one never answered.
        for (const r of this._requests.values()) this._post(r.msg);
        this._post({ t: 'hello' });
        break;
      case 'sync_now_ack': {
        const r = msg.to === this._tab ? this._requests.get(msg.id) : null;
        if (r) {
          this._requests.delete(msg.id);
          r.onAck(msg.status);
        }
        break;
      }
      case 'rpc_result': {
        const r = msg.to === this._tab ? this._requests.get(msg.id) : null;
        if (r) {
          this._requests.delete(msg.id);
          this._timers.clear(r.timer);
          if (msg.ok) r.resolve(msg.value);
          else r.reject(new SyncError({ code: 'rpc_failed', message: msg.error }));
        }
        break;
      }
      default:
        break;
    }
  }

  // The leader's side of the tab protocol.
  _serve(msg) {
    switch (msg.t) {
      case 'hello':
        this._post({ t: 'status', status: this._status });
        break;
      case 'local_change':
        this._dispatch({ type: 'local_change' });
        break;
      case 'sync_now':
        this._dispatch({ type: 'sync_now' }, [], () => {
          this._post({ t: 'sync_now_ack', id: msg.id, to: msg.from, status: this._status });
        });
        break;
      case 'rpc': {
        let reply;
        try {
          reply = { ok: true, value: this._runQuery(msg.m, msg.a) };
        } catch (e) {
          reply = { ok: false, error: String(e?.message ?? e) };
        }
        this._post({ t: 'rpc_result', id: msg.id, to: msg.from, ...reply });
        break;
      }
      default:
        break;
    }
  }

  _requestSyncNow(onAck) {
    if (this._handle !== null) {
      this._dispatch({ type: 'sync_now' }, [], () => onAck(this._status));
      return;
    }
    if (this._role === 'follower') {
      const id = `${this._tab}:${++this._seq}`;
      const msg = { t: 'sync_now', id };
      this._requests.set(id, { msg, onAck });
      this._post(msg);
      return;
    }
    onAck(this._status);
  }

  _runQuery(method, args) {
    if (!this._db) throw new Error('no database in this tab');
    if (method === 'isPending') return rowIsPending(this._db, args[0], args[1]);
    if (method === 'pendingCount') return outboxCount(this._db);
    if (method === 'outboxIds') return outboxIds(this._db, args[0], args[1], args[2]);
    throw new Error(`unknown query ${method}`);
  }

  async _query(method, args) {
    if (this._started) await this._started;
    if (this._db) return this._runQuery(method, args);
    if (this._role !== 'follower') throw new SyncError({ code: 'not_started', message: 'call start() first' });
    return new Promise((resolve, reject) => {
      const id = `${this._tab}:${++this._seq}`;
      const msg = { t: 'rpc', id, m: method, a: args };
      const timer = this._timers.set(() => {
        this._requests.delete(id);
        reject(new SyncError({ code: 'timeout', message: `no answer from the leading tab within ${RPC_TIMEOUT_MS} ms` }));
      }, RPC_TIMEOUT_MS);
      this._requests.set(id, { msg, resolve, reject, timer });
      this._post(msg);
    });
  }
}
