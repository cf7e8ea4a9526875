// Live pokes on the node host: `GET /live` WebSocket upgrades (the `ws`
// package) handed to the hub (../server/live.mjs), and the one dedicated
// LISTEN connection that feeds it PostgreSQL's notifications. The protocol
// is in docs/protocol.md ("Live pokes"); deployment in docs/server.md.
import { WebSocketServer } from 'ws';
import postgres from 'postgres';
import { createLiveHub, LIVE_CHANNEL, LIVE_DEFAULTS } from '../server/live.mjs';

/**
 * Starts the live side of a node host.
 *
 * @param {object} o
 * @param {import('node:http').Server} o.server upgrades of /live are taken
 * @param {object} o.verifier the sync endpoint's verifier
 * @param {string} [o.databaseUrl] a DIRECT or session-mode connection for LISTEN (pgbouncer in
 *   transaction mode does not deliver notifications)
 * @param {object} [o.pool] with `listen: 'pool'`: the sync pool, a single-session database
 *   (PGlite) whose only session listens; startServer sends its notifications here
 * @param {'connection'|'pool'} [o.listen='connection']
 * @param {number} [o.maxConnections=20000]
 * @param {number} [o.authTimeoutMs=10000]
 * @param {number} [o.maxMessageBytes=4096]
 * @param {object} [o.postgresOptions] extra postgres.js options for the LISTEN connection
 * @param {object} [o.logger=console]
 */
export async function startLive({
  server, verifier, databaseUrl, pool, listen = 'connection', maxConnections = LIVE_DEFAULTS.maxConnections,
  authTimeoutMs, maxMessageBytes = LIVE_DEFAULTS.maxMessageBytes, postgresOptions = {}, logger = console,
}) {
  const hub = createLiveHub({ verifier, authTimeoutMs, maxMessageBytes, maxConnections, logger });
  // maxPayload makes ws itself refuse (1009) a frame over the limit before
  // buffering it; the hub checks decoded text too.
  const wss = new WebSocketServer({ noServer: true, maxPayload: maxMessageBytes, clientTracking: false, perMessageDeflate: false });

  const onUpgrade = (req, socket, head) => {
    let path;
    try { path = new URL(req.url ?? '/', 'http://x').pathname; } catch { path = ''; }
    if (path !== '/live') {
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const conn = hub.attach({ send: (text) => ws.send(text), close: (code, why) => ws.close(code, why) });
      if (!conn) return;
      ws.on('message', (data, isBinary) => conn.message(isBinary ? data : data.toString('utf8')));
      ws.on('close', () => conn.closed());
      ws.on('error', () => conn.closed());
    });
  };
  server.on('upgrade', onUpgrade);

  const listener = listen === 'pool' ? await listenOnPool(pool) : await listenOnConnection(databaseUrl, hub, postgresOptions, logger);

  return {
    hub,
    /** Closes every live connection (1001) and the LISTEN connection. */
    async close() {
      server.off('upgrade', onUpgrade);
      hub.closeAll();
      await listener.close();
    },
  };
}

// A single-session database (PGlite behind pglite-socket): the sync pool's
// one connection is that session, so LISTEN there and the pool receives
// every notification (startServer routes them with postgres.js `onnotify`).
async function listenOnPool(pool) {
  await pool.unsafe(`LISTEN ${LIVE_CHANNEL}`);
  return { close: async () => {} };
}

// One dedicated connection that LISTENs; on failure it is re-opened with
// backoff, and every device is poked once it is back (notifications sent
// while it was down are lost).
async function listenOnConnection(databaseUrl, hub, postgresOptions, logger) {
  // The documented logger has error(); warn() is used when it has one.
  const warn = (message) => (logger.warn ?? logger.error).call(logger, message);
  let closing = false;
  let timer = null;
  let attempt = 0;
  let listening = false;
  const sql = postgres(databaseUrl, {
    max: 1,
    idle_timeout: null,
    max_lifetime: null,
    fetch_types: false,
    connect_timeout: 10,
    onnotice: () => {},
    ...postgresOptions,
    onnotify: (channel, payload) => { if (channel === LIVE_CHANNEL) hub.notify(payload); },
    onclose: () => {
      if (closing || !listening) return;
      listening = false;
      warn('edgesync: live: the LISTEN connection closed; reconnecting');
      schedule();
    },
  });

  async function subscribe() {
    await sql.unsafe(`LISTEN ${LIVE_CHANNEL}`);
    listening = true;
  }

  function schedule() {
    if (closing || timer) return;
    const delay = Math.min(30_000, 250 * 2 ** Math.min(attempt, 7)) * (0.5 + Math.random() / 2);
    attempt++;
    timer = setTimeout(async () => {
      timer = null;
      try {
        await subscribe();
        attempt = 0;
        warn('edgesync: live: LISTEN connection restored; poking every device');
        hub.pokeAll();
      } catch (e) {
        if (closing) return;
        warn(`edgesync: live: cannot LISTEN (${e?.message ?? e}); retrying`);
        schedule();
      }
    }, delay);
  }

  // A database that is down at startup does not stop the host (its /sync
  // answers 503 meanwhile): it keeps trying, and devices poll until then.
  try {
    await subscribe();
  } catch (e) {
    warn(`edgesync: live: cannot LISTEN on ${LIVE_CHANNEL} yet (${e?.message ?? e}); retrying. ` +
      'LISTEN needs a direct or session-mode connection (LIVE_DATABASE_URL)');
    schedule();
  }
  return {
    async close() {
      closing = true;
      clearTimeout(timer);
      await sql.end({ timeout: 2 }).catch(() => {});
    },
  };
}
