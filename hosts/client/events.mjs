// Events to listeners, and the waiters of syncNow() and whenSynced() that
// decide on them (mixed into Sync, see sync.mjs).
import { SyncError } from './status.mjs';

const MAX_KICKS = 10;

/** Per-row acknowledgement (whenSynced), events, syncNow() decisions. */
export class SyncEvents {
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
    // `live`: this instance's connection when it leads, else the leader's.
    const live = this._handle !== null ? Boolean(this._lv?.ready) : Boolean(status.live);
    this._status = Object.freeze({ ...status, role: this._role, live });
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
    if (atArm || s.state === 'error' || s.state === 'offline' || s.state === 'signed_out') {
      return w.reject(new SyncError(s.lastError, s.state === 'offline' ? 'offline' : 'sync did not start'));
    }
  }
}
