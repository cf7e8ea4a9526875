// The deterministic simulation of the real system (tests/sim): real client
// cores on real SQLite WASM, the real server core behind the real handler, a
// real PostgreSQL 15, a seeded scheduler on virtual time, faults, then heal
// and check every device against the server. `npm run sim` runs longer
// campaigns; a failing seed prints the command that replays it.
//
// EDGESYNC_SIM_SEEDS (default 340: a seed with shared scopes costs ~1.45× one
// without, measured side by side, so 340 keeps the time 500 seeds took) and EDGESYNC_SIM_FROM (default 1) choose
// the seeds this test runs; EDGESYNC_SIM_JOBS the worker threads (default:
// one per core, each with its own PostgreSQL cluster).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createEnv, runSeed } from '../sim/sim.mjs';
import { runSeeds, defaultJobs } from '../sim/pool.mjs';

const SEEDS = Number(process.env.EDGESYNC_SIM_SEEDS ?? 340);
const FROM = Number(process.env.EDGESYNC_SIM_FROM ?? 1);
const JOBS = Number(process.env.EDGESYNC_SIM_JOBS ?? defaultJobs());
const repro = (seed) => `npm run sim -- --seeds 1 --from ${seed} --verbose`;

/**
 * Seeds that once failed, replayed by name. Each comment names the bug the
 * seed found.
 */
const REGRESSIONS = [
  { seed: 1, bug: 'a change refused forbidden left the local row on the device (client: no server truth to roll back to)' },
  { seed: 4, bug: 'a pulled row skipped for pending edits was lost when compaction dropped the queue (issue 7 cause 1)' },
  { seed: 5, bug: 'a concurrent insert of a new key answered conflict/race, bypassing the policy (cause 2)' },
  { seed: 20, bug: "another user's concurrent insert answered race before the owner check; the loser kept a foreign row (cause 3)" },
  { seed: 36, bug: 'the newest lww write lost: a dropped race write or a tombstone whose clock was not raised (causes 2, 4)' },
  { seed: 284, bug: 'an lww delete of a key the server had no row for yet was forgotten; an older insert arriving later won; '
    + "later: a skewed creator's same-batch role change tied the creator trigger's membership after clamping and lost (it is stamped below the root row now)" },
  { seed: 350, bug: 'same as 284 (lww delete remembered as a tombstone)' },
  { seed: 2064, bug: 'checker: a base-version delete answered applied for a row another delete had just removed was taken for a stale write' },
  { seed: 6, bug: "the creator's admin membership was stamped with the server's wall clock: the creator could not leave (conflict/older)" },
  { seed: 13, bug: "a member's applied write of a shared row kept its own owner value on the device (the server keeps the creator)" },
  { seed: 431, bug: "the creator trigger's membership stamp (one counter step before the root row) tied the creator's previous write exactly; it is the root row's tick with an empty node now" },
  { seed: 782, bug: 'same as 431 (membership stamp tied an earlier write of the creator)' },
  { seed: 160, bug: 'an answer that acked a write in a scope and revoked the membership kept the row: the purge spared keys whose queue had just ended (their sync_base row)' },
];

let env;
before(async () => { env = await createEnv(); });
after(async () => { await env?.close(); });

function describeFailure(r) {
  return `seed ${r.seed} failed (${r.plan.level} faults):\n${r.problems.slice(0, 5).map((p) => `  ${p.kind}: ${p.detail}`).join('\n')}\n  reproduce: ${repro(r.seed)}`;
}

test('one seed is one exact run: the same seed twice gives the same trace', async () => {
  const a = await runSeed(env, 7);
  const b = await runSeed(env, 7);
  assert.equal(a.digest, b.digest, 'the trace digests differ');
  assert.deepEqual(a.stats, b.stats);
});

for (const { seed, bug } of REGRESSIONS) {
  test(`regression seed ${seed}: ${bug}`, async () => {
    const r = await runSeed(env, seed);
    assert.ok(r.ok, describeFailure(r));
  });
}

test(`${SEEDS} seeds from ${FROM}: every device converges on the server's rows, policies hold`, async () => {
  const t0 = performance.now();
  const seeds = Array.from({ length: SEEDS }, (_, i) => FROM + i);
  const results = await runSeeds(seeds, { jobs: JOBS, env: JOBS <= 1 ? env : undefined });
  const failures = results.filter((r) => !r.ok);
  const sum = (k) => results.reduce((n, r) => n + (r.stats[k] ?? 0), 0);
  const s = (performance.now() - t0) / 1000;
  console.log(`sim: ${SEEDS} seeds on ${JOBS} workers, ${failures.length} failures, ${sum('writes')} writes, ${sum('execs')} requests, `
    + `${sum('faults')} faults, ${s.toFixed(1)} s (${(SEEDS / s).toFixed(2)} seeds/s)`);
  assert.equal(failures.length, 0, `${failures.length} of ${SEEDS} seeds failed (seeds ${failures.map((r) => r.seed).join(' ')}):\n`
    + failures.slice(0, 10).map(describeFailure).join('\n'));
});
