#!/usr/bin/env node
// Long simulation campaigns:
//
//   npm run sim -- --seeds 2000 --from 1          # seeds 1..2000
//   npm run sim -- --seeds 1 --from 1234 --verbose # replay one seed, with its trace
//
// Prints one line per failing seed (its problems and the command that replays
// it) and a summary: seeds, failures, ops, faults injected, elapsed.
import { createEnv, runSeed } from './sim.mjs';
import { runSeeds, defaultJobs } from './pool.mjs';

function parseArgs(argv) {
  const o = { seeds: 100, from: 1, verbose: false, quiet: false, maxProblems: 3, jobs: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--seeds') o.seeds = Number(val());
    else if (a === '--from') o.from = Number(val());
    else if (a === '--verbose' || a === '-v') o.verbose = true;
    else if (a === '--quiet' || a === '-q') o.quiet = true;
    else if (a === '--problems') o.maxProblems = Number(val());
    else if (a === '--jobs' || a === '-j') o.jobs = Number(val());
    else if (a === '--help' || a === '-h') {
      console.log('usage: npm run sim -- [--seeds N] [--from S] [--jobs J] [--verbose] [--quiet] [--problems K]');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isInteger(o.seeds) || o.seeds < 1 || !Number.isInteger(o.from) || o.from < 0) {
    throw new Error('--seeds and --from take non-negative integers');
  }
  return o;
}

/** The command that replays one seed with its trace. */
export const reproCommand = (seed) => `npm run sim -- --seeds 1 --from ${seed} --verbose`;

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  // One seed with its trace runs here; campaigns spread over workers.
  const jobs = o.verbose ? 1 : (o.jobs ?? defaultJobs());
  const seeds = Array.from({ length: o.seeds }, (_, i) => o.from + i);
  const total = { seeds: 0, failures: 0, steps: 0, writes: 0, requests: 0, execs: 0, statements: 0, faults: 0, faultKinds: {} };
  const failing = [];
  const byKind = {};
  const report = (r) => {
    total.seeds++;
    for (const k of ['steps', 'writes', 'requests', 'execs', 'statements', 'faults']) total[k] += r.stats[k] ?? 0;
    for (const [k, n] of Object.entries(r.stats.faultKinds ?? {})) total.faultKinds[k] = (total.faultKinds[k] ?? 0) + n;
    if (!r.ok) {
      total.failures++;
      const kinds = [...new Set(r.problems.map((p) => p.kind))];
      for (const k of kinds) byKind[k] = (byKind[k] ?? 0) + 1;
      failing.push({ seed: r.seed, kinds });
      console.log(`FAIL seed ${r.seed} [${kinds.join(', ')}] (faults ${r.plan?.level}, digest ${r.digest})`);
      for (const p of r.problems.slice(0, o.verbose ? r.problems.length : o.maxProblems)) console.log(`  ${p.kind}: ${p.detail}`);
      if (!o.verbose && r.problems.length > o.maxProblems) console.log(`  … ${r.problems.length - o.maxProblems} more`);
      console.log(`  reproduce: ${reproCommand(r.seed)}`);
    } else if (o.verbose || (!o.quiet && o.seeds <= 20)) {
      console.log(`ok   seed ${r.seed} (${r.stats.writes} writes, ${r.stats.execs} requests, ${r.stats.faults} faults, digest ${r.digest}, ${r.elapsedMs.toFixed(0)} ms)`);
    }
  };
  if (o.verbose) {
    const env = await createEnv();
    if (!o.quiet) console.log(`edgesync sim: seeds ${o.from}..${o.from + o.seeds - 1}; policy rules from the ${env.policies.source}`);
    try {
      for (const seed of seeds) report(await runSeed(env, seed, { verbose: true }));
    } finally {
      await env.close();
    }
  } else {
    if (!o.quiet) console.log(`edgesync sim: seeds ${o.from}..${o.from + o.seeds - 1} on ${jobs} worker${jobs > 1 ? 's' : ''}`);
    await runSeeds(seeds, { jobs, onResult: report });
  }
  const s = (performance.now() - t0) / 1000;
  console.log(`\nseeds ${total.seeds}, failures ${total.failures}, writes ${total.writes}, requests ${total.execs} `
    + `(${total.statements} statements), faults ${total.faults} ${JSON.stringify(total.faultKinds)}, elapsed ${s.toFixed(1)} s `
    + `(${(total.seeds / s).toFixed(2)} seeds/s)`);
  if (failing.length) {
    console.log(`failures by kind: ${JSON.stringify(byKind)}`);
    console.log(`failing seeds: ${failing.map((f) => f.seed).sort((a, b) => a - b).join(' ')}`);
  }
  process.exitCode = failing.length ? 1 : 0;
}

main().catch((e) => {
  console.error(e?.stack ?? e);
  process.exit(2);
});
