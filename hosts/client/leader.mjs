// The tab that syncs: opens the database, installs the schema and the
// local-change hook, opens the core, and restarts it after a crash (mixed
// into Sync, see sync.mjs).
import { loadClientCore, forgetClientCore } from './core.mjs';
import { registerClock } from './sqlite.mjs';

const GUARD = 'sync_apply_guard';
/** Pulled tables wait at most this long for the end of the sync round. */
const PULL_FLUSH_MS = 200;

/** Random hex (32 digits) from `random` in [0, 1), or from crypto.getRandomValues. */
export function defaultRandomHex(random) {
  const bytes = new Uint8Array(16);
  if (random) {
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256) & 255;
  } else {
    globalThis.crypto.getRandomValues(bytes);
  }
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Leading a database: what the syncing tab (or the only instance) does. */
export class SyncLeader {
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

  // Hooks on the connection (needs the sqlite3 namespace): a row hook
  // (preupdate where the build has it: it also sees WITHOUT ROWID tables,
  // else update) marks each written table, and calls notifyLocalChange() on
  // inserts into sync_outbox (the triggers' writes) unless autoNotify is
  // false; the commit hook hands the marked tables to the watchers once per
  // commit (watch.mjs), the rollback hook forgets them.
  _hook(db) {
    const capi = this._o.sqlite3?.capi;
    if (!capi?.sqlite3_update_hook || !capi.sqlite3_commit_hook) return;
    const INSERT = capi.SQLITE_INSERT;
    const notify = this._o.autoNotify !== false;
    const dirty = new Set();
    const row = (op, table) => {
      dirty.add(table);
      if (notify && op === INSERT && table === 'sync_outbox') this.notifyLocalChange();
    };
    const pre = typeof capi.sqlite3_preupdate_hook === 'function';
    if (pre) capi.sqlite3_preupdate_hook(db, (_ctx, _db, op, _dbName, table) => row(op, table), 0);
    else capi.sqlite3_update_hook(db, (_ctx, op, _dbName, table) => row(op, table), 0);
    capi.sqlite3_commit_hook(db, () => {
      if (dirty.size) {
        const tables = [...dirty];
        dirty.clear();
        // A pull commits page by page (sync_apply_guard is set while
        // applying): its tables wait for the end of the round (loop.mjs), at
        // most PULL_FLUSH_MS, so the watchers run once per pull, not per page.
        if (tables.includes(GUARD)) this._deferPulled(tables);
        // After the commit has finished (the hook runs inside it).
        else queueMicrotask(() => { if (this._running) this._tablesChanged(tables); });
      }
      return 0;
    }, 0);
    capi.sqlite3_rollback_hook(db, () => dirty.clear(), 0);
    this._hooked = true;
    this._unhook = () => {
      this._hooked = false;
      try {
        if (!db.isOpen()) return;
        if (pre) capi.sqlite3_preupdate_hook(db, 0, 0);
        else capi.sqlite3_update_hook(db, 0, 0);
        capi.sqlite3_commit_hook(db, 0, 0);
        capi.sqlite3_rollback_hook(db, 0, 0);
      } catch { /* closed */ }
    };
  }

  _deferPulled(tables) {
    this._pulled ??= new Set();
    for (const t of tables) this._pulled.add(t);
    if (this._pulledTimer === undefined || this._pulledTimer === null) {
      this._pulledTimer = this._timers.set(() => this._flushPulled(), PULL_FLUSH_MS);
    }
  }

  /** Hands the tables of the pull's commits to the watchers (at the end of the round). */
  _flushPulled() {
    this._timers.clear(this._pulledTimer);
    this._pulledTimer = null;
    if (!this._pulled?.size) return;
    const tables = [...this._pulled];
    this._pulled.clear();
    queueMicrotask(() => { if (this._running) this._tablesChanged(tables); });
  }

  async _lead(role) {
    const gen = this._gen;
    const db = await this._openDb();
    if (gen !== this._gen) return;
    this._installSchema(db);
    this._installRecords(db);
    this._installMedia(db);
    this._unhook?.();
    this._hook(db);
    this._role = role;
    this._emit('role', role);
    if (!this._openCore()) return;
    this._liveUpdate();
    if (role === 'leader') {
      this._post({ t: 'leader' });
      // What this tab asked the previous leader and never got answered.
      for (const [id, r] of this._requests) {
        this._requests.delete(id);
        if (r.msg.t === 'sync_now') {
          this._dispatch({ type: 'sync_now' }, [], () => r.onAck(this._status));
        } else if (r.msg.t === 'rpc') {
          // Database writes under their request id: the record tells whether
          // the previous leader ran them already (db.mjs).
          this._timers.clear(r.timer);
          Promise.resolve().then(() => this._runQuery(r.msg.m, r.msg.a, this._tab, r.msg.id)).then(r.resolve, r.reject);
        }
      }
    }
    this._rerunWatches();
  }

  // Opens the core on the database and starts its loop; false when it crashed.
  _openCore() {
    const meta = {
      schema: this._o.schema,
      seed: defaultRandomHex(this._o.random),
      online: this._online ?? (globalThis.navigator?.onLine ?? true) !== false,
      now: this._now(),
    };
    // This host reads streamed bodies: it catches up with streamed pulls
    // unless the app says otherwise (the core's default is off, for hosts
    // that cannot stream).
    meta.config = { stream: true, ...this._o.config };
    // After signOut() the given id was the previous identity's.
    if (this._o.clientId && !this._freshIdentity) meta.clientId = this._o.clientId;
    const out = this._call('client.open', meta);
    if (!out) return false;
    this._handle = out.meta.client;
    this._queue(out);
    this._pump();
    return true;
  }

  _crash(e) {
    const wasm = this._o.wasmUrl;
    this._emit('error', e);
    this._handle = null;
    this._gen++;
    this._liveClose();
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
}
