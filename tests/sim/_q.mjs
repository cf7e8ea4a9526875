import { createEnv, runSeed } from './sim.mjs';
const env = await createEnv();
const [from, n, kind] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4]];
for (let s = from; s < from + n; s++) {
  const r = await runSeed(env, s);
  const ps = r.problems.filter((p) => !kind || p.kind === kind);
  if (ps.length) { console.log(`seed ${s}: kinds ${[...new Set(r.problems.map((p) => p.kind))]}`); for (const p of ps) console.log('   ', p.kind, p.detail); }
}
await env.close();
