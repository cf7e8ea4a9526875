// `npm run bench`: runs every benchmark, prints a table of figures with their
// targets, and writes bench/results/latest.json (one numeric key per figure).
//   BENCH_QUICK=1  smaller sizes and a 5 s latency run (smoke test)
import { mkdirSync, writeFileSync } from 'node:fs';
import { runPushBench } from './push.mjs';

const quick = process.env.BENCH_QUICK === '1';
const started = Date.now();
const figures = {};

Object.assign(figures, await runPushBench(quick
  ? { sizes: [2_000, 10_000], baselineRows: 2_000, latencySeconds: 5 }
  : {}));

// Optional suites register here (the client benchmark adds apply/drain figures).
try {
  const { runClientBench } = await import('./client.mjs');
  Object.assign(figures, await runClientBench({ quick }));
} catch (e) {
  if (e.code !== 'ERR_MODULE_NOT_FOUND') throw e;
}

// Live pokes (PostgreSQL LISTEN/NOTIFY → /live → pull): latency and idle memory.
{
  const { runLiveBench } = await import('./live.mjs');
  Object.assign(figures, await runLiveBench({ quick }));
}

// Pull cost with 10k scopes (index ranges only; EXPLAIN in a test).
{
  const { runScopesBench } = await import('./scopes.mjs');
  Object.assign(figures, await runScopesBench({ quick }));
}

// WAN: the host reaches PostgreSQL through a delaying proxy (round trips per sync).
{
  const { runWanBench } = await import('./wan.mjs');
  Object.assign(figures, await runWanBench({ quick }));
}

// A fresh device's initial sync (streamed pulls): 1M rows (quick: 50k).
{
  const { runInitialSyncBench } = await import('./initial-sync.mjs');
  Object.assign(figures, await runInitialSyncBench({ quick }));
}

// Live queries: a pulled change to the watcher's callback over a 100k-row table (quick: 10k).
{
  const { runWatchBench } = await import('./watch.mjs');
  Object.assign(figures, await runWatchBench({ quick }));
}

// Media: a 50 MB file (quick: 10 MB) up and down through the node host vs a direct copy.
{
  const { runMediaBench } = await import('./media.mjs');
  Object.assign(figures, await runMediaBench({ quick }));
}

const targets = {
  ratio_e2e_to_limit: ['>=', 0.7],
  ratio_p99_to_bare_tx_p99: ['<=', 3],
  ratio_e2e_to_baseline: ['>=', 10],
  core_ms_per_mb: ['<=', 10],
  ratio_apply_to_limit: ['>=', 0.8],
  local_write_overhead_ratio: ['<=', 1.5],
  live_poke_p50_ms: ['<=', 100],
  live_poke_p99_ms: ['<=', 300],
  live_idle_rss_mb_10k: ['<=', 300],
  wan_round_trips_per_sync: ['<=', 1],
  wan_round_trips_pull: ['<=', 1],
  wan_sync_over_rtt_budget: ['<=', 1],
  initial_sync_rows_per_s: ['>=', 50000],
  worker_wasm_bytes: ['<=', 409600],
  client_wasm_bytes: ['<=', 204800],
  ratio_blob_upload_to_direct: ['>=', 0.7],
  ratio_blob_download_to_direct: ['>=', 0.7],
};

const rows = Object.entries(figures).map(([key, value]) => {
  const t = targets[key];
  const verdict = t ? ((t[0] === '>=' ? value >= t[1] : value <= t[1]) ? 'meets' : 'MISSES') : '';
  return { figure: key, value, target: t ? `${t[0]} ${t[1]}` : '', verdict };
});
console.table(rows);

mkdirSync(new URL('results/', import.meta.url), { recursive: true });
const out = { ...figures, bench_seconds: Math.round((Date.now() - started) / 1000), quick: quick ? 1 : 0 };
writeFileSync(new URL('results/latest.json', import.meta.url), JSON.stringify(out, null, 2) + '\n');
console.log('bench: wrote bench/results/latest.json');
