// Live queries (mixed into Sync, see sync.mjs): watch(sql, params, cb)
// runs the query, then again whenever a table it reads changes.
//
// Which tables a query reads comes from SQLite itself: the authorizer's
// SQLITE_READ actions while the statement is compiled (views name their
// tables too). Which tables changed comes from the leader's hooks on the
// connection (leader.mjs): every row written — by the API, by the app
// directly, by a pull — marks its table, and each COMMIT hands the marked
// tables to _tablesChanged() once (one re-run per commit, not per row),
// which also tells the other tabs ({t: 'tables'}). Without the sqlite3
// namespace there are no hooks: pulls ('changes' events) name their tables
// and a write through the API re-runs every watcher.
import { selectRows, readTables } from './sqlite.mjs';

const TABLE_CACHE_SIZE = 256;

/** watch() and the invalidation of watchers. */
export class SyncWatch {
  /**
   * Calls `callback(rows)` with the query's rows now and after every commit
   * that changed a table it reads (in any tab, or from the server); returns
   * the unsubscribe function. `params` may be left out. Errors go to
   * `onError` (default: the 'error' event).
   */
  watch(sql, params, callback, { onError } = {}) {
    if (typeof params === 'function') return this.watch(sql, undefined, params, callback ?? {});
    if (typeof sql !== 'string' || !sql.trim()) throw new TypeError('watch: sql must be a non-empty string');
    if (typeof callback !== 'function') throw new TypeError('watch: callback must be a function (rows) => …');
    const w = { sql, params: params ?? null, callback, onError, tables: null, running: false, dirty: false, closed: false };
    this._watches.add(w);
    if (this._started) this._watchRun(w);
    // else start() runs it
    return () => {
      w.closed = true;
      this._watches.delete(w);
    };
  }

  // Runs a watcher's query (again), one run at a time; a change during a run
  // asks for one more.
  async _watchRun(w) {
    if (w.closed) return;
    if (w.running) {
      w.dirty = true;
      return;
    }
    w.running = true;
    try {
      do {
        w.dirty = false;
        let out;
        try {
          out = await this._watchQuery(w.sql, w.params);
        } catch (e) {
          if (w.closed || e?.code === 'stopped' || !this._running) return;
          if (w.onError) w.onError(e);
          else this._emit('error', e);
          continue;
        }
        if (w.closed) return;
        w.tables = out.tables ? new Set(out.tables) : null;
        try {
          w.callback(out.rows);
        } catch (e) {
          console.error('edgesync: a watch callback threw:', e);
        }
      } while (w.dirty && !w.closed);
    } finally {
      w.running = false;
    }
  }

  async _watchQuery(sql, params) {
    await this._dbReady();
    if (this._role === 'follower') return this._rpc('db.watch', [sql, params]);
    return this._exclusive(() => this._local(() => this._readWatched(sql, params)));
  }

  // Rows, and the tables read (null: unknown — every change re-runs it).
  _readWatched(sql, params) {
    let tables = this._tableCache.get(sql);
    if (tables === undefined) {
      const capi = this._o.sqlite3?.capi;
      tables = capi?.sqlite3_set_authorizer ? readTables(capi, this._db, sql) : null;
      this._tableCache.set(sql, tables);
      if (this._tableCache.size > TABLE_CACHE_SIZE) this._tableCache.delete(this._tableCache.keys().next().value);
    }
    return { rows: selectRows(this._db, sql, params), tables };
  }

  /** Tables changed (null: unknown which): re-runs the watchers that read them, here and in the other tabs. */
  _tablesChanged(tables) {
    this._post({ t: 'tables', tables });
    this._invalidate(tables);
  }

  _invalidate(tables) {
    if (!this._watches.size) return;
    const names = tables ? tables.map((t) => String(t).toLowerCase()) : null;
    for (const w of this._watches) {
      if (!names || !w.tables || names.some((n) => w.tables.has(n))) this._watchRun(w);
    }
  }

  // Every watcher again (a new leader, a start).
  _rerunWatches() {
    for (const w of this._watches) this._watchRun(w);
  }
}
