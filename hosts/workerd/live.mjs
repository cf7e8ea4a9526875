// Live pokes on workerd / Cloudflare (docs/protocol.md, "Live pokes"): the
// hub is a Durable Object holding every /live WebSocket through the
// hibernation API, so idle connections cost no running isolate: `ping` is
// answered by the runtime itself (setWebSocketAutoResponse), each socket's
// state lives in its attachment, and one alarm (the earliest deadline)
// enforces the auth deadline and token expiry. The worker forwards upgrades
// here and, since workerd has no LISTEN (Hyperdrive pools connections), sends
// the poke payload of each of its own commits to POST /notify.
//
// The protocol's rules (close codes, limits, the token check, the payload
// format) are ../server/live.mjs's; this file is only the Durable Object
// wiring.
import { DurableObject } from 'cloudflare:workers';
import { createVerifier } from '../server/auth.mjs';
import { loadConfig } from '../server/config.mjs';
import {
  LIVE_DEFAULTS, LIVE_PING, LIVE_PONG, LIVE_POKE, liveClose, readLiveMessage, checkLiveToken, pokeTargets,
} from '../server/live.mjs';

/** The one hub of a deployment (`idFromName`). Sharding is docs/server.md's scale path. */
export const HUB_NAME = 'live';

const OPEN = 1; // WebSocket.readyState

// A socket's attachment (structured clone, ≤ 2 KiB): {s: 'new', d: auth
// deadline ms} → {s: 'authenticating'} → {s: 'ready', u: user, e: expiresAt|null}.

