// Push benchmarks (issue: the sync worker). Every figure is measured in the
// same run, on the same rows, against the same PostgreSQL 15:
//   e2e       HTTP -> node host -> WASM core -> PostgreSQL commit -> response
//   limit     COPY into a staging table + INSERT … ON CONFLICT merge, one tx
//   baseline  the users' per-row loop: select the row, compare, write, one tx
//   latency   50 concurrent clients pushing 10-row batches, vs a bare tx
//   core      time inside the WASM core per MB of request body
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { statSync } from 'node:fs';
import postgres from 'postgres';
import { startPostgres } from '../tests/harness/postgres.mjs';
import { startServer } from '../hosts/node/server.mjs';
import { signDevToken } from '../hosts/server/auth.mjs';
import { serverCore, Core } from '../hosts/wasm/node.mjs';

export const benchSchema = {
  version: 1,
  tables: [{
    name: 'items',
    columns: [
      { name: 'id', type: 'text' },
      { name: 'ownerId', type: 'text' },
      { name: 'title', type: 'text' },
      { name: 'n', type: 'integer' },
      { name: 'doc', type: 'json' },
    ],
    primaryKey: 'id',
    owner: 'ownerId',
    conflict: 'lww',
  }],
};

const SECRET = 'bench-secret-bench-secret-bench-secret';
const BATCH = 1000; // the client's default batch size (rows per request)

/** Rows of ~150 bytes of JSON document plus text and integer columns. */
export function makeRows(n, prefix = 'r') {
  return Array.from({ length: n }, (_, i) => ({
    id: `${prefix}-${String(i).padStart(7, '0')}`,
    title: `Item number ${i}`,
    n: i,
    doc: { kind: 'node', pos: { x: i % 997, y: (i * 7) % 991 }, tags: ['alpha', 'beta'], note: 'lorem ipsum dolor sit amet consectetur' },
  }));
}

/** A client HLC string: `ms` wall clock, counter 0, `node`. */
export const hlc = (ms, node) => `${String(ms).padStart(15, '0')}:00000:${node}`;

function log(msg) { process.stderr.write(`bench: ${msg}\n`); }

/** Runs the push benchmarks; returns the figures. */
export async function runPushBench({ sizes = [10_000, 100_000], baselineRows = 10_000, latencySeconds = 20, clients = 50 } = {}) {
  log('starting PostgreSQL 15');
  const pg = await startPostgres();
  const sql = postgres(pg.url, { max: 4, onnotice: () => {} });
  const core = await serverCore();
  // Time spent in the WASM core: every server.* call, measured around the
  // raw call (copying the frame into WASM memory, the core, copying out).
  let coreMs = 0;
  let coreBytes = 0;
  const original = Core.prototype.callParts;
  Core.prototype.callParts = function timed(op, parts) {
    const t0 = performance.now();
    try { return original.call(this, op, parts); } finally {
      if (op.startsWith('server.')) coreMs += performance.now() - t0;
      if (op === 'server.begin') coreBytes += parts.reduce((n, p) => n + p.length, 0);
    }
  };
  const server = await startServer({
    databaseUrl: pg.url, port: 0, poolSize: 10, schema: benchSchema, core,
    auth: { secret: SECRET }, limits: { maxChanges: 10_000, maxBodyBytes: 64 << 20 },
    logger: { error: console.error, warn: () => {}, info: () => {} },
  });
  const token = await signDevToken(SECRET, { sub: 'bench-user', ttlSec: 3600 });
  const results = {};
  try {
    const reset = () => sql`TRUNCATE items, edgesync_clients, edgesync_conflicts`;

    for (const n of sizes) {
      const rows = makeRows(n);
      // Limit: COPY + merge in one transaction.
      await reset();
      log(`limit: COPY + merge of ${n} rows`);
      const limitMs = await timeIt(() => copyMerge(sql, rows));
      // End to end through HTTP.
      await reset();
      log(`end-to-end: ${n} rows in batches of ${BATCH}`);
      coreMs = 0;
      coreBytes = 0;
      const e2eMs = await timeIt(() => pushAll(server.url, token, rows, `bench-${n}`));
      const count = (await sql`SELECT count(*)::int AS c FROM items`)[0].c;
      if (count !== n) throw new Error(`end-to-end push stored ${count} of ${n} rows`);
      results[`push_e2e_rows_per_s_${n}`] = rate(n, e2eMs);
      results[`push_limit_rows_per_s_${n}`] = rate(n, limitMs);
      results[`core_ms_per_mb_${n}`] = round(coreMs / (coreBytes / 1048576), 2);
    }
    const big = Math.max(...sizes);
    results.push_e2e_rows_per_s = results[`push_e2e_rows_per_s_${big}`];
    results.push_limit_rows_per_s = results[`push_limit_rows_per_s_${big}`];
    results.core_ms_per_mb = results[`core_ms_per_mb_${big}`];

    await reset();
    log(`baseline: per-row select/compare/write loop, ${baselineRows} rows`);
    const baseMs = await timeIt(() => perRowLoop(sql, makeRows(baselineRows)));
    results.push_baseline_rows_per_s = rate(baselineRows, baseMs);
    results.ratio_e2e_to_limit = round(results.push_e2e_rows_per_s / results.push_limit_rows_per_s, 3);
    results.ratio_e2e_to_baseline = round(results.push_e2e_rows_per_s / results.push_baseline_rows_per_s, 2);

    await reset();
    log(`latency: ${clients} clients, 10-row batches, ${latencySeconds} s`);
    Object.assign(results, await latency(server.url, token, clients, latencySeconds));
    log(`latency baseline: ${clients} concurrent bare transactions, ${Math.min(latencySeconds, 5)} s`);
    Object.assign(results, await bareTxLatency(pg.url, clients, Math.min(latencySeconds, 5)));
    results.ratio_p99_to_bare_tx_p99 = round(results.latency_p99_ms / results.bare_tx_p99_ms, 2);
  } finally {
    Core.prototype.callParts = original;
    await server.close();
    await sql.end();
    await pg.stop();
  }
  results.worker_wasm_bytes = statSync(new URL('../dist/edgesync_server.wasm', import.meta.url)).size;
  return results;
}

