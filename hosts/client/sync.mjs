// The sync client: createSync() and the Sync class's public API. The class
// is written in parts, one idea each, whose methods are copied onto it:
//   events.mjs  events, the waiters of syncNow() and whenSynced()
//   loop.mjs    the loop around the WASM core and the effects it returns
//   leader.mjs  leading a database (schema, hook, core, crash restart)
//   tabs.mjs    tab leadership and cross-tab forwarding
//   db.mjs      query(), exec(), transaction() in every tab
//   watch.mjs   watch(): live queries
//   account.mjs signed-out use, the claim at sign-in, user switches, signOut()
//   live.mjs    the /live WebSocket: a poke means "sync now"
//   debug.mjs   round records, debug logging, inspect()
//   media.mjs   files of blob_ref columns: attach(), uploads, file()
import { loadClientCore } from './core.mjs';
import { registerClock } from './sqlite.mjs';
import { SyncError, STOPPED } from './status.mjs';
import { SyncEvents } from './events.mjs';
import { SyncLoop } from './loop.mjs';
import { SyncLeader } from './leader.mjs';
import { SyncTabs } from './tabs.mjs';
import { SyncAccount } from './account.mjs';
import { SyncLive } from './live.mjs';
import { SyncDb } from './db.mjs';
import { SyncWatch } from './watch.mjs';
import { SyncDebug } from './debug.mjs';
import { SyncMedia } from './media.mjs';

const EVENTS = new Set(['status', 'acked', 'rejected', 'conflict', 'changes', 'progress', 'role', 'error', 'file']);

/** Creates a sync client; nothing happens until start(). */
export function createSync(options) {
  return new Sync(options);
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
    this._epoch = 0; // one per local identity (signOut() moves it)
    // The user (token `sub`) this database synced as in this session, and the
    // one signOut() signed out (account.mjs).
    this._syncedAs = null;
    this._signedOutUser = null;
    this._claimPending = false; // rows written signed out may be queued
    this._watches = new Set(); // watch(): kept across stop()/start()
    this._tableCache = new Map(); // sql -> tables it reads
    this._dbTail = Promise.resolve(); // database work of the API, one at a time (db.mjs)
    this._appTx = false; // an API transaction is open: sync statements wait
    this._remoteTx = null; // the follower transaction this leader holds open
    this._debugInit(); // round records for inspect() and the `debug` log
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
    this._signedOut = false; // getToken() gave no token (status 'signed_out')
    this._conflictReported = false;
    this._open = []; // debug.mjs: rounds of this engine not yet ended
    this._round = null;
  }

  // ------------------------------------------------------------------ API

  /** The last status: { state, pending, lastSyncedAt, lastError, nextRetryAt, clientId, role, live }. */
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

  /**
   * Subscribes to 'status', 'acked', 'rejected', 'conflict', 'changes',
   * 'progress' ({received, applied, total}: rows of a catch-up pull; total is
   * the server's estimate or null), 'role', 'error' or 'file' (an attached
   * file's upload: {ref, table, pk, column, status, sent, size, mime, error});
   * returns an unsubscribe function.
   */
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
      // Watchers added before start() (the leader ran them in _lead already).
      if (this._role === 'follower') this._rerunWatches();
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
    this._mediaStop();
    if (this._handle !== null) {
      try { this._core.callFramed('client.close', { client: this._handle }); } catch { /* closing */ }
    }
    this._liveClose();
    this._lv = null;
    this._unhook?.();
    this._unhook = null;
    for (const off of this._unwire ?? []) off();
    this._unwire = null;
    if (this._remoteTx) this._txAbort(this._remoteTx.id);
    this._releaseLock?.();
    this._releaseLock = null;
    this._releaseTabLock?.();
    this._releaseTabLock = null;
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
    // Shows this round as syncing; getToken() decides again whether anyone
    // is signed in (rejects with code signed_out when not).
    this._signedOut = false;
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
    this._visible = Boolean(visible);
    if (this._handle !== null) this._dispatch({ type: visible ? 'visible' : 'hidden' });
    this._liveUpdate();
  }

  /** Connectivity, when the host knows better than navigator.onLine. */
  setOnline(online) {
    this._online = Boolean(online);
    if (this._handle !== null) this._dispatch({ type: online ? 'online' : 'offline' });
    this._liveUpdate();
  }

  /**
   * Tells the core a fresh token is available (e.g. after the user signed
   * in): a signed-out device sends its queued changes now, claimed by that
   * user. Also the sign-in of the user signOut() signed out: until this call
   * their token is treated as none, so the fresh identity is not bound to them.
   */
  tokenRefreshed() {
    this._signedOut = false;
    this._signedOutUser = null;
    if (this._handle !== null) this._dispatch({ type: 'token_refreshed' });
    else if (this._role === 'follower') this._post({ t: 'token_refreshed' });
  }

  /**
   * Signs the device out. By default (`keepLocalData: false`) the local data
   * goes: the synced tables' rows, the outbox (changes not yet sent are
   * lost), the sync state, and the client id — the next start (at once when
   * syncing) makes a new one, so the next user starts clean and nothing of
   * this user is ever sent under them. No triggers fire while clearing.
   * `keepLocalData: true` keeps everything: the database stays bound to the
   * user it synced as, whose next sign-in sends what was queued; another
   * user's token is refused (status error, code client_id_conflict, an
   * 'error' event) until signOut() without keepLocalData. Works in any tab
   * (a follower asks the leading one); before start() it clears this
   * instance's database (no other tab should be syncing it then).
   */
  async signOut({ keepLocalData = false } = {}) {
    if (this._started) await this._started;
    this._freshToken = null;
    if (keepLocalData) return;
    if (this._role === 'follower') await this._rpc('signOut', []);
    else await this._resetLocalData();
  }

  /** True while the row (`pk`: a value or an array in key order) has unacknowledged local changes. */
  async isPending(table, pk) {
    return this._query('isPending', [table, pk]);
  }

  /** The number of outbox rows (local changes not yet acknowledged). */
  async pendingCount() {
    return this._query('pendingCount', []);
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
}

// The parts' methods become Sync's own (same descriptors: non-enumerable, as
// if written in the class body); a name defined twice is a mistake.
for (const part of [SyncEvents, SyncLoop, SyncLeader, SyncTabs, SyncAccount, SyncLive, SyncDb, SyncWatch, SyncDebug, SyncMedia]) {
  for (const [name, descriptor] of Object.entries(Object.getOwnPropertyDescriptors(part.prototype))) {
    if (name === 'constructor') continue;
    if (Object.hasOwn(Sync.prototype, name)) throw new Error(`edgesync: Sync.${name} is defined twice`);
    Object.defineProperty(Sync.prototype, name, descriptor);
  }
}
