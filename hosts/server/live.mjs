// Live pokes, the environment-neutral part (docs/protocol.md, "Live pokes"):
// the per-connection protocol (auth within a deadline, ping/pong, token
// expiry) and the hub that maps users to their connections and pokes them
// when PostgreSQL notifies a commit. A host gives it sockets (anything with
// send(text) and close(code, reason)) and notification payloads; it never
// sees row data, and a poke only ever means "pull now".
//
// The protocol's rules (close codes and reasons, message limits, the auth
// check, the payload format) are the pure functions below; the node hub
// (createLiveHub) and the workerd Durable Object (../workerd/live.mjs) both
// use them, so each rule is stated once.

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

/** The poke message. */
export const LIVE_POKE = '{"type":"poke"}';
/** The keep-alive: the client sends LIVE_PING, the server answers LIVE_PONG (fixed strings,
 * so a hibernating Durable Object auto-responds without waking). */
export const LIVE_PING = 'ping';
export const LIVE_PONG = 'pong';

/** A close reason (≤ 123 bytes of UTF-8, the WebSocket limit): `{"code":…,"message":…}`. */
function reason(code, message) {
  let text = JSON.stringify({ code, message });
  while (new TextEncoder().encode(text).length > 123) {
    message = message.slice(0, -8);
    text = JSON.stringify({ code, message });
  }
  return text;
}

// Every close the server makes: [code, reason code, message].
const CLOSES = {
  auth_timeout: (o) => [LIVE_CLOSE.authTimeout, `no auth message within ${o.authTimeoutMs} ms`],
  auth_required: () => [LIVE_CLOSE.authTimeout, 'the first message must be {"type":"auth","token":…}'],
  unauthorized: (o) => [LIVE_CLOSE.unauthorized, o.message],
  token_expired: () => [LIVE_CLOSE.tokenExpired, 'the token expired: reconnect with a fresh one'],
  full: () => [LIVE_CLOSE.full, 'this host holds its maximum of live connections', 'unavailable'],
  unavailable: () => [LIVE_CLOSE.unavailable, 'cannot check the token now: retry later'],
  too_large: (o) => [LIVE_CLOSE.tooLarge, `messages are limited to ${o.maxMessageBytes} bytes`],
  going_away: () => [LIVE_CLOSE.goingAway, 'the host is shutting down'],
};

/**
 * The close frame for `kind` (auth_timeout, auth_required, unauthorized,
 * token_expired, full, unavailable, too_large, going_away): `{code, reason}`.
 * `detail` fills the message: `authTimeoutMs`, `maxMessageBytes`, `message`.
 */
export function liveClose(kind, detail = {}) {
  const [code, message, reasonCode = kind] = CLOSES[kind](detail);
  return { code, reason: reason(reasonCode, message) };
}

/**
 * Reads one client message (a string, or bytes of a binary frame):
 * `{kind: 'too_large'}` over `maxMessageBytes`, `{kind: 'ping'}`,
 * `{kind: 'auth', token}`, or `{kind: 'other'}` (anything else, ignored once
 * authenticated; as a first message it is `auth_required`).
 */
export function readLiveMessage(data, maxMessageBytes = LIVE_DEFAULTS.maxMessageBytes) {
  const text = typeof data === 'string' ? data : new TextDecoder().decode(data);
  if (text.length > maxMessageBytes || new TextEncoder().encode(text).length > maxMessageBytes) return { kind: 'too_large' };
  if (text === LIVE_PING) return { kind: 'ping' };
  let msg;
  try { msg = JSON.parse(text); } catch { msg = null; }
  if (msg?.type === 'auth' && typeof msg.token === 'string' && msg.token !== '') return { kind: 'auth', token: msg.token };
  return { kind: 'other' };
}

/**
 * Checks an auth message's token exactly as /sync does. Resolves to
 * `{user, expiresAt, ready}` (expiresAt in Unix ms or null; `ready` is the
 * message to send) or `{close: {code, reason}, error?}` (`error`: the token
 * could not be checked at all — log it).
 */
