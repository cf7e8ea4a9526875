// Runs many seeds, in this thread or spread over worker threads. Each worker
// has its own environment — its own PostgreSQL cluster — because transaction
// ids and snapshots are cluster-wide: another seed's open transaction would
// hold back this seed's pull cursor and make it depend on timing.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import os from 'node:os';
import { createEnv, runSeed } from './sim.mjs';

/** What a result keeps when it crosses threads (the trace only when it failed). */
function slim(r) {
  return { seed: r.seed, ok: r.ok, problems: r.problems, plan: r.plan, shape: r.shape, digest: r.digest,
    stats: r.stats, elapsedMs: r.elapsedMs, trace: r.ok ? null : r.trace };
}

/** The number of workers to use by default: one per core, at most 4. */
export function defaultJobs() {
  return Math.max(1, Math.min(4, os.availableParallelism?.() ?? os.cpus().length));
}

/**
 * Runs `seeds` (an array), calling `onResult(result)` as each finishes (in
 * completion order). Resolves with every result, ordered by seed.
 */
export async function runSeeds(seeds, { jobs = defaultJobs(), onResult = () => {}, env: given } = {}) {
  const results = [];
  if (jobs <= 1 || seeds.length <= 1) {
    const env = given ?? await createEnv();
    try {
      for (const seed of seeds) {
        const r = slim(await runSeed(env, seed));
        results.push(r);
        onResult(r);
      }
    } finally {
      if (!given) await env.close();
    }
    return results.sort((a, b) => a.seed - b.seed);
  }
  const queue = [...seeds];
  const n = Math.min(jobs, seeds.length);
  await Promise.all(Array.from({ length: n }, () => new Promise((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url), { workerData: { worker: true } });
    let current = null;
    const next = () => {
      current = queue.shift();
      if (current === undefined) w.postMessage({ stop: true });
      else w.postMessage({ seed: current });
    };
    w.on('message', (m) => {
      if (m.ready) return next();
      if (m.result) {
        results.push(m.result);
        onResult(m.result);
        next();
      }
    });
    w.on('error', (e) => reject(new Error(`sim worker failed on seed ${current}: ${e?.stack ?? e}`)));
    w.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`sim worker exited with ${code} (seed ${current})`))));
  })));
  return results.sort((a, b) => a.seed - b.seed);
}

// A worker: one environment, seeds as the main thread hands them out.
if (!isMainThread && workerData?.worker) {
  const env = await createEnv();
  parentPort.on('message', async (m) => {
    if (m.stop) {
      await env.close();
      parentPort.close();
      return;
    }
    let r;
    try {
      r = slim(await runSeed(env, m.seed));
    } catch (e) {
      r = { seed: m.seed, ok: false, problems: [{ kind: 'sim-error', detail: String(e?.stack ?? e) }], stats: {}, plan: {}, trace: null };
    }
    parentPort.postMessage({ result: r });
  });
  parentPort.postMessage({ ready: true });
}
