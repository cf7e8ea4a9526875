// Live pokes, the environment-neutral part (docs/protocol.md, "Live pokes"):
// the per-connection protocol (auth within a deadline, ping/pong, token
// expiry) and the hub that maps users to their connections and pokes them
// when PostgreSQL notifies a commit. A host gives it sockets (anything with
// send(text) and close(code, reason)) and notification payloads; it never
// sees row data, and a poke only ever means "pull now".

/** The LISTEN/NOTIFY channel the generated triggers notify (core/sql/pg_notify.h). */
export const LIVE_CHANNEL = 'edgesync';

/** Close codes of the live endpoint (WebSocket application codes). */
export const LIVE_CLOSE = Object.freeze({
  authTimeout: 4400, // no auth message in time, or the first message was not one
  unauthorized: 4401, // the token was refused
  tokenExpired: 4001, // the token's exp passed: reconnect with a fresh token
  full: 4503, // the host's connection cap is reached: retry later
  unavailable: 4503, // the token could not be checked now (JWKS down): retry later
  tooLarge: 1009, // a message over the limit
  goingAway: 1001, // the host is shutting down
});

/** Defaults of the live endpoint's limits. */
export const LIVE_DEFAULTS = Object.freeze({
  authTimeoutMs: 10_000,
  maxMessageBytes: 4096,
  maxConnections: 20_000,
});

const POKE = '{"type":"poke"}';
// setTimeout's longest delay; a later expiry is re-armed when it fires.
const MAX_DELAY = 0x7fffffff;

/** A close reason (≤ 123 bytes of UTF-8, the WebSocket limit): `{"code":…,"message":…}`. */
function reason(code, message) {
  let text = JSON.stringify({ code, message });
  while (new TextEncoder().encode(text).length > 123) {
    message = message.slice(0, -8);
    text = JSON.stringify({ code, message });
  }
  return text;
}

/**
 * Creates the hub.
 *
 * @param {object} o
 * @param {{verify(h: string): Promise<{userId: string, claims: object}>}} o.verifier the sync endpoint's (auth.mjs)
 * @param {number} [o.authTimeoutMs=10000]
 * @param {number} [o.maxMessageBytes=4096] larger client messages close the connection (1009)
 * @param {number} [o.maxConnections=20000] open connections (authenticated or not) per host
 * @param {() => number} [o.now=Date.now]
 * @param {{set(fn: Function, ms: number): any, clear(id: any): void}} [o.timers]
 * @param {object} [o.logger=console]
 */
