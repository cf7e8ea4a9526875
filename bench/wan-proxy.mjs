// A WAN in a box for the benchmarks: a TCP proxy on a private loopback port
// in front of PostgreSQL that holds every chunk for a fixed one-way delay
// (default 10 ms each way, BENCH_WAN_DELAY_MS), in order per direction, and
// counts round trips.
//
// A round trip is a client→server burst that follows server→client traffic
// on the same connection (or is the connection's first): the client had to
// wait for an answer before it could send again. "Follows" means after the
// server's bytes were handed to the client (not merely received by the
// proxy), so a client write that could not have been caused by an answer is
// never counted as a new round trip. Bursts are also decoded into PostgreSQL
// protocol message types (`Q` simple query, `P`/`B`/`D`/`E`/`S`/`H`
// extended protocol, …) and the answer's types, so a report can say what
// each round trip was.
import net from 'node:net';

/** The default one-way delay in ms: BENCH_WAN_DELAY_MS, else 10. */
export function defaultDelayMs() {
  const v = Number(process.env.BENCH_WAN_DELAY_MS);
  return Number.isFinite(v) && v >= 0 && process.env.BENCH_WAN_DELAY_MS !== '' ? v : 10;
}

// Frontend messages without a type byte: the startup packet and the
// SSL/GSS negotiation requests (their answer is a single byte).
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;

/**
 * Splits a byte stream into PostgreSQL messages and reports their type
 * letters; `untyped` counts how many messages (startup packets) have no type.
 */
function messageReader({ untyped = 0 } = {}) {
  let header = Buffer.alloc(0); // the bytes of a header not yet complete
  let remaining = 0; // body bytes of the current message still to skip
  let singleBytes = 0; // one-byte answers (SSL/GSS negotiation) expected
  const reader = {
    /** Frontend side: a negotiation request was sent; the answer is one byte. */
    expectSingleByte() { singleBytes++; },
    /** Returns the type letters of the messages starting in `chunk`. */
    read(chunk, onUntyped) {
      const types = [];
      let i = 0;
      while (i < chunk.length) {
        if (remaining > 0) {
          const n = Math.min(remaining, chunk.length - i);
          remaining -= n;
          i += n;
          continue;
        }
        if (singleBytes > 0 && header.length === 0) {
          singleBytes--;
          types.push(`ssl:${String.fromCharCode(chunk[i])}`);
          i++;
          continue;
        }
        const want = untyped > 0 ? 8 : 5;
        const n = Math.min(want - header.length, chunk.length - i);
        header = Buffer.concat([header, chunk.subarray(i, i + n)]);
        i += n;
        if (header.length < want) break;
        if (untyped > 0) {
          const len = header.readInt32BE(0);
          const code = header.readInt32BE(4);
          if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
            types.push(code === SSL_REQUEST ? 'SSLRequest' : 'GSSENCRequest');
            onUntyped?.(code);
          } else {
            types.push('startup');
            untyped--;
          }
          remaining = len - 8;
        } else {
          types.push(String.fromCharCode(header[0]));
          remaining = header.readInt32BE(1) - 4;
        }
        header = Buffer.alloc(0);
      }
      return types;
    },
  };
  return reader;
}

/**
 * Starts the proxy in front of `target` (`{host, port}`).
 *
 * @param {object} o
 * @param {{host?: string, port: number}} o.target PostgreSQL's address
 * @param {number} [o.delayMs] one-way delay, each direction (default: defaultDelayMs())
 * @param {number} [o.logLimit=10000] bursts kept in `stats().bursts`
 * @returns {Promise<{port: number, delayMs: number, url(pgUrl: string): string,
 *   stats(): object, reset(): void, close(): Promise<void>}>}
 */
