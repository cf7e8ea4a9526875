// The app's database API in every tab (mixed into Sync, see sync.mjs):
// query(), exec() and transaction() run where the database is — here when
// this instance leads (or runs alone), else in the leading tab over the tab
// channel (tabs.mjs). One piece of API work at a time runs on the database
// (a queue), and the sync loop's own statements wait while a transaction is
// open, so neither runs inside the other's transaction.
//
// Exactly once across a change of leader: a follower's write (exec, or a
// transaction's commit) carries its request id, which the leader records in
// the same SQLite transaction (sync_tab_requests). A request the old leader
// never answered is sent again to the next one, which answers a recorded id
// from the record instead of running it twice; a transaction the old leader
// held open when it went away was rolled back, so its statements fail with
// code tx_lost (nothing of it was applied: running it again is safe).
import { SyncError } from './status.mjs';
import { selectRows, execWrite } from './sqlite.mjs';

/** A remote transaction with no statement for this long is rolled back. */
const TX_IDLE_MS = 30000;
/** Recorded request ids are kept this long (a request older than this is not answered any more). */
const RECORD_TTL_MS = 3600000;
const RECORDS = 'sync_tab_requests';

function checkSql(what, sql, params) {
  if (typeof sql !== 'string' || !sql.trim()) {
    throw new SyncError({ code: 'bad_sql', message: `${what}: sql must be a non-empty string` });
  }
  if (params !== undefined && params !== null && typeof params !== 'object') {
    throw new SyncError({ code: 'bad_params', message: `${what}: params must be an array (or an object of named parameters)` });
  }
}

/** A SQLite failure as a SyncError (code sql_error) that crosses the tab channel unchanged. */
function sqlError(e) {
  if (e instanceof SyncError) return e;
  return new SyncError({ code: 'sql_error', message: String(e?.message ?? e) });
}

/** query / exec / transaction in every tab, and the leader's side of them. */
export class SyncDb {
  /** Runs a read and resolves with its rows as objects, in whichever tab holds the database. */
  async query(sql, params) {
    checkSql('query', sql, params);
    await this._dbReady();
    if (this._role === 'follower') return this._toLeader('db.query', [sql, params ?? null]);
    return this._exclusive(() => this._local(() => selectRows(this._db, sql, params)));
  }

  /** Runs a write (one or more statements; `params` bind the first) and resolves with { changes, lastInsertRowid }. */
  async exec(sql, params) {
    checkSql('exec', sql, params);
    await this._dbReady();
    if (this._role === 'follower') return this._toLeader('db.exec', [sql, params ?? null]);
    return this._exclusive(() => this._local(() => this._afterWrite(execWrite(this._db, sql, params))));
  }

  /**
   * Runs `fn(tx)` in one SQLite transaction (tx.query / tx.exec) and
   * resolves with its result after COMMIT; rolls back when it throws.
   */
  async transaction(fn) {
    if (typeof fn !== 'function') throw new SyncError({ code: 'bad_transaction', message: 'transaction: pass an async function (tx) => …' });
    await this._dbReady();
    if (this._role === 'follower') return this._remoteTransaction(fn);
    return this._exclusive(async () => {
      const db = this._db;
      this._local(() => db.exec('BEGIN IMMEDIATE'));
      this._appTx = true;
      let open = true;
      const guard = (what) => {
        if (!open) throw new SyncError({ code: 'tx_closed', message: `tx.${what}: the transaction has ended` });
      };
      const tx = {
        query: async (sql, params) => { guard('query'); checkSql('tx.query', sql, params); return this._local(() => selectRows(db, sql, params)); },
        exec: async (sql, params) => { guard('exec'); checkSql('tx.exec', sql, params); return this._local(() => execWrite(db, sql, params)); },
      };
      try {
        const value = await fn(tx);
        open = false;
        this._local(() => db.exec('COMMIT'));
        this._afterWrite(null);
        return value;
      } catch (e) {
        open = false;
        try { db.exec('ROLLBACK'); } catch { /* already rolled back */ }
        throw e;
      } finally {
        this._endAppTx();
      }
    });
  }

  // ---------------------------------------------------------- internals

  async _dbReady() {
    if (!this._started) throw new SyncError({ code: 'not_started', message: 'call start() before using the database API' });
    await this._started;
    if (this._role !== 'follower' && !this._db) throw new SyncError({ code: 'not_started', message: 'the database is not open (call start() first)' });
  }

  _local(fn) {
    try {
      return fn();
    } catch (e) {
      throw sqlError(e);
    }
  }

  // Runs fn when no other database work of this API is under way.
  _exclusive(fn) {
    const run = (this._dbTail ?? Promise.resolve()).then(fn);
    this._dbTail = run.then(() => {}, () => {});
    return run;
  }

  // After a write through the API: without the sqlite3 hooks (leader.mjs)
  // nothing saw it, so tell the sync and the watchers here.
  _afterWrite(result) {
    if (!this._hooked) {
      if (this._o.autoNotify !== false) this.notifyLocalChange();
      this._tablesChanged(null);
    }
    return result;
  }

  _endAppTx() {
    this._appTx = false;
    if (this._handle !== null) this._pump(); // the sync statements that waited
  }