async function timeIt(fn) {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}
const rate = (n, ms) => Math.round(n / (ms / 1000));
const round = (x, d) => Math.round(x * 10 ** d) / 10 ** d;

async function post(url, token, body) {
  const res = await fetch(`${url}/sync`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`push failed: ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

// Like the client: each request carries the cursor of the previous answer
// (without it every request's pull would read all of the device's own
// earlier rows again, from the beginning).
async function pushAll(url, token, rows, clientId) {
  const t = Date.now();
  let cursor = null;
  for (let i = 0, seq = 1; i < rows.length; i += BATCH, seq++) {
    const changes = rows.slice(i, i + BATCH).map((row, k) => ({
      id: i + k + 1, table: 'items', op: 'upsert', row, hlc: hlc(t + i + k, clientId), baseVersion: null,
    }));
    const r = await post(url, token, JSON.stringify({ protocol: 1, clientId, schemaVersion: 1, cursor, batch: { seq, changes }, pageSize: 1 }));
    if (r.results.some((x) => x.status !== 'applied')) throw new Error('a change was not applied');
    cursor = r.cursor;
  }
}

// COPY text format: escape backslash, tab, newline, carriage return.
const copyText = (v) => String(v).replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');

async function copyMerge(sql, rows) {
  const t = Date.now();
  await sql.begin(async (tx) => {
    await tx`CREATE TEMP TABLE staging (id text, title text, n bigint, doc jsonb, hlc text) ON COMMIT DROP`;
    const lines = rows.map((r, i) => `${copyText(r.id)}\t${copyText(r.title)}\t${r.n}\t${copyText(JSON.stringify(r.doc))}\t${hlc(t + i, 'copy')}\n`);
    const writable = await tx`COPY staging (id, title, n, doc, hlc) FROM STDIN`.writable();
    await pipeline(Readable.from(lines), writable);
    await tx`INSERT INTO items AS t (id, owner_id, title, n, doc, _es_hlc, _es_origin)
      SELECT id, 'bench-user', title, n, doc, hlc, 'copy' FROM staging
      ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title, n = EXCLUDED.n, doc = EXCLUDED.doc,
        _es_hlc = EXCLUDED._es_hlc, _es_version = nextval('edgesync_version_seq'), _es_xid = pg_current_xact_id()
      WHERE t._es_hlc < EXCLUDED._es_hlc`;
  });
}

async function perRowLoop(sql, rows) {
  const t = Date.now();
  await sql.begin(async (tx) => {
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      const h = hlc(t + i, 'loop');
      const [cur] = await tx`SELECT _es_hlc FROM items WHERE id = ${r.id}`;
      if (!cur) {
        await tx`INSERT INTO items (id, owner_id, title, n, doc, _es_hlc) VALUES (${r.id}, 'bench-user', ${r.title}, ${r.n}, ${tx.json(r.doc)}, ${h})`;
      } else if (cur._es_hlc < h) {
        await tx`UPDATE items SET title = ${r.title}, n = ${r.n}, doc = ${tx.json(r.doc)}, _es_hlc = ${h} WHERE id = ${r.id}`;
      }
    }
  });
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function latency(url, token, clients, seconds) {
  const deadline = performance.now() + seconds * 1000;
  const times = [];
  let rows = 0;
  await Promise.all(Array.from({ length: clients }, async (_, c) => {
    const clientId = `lat-client-${c}`;
    for (let seq = 1; performance.now() < deadline; seq++) {
      const t = Date.now();
      const changes = Array.from({ length: 10 }, (_, k) => ({
        id: k + 1, table: 'items', op: 'upsert',
        row: { id: `lat-${c}-${k}`, title: `t${seq}`, n: seq, doc: { seq } }, hlc: hlc(t * 100 + k, clientId), baseVersion: null,
      }));
      const t0 = performance.now();
      await post(url, token, JSON.stringify({ protocol: 1, clientId, schemaVersion: 1, batch: { seq, changes }, pageSize: 10 }));
      times.push(performance.now() - t0);
      rows += 10;
    }
  }));
  times.sort((a, b) => a - b);
  return {
    latency_p50_ms: round(percentile(times, 50), 2),
    latency_p99_ms: round(percentile(times, 99), 2),
    latency_requests_per_s: Math.round(times.length / seconds),
    latency_rows_per_s: Math.round(rows / seconds),
  };
}

async function bareTxLatency(databaseUrl, clients, seconds) {
  const sql = postgres(databaseUrl, { max: 10, onnotice: () => {} });
  const deadline = performance.now() + seconds * 1000;
  const times = [];
  try {
    await Promise.all(Array.from({ length: clients }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        await sql.begin(async (tx) => { await tx`SELECT 1`; });
        times.push(performance.now() - t0);
      }
    }));
  } finally {
    await sql.end();
  }
  times.sort((a, b) => a - b);
  return { bare_tx_p50_ms: round(percentile(times, 50), 2), bare_tx_p99_ms: round(percentile(times, 99), 2) };
}
