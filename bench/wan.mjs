// WAN benchmark (issue 10, part 2): the node host reaches PostgreSQL through
// bench/wan-proxy.mjs, which delays every chunk by BENCH_WAN_DELAY_MS (default
// 10 ms) each way and counts round trips, as a worker reaches its database
// across the WAN through Hyperdrive. Every figure is measured in the same run:
//
//   wan_rtt_ms                p50 of `SELECT 1` through the proxy (warm connection)
//   wan_round_trips_per_sync  round trips of one 10-row push through the real
//                             host, counted by the proxy (max over the measured requests)
//   wan_round_trips_pull      the same for a pull-only request (another device of the user)
//   wan_sync_p50_ms           10-row push, end to end over HTTP at the host
//   wan_pull_p50_ms           pull-only request (it pulls the 10 rows just pushed)
//   wan_baseline_sync_p50_ms, wan_baseline_round_trips
//                             the endpoint users write today (seed 002): one
//                             transaction, per row select the row, compare
//                             timestamps in JS, insert or update; then the pull
//                             query; postgres.js with its defaults (prepared
//                             statements), the same 10 rows, the same proxy
//   wan_sync_db_p50_ms, wan_pull_db_p50_ms
//                             PostgreSQL's own time in those requests (the proxy's
//                             view: bytes handed over → first answer bytes), so
//                             the rest of wan_sync_p50_ms is the path and the host
//   wan_sync_over_rtt_budget  wan_sync_p50_ms / (1.5 × wan_rtt_ms + 5)
//   ratio_wan_baseline_to_sync  wan_baseline_sync_p50_ms / wan_sync_p50_ms
//   wan_connect_round_trips   opening one connection with the host's options
//                             (excluded from the figures above: pools are warm)
//
// `node bench/wan.mjs` runs it alone (BENCH_QUICK=1: a few requests).
import http from 'node:http';
import postgres from 'postgres';
import { startPostgres } from '../tests/harness/postgres.mjs';
import { startServer } from '../hosts/node/server.mjs';
import { signDevToken, createVerifier } from '../hosts/server/auth.mjs';
import { POSTGRES_OPTIONS } from '../hosts/server/handler.mjs';
import { startWanProxy, describeBursts } from './wan-proxy.mjs';
import { benchSchema, makeRows, hlc } from './push.mjs';

const SECRET = 'bench-wan-secret-bench-wan-secret-0123';
const USER = 'wan-user';
const ROWS = 10;

const log = (msg) => process.stderr.write(`bench wan: ${msg}\n`);
const p50 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function post(url, token, body) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`bench wan: ${url} answered ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

/**
 * The baseline: the per-row endpoint of seed 002 ("Sandwich" transaction) on
 * node:http with postgres.js defaults, through the same proxy.
 */
async function startBaseline(databaseUrl) {
  const sql = postgres(databaseUrl, { max: 4, onnotice: () => {} });
  const verifier = createVerifier({ secret: SECRET });
  const server = http.createServer(async (req, res) => {
    try {
      const { userId } = await verifier.verify(req.headers.authorization ?? null);
      let text = '';
      for await (const chunk of req) text += chunk;
      const { changes, lastSyncAt } = JSON.parse(text);
      const out = await sql.begin(async (tx) => {
        let applied = 0;
        for (const { row, updatedAt } of changes) {
          const at = new Date(updatedAt);
          const [cur] = await tx`SELECT updated_at FROM wan_baseline_items WHERE id = ${row.id}`;
          if (!cur) {
            await tx`INSERT INTO wan_baseline_items (id, owner_id, title, n, doc, updated_at)
              VALUES (${row.id}, ${userId}, ${row.title}, ${row.n}, ${tx.json(row.doc)}, ${at})`;
            applied++;
          } else if (at > cur.updated_at) {
            await tx`UPDATE wan_baseline_items SET title = ${row.title}, n = ${row.n}, doc = ${tx.json(row.doc)},
              updated_at = ${at} WHERE id = ${row.id}`;
            applied++;
          }
        }
        const pulled = await tx`SELECT * FROM wan_baseline_items
          WHERE owner_id = ${userId} AND updated_at > ${new Date(lastSyncAt ?? 0)} ORDER BY updated_at`;
        return { success: true, applied, pulledChanges: pulled, newServerTimestamp: new Date().toISOString() };
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(out));
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(e?.message ?? e));
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}/api/sync`,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await sql.end({ timeout: 1 });
    },
  };
}

