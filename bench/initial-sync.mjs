// Initial sync of a fresh device (bench/run.mjs calls runInitialSyncBench):
// N rows (~200 bytes each, with a JSON column) written to PostgreSQL through
// the schema's tables (the direct-write triggers stamp them, so the pull
// cursor sees them), then a fresh client — the real client core and host
// (edgesync/client) on the official SQLite WASM build, in memory — syncs
// through the real node host (its own process) until it has every row.
//
//   initial_sync_rows              N (1M; BENCH_QUICK=1: 50k)
//   initial_sync_rows_per_s        N / (start() until every row is applied and
//                                  the client is idle), streamed pulls (the
//                                  client's default)    target ≥ 50,000
//   initial_sync_requests          /sync requests it took
//   initial_sync_paged_rows_per_s  baseline, same run: the same kind of rows
//                                  (min(N, 50k)) pulled page by page as
//                                  before streams (stream: false, 500-row
//                                  pages, one request/apply round each)
//   ratio_initial_sync_to_paged
//
//   node bench/initial-sync.mjs [--quick]
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import sqlite3InitModule from '@sqlite.org/sqlite-wasm';
import { startPostgres } from '../tests/harness/postgres.mjs';
import { signDevToken } from '../hosts/server/auth.mjs';
import { createSync } from '../hosts/client/index.mjs';

const SECRET = 'bench-secret-bench-secret-bench-secret';
const schemaUrl = new URL('../tests/fixtures/schema.demo-owner.json', import.meta.url);
const schema = JSON.parse(readFileSync(schemaUrl, 'utf8'));

/**
 * The node host in a process of its own, as in a deployment (server and
 * device never share a thread): { url, close() }.
 */
export async function startServerProcess(databaseUrl) {
  const code = `import { readFileSync } from 'node:fs';
    import { startServer } from ${JSON.stringify(new URL('../hosts/node/server.mjs', import.meta.url).href)};
    const schema = JSON.parse(readFileSync(${JSON.stringify(fileURLToPath(schemaUrl))}, 'utf8'));
    const s = await startServer({ databaseUrl: ${JSON.stringify(databaseUrl)}, port: 0, poolSize: 4, schema,
      auth: { secret: ${JSON.stringify(SECRET)} }, logger: { error: console.error, warn() {}, info() {}, log() {} } });
    process.stdout.write(s.url + '\\n');
    process.on('SIGTERM', async () => { await s.close(); process.exit(0); });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    child.stdout.once('data', (d) => resolve(String(d).trim()));
    child.once('exit', (c) => reject(new Error(`the server process exited (${c})`)));
  });
  return { url, close: () => new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); }) };
}

function log(msg) { process.stderr.write(`bench initial-sync: ${msg}\n`); }

/** `n` workflow nodes of `user`, ~200 bytes each as JSON (a JSON `data` column). */
export async function seed(sql, user, n) {
  await sql.unsafe(`insert into workflow_nodes (id, project_id, owner_id, label, x, y, data)
    select '${user}-' || lpad(i::text, 8, '0'), 'project-' || (i % 50), '${user}', 'Step number ' || i, (i % 40) * 25.5, (i / 40) * 12.25,
           jsonb_build_object('kind', 'task', 'w', 120, 'h', 48, 'tags', jsonb_build_array('alpha', 'beta'), 'note', 'lorem ipsum dolor sit')
    from generate_series(1, ${n}) i`);
}

/** A fresh client of `user` until it holds `n` rows and is idle: { ms, requests, progress }. */
async function catchUp(sqlite3, url, user, n, config) {
  const db = new sqlite3.oo1.DB(':memory:', 'c');
  const token = await signDevToken(SECRET, { sub: user, ttlSec: 3600 });
  let requests = 0;
  const sync = createSync({
    db, url, schema, config, wire: false,
    getToken: () => token,
    fetch: (...a) => { requests++; return fetch(...a); },
  });
  let progress = 0;
  sync.on('progress', () => { progress++; });
  const t0 = performance.now();
  await sync.start();
  // Count the rows only when the client says it is idle: a count(*) of a
  // growing table every few ms would compete with the apply on its thread.
  const count = () => Number(db.selectValue('SELECT count(*) FROM workflowNodes'));
  for (;;) {
    if (sync.status.state === 'idle' && count() === n) break;
    if (sync.status.state === 'error') throw new Error(`initial sync failed: ${JSON.stringify(sync.status.lastError)}`);
    await new Promise((r) => { const off = sync.on('status', () => { off(); r(); }); });
  }
  const ms = performance.now() - t0;
  await sync.stop();
  const bytes = Number(db.selectValue("SELECT sum(length(id) + length(projectId) + length(ownerId) + length(label) + 16 + length(data)) FROM workflowNodes"));
  db.close();
  return { ms, requests, progress, bytesPerRow: bytes / n };
}

/** Figures: see the header. */
export async function runInitialSyncBench({ quick = false } = {}) {
  const n = Number(process.env.BENCH_INITIAL_ROWS) || (quick ? 50_000 : 1_000_000);
  const nPaged = Math.min(n, 50_000);
  const pg = await startPostgres();
  const sql = postgres(pg.url, { max: 2, onnotice: () => {} });
  const sqlite3 = await sqlite3InitModule({ print: () => {}, printErr: console.error });
  const server = await startServerProcess(pg.url);
  try {
    log(`seeding ${n} + ${nPaged} rows`);
    await seed(sql, 'fresh', n);
    await seed(sql, 'paged', nPaged);
    await sql`vacuum analyze workflow_nodes`;
    log(`streamed catch-up of ${n} rows`);
    const s = await catchUp(sqlite3, server.url, 'fresh', n, {});
    log(`paged catch-up of ${nPaged} rows (baseline)`);
    const p = await catchUp(sqlite3, server.url, 'paged', nPaged, { stream: false });
    const rate = (rows, ms) => Math.round(rows / (ms / 1000));
    const streamed = rate(n, s.ms);
    const paged = rate(nPaged, p.ms);
    log(`streamed: ${s.ms.toFixed(0)} ms, ${s.requests} requests, ${s.progress} progress events, ~${s.bytesPerRow.toFixed(0)} B/row`);
    log(`paged: ${p.ms.toFixed(0)} ms, ${p.requests} requests`);
    return {
      initial_sync_rows: n,
      initial_sync_rows_per_s: streamed,
      initial_sync_requests: s.requests,
      initial_sync_paged_rows_per_s: paged,
      ratio_initial_sync_to_paged: Number((streamed / paged).toFixed(2)),
    };
  } finally {
    await server.close();
    await sql.end();
    await pg.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await runInitialSyncBench({ quick: process.argv.includes('--quick') || process.env.BENCH_QUICK === '1' }));
}