export async function checkLiveToken(verifier, token, now = Date.now()) {
  let id;
  try {
    id = await verifier.verify(`Bearer ${token}`);
  } catch (e) {
    if (e?.code === 'unauthorized') return { close: liveClose('unauthorized', { message: e.message }) };
    return { close: liveClose('unavailable'), error: e };
  }
  const exp = id.claims?.exp;
  const expiresAt = typeof exp === 'number' ? exp * 1000 : null;
  // A token inside the verifier's clock tolerance is still past its exp:
  // the client must fetch a fresh one rather than loop on this one.
  if (expiresAt !== null && expiresAt <= now) return { close: liveClose('token_expired') };
  return { user: id.userId, expiresAt, ready: JSON.stringify({ type: 'ready', user: id.userId, expiresAt }) };
}

/**
 * The users a notification payload names: `{"u":[users]}` gives them,
 * `{"all":true}` or anything unreadable gives null (poke everyone).
 */
export function pokeTargets(payload) {
  let msg = null;
  try { msg = JSON.parse(payload); } catch { /* unreadable: everyone */ }
  if (!msg || msg.all === true || !Array.isArray(msg.u)) return null;
  return msg.u.filter((u) => typeof u === 'string');
}

// setTimeout's longest delay; a later expiry is re-armed when it fires.
const MAX_DELAY = 0x7fffffff;

/**
 * Creates the hub (the node host's; workerd's is a Durable Object).
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
      conn.socket.send(LIVE_POKE);
      pokes++;
    } catch { /* closing: its close handler unregisters it */ }
  }

  // Closes at the token's expiry (a long one is re-armed in steps).
  function armExpiry(conn) {
    if (conn.expiresAt === null) return;
    const wait = conn.expiresAt - now();
    if (wait <= 0) {
      conn.close(liveClose('token_expired'));
      return;
    }
    conn.expiryTimer = t.set(() => armExpiry(conn), Math.min(wait, MAX_DELAY));
  }

  async function authenticate(conn, token) {
    conn.state = 'authenticating';
    t.clear(conn.authTimer);
    const r = await checkLiveToken(verifier, token, now());
    if (conn.state === 'closed') return;
    if (r.close) {
      if (r.error) logger.error('edgesync: live: cannot check a token:', r.error);
      conn.close(r.close);
      return;
    }
    conn.user = r.user;
    conn.expiresAt = r.expiresAt;
    conn.state = 'ready';
    register(conn);
    conn.socket.send(r.ready);
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
          const msg = readLiveMessage(data, maxMessageBytes);
          if (msg.kind === 'too_large') conn.close(liveClose('too_large', { maxMessageBytes }));
          else if (msg.kind === 'ping') socket.send(LIVE_PONG);
          else if (conn.state === 'new') {
            if (msg.kind === 'auth') authenticate(conn, msg.token);
            else conn.close(liveClose('auth_required'));
          }
          // Anything else is ignored (newer clients may send more).
        },
        close({ code, reason: why }) {
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
        const { code, reason: why } = liveClose('full');
        try { socket.close(code, why); } catch { /* gone */ }
        return null;
      }
      open.add(conn);
      conn.authTimer = t.set(() => {
        if (conn.state === 'new') conn.close(liveClose('auth_timeout', { authTimeoutMs }));
      }, authTimeoutMs);
      return conn;
    },

    /**
     * A notification payload from PostgreSQL: `{"u":[users]}` pokes those
     * users' connections, `{"all":true}` (or anything unreadable) pokes all.
     */
    notify(payload) {
      const users = pokeTargets(payload);
      if (users === null) {
        this.pokeAll();
        return;
      }
      for (const user of users) for (const conn of byUser.get(user) ?? []) poke(conn);
    },

    /** Pokes every authenticated connection (after notifications may have been missed). */
    pokeAll() {
      for (const set of byUser.values()) for (const conn of set) poke(conn);
    },

    /** Closes every connection (1001: going away; clients reconnect elsewhere). */
    closeAll() {
      for (const conn of [...open]) conn.close(liveClose('going_away'));
    },

    /** Counters: open connections, authenticated users and connections, pokes sent. */
    stats() {
      let ready = 0;
      for (const set of byUser.values()) ready += set.size;
      return { connections: open.size, users: byUser.size, ready, pokes };
    },
  };
}
