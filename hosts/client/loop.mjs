// The effects runner of a sync client (mixed into Sync, see sync.mjs).
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
//                  | http_response (status + body segment) or http_failed.
//                  | `stream` and a 200: each chunk of the body as it
//                  | arrives (http_chunk), then http_response without body
//                  | No token (signed out) or another user's token: no
//                  | request; answered as the server would (account.mjs)
//   abort_http     | aborts that request
//   timer          | one setTimeout (replacing the last); sends `tick`
//   refresh_token  | getToken({ refresh: true }); answers token_refreshed or
//                  | token_failed
//   status         | `status` event (and the `status` getter)
//   acked, rejected, conflict, changes, progress | the events of the same names
//
// Events the host sends on its own: local_change (notifyLocalChange(), or
// automatically from an update hook on sync_outbox when `sqlite3` is given),
// online/offline, visible/hidden (visibilitychange, pagehide: a keepalive
// flush), sync_now (syncNow()).
import { runSqlEffect } from './sqlite.mjs';
import { tokenSubject } from './account.mjs';

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

/** The loop: feeds the core events and performs its effects, in order. */
export class SyncLoop {
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
          // An app transaction is open (db.mjs): the sync's statements wait for its end.
          if (this._appTx && this._fx[0].fx.type === 'sql') break;
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
        this._http(fx, segs, this._roundStart(fx, segs));
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
      case 'status': {
        this._setStatus(this._viewStatus(fx.status));
        this._post({ t: 'status', status: this._status });
        // The round is over: the watchers get the pull's tables (leader.mjs).
        if (fx.status.state !== 'syncing') {
          this._roundEnd(fx.status);
          this._flushPulled();
          // Files whose rows are acknowledged now upload (media.mjs).
          this._mediaKick();
        }
        break;
      }
      case 'acked':
      case 'rejected':
      case 'conflict':
      case 'changes':
      case 'progress': {
        const { type, ...data } = fx;
        this._roundEvent(type, data);
        this._emit(type, data);
        this._post({ t: 'event', name: type, data });
        // Without the connection hooks the watchers learn of pulled rows here
        // (with them, from the commits: leader.mjs).
        if (!this._hooked && type !== 'acked' && type !== 'progress') {
          this._tablesChanged(type === 'changes' ? data.tables : [data.table]);
        }
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
    const epoch = this._epoch;
    this._timer = this._timers.set(() => {
      this._timer = null;
      if (gen === this._gen && epoch === this._epoch) this._dispatch({ type: 'tick' });
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

  async _http(fx, segs, rec) {
    const gen = this._gen;
    const epoch = this._epoch; // signOut() moves it: this engine is gone
    const ctrl = new AbortController();
    this._inflight.set(fx.id, ctrl);
    const stale = () => gen !== this._gen || epoch !== this._epoch || ctrl.signal.aborted;
    const answer = (event, body, after = null) => {
      if (stale()) return;
      this._inflight.delete(fx.id);
      this._roundAnswer(rec, event, body);
      this._dispatch(event, body ? [body] : [], after);
    };
    const fake = (status, errorBody) => answer({ type: 'http_response', id: fx.id, status },
      new TextEncoder().encode(JSON.stringify(errorBody)));
    let token;
    let threw = false;
    try {
      token = await this._token();
    } catch (e) {
      token = null;
      threw = true;
      this._tokenError = String(e?.message ?? e);
    }
    if (stale()) return;
    const user = token ? tokenSubject(token) : null;
    const refusal = token ? this._refuseToken(user) : null;
    if (!token || refusal === 'signed_out') {
      // No token: no request. Answer like the server would, so the core asks
      // for a refresh and backs off if that gives none either; getToken()
      // simply having none is "signed out" (status.mjs), not an error.
      this._signedOut = !threw;
      if (this._signedOut) this._claimPending = true;
      fake(401, this._core.errorBody('unauthorized',
        `getToken() gave no token${this._tokenError ? ` (${this._tokenError})` : ''}`));
      this._tokenError = null;
      return;
    }
    this._signedOut = false;
    if (refusal === 'client_id_conflict') {
      // Another user's token for a database that synced as someone else in
      // this session: refused here, without sending its rows under them.
      fake(403, this._conflictBody(user));
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
      if (fx.stream && res.status === 200 && res.body) {
        // A streamed pull: the core applies each whole frame while the rest
        // downloads (its apply runs between two reads).
        const reader = res.body.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          if (stale()) return;
          this._roundBytes(rec, value.byteLength);
          this._dispatch({ type: 'http_chunk', id: fx.id }, [value]);
        }
      }
      const body = fx.stream && res.status === 200 ? null : new Uint8Array(await res.arrayBuffer());
      // The server bound this database's client id to the token's user (and
      // made every row it received theirs): once the answer is applied, the
      // local rows written signed out become theirs too (account.mjs).
      let claim = null;
      if (res.status === 200 && user && !stale()) {
        if (this._syncedAs !== user || this._claimPending) claim = () => this._claimLocalRows(user);
        this._syncedAs = user;
      }
      // The core waits at least this long before the next request.
      const wait = retryAfterMs(res.headers.get('retry-after'), this._now());
      answer({ type: 'http_response', id: fx.id, status: res.status, ...(wait === undefined ? {} : { retryAfterMs: wait }) }, body, claim);
    } catch (e) {
      answer({ type: 'http_failed', id: fx.id, message: String(e?.message ?? e) });
    }
  }

  async _refreshToken() {
    const gen = this._gen;
    const epoch = this._epoch;
    let token = null;
    let threw = false;
    let message = 'getToken({ refresh: true }) gave no token';
    try {
      token = await this._o.getToken({ refresh: true });
    } catch (e) {
      threw = true;
      message = String(e?.message ?? e);
    }
    if (gen !== this._gen || epoch !== this._epoch) return;
    if (token && this._refuseToken(tokenSubject(token)) === 'signed_out') token = null;
    if (token) {
      this._freshToken = token;
      this._dispatch({ type: 'token_refreshed' });
    } else {
      this._signedOut = !threw;
      this._dispatch({ type: 'token_failed', message });
    }
  }
}
