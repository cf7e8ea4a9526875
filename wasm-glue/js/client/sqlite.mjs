// Runs the client core's `sql` effects on an official SQLite WASM `oo1.DB`.
//
// An effect's statements run back to back, synchronously, with nothing else
// on the connection in between (the JS thread is never yielded), inside one
// transaction when `tx` is set. Parameters are JSON numbers, strings, null or
// {"seg": k} — the text of frame segment k (row batches and request bodies
// arrive as raw segments, never escaped). For each statement marked `out` the
// first column of its first row is returned as text ('' when none).
const decoder = new TextDecoder();

/** Turns the effect's parameters into values oo1 can bind. */
function bindValues(params, segs, texts) {
  return params.map((p) => {
    if (p !== null && typeof p === 'object') {
      const k = p.seg;
      if (!texts.has(k)) texts.set(k, decoder.decode(segs[k]));
      return texts.get(k);
    }
    return p;
  });
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
  const texts = new Map();
  const values = [];
  let began = false;
  try {
    if (fx.tx) {
      db.exec('BEGIN IMMEDIATE');
      began = true;
    }
    for (const st of fx.statements) {
      const stmt = db.prepare(st.sql);
      try {
        if (st.params?.length) stmt.bind(bindValues(st.params, segs, texts));
        if (st.out) {
          values.push(stmt.step() ? cellText(stmt.get(0)) : '');
        } else {
          while (stmt.step()) { /* drain */ }
        }
      } finally {
        stmt.finalize();
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
