// Live pokes on the client (mixed into Sync, see sync.mjs): while the
// instance leads its database, is online and visible, it holds a WebSocket to
// the server's /live endpoint (docs/protocol.md, "Live pokes"). A poke, and
// the `ready` that follows every (re)connect, send the core `sync_now` —
// the same event syncNow() sends — so the pull is the core's ordinary round
// (a poke during a round only marks one more round). Periodic sync stays as
// the fallback; a server without /live just keeps polling.

const PING_MS = 30_000; // the protocol's keepalive: text `ping`, answered `pong`
const PONG_TIMEOUT_MS = 10_000; // no pong by then: the connection is dead
const BACKOFF_BASE_MS = 1_000;
const BACKOFF_MAX_MS = 60_000;
// After this many failed attempts that never opened (no /live: 404, a proxy
// without WebSockets) the client retries rarely; polling carries the sync.
const UNREACHABLE_AFTER = 4;
const UNREACHABLE_RETRY_MS = 5 * 60_000;

/** The live connection of the leading instance. */
export class SyncLive {
  /** The options' `live`: false, or { url } (default: <url>/live on ws(s)). */
  _liveConfig() {
    const o = this._o.live;
    if (o === false) return null;
    const WS = (typeof o === 'object' && o?.WebSocket) || this._o.WebSocket || globalThis.WebSocket;
    if (typeof WS !== 'function') return null;
    let url = typeof o === 'object' && o?.url ? String(o.url) : `${this._baseUrl()}/live`;
    const base = globalThis.location?.href;
    if (base) url = new URL(url, base).href;
    return { url: url.replace(/^http(s?):/i, 'ws$1:'), WebSocket: WS };
  }

  _liveState() {
    this._lv ??= { ws: null, timer: null, ping: null, pong: null, attempt: 0, unopened: 0, fresh: false, gen: 0, ready: false };
    return this._lv;
  }

  /** Connects or disconnects to match: leading, running, online and visible. */
  _liveUpdate() {
    const lv = this._liveState();
    const visible = this._visible ?? (globalThis.document?.visibilityState ?? 'visible') !== 'hidden';
    const online = this._online ?? (globalThis.navigator?.onLine ?? true) !== false;
    const want = this._running && this._handle !== null && online && visible && this._liveConfig() !== null;
    if (!want) {
      this._liveClose();
      lv.attempt = 0;
      return;
    }
    if (!lv.ws && lv.timer === null) this._liveConnect();
  }

  _liveConnect() {
    const lv = this._liveState();
    const cfg = this._liveConfig();
    if (!cfg) return;
    const gen = ++lv.gen;
    let ws;
    try {
      ws = new cfg.WebSocket(cfg.url);
    } catch {
      this._liveRetry(false);
      return;
    }
    lv.ws = ws;
    let opened = false;
    const current = () => gen === lv.gen && lv.ws === ws;
    ws.onopen = async () => {
      if (!current()) return;
      opened = true;
      let token = null;
      try {
        token = await this._o.getToken({ refresh: lv.fresh });
      } catch { /* no token: the server closes after its auth deadline */ }
      if (!current()) return;
      lv.fresh = false;
      if (!token) {
        this._liveClose();
        this._liveRetry(true);
        return;
      }
      try { ws.send(JSON.stringify({ type: 'auth', token })); } catch { /* closing */ }
    };
    ws.onmessage = (e) => {
      if (!current()) return;
      const text = typeof e.data === 'string' ? e.data : '';
      if (text === 'pong') {
        this._timers.clear(lv.pong);
        lv.pong = null;
        return;
      }
      let msg;
      try { msg = JSON.parse(text); } catch { return; }
      if (msg?.type === 'ready') {
        lv.attempt = 0;
        lv.unopened = 0;
        this._liveSet(true);
        this._livePing();
        this._livePull(); // anything missed while not connected
      } else if (msg?.type === 'poke') {
        this._livePull();
      }
    };
    ws.onclose = (e) => {
      if (!current()) return;
      lv.ws = null;
      this._liveStopTimers();
      this._liveSet(false);
      // 4001: the token expired; 4401: refused. Either way ask for a fresh one.
      if (e?.code === 4001 || e?.code === 4401) lv.fresh = true;
      this._liveRetry(opened, e?.code === 4001);
    };
    ws.onerror = () => { /* onclose follows */ };
  }

  // Schedules the next attempt: at once after a token expiry, with backoff
  // and jitter otherwise, rarely once /live looks absent.
  _liveRetry(opened, now = false) {
    const lv = this._liveState();
    if (!this._running) return;
    if (!opened) lv.unopened++;
    const random = this._o.random ?? Math.random;
    let delay;
    if (now) delay = 0;
    else if (lv.unopened >= UNREACHABLE_AFTER) delay = UNREACHABLE_RETRY_MS * (0.5 + random() / 2);
    else delay = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(lv.attempt, 10)) * (0.5 + random() / 2);
    lv.attempt++;
    this._timers.clear(lv.timer);
    const gen = lv.gen;
    lv.timer = this._timers.set(() => {
      lv.timer = null;
      if (gen === lv.gen) this._liveUpdate();
    }, delay);
  }

  _livePing() {
    const lv = this._liveState();
    this._timers.clear(lv.ping);
    lv.ping = this._timers.set(() => {
      lv.ping = null;
      if (!lv.ws) return;
      try { lv.ws.send('ping'); } catch { /* closing */ }
      this._timers.clear(lv.pong);
      const ws = lv.ws;
      lv.pong = this._timers.set(() => {
        lv.pong = null;
        // A silent connection (a NAT dropped it): start over.
        if (lv.ws === ws) {
          this._liveClose();
          this._liveRetry(true);
        }
      }, PONG_TIMEOUT_MS);
      this._livePing();
    }, PING_MS);
  }

  _livePull() {
    if (this._running && this._handle !== null) this._dispatch({ type: 'sync_now' });
  }

  _liveStopTimers() {
    const lv = this._liveState();
    this._timers.clear(lv.ping);
    this._timers.clear(lv.pong);
    lv.ping = lv.pong = null;
  }

  /** Closes the connection and cancels any retry. */
  _liveClose() {
    const lv = this._liveState();
    lv.gen++;
    this._timers.clear(lv.timer);
    lv.timer = null;
    this._liveStopTimers();
    const ws = lv.ws;
    lv.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = null;
      // Closing a socket that is still connecting fails it with an error
      // event; node's `ws` throws an error event nobody listens to.
      ws.onerror = () => { /* closed on purpose */ };
      try { ws.close(1000); } catch { /* not open yet */ }
    }
    this._liveSet(false);
  }

  _liveSet(ready) {
    const lv = this._liveState();
    if (lv.ready === ready) return;
    lv.ready = ready;
    if (!this._running || this._status.state === 'stopped') return;
    this._setStatus(this._status);
    this._post({ t: 'status', status: this._status });
  }
}
