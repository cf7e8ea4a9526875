// Live-query latency (bench/run.mjs calls runWatchBench): a device holding N
// workflow nodes (100k; BENCH_QUICK=1: 10k, caught up from PostgreSQL through
// the node host in its own process) watches a query over the whole table
// (sync.watch: tables from SQLite's authorizer, re-run after the pull's
// commits). A row changes in PostgreSQL; the device syncs now.
//
//   watch_update_ms     median time from syncNow() (the pull of the change)
//                       to the watcher's callback with the new value
//   watch_query_ms      the watched query's own run time (median), for scale
//
//   node bench/watch.mjs [--quick]
import { readFileSync } from 'node:fs';
import postgres from 'postgres';
import sqlite3InitModule from '@sqlite.org/sqlite-wasm';
import { startPostgres } from '../tests/harness/postgres.mjs';
import { signDevToken } from '../hosts/server/auth.mjs';
import { createSync } from '../hosts/client/index.mjs';
import { startServerProcess, seed } from './initial-sync.mjs';

const SECRET = 'bench-secret-bench-secret-bench-secret';
const schema = JSON.parse(readFileSync(new URL('../tests/fixtures/schema.demo-owner.json', import.meta.url), 'utf8'));
const WATCHED = `SELECT count(*) AS n, sum(x) AS sx,
  (SELECT label FROM workflowNodes WHERE id = ?) AS label FROM workflowNodes`;

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
function log(msg) { process.stderr.write(`bench watch: ${msg}\n`); }

/** Figures: see the header. */
export async function runWatchBench({ quick = false } = {}) {
  const n = quick ? 10_000 : 100_000;
  const rounds = quick ? 3 : 7;
  const pg = await startPostgres();
  const sql = postgres(pg.url, { max: 2, onnotice: () => {} });
  const sqlite3 = await sqlite3InitModule({ print: () => {}, printErr: console.error });
  const server = await startServerProcess(pg.url);
  const db = new sqlite3.oo1.DB(':memory:', 'c');
  const token = await signDevToken(SECRET, { sub: 'watch', ttlSec: 3600 });
  const sync = createSync({ db, sqlite3, url: server.url, schema, wire: false, live: false, getToken: () => token });
  try {
    log(`seeding ${n} rows`);
    await seed(sql, 'watch', n);
    await sync.start();
    await sync.syncNow({ timeoutMs: 120000 });
    while (Number(db.selectValue('SELECT count(*) FROM workflowNodes')) < n) await sync.syncNow();
    const target = 'watch-00000001';
    let waiting = null;
    const off = sync.watch(WATCHED, [target], (rows) => {
      if (waiting && rows[0].label === waiting.label) waiting.done(performance.now());
    });
    const updates = [];
    const queries = [];
    for (let k = 0; k < rounds; k++) {
      const label = `changed ${k}`;
      await sql`update workflow_nodes set label = ${label} where id = ${target}`;
      const seen = new Promise((done) => { waiting = { label, done }; });
      const t0 = performance.now();
      await sync.syncNow();
      updates.push((await seen) - t0);
      const q0 = performance.now();
      await sync.query(WATCHED, [target]);
      queries.push(performance.now() - q0);
    }
    off();
    const figures = { watch_update_ms: Number(median(updates).toFixed(1)), watch_query_ms: Number(median(queries).toFixed(1)) };
    log(`${n} rows: pulled change → watcher ${updates.map((x) => x.toFixed(1)).join(', ')} ms; query ${figures.watch_query_ms} ms`);
    return figures;
  } finally {
    await sync.stop();
    db.close();
    await server.close();
    await sql.end();
    await pg.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await runWatchBench({ quick: process.argv.includes('--quick') || process.env.BENCH_QUICK === '1' }));
}