  // The leader's records of applied follower writes.
  _installRecords(db) {
    db.exec(`CREATE TABLE IF NOT EXISTS "${RECORDS}" (id TEXT PRIMARY KEY, result TEXT NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID`);
    db.exec({ sql: `DELETE FROM "${RECORDS}" WHERE at < ?`, bind: [this._now() - RECORD_TTL_MS] });
  }

  _recorded(id) {
    const v = this._db.selectValue(`SELECT result FROM "${RECORDS}" WHERE id = ?`, [id]);
    return v === undefined || v === null ? null : JSON.parse(String(v));
  }

  _record(id, result) {
    this._db.exec({ sql: `INSERT INTO "${RECORDS}" (id, result, at) VALUES (?, ?, ?)`, bind: [id, JSON.stringify(result), this._now()] });
  }

  // A follower's write, run once per request id.
  _recordedExec(id, sql, params) {
    return this._exclusive(() => this._local(() => {
      const done = this._recorded(id);
      if (done) return done;
      const db = this._db;
      db.exec('BEGIN IMMEDIATE');
      try {
        const result = execWrite(db, sql, params);
        this._record(id, result);
        db.exec('COMMIT');
        return this._afterWrite(result);
      } catch (e) {
        try { db.exec('ROLLBACK'); } catch { /* already rolled back */ }
        throw e;
      }
    }));
  }

  // The leader's side of a follower's transaction: `begin` takes the queue
  // and holds it (with the transaction open) until commit, rollback, the
  // owner tab going away (its tab lock, tabs.mjs) or TX_IDLE_MS without a statement.
  _txBegin(id, owner) {
    return new Promise((opened, failed) => {
      this._exclusive(() => new Promise((release) => {
        try {
          this._db.exec('BEGIN IMMEDIATE');
        } catch (e) {
          release();
          failed(sqlError(e));
          return;
        }
        this._appTx = true;
        const t = { id, owner, release, timer: null, watch: null };
        this._remoteTx = t;
        this._txTouch(t);
        t.watch = this._watchTab(owner, () => this._txAbort(id));
        opened(true);
      }));
    });
  }

  _txTouch(t) {
    this._timers.clear(t.timer);
    t.timer = this._timers.set(() => this._txAbort(t.id), TX_IDLE_MS);
  }

  _txStep(id, kind, sql, params) {
    const t = this._remoteTx;
    if (t?.id !== id) throw new SyncError({ code: 'tx_lost', message: 'the transaction was rolled back (the tab holding the database changed, or it was idle too long); nothing of it was applied' });
    this._txTouch(t);
    return this._local(() => (kind === 'query' ? selectRows(this._db, sql, params) : execWrite(this._db, sql, params)));
  }

  _txCommit(id) {
    const t = this._remoteTx;
    if (t?.id !== id) {
      // Sent again after a change of leader: the record says whether it committed.
      if (this._recorded(id)) return true;
      throw new SyncError({ code: 'tx_lost', message: 'the transaction was rolled back before its commit (the tab holding the database changed); nothing of it was applied' });
    }
    try {
      this._local(() => {
        this._record(id, {});
        this._db.exec('COMMIT');
      });
    } catch (e) {
      this._txAbort(id);
      throw e;
    }
    this._txEnd(t);
    this._afterWrite(null);
    return true;
  }

  _txAbort(id) {
    const t = this._remoteTx;
    if (t?.id !== id) return false;
    try { this._db?.exec('ROLLBACK'); } catch { /* already rolled back */ }
    this._txEnd(t);
    return true;
  }

  _txEnd(t) {
    this._timers.clear(t.timer);
    t.watch?.();
    this._remoteTx = null;
    t.release();
    this._endAppTx();
  }

  // A follower's transaction: fn runs here, each statement in the leader.
  async _remoteTransaction(fn) {
    const id = this._nextId();
    await this._toLeader('db.begin', [], id);
    let open = true;
    const step = (kind) => async (sql, params) => {
      if (!open) throw new SyncError({ code: 'tx_closed', message: `tx.${kind}: the transaction has ended` });
      checkSql(`tx.${kind}`, sql, params);
      return this._toLeader('db.step', [id, kind, sql, params ?? null]);
    };
    let value;
    try {
      value = await fn({ query: step('query'), exec: step('exec') });
    } catch (e) {
      open = false;
      // Rolled back before this rejects (a leader that went away rolled it back already).
      await this._toLeader('db.rollback', [id]).catch(() => {});
      throw e;
    }
    open = false;
    await this._toLeader('db.commit', [id]);
    return value;
  }

  // A request to whichever tab leads now: this one after a takeover.
  _toLeader(method, args, id = this._nextId()) {
    if (this._role === 'follower') return this._rpc(method, args, id);
    return Promise.resolve().then(() => this._runQuery(method, args, this._tab, id));
  }

  // The database operations a follower asks the leader for (tabs.mjs _runQuery).
  _runDb(method, args, from, id) {
    if (method === 'db.query') return this._exclusive(() => this._local(() => selectRows(this._db, args[0], args[1])));
    if (method === 'db.watch') return this._exclusive(() => this._local(() => this._readWatched(args[0], args[1])));
    if (method === 'db.exec') return this._recordedExec(id, args[0], args[1]);
    if (method === 'db.begin') return this._txBegin(id, from);
    if (method === 'db.step') return this._txStep(args[0], args[1], args[2], args[3]);
    if (method === 'db.commit') return this._txCommit(args[0]);
    if (method === 'db.rollback') return this._txAbort(args[0]);
    return undefined;
  }
}
