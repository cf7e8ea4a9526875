// Observability (mixed into Sync, see sync.mjs): every sync request becomes a
// round record — request size, changes sent, results by status, rows pulled,
// timings, error — kept in a ring of the last 20 (always: a few small
// objects), with the last conflicts and rejections, for inspect(). With
// `debug` on (the option, or localStorage.edgesync_debug = '1' in a page)
// each finished round is also logged as one line; off, nothing is formatted
// or parsed. The loop calls the _round* hooks where it performs http effects
// and receives their answers (loop.mjs).
import { outboxCount, selectRows } from './sqlite.mjs';

/** Rounds, conflicts and rejections kept for inspect(). */
const KEEP = 20;
/** Outbox rows inspect() returns by default. */
const OUTBOX_ROWS = 50;

const clock = () => globalThis.performance?.now?.() ?? Date.now();

/** The logger of the `debug` option: a function, console.debug for true or localStorage.edgesync_debug = '1', else null. */
export function debugLogger(debug) {
  if (typeof debug === 'function') return debug;
  if (debug === true) return (line, record) => console.debug(line, record);
  if (debug === false) return null;
  try {
    if (globalThis.localStorage?.getItem('edgesync_debug') === '1') return (line, record) => console.debug(line, record);
  } catch { /* storage denied (sandboxed frame): off */ }
  return null;
}

const kB = (n) => (n < 1024 ? `${n} B` : `${(n / 1024).toFixed(1)} kB`);

/** One line for a finished round record. */
export function formatRound(r) {
  const sent = r.sent === null ? '' : `, ${r.sent} change${r.sent === 1 ? '' : 's'}`;
  const head = `edgesync round #${r.id} ${r.method} ${r.path}${r.stream ? ' (stream)' : ''} ${kB(r.bytesSent)}${sent}`;
  const answer = r.status === null ? 'no answer' : `${r.status} ${kB(r.bytesReceived)} in ${r.ms.request} ms`;
  const { applied, conflict, rejected } = r.results;
  const res = applied + conflict + rejected ? `; applied ${applied}, conflict ${conflict}, rejected ${rejected}` : '';
  const pulled = r.pulled ? `; pulled ${r.pulled} rows` : '';
  const err = r.error ? `; error ${r.error.code}: ${r.error.message}` : '';
  return `${head} → ${answer}${res}${pulled}; ${r.ms.total} ms${err}`;
}

/** Round records, the inspector's data, and debug logging. */
export class SyncDebug {
  _debugInit() {
    this._log = debugLogger(this._o.debug);
    this._rounds = []; // finished records, oldest first (at most KEEP)
    this._open = []; // records whose round has not ended
    this._round = null; // the record answers' events belong to
    this._roundSeq = 0;
    this._conflicts = [];
    this._rejections = [];
  }

  // An http effect is about to be performed; returns its record.
  _roundStart(fx, segs) {
    // A new request: the rounds answered before it are over (paging).
    for (const r of this._open) if (r.status !== null) this._roundFinish(r, null);
    const body = fx.body ? segs[fx.body.seg] : null;
    const rec = {
      id: ++this._roundSeq, at: this._now(), method: fx.method ?? 'POST', path: fx.path, stream: Boolean(fx.stream),
      keepalive: Boolean(fx.keepalive), bytesSent: body?.byteLength ?? 0, sent: null, status: null, bytesReceived: 0,
      results: { applied: 0, conflict: 0, rejected: 0 }, pulled: 0, ms: { request: null, total: null }, error: null,
      t0: clock(),
    };
    // Only when logging: the exact count of changes sent (parses the body).
    if (this._log && body) {
      try {
        rec.sent = JSON.parse(new TextDecoder().decode(body)).batch?.changes?.length ?? 0;
      } catch { /* not JSON: leave it unknown */ }
    }
    this._open.push(rec);
    return rec;
  }

  // A chunk of a streamed answer: its frames' events belong to this record.
  _roundBytes(rec, n) {
    rec.bytesReceived += n;
    this._round = rec;
  }

  // The answer to the record's request (a response, or a failure).
  _roundAnswer(rec, event, body) {
    rec.ms.request = Math.round(clock() - rec.t0);
    if (event.type === 'http_failed') rec.error = { code: 'network', message: event.message };
    else rec.status = event.status;
    if (body) rec.bytesReceived += body.byteLength;
    this._round = rec;
  }

  // acked / conflict / rejected / changes effects of the answer being applied.
  _roundEvent(type, data) {
    const rec = this._round;
    if (type === 'conflict' || type === 'rejected') {
      const list = type === 'conflict' ? this._conflicts : this._rejections;
      list.push({ at: this._now(), ...data });
      if (list.length > KEEP) list.shift();
    }
    if (!rec) return;
    if (type === 'acked') rec.results.applied++;
    else if (type === 'conflict') rec.results.conflict++;
    else if (type === 'rejected') rec.results.rejected++;
    else if (type === 'changes') rec.pulled += data.rows ?? 0;
  }

  // The sync round ended (a status that is not `syncing`).
  _roundEnd(status) {
    for (const r of [...this._open]) this._roundFinish(r, status);
  }

  _roundFinish(rec, status) {
    this._open.splice(this._open.indexOf(rec), 1);
    if (this._round === rec) this._round = null;
    rec.ms.total = Math.round(clock() - rec.t0);
    if (rec.ms.request === null) rec.ms.request = rec.ms.total;
    const { applied, conflict, rejected } = rec.results;
    if (rec.sent === null && rec.status === 200) rec.sent = applied + conflict + rejected;
    const e = status?.lastError;
    if (!rec.error && e && e.at >= rec.at) rec.error = { code: e.code, message: e.message };
    delete rec.t0;
    this._rounds.push(rec);
    if (this._rounds.length > KEEP) this._rounds.shift();
    if (this._log) {
      try {
        this._log(formatRound(rec), rec);
      } catch { /* a logger must not break the sync */ }
    }
  }

  /**
   * What the sync is doing, read where the database is (the leading tab):
   * status, clientId, cursor, the first `outboxLimit` outbox rows, the
   * pending count, the last 20 rounds, conflicts and rejections.
   */
  async inspect({ outboxLimit = OUTBOX_ROWS } = {}) {
    return this._query('inspect', [outboxLimit]);
  }

  // The leader's side of inspect().
  _inspectLocal(limit) {
    const db = this._db;
    const n = Math.max(0, Math.min(Number(limit) || 0, 10000));
    const outbox = selectRows(db,
      'SELECT id, tbl AS "table", pk, op, row, hlc, base_version AS baseVersion, created_at AS createdAt FROM "sync_outbox" ORDER BY id LIMIT ?',
      [n]).map((r) => ({ ...r, pk: JSON.parse(r.pk), row: r.row === null ? null : JSON.parse(r.row) }));
    const cursor = selectRows(db, 'SELECT value FROM "sync_state" WHERE key = ?', ['cursor'])[0]?.value ?? null;
    const copy = (list) => list.map((x) => structuredClone(x));
    return {
      status: this._status,
      role: this._role,
      clientId: this._status.clientId,
      cursor: typeof cursor === 'string' ? cursor : null,
      pending: outboxCount(db),
      outbox,
      rounds: copy(this._rounds),
      conflicts: copy(this._conflicts),
      rejections: copy(this._rejections),
    };
  }
}
