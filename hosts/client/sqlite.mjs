// Runs the client core's `sql` effects on an official SQLite WASM `oo1.DB`.
//
// An effect's statements run back to back, synchronously, with nothing else
// on the connection in between (the JS thread is never yielded), inside one
// transaction when `tx` is set. Parameters are JSON numbers, strings, null or
// {"seg": k} — frame segment k (row batches arrive as raw segments, never
// escaped), bound as a BLOB of its UTF-8 bytes: no JS string is decoded and
// encoded again per statement; the core's SQL reads it with CAST(? AS TEXT).
// For each statement marked `out` the first column of its first row is
// returned as text ('' when none).
const decoder = new TextDecoder();

/** Turns the effect's parameters into values oo1 can bind. */
function bindValues(params, segs) {
  return params.map((p) => (p !== null && typeof p === 'object' ? segs[p.seg] : p));
}

// The core's statements are the same few dozen texts over and over (one set
// per schema), and compiling the large apply statements costs more than
// running them: each database keeps its recently used ones compiled. SQLite
// recompiles a cached statement by itself after a schema change; closing the
// database finalizes them (oo1 tracks its statements).
const STATEMENT_CACHE_SIZE = 64;
const statementCaches = new WeakMap();

/** A compiled statement for `sql` on `db`, reset and unbound. */
function prepared(db, sql) {
  let cache = statementCaches.get(db);
  if (!cache) {
    cache = new Map();
    statementCaches.set(db, cache);
  }
  let stmt = cache.get(sql);
  if (stmt && stmt.pointer) {
    cache.delete(sql); // most recently used last
    cache.set(sql, stmt);
    return stmt;
  }
  stmt = db.prepare(sql);
  cache.set(sql, stmt);
  if (cache.size > STATEMENT_CACHE_SIZE) {
    const [oldest, old] = cache.entries().next().value;
    cache.delete(oldest);
    try { old.finalize(); } catch { /* already finalized */ }
  }
  return stmt;
}

/** The text the core expects for a result cell. */
function cellText(v) {
  if (v === undefined || v === null) return '';
  if (v instanceof Uint8Array) return decoder.decode(v);
  return String(v);
}

/**
 * Runs one `sql` effect. Returns `{ ok: true, values }` (one string per `out`
 * statement) or `{ ok: false, message }` after rolling back.
 */
export function runSqlEffect(db, fx, segs) {
  const values = [];
  let began = false;
  try {
    if (fx.tx) {
      db.exec('BEGIN IMMEDIATE');
      began = true;
    }
    for (const st of fx.statements) {
      const stmt = prepared(db, st.sql);
      try {
        if (st.params?.length) stmt.bind(bindValues(st.params, segs));
        if (st.out) {
          values.push(stmt.step() ? cellText(stmt.get(0)) : '');
        } else {
          while (stmt.step()) { /* drain */ }
        }
      } finally {
        // Ends the statement and drops the bound (large) texts; a failed
        // step's error is already on its way.
        if (stmt.resetNoThrow) stmt.resetNoThrow(true);
        else try { stmt.reset(true); } catch { /* reported by step() */ }
      }
    }
    if (began) db.exec('COMMIT');
    return { ok: true, values };
  } catch (e) {
    if (began) {
      try { db.exec('ROLLBACK'); } catch { /* already rolled back */ }
    }
    return { ok: false, message: String(e?.message ?? e) };
  }
}

/** The outbox key text of a primary key, exactly as the triggers build it. */
export function pkParams(pk) {
  const values = Array.isArray(pk) ? pk : [pk];
  if (!values.length) throw new TypeError('isPending: a primary key needs at least one value');
  return values;
}

/** True when the row still has outbox entries (unacknowledged local changes). */
export function rowIsPending(db, table, pk) {
  const values = pkParams(pk);
  const marks = values.map(() => '?').join(', ');
  const v = db.selectValue(
    `SELECT EXISTS (SELECT 1 FROM "sync_outbox" WHERE tbl = ? AND pk = json_array(${marks}))`,
    [table, ...values]);
  return Boolean(Number(v));
}

/** The number of outbox rows. */
export function outboxCount(db) {
  return Number(db.selectValue('SELECT count(*) FROM "sync_outbox"') ?? 0);
}

/** The outbox ids of a row (`maxId`: only those up to it), ascending. */
export function outboxIds(db, table, pk, maxId = null) {
  const values = pkParams(pk);
  const marks = values.map(() => '?').join(', ');
  const ids = [];
  const st = db.prepare(
    `SELECT id FROM "sync_outbox" WHERE tbl = ? AND pk = json_array(${marks})${maxId === null ? '' : ' AND id <= ?'} ORDER BY id`);
  try {
    st.bind(maxId === null ? [table, ...values] : [table, ...values, maxId]);
    while (st.step()) ids.push(Number(st.get(0)));
  } finally {
    st.finalize();
  }
  return ids;
}

/** The SQL function the triggers read the HLC's physical clock from. */
export const NOW_FUNCTION = 'edgesync_now_ms';

/**
 * Registers edgesync_now_ms() on `db`: the triggers of synced tables stamp
 * local writes with it, so it must exist on every connection that writes them.
 * `now` returns Unix ms (default Date.now; tests pass a virtual clock).
 * Innocuous (usable from triggers under trusted_schema=OFF), not deterministic.
 */
export function registerClock(db, now = Date.now) {
  db.createFunction(NOW_FUNCTION, () => Math.floor(now()), { arity: 0, innocuous: true });
}

/** `params` as oo1 binds them: undefined when there is nothing to bind. */
function binding(params) {
  if (params === undefined || params === null) return undefined;
  if (Array.isArray(params)) return params.length ? params : undefined;
  if (typeof params === 'object' && !(params instanceof Uint8Array)) return Object.keys(params).length ? params : undefined;
  return [params];
}

/** Runs one statement and returns its rows as plain objects. */
export function selectRows(db, sql, params) {
  const st = db.prepare(sql);
  try {
    const bind = binding(params);
    if (bind !== undefined) st.bind(bind);
    const rows = [];
    while (st.step()) rows.push(st.get({}));
    return rows;
  } finally {
    st.finalize();
  }
}

/** Runs `sql` (statements; `params` bind the first) and returns { changes, lastInsertRowid } of the last write. */
export function execWrite(db, sql, params) {
  db.exec({ sql, bind: binding(params) });
  const st = prepared(db, 'SELECT changes(), last_insert_rowid()');
  try {
    st.step();
    return { changes: Number(st.get(0)), lastInsertRowid: Number(st.get(1)) };
  } finally {
    st.reset(true);
  }
}

/**
 * The tables (lower case) a statement reads, from SQLite's authorizer
 * (SQLITE_READ) while it is compiled; views name their tables too.
 */
export function readTables(capi, db, sql) {
  const tables = new Set();
  capi.sqlite3_set_authorizer(db, (_ctx, action, table) => {
    if (action === capi.SQLITE_READ && table) tables.add(String(table).toLowerCase());
    return 0;
  }, 0);
  try {
    db.prepare(sql).finalize();
  } finally {
    capi.sqlite3_set_authorizer(db, 0, 0);
  }
  return [...tables];
}
