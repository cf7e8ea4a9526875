// The WAN benchmark's proxy (bench/wan-proxy.mjs) against a real PostgreSQL
// 15: it counts round trips the way the benchmark relies on (pipelined
// queries are one, sequential ones two, postgres.js's describe exchange is
// its own), it delays (generous lower bounds only; no upper bounds), and the
// bytes arrive intact and in order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import postgres from 'postgres';
import { startPostgres } from '../harness/postgres.mjs';
import { startWanProxy } from '../../bench/wan-proxy.mjs';

const DELAY = 30;
let pg, proxy;

before(async () => {
  pg = await startPostgres();
  proxy = await startWanProxy({ target: { port: pg.port }, delayMs: DELAY });
});
after(async () => {
  await proxy?.close();
  await pg?.stop();
});

/** A client through the proxy with one warm connection. */
async function warmClient(options = {}) {
  const sql = postgres(proxy.url(pg.url), { max: 1, onnotice: () => {}, ...options });
  await sql.unsafe('select 1');
  return sql;
}

test('a new connection is counted, with its startup and authentication round trips', async () => {
  proxy.reset();
  const sql = postgres(proxy.url(pg.url), { max: 1, onnotice: () => {}, fetch_types: false });
  try {
    await sql.unsafe('select 1');
    const s = proxy.stats();
    assert.equal(s.connections, 1);
    assert.deepEqual(s.bursts[0].sent, ['startup']);
    assert.equal(s.bursts[0].answer[0], 'R', 'the server asks for authentication');
    // startup, SCRAM first and final messages, then the query.
    assert.equal(s.roundTrips, 4, JSON.stringify(s.bursts));
    assert.deepEqual(s.bursts.at(-1).sent, ['Q']);
  } finally {
    await sql.end();
  }
});

test('sequential queries are two round trips, pipelined ones one; each waits for the delay', async () => {
  const sql = await warmClient();
  try {
    proxy.reset();
    let t0 = performance.now();
    await sql.unsafe('select 1');
    await sql.unsafe('select 2');
    const sequentialMs = performance.now() - t0;
    let s = proxy.stats();
    assert.equal(s.roundTrips, 2, JSON.stringify(s.bursts));
    assert.equal(s.connections, 0, 'the warm connection was reused');
    assert.deepEqual(s.bursts.map((b) => b.sent), [['Q'], ['Q']]);
    // The server's own time excludes the delays: the elapsed time holds four
    // delays plus both server times (timers may fire ~1 ms early).
    const serverMs = s.bursts.reduce((n, b) => n + b.serverMs, 0);
    assert.ok(s.bursts.every((b) => b.serverMs >= 0), JSON.stringify(s.bursts));
    assert.ok(serverMs <= sequentialMs - 4 * DELAY + 4, `server ${serverMs} ms of ${sequentialMs} ms`);
    // Two round trips, each one delay out and one back (timers may fire ~1 ms early).
    assert.ok(sequentialMs >= 4 * DELAY - 4, `sequential: ${sequentialMs} ms`);

    proxy.reset();
    t0 = performance.now();
    const [a, b] = await Promise.all([sql.unsafe('select 1 as x'), sql.unsafe('select 2 as x')]);
    const pipelinedMs = performance.now() - t0;
    assert.equal(a[0].x, 1);
    assert.equal(b[0].x, 2);
    s = proxy.stats();
    assert.equal(s.roundTrips, 1, JSON.stringify(s.bursts));
    assert.deepEqual(s.bursts[0].sent, ['Q', 'Q']);
    assert.ok(pipelinedMs >= 2 * DELAY - 2, `pipelined: ${pipelinedMs} ms`);
  } finally {
    await sql.end();
  }
});

test('an unprepared query with parameters costs a describe round trip first (postgres.js)', async () => {
  const sql = await warmClient({ prepare: false });
  try {
    proxy.reset();
    const [row] = await sql.unsafe('select $1::int + 1 as x', [41]);
    assert.equal(row.x, 42);
    const s = proxy.stats();
    assert.equal(s.roundTrips, 2, JSON.stringify(s.bursts));
    assert.deepEqual(s.bursts.map((b) => b.sent), [['P', 'D', 'H'], ['B', 'E', 'S']]);
  } finally {
    await sql.end();
  }
});

test('reset zeroes the counters; the connection keeps its state', async () => {
  const sql = await warmClient();
  try {
    await sql.unsafe('select 1');
    proxy.reset();
    assert.deepEqual(proxy.stats(), { roundTrips: 0, connections: 0, clientBytes: 0, serverBytes: 0, bursts: [] });
    await sql.unsafe('select 1');
    assert.equal(proxy.stats().roundTrips, 1);
  } finally {
    await sql.end();
  }
});

test('large values cross intact and in order, both ways', async () => {
  const sql = await warmClient();
  try {
    const big = Array.from({ length: 200_000 }, (_, i) => String.fromCharCode(97 + (i * 7) % 26)).join('');
    const [row] = await sql`select ${big}::text as v, md5(${big}::text) as h, repeat('xyz', 300000) as r`;
    assert.equal(row.v, big);
    assert.equal(row.r, 'xyz'.repeat(300000));
    const [{ h }] = await sql`select md5(${row.v}::text) as h`;
    assert.equal(h, row.h);
    assert.ok(proxy.stats().clientBytes > 400_000);
  } finally {
    await sql.end();
  }
});
