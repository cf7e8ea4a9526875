// Where PostgreSQL spends a sync request's time, statement by statement
// inside the generated sync function (a profiling aid, not a benchmark:
// `npm run bench` measures). Pushes N rows in batches through the real node
// host, with pg_stat_statements tracking nested statements, and prints the
// statements by total execution time.
//
//   node bench/pg-profile.mjs [--rows 20000] [--batch 1000] [--top 12]
//   node bench/pg-profile.mjs --small   (2000 sequential 10-row pushes by 50
//     client ids over the same 500 rows: the latency benchmark's requests, one
//     at a time)
// Also prints the node process's CPU time per request (the host and this
// script's fetch client share it).
import postgres from 'postgres';
import { startPostgres } from '../tests/harness/postgres.mjs';
import { startServer } from '../hosts/node/server.mjs';
import { signDevToken } from '../hosts/server/auth.mjs';
import { benchSchema, makeRows, hlc } from './push.mjs';

const args = process.argv.slice(2);
const opt = (name, d) => { const i = args.indexOf(name); return i < 0 ? d : Number(args[i + 1]); };
const rowsN = opt('--rows', 20_000);
const batch = opt('--batch', 1000);
const top = opt('--top', 12);
const small = args.includes('--small');
const SMALL = { rounds: 40, clients: 50 };
const SECRET = 'bench-secret-bench-secret-bench-secret';

const pg = await startPostgres({ settings: { shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track': 'all' } });
// The extension lives in the maintenance database; its view covers every database.
pg.psql('CREATE EXTENSION pg_stat_statements; GRANT pg_read_all_stats TO edgesync;');
const stats = postgres(pg.url.replace(/\/edgesync$/, '/postgres'), { max: 1, onnotice: () => {} });
const sql = postgres(pg.url, { max: 1, onnotice: () => {} });
const server = await startServer({
  databaseUrl: pg.url, port: 0, poolSize: 4, schema: benchSchema,
  auth: { secret: SECRET }, limits: { maxChanges: 10_000, maxBodyBytes: 64 << 20 },
  logger: { error: console.error, warn() {}, info() {} },
});
try {
  const token = await signDevToken(SECRET, { sub: 'bench-user', ttlSec: 3600 });
  const rows = makeRows(rowsN);
  const push = small ? async (tag) => {
    const t = Date.now();
    for (let r = 0; r < SMALL.rounds; r++) {
      for (let c = 0; c < SMALL.clients; c++) {
        const clientId = `small-${tag}-${c}`;
        const seq = r + 1;
        const changes = Array.from({ length: 10 }, (_, k) => ({
          id: k + 1, table: 'items', op: 'upsert', row: { id: `small-${c}-${k}`, title: `t${seq}`, n: seq, doc: { seq } },
          hlc: hlc((t + r) * 100 + k, clientId), baseVersion: null,
        }));
        const res = await fetch(`${server.url}/sync`, {
          method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ protocol: 1, clientId, schemaVersion: 1, batch: { seq, changes }, pageSize: 10 }),
        });
        if (res.status !== 200) throw new Error(`push failed: ${res.status} ${await res.text()}`);
        await res.arrayBuffer();
      }
    }
  } : async (clientId) => {
    const t = Date.now();
    for (let i = 0, seq = 1; i < rows.length; i += batch, seq++) {
      const changes = rows.slice(i, i + batch).map((row, k) => ({ id: i + k + 1, table: 'items', op: 'upsert', row, hlc: hlc(t + i + k, clientId), baseVersion: null }));
      const res = await fetch(`${server.url}/sync`, {
        method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ protocol: 1, clientId, schemaVersion: 1, batch: { seq, changes }, pageSize: 1 }),
      });
      if (res.status !== 200) throw new Error(`push failed: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
    }
  };
  // Warm the pool's connections (plans, caches), then measure fresh inserts.
  await push('profile-warm');
  await sql`TRUNCATE items, edgesync_clients, edgesync_conflicts`;
  pg.psql('SELECT pg_stat_statements_reset()');
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await push('profile-run');
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const requests = small ? SMALL.rounds * SMALL.clients : Math.ceil(rowsN / batch);
  const size = small ? 10 : batch;
  console.log(`${requests * size} rows in ${requests} requests of ${size}: ${ms.toFixed(0)} ms wall, ${(ms / requests).toFixed(1)} ms per request, node CPU ${((cpu.user + cpu.system) / 1000 / requests).toFixed(2)} ms per request`);
  const list = await stats`SELECT calls, total_exec_time AS ms, rows,
      left(regexp_replace(query, '[[:space:]]+', ' ', 'g'), 160) AS q
    FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'edgesync')
    ORDER BY total_exec_time DESC LIMIT ${top}`;
  console.log('ms/request  calls  statement (nested statements are inside the ones above them)');
  for (const r of list) console.log(`${(r.ms / requests).toFixed(2).padStart(10)}  ${String(r.calls).padStart(5)}  ${r.q}`);
} finally {
  await server.close();
  await sql.end();
  await stats.end();
  await pg.stop();
}