/** The hub Durable Object: bind it (wrangler.toml) and export it from the worker's entry. */
export class LiveHub extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    // Answered without waking a hibernated hub (nor running webSocketMessage).
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(LIVE_PING, LIVE_PONG));
    this.setup = null;
    // user -> Set<WebSocket> of ready sockets; rebuilt from the attachments
    // after a hibernation (in-memory state is gone then, the sockets are not).
    this.byUser = null;
    this.alarmAt = undefined; // the alarm set, as far as this instance knows
  }

  // Configuration and verifier, once per instance (the same as /sync's).
  config() {
    if (!this.setup) {
      const cfg = loadConfig(this.env);
      if (!cfg.auth) throw new Error('no token verification configured: set EDGESYNC_JWT_SECRET or EDGESYNC_JWKS_URL');
      this.setup = {
        verifier: createVerifier(cfg.auth),
        authTimeoutMs: cfg.live.authTimeoutMs ?? LIVE_DEFAULTS.authTimeoutMs,
        maxConnections: cfg.live.maxConnections ?? LIVE_DEFAULTS.maxConnections,
        maxMessageBytes: LIVE_DEFAULTS.maxMessageBytes,
      };
    }
    return this.setup;
  }

  /** `POST /notify` (a poke payload from the worker), or a WebSocket upgrade of /live. */
  async fetch(request) {
    const { pathname } = new URL(request.url);
    if (pathname === '/notify') {
      if (request.method !== 'POST') return new Response(null, { status: 405, headers: { allow: 'POST' } });
      const pokes = this.notify(await request.text());
      return Response.json({ pokes });
    }
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') {
      return new Response('GET /live is a WebSocket endpoint', { status: 426, headers: { upgrade: 'websocket' } });
    }
    let cfg;
    try {
      cfg = this.config();
    } catch (e) {
      console.error(`edgesync: live hub misconfigured: ${e?.message ?? e}`);
      return new Response('the live hub is misconfigured; see its logs', { status: 500 });
    }
    const { 0: client, 1: server } = new WebSocketPair();
    if (this.ctx.getWebSockets().length >= cfg.maxConnections) {
      server.accept();
      close(server, liveClose('full'));
      return new Response(null, { status: 101, webSocket: client });
    }
    const deadline = Date.now() + cfg.authTimeoutMs;
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment({ s: 'new', d: deadline });
    await this.arm(deadline);
    return new Response(null, { status: 101, webSocket: client });
  }

  /** A client message (a hibernated hub is woken for it; `ping` never gets here). */
  async webSocketMessage(ws, message) {
    const cfg = this.config();
    const msg = readLiveMessage(message, cfg.maxMessageBytes);
    if (msg.kind === 'too_large') return this.close(ws, liveClose('too_large', { maxMessageBytes: cfg.maxMessageBytes }));
    if (msg.kind === 'ping') return ws.send(LIVE_PONG); // not the exact auto-response text
    if (ws.deserializeAttachment()?.s !== 'new') return undefined; // anything else is ignored
    if (msg.kind !== 'auth') return this.close(ws, liveClose('auth_required'));
    ws.serializeAttachment({ s: 'authenticating' });
    const r = await checkLiveToken(cfg.verifier, msg.token, Date.now());
    if (ws.readyState !== OPEN) return undefined; // the client left meanwhile
    if (r.close) {
      if (r.error) console.error(`edgesync: live: cannot check a token: ${r.error?.message ?? r.error}`);
      return this.close(ws, r.close);
    }
    try {
      ws.serializeAttachment({ s: 'ready', u: r.user, e: r.expiresAt });
    } catch {
      // The attachment is limited to 2 KiB; only an absurd `sub` exceeds it.
      return this.close(ws, liveClose('unauthorized', { message: 'the token\'s sub is too long for the live endpoint' }));
    }
    add(this.index(), r.user, ws); // a Set: a rebuilt index may hold it already
    ws.send(r.ready);
    if (r.expiresAt !== null) await this.arm(r.expiresAt);
    return undefined;
  }

  /** The client closed: finish the closing handshake, forget the socket. */
  async webSocketClose(ws, code, reason) {
    this.forget(ws);
    // Codes a peer may not send back (no status, abnormal, TLS) close plainly.
    try {
      if (code >= 1000 && code !== 1005 && code !== 1006 && code !== 1015) ws.close(code, reason);
      else ws.close();
    } catch { /* already closed */ }
  }

  /** The connection failed. */
  async webSocketError(ws) {
    this.forget(ws);
  }

  /** The earliest deadline passed: close what is due, re-arm for the next one. */
  async alarm() {
    this.alarmAt = null;
    const cfg = this.config();
    const now = Date.now();
    let next = null;
    for (const ws of this.ctx.getWebSockets()) {
      const a = ws.deserializeAttachment();
      const due = a?.s === 'new' ? a.d : a?.s === 'ready' ? a.e : null;
      if (due === null || due === undefined) continue;
      if (due <= now) {
        this.close(ws, a.s === 'new' ? liveClose('auth_timeout', { authTimeoutMs: cfg.authTimeoutMs }) : liveClose('token_expired'));
      } else if (next === null || due < next) {
        next = due;
      }
    }
    if (next !== null) await this.arm(next);
  }

  /** Pokes the sockets of the users a payload names (all of them for "all"); returns how many. */
  notify(payload) {
    const users = pokeTargets(payload);
    let n = 0;
    const poke = (ws) => {
      try {
        if (ws.readyState !== OPEN) throw new Error('closed');
        ws.send(LIVE_POKE);
        n++;
      } catch {
        this.forget(ws);
      }
    };
    if (users === null) {
      for (const ws of this.ctx.getWebSockets()) if (ws.deserializeAttachment()?.s === 'ready') poke(ws);
      return n;
    }
    const index = this.index();
    for (const user of users) for (const ws of [...(index.get(user) ?? [])]) poke(ws);
    return n;
  }

  // The user -> sockets index, rebuilt from the attachments when this
  // instance has none (first use, or after a hibernation).
  index() {
    if (!this.byUser) {
      this.byUser = new Map();
      for (const ws of this.ctx.getWebSockets()) {
        const a = ws.deserializeAttachment();
        if (a?.s === 'ready') add(this.byUser, a.u, ws);
      }
    }
    return this.byUser;
  }

  forget(ws) {
    let a;
    try { a = ws.deserializeAttachment(); } catch { return; }
    const set = a?.s === 'ready' ? this.byUser?.get(a.u) : undefined;
    if (set?.delete(ws) && !set.size) this.byUser.delete(a.u);
  }

  close(ws, frame) {
    this.forget(ws);
    try { ws.serializeAttachment({ s: 'closed' }); } catch { /* closed already */ }
    close(ws, frame);
  }

  // One alarm, at the earliest deadline of all sockets.
  async arm(at) {
    if (this.alarmAt === undefined) this.alarmAt = await this.ctx.storage.getAlarm();
    if (this.alarmAt !== null && this.alarmAt <= at) return;
    this.alarmAt = at;
    await this.ctx.storage.setAlarm(at);
  }
}

function add(map, user, ws) {
  let set = map.get(user);
  if (!set) map.set(user, (set = new Set()));
  set.add(ws);
}

function close(ws, { code, reason }) {
  try { ws.close(code, reason); } catch { /* closed already */ }
}
