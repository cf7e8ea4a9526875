// Pull cost with many scopes (issue 9's target): 10,000 projects × 10
// members × 100 rows; the steady-state pull of a member of 5 projects (one
// new row since their cursor), through the real server core and a real
// PostgreSQL, as p50 over many users. Baseline in the same run: the same
// request of a user who belongs to no project.
import postgres from 'postgres';
import { startPostgres } from '../tests/harness/postgres.mjs';
import { loadScopes } from '../tests/harness/scopes-data.mjs';
import { SHARED_SCHEMA } from '../tests/harness/shared-schema.mjs';
import { driveSync } from '../tests/harness/drive.mjs';
import { nodeCore } from '../hosts/wasm/node.mjs';

const p50 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Figures: pull_p50_ms_10k_scopes (quick: 1k scopes), pull_p50_ms_no_scope. */
export async function runScopesBench({ quick = false } = {}) {
  const scopes = quick ? 1000 : 10000;
  const users = scopes * 2;
  const pulls = quick ? 40 : 200;
  const core = await nodeCore();
  const pg = await startPostgres();
  const sql = postgres(pg.url, { max: 1, onnotice: () => {} });
  try {
    process.stderr.write(`bench scopes: loading ${scopes} projects × 10 members × 100 rows…\n`);
    await loadScopes(sql, core, { scopes, users });
    const { handle } = core.call('server.open', { schema: SHARED_SCHEMA, limits: {} });
    const [{ xid }] = await sql`select pg_snapshot_xmin(pg_current_snapshot())::text as xid`;
    // One new row in every project since the cursor.
    await sql`update nodes set label = 'changed' where id like '%-0'`;
    const time = async (user, i) => {
      const t0 = performance.now();
      const r = await driveSync(core, handle, sql, user, { protocol: 1, clientId: `bench-${i}-0000`, schemaVersion: 1, cursor: `${xid}:0` });
      const ms = performance.now() - t0;
      if (r.status !== 200) throw new Error(`bench scopes: pull answered ${r.status} ${JSON.stringify(r.body)}`);
      return { ms, n: r.body.changes.length };
    };
    const member = [], none = [];
    for (let i = 0; i < pulls; i++) {
      const m = await time(`u${(i * 7919) % users}`, i);
      if (m.n < 5) throw new Error(`bench scopes: a member of 5 projects pulled ${m.n} changes`);
      member.push(m.ms);
      none.push((await time(`nobody-${i}`, pulls + i)).ms);
    }
    return {
      pull_p50_ms_10k_scopes: Number(p50(member).toFixed(2)),
      pull_p50_ms_no_scope: Number(p50(none).toFixed(2)),
      ...(quick ? { pull_bench_scopes: scopes } : {}),
    };
  } finally {
    await sql.end();
    await pg.stop();
  }
}