export async function startWanProxy({ target, delayMs = defaultDelayMs(), logLimit = 10000 }) {
  const host = target.host ?? '127.0.0.1';
  const sockets = new Set();
  let counters;
  let nextConn = 0;
  const reset = () => {
    counters = { roundTrips: 0, connections: 0, clientBytes: 0, serverBytes: 0, bursts: [] };
  };
  reset();

  /**
   * One direction of a connection: chunks leave `delayMs` after they arrived,
   * in arrival order (a FIFO drained by one timer at a time). `null` is the
   * end of the stream, delayed like data.
   */
  function delayedPipe(to, onDeliver) {
    const queue = [];
    let timer = null;
    const flush = () => {
      timer = null;
      const now = performance.now();
      while (queue.length && queue[0].due <= now) {
        const { chunk } = queue.shift();
        if (to.destroyed) continue;
        if (chunk === null) to.end();
        else {
          onDeliver?.(chunk);
          to.write(chunk);
        }
      }
      if (queue.length) timer = setTimeout(flush, Math.max(0, queue[0].due - performance.now()));
    };
    return {
      push(chunk) {
        queue.push({ chunk, due: performance.now() + delayMs });
        if (timer === null) timer = setTimeout(flush, delayMs);
      },
      cancel() { if (timer) clearTimeout(timer); queue.length = 0; },
    };
  }

  // Half-open both ways: an end is delayed like data, so bytes still on the
  // wire in the other direction must be deliverable after it.
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    const conn = nextConn++;
    counters.connections++;
    const upstream = net.connect({ port: target.port, host, allowHalfOpen: true });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    sockets.add(client);
    sockets.add(upstream);
    const frontend = messageReader({ untyped: 1 });
    const backend = messageReader();
    // Whether the last traffic on this connection was the server's answer
    // delivered to the client (or nothing yet): the next client bytes start
    // a new round trip.
    let awaitingClient = true;
    let burst = null;

    const toServer = delayedPipe(upstream, () => { if (burst) burst.forwardedAt = performance.now(); });
    const toClient = delayedPipe(client, (chunk) => {
      awaitingClient = true;
      counters.serverBytes += chunk.length;
      burst?.answer.push(...backend.read(chunk));
    });

    client.on('data', (chunk) => {
      counters.clientBytes += chunk.length;
      if (awaitingClient) {
        awaitingClient = false;
        counters.roundTrips++;
        burst = { conn, sent: [], answer: [], forwardedAt: null, answeredAt: null };
        if (counters.bursts.length < logLimit) counters.bursts.push(burst);
      }
      burst.sent.push(...frontend.read(chunk, () => backend.expectSingleByte()));
      toServer.push(chunk);
    });
    upstream.on('data', (chunk) => {
      if (burst && burst.answeredAt === null && burst.forwardedAt !== null) burst.answeredAt = performance.now();
      toClient.push(chunk);
    });
    client.on('end', () => toServer.push(null));
    upstream.on('end', () => toClient.push(null));
    const teardown = () => {
      toServer.cancel();
      toClient.cancel();
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', teardown);
    upstream.on('error', teardown);
    client.on('close', () => { sockets.delete(client); });
    upstream.on('close', () => { sockets.delete(upstream); });
  });
  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => { server.off('error', fail); ok(); });
  });
  const { port } = server.address();

  return {
    port,
    delayMs,
    /** `pgUrl` with its host and port replaced by the proxy's. */
    url(pgUrl) {
      const u = new URL(pgUrl);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    /**
     * Counters since the last reset: `roundTrips`, `connections` opened,
     * `clientBytes`/`serverBytes` delivered, and `bursts` (one per round trip:
     * `{conn, sent: [message types], answer: [message types], serverMs}`,
     * serverMs: from handing the burst's last bytes to the server to its first
     * answer bytes, i.e. the server's own time for that round trip).
     */
    stats() {
      return {
        ...counters,
        bursts: counters.bursts.map(({ conn, sent, answer, forwardedAt, answeredAt }) => ({
          conn, sent: [...sent], answer: [...answer],
          serverMs: forwardedAt !== null && answeredAt !== null ? answeredAt - forwardedAt : null,
        })),
      };
    },
    /** Zeroes the counters (connections already open keep their state). */
    reset,
    /** Stops listening and cuts every connection. */
    async close() {
      for (const s of sockets) s.destroy();
      sockets.clear();
      await new Promise((r) => server.close(r));
    },
  };
}

/** One line per round trip: `conn 3: Q → T D C Z (server 1.2 ms)`. */
export function describeBursts(bursts) {
  return bursts.map((b) => `conn ${b.conn}: ${b.sent.join(' ')} → ${b.answer.join(' ')}` +
    (b.serverMs === null ? '' : ` (server ${b.serverMs.toFixed(1)} ms)`));
}