/** Runs the WAN benchmark; returns the figures. */
export async function runWanBench({ quick = false } = {}) {
  const requests = quick ? 5 : 50;
  const rttSamples = quick ? 10 : 50;
  const warmup = 3;
  log('starting PostgreSQL 15 and the WAN proxy');
  const pg = await startPostgres();
  const proxy = await startWanProxy({ target: { port: pg.port } });
  const viaProxy = proxy.url(pg.url);
  log(`one-way delay ${proxy.delayMs} ms`);
  const direct = postgres(pg.url, { max: 1, onnotice: () => {} });
  let server, baseline, probe;
  const results = { wan_delay_ms: proxy.delayMs };
  try {
    await direct`CREATE TABLE wan_baseline_items (id text PRIMARY KEY, owner_id text NOT NULL, title text,
      n integer, doc jsonb, updated_at timestamptz NOT NULL)`;
    await direct`CREATE INDEX ON wan_baseline_items (owner_id, updated_at)`;

    // Round trip time of the path itself, on a warm connection.
    probe = postgres(viaProxy, { ...POSTGRES_OPTIONS, max: 1 });
    proxy.reset();
    await probe.unsafe('select 1');
    results.wan_connect_round_trips = proxy.stats().roundTrips - 1;
    const rtts = [];
    for (let i = 0; i < rttSamples; i++) {
      proxy.reset();
      const t0 = performance.now();
      await probe.unsafe('select 1');
      rtts.push(performance.now() - t0);
      const { roundTrips } = proxy.stats();
      if (roundTrips !== 1) throw new Error(`bench wan: SELECT 1 took ${roundTrips} round trips through the proxy`);
    }
    results.wan_rtt_ms = round(p50(rtts));

    server = await startServer({
      databaseUrl: viaProxy, port: 0, poolSize: 4, schema: benchSchema, auth: { secret: SECRET }, live: false,
      logger: { error: console.error, warn: () => {}, info: () => {} },
    });
    baseline = await startBaseline(viaProxy);
    const token = await signDevToken(SECRET, { sub: USER, ttlSec: 3600 });
    const syncUrl = `${server.url}/sync`;
    const rows = makeRows(ROWS, 'wan');

    const pusher = { clientId: 'wan-pusher-0001', seq: 0, cursor: null };
    const puller = { clientId: 'wan-puller-0001', cursor: null };
    let lastSyncAt = null;
    const push = async () => {
      const t = Date.now();
      const seq = ++pusher.seq;
      const changes = rows.map((row, k) => ({
        id: k + 1, table: 'items', op: 'upsert', row: { ...row, n: seq }, hlc: hlc(t + k, pusher.clientId), baseVersion: null,
      }));
      const r = await post(syncUrl, token, {
        protocol: 1, clientId: pusher.clientId, schemaVersion: 1, batch: { seq, changes }, cursor: pusher.cursor, pageSize: 100,
      });
      pusher.cursor = r.cursor;
      if (r.results.length !== ROWS || r.results.some((x) => x.status !== 'applied')) {
        throw new Error(`bench wan: a pushed change was not applied: ${JSON.stringify(r.results)}`);
      }
    };
    const pull = async () => {
      const r = await post(syncUrl, token, { protocol: 1, clientId: puller.clientId, schemaVersion: 1, cursor: puller.cursor, pageSize: 100 });
      puller.cursor = r.cursor;
      return r.changes.length;
    };
    const pushBaseline = async () => {
      const t = Date.now();
      const changes = rows.map((row, k) => ({ table: 'items', row, updatedAt: new Date(t + k).toISOString() }));
      const r = await post(baseline.url, token, { changes, lastSyncAt });
      if (r.applied !== ROWS) throw new Error(`bench wan: the baseline applied ${r.applied} of ${ROWS} rows`);
      lastSyncAt = r.newServerTimestamp;
    };

    // One measured request: time at the HTTP client; round trips once the
    // proxy is quiet (nothing of this request still on the wire).
    const measure = async (fn) => {
      proxy.reset();
      const t0 = performance.now();
      const value = await fn();
      const ms = performance.now() - t0;
      await sleep(2 * proxy.delayMs + 20);
      const s = proxy.stats();
      return { ms, value, roundTrips: s.roundTrips, connections: s.connections, bursts: s.bursts };
    };

    log(`warm-up: ${warmup} requests of each kind`);
    for (let i = 0; i < warmup; i++) {
      await push();
      await pull();
      await pushBaseline();
    }

    log(`measuring ${requests} × (10-row push, pull-only, baseline 10-row push)`);
    const m = { sync: [], pull: [], base: [] };
    for (let i = 0; i < requests; i++) {
      m.sync.push(await measure(push));
      const p = await measure(pull);
      if (p.value !== ROWS) throw new Error(`bench wan: the pull-only request pulled ${p.value} of ${ROWS} rows`);
      m.pull.push(p);
      m.base.push(await measure(pushBaseline));
    }
    for (const [name, list] of Object.entries(m)) {
      const opened = list.reduce((n, x) => n + x.connections, 0);
      if (opened) log(`warning: ${opened} connection(s) opened while measuring ${name} (counted in its round trips)`);
      const worst = list.reduce((a, b) => (b.roundTrips > a.roundTrips ? b : a));
      log(`${name}: ${worst.roundTrips} round trip(s) in the costliest request:`);
      // The first and last few (the baseline's per-row statements repeat).
      const lines = describeBursts(worst.bursts);
      const shown = lines.length > 6 ? [...lines.slice(0, 3), `… ${lines.length - 5} more …`, ...lines.slice(-2)] : lines;
      for (const line of shown) log(`  ${line}`);
    }
    const maxTrips = (list) => Math.max(...list.map((x) => x.roundTrips));
    results.wan_round_trips_per_sync = maxTrips(m.sync);
    results.wan_round_trips_pull = maxTrips(m.pull);
    results.wan_sync_p50_ms = round(p50(m.sync.map((x) => x.ms)));
    results.wan_pull_p50_ms = round(p50(m.pull.map((x) => x.ms)));
    results.wan_baseline_sync_p50_ms = round(p50(m.base.map((x) => x.ms)));
    results.wan_baseline_round_trips = maxTrips(m.base);
    const dbMs = (list) => round(p50(list.map((x) => x.bursts.reduce((n, b) => n + (b.serverMs ?? 0), 0))));
    results.wan_sync_db_p50_ms = dbMs(m.sync);
    results.wan_pull_db_p50_ms = dbMs(m.pull);
    results.wan_sync_over_rtt_budget = round(results.wan_sync_p50_ms / (1.5 * results.wan_rtt_ms + 5), 3);
    results.ratio_wan_baseline_to_sync = round(results.wan_baseline_sync_p50_ms / results.wan_sync_p50_ms, 2);
  } finally {
    await server?.close();
    await baseline?.close();
    await probe?.end({ timeout: 1 });
    await direct.end();
    await proxy.close();
    await pg.stop();
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await runWanBench({ quick: process.env.BENCH_QUICK === '1' });
  console.table(Object.entries(figures).map(([figure, value]) => ({ figure, value })));
}