export function createLiveHub({
  verifier, authTimeoutMs = LIVE_DEFAULTS.authTimeoutMs, maxMessageBytes = LIVE_DEFAULTS.maxMessageBytes,
  maxConnections = LIVE_DEFAULTS.maxConnections, now = Date.now, timers, logger = console,
} = {}) {
  if (typeof verifier?.verify !== 'function') throw new TypeError('createLiveHub: verifier is required');
  const t = timers ?? { set: (fn, ms) => setTimeout(fn, ms), clear: (id) => clearTimeout(id) };
  const byUser = new Map(); // user -> Set<connection>
  const open = new Set();
  let pokes = 0;

  function register(conn) {
    let set = byUser.get(conn.user);
    if (!set) byUser.set(conn.user, (set = new Set()));
    set.add(conn);
  }

  function unregister(conn) {
    const set = byUser.get(conn.user);
    if (!set) return;
    set.delete(conn);
    if (!set.size) byUser.delete(conn.user);
  }

  function poke(conn) {
    try {
      conn.socket.send(POKE);
      pokes++;
    } catch { /* closing: its close handler unregisters it */ }
  }

  // Closes at the token's expiry (a long one is re-armed in steps).
  function armExpiry(conn) {
    if (conn.expiresAt === null) return;
    const wait = conn.expiresAt - now();
    if (wait <= 0) {
      conn.close(LIVE_CLOSE.tokenExpired, reason('token_expired', 'the token expired: reconnect with a fresh one'));
      return;
    }
    conn.expiryTimer = t.set(() => armExpiry(conn), Math.min(wait, MAX_DELAY));
  }

  async function authenticate(conn, token) {
    conn.state = 'authenticating';
    t.clear(conn.authTimer);
    let id;
    try {
      id = await verifier.verify(`Bearer ${token}`);
    } catch (e) {
      if (conn.state === 'closed') return;
      if (e?.code === 'unauthorized') {
        conn.close(LIVE_CLOSE.unauthorized, reason('unauthorized', e.message));
      } else {
        logger.error('edgesync: live: cannot check a token:', e);
        conn.close(LIVE_CLOSE.unavailable, reason('unavailable', 'cannot check the token now: retry later'));
      }
      return;
    }
    if (conn.state === 'closed') return;
    const exp = id.claims?.exp;
    conn.user = id.userId;
    conn.expiresAt = typeof exp === 'number' ? exp * 1000 : null;
    // A token inside the verifier's clock tolerance is still past its exp:
    // the client must fetch a fresh one rather than loop on this one.
    if (conn.expiresAt !== null && conn.expiresAt <= now()) {
      conn.close(LIVE_CLOSE.tokenExpired, reason('token_expired', 'the token expired: reconnect with a fresh one'));
      return;
    }
    conn.state = 'ready';
    register(conn);
    conn.socket.send(JSON.stringify({ type: 'ready', user: conn.user, expiresAt: conn.expiresAt }));
    armExpiry(conn);
  }

  return {
    /**
     * A new socket (already upgraded). Returns its connection, whose
     * `message(text)` and `closed()` the host calls; `null` when the host is
     * full (the socket is then closed).
     */
    attach(socket) {
      const conn = {
        socket, state: 'new', user: null, expiresAt: null, authTimer: null, expiryTimer: null,
        message(data) {
          if (conn.state === 'closed') return;
          const text = typeof data === 'string' ? data : new TextDecoder().decode(data);
          if (text.length > maxMessageBytes || new TextEncoder().encode(text).length > maxMessageBytes) {
            conn.close(LIVE_CLOSE.tooLarge, reason('too_large', `messages are limited to ${maxMessageBytes} bytes`));
            return;
          }
          if (text === 'ping') {
            socket.send('pong');
            return;
          }
          let msg;
          try { msg = JSON.parse(text); } catch { msg = null; }
          if (conn.state === 'new') {
            if (msg?.type === 'auth' && typeof msg.token === 'string' && msg.token !== '') authenticate(conn, msg.token);
            else conn.close(LIVE_CLOSE.authTimeout, reason('auth_required', 'the first message must be {"type":"auth","token":…}'));
          }
          // Anything else is ignored (newer clients may send more).
        },
        close(code, why) {
          if (conn.state === 'closed') return;
          conn.closed();
          try { socket.close(code, why); } catch { /* already closing */ }
        },
        closed() {
          if (conn.state === 'closed') return;
          conn.state = 'closed';
          t.clear(conn.authTimer);
          t.clear(conn.expiryTimer);
          open.delete(conn);
          if (conn.user !== null) unregister(conn);
        },
      };
      if (open.size >= maxConnections) {
        conn.state = 'closed';
        try { socket.close(LIVE_CLOSE.full, reason('unavailable', 'this host holds its maximum of live connections')); } catch { /* gone */ }
        return null;
      }
      open.add(conn);
      conn.authTimer = t.set(() => {
        if (conn.state === 'new') {
          conn.close(LIVE_CLOSE.authTimeout, reason('auth_timeout', `no auth message within ${authTimeoutMs} ms`));
        }
      }, authTimeoutMs);
      return conn;
    },

    /**
     * A notification payload from PostgreSQL: `{"u":[users]}` pokes those
     * users' connections, `{"all":true}` (or anything unreadable) pokes all.
     */
    notify(payload) {
      let msg = null;
      try { msg = JSON.parse(payload); } catch { /* unreadable: poke all */ }
      if (!msg || msg.all === true || !Array.isArray(msg.u)) {
        this.pokeAll();
        return;
      }
      for (const user of msg.u) {
        if (typeof user !== 'string') continue;
        for (const conn of byUser.get(user) ?? []) poke(conn);
      }
    },

    /** Pokes every authenticated connection (after notifications may have been missed). */
    pokeAll() {
      for (const set of byUser.values()) for (const conn of set) poke(conn);
    },

    /** Closes every connection (1001: going away; clients reconnect elsewhere). */
    closeAll() {
      for (const conn of [...open]) conn.close(LIVE_CLOSE.goingAway, reason('going_away', 'the host is shutting down'));
    },

    /** Counters: open connections, authenticated users and connections, pokes sent. */
    stats() {
      let ready = 0;
      for (const set of byUser.values()) ready += set.size;
      return { connections: open.size, users: byUser.size, ready, pokes };
    },
  };
}
