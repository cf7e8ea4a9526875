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
import { runSqlEffect } from './sqlite.mjs';

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
        this._post({ t: 'status', status: this._status });
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
}
