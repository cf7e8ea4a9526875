// What a push costs as a user's rows grow: the merge statement of a 10-row
// batch reads the stored rows of its own keys only (one primary-key probe
// per key), whatever PostgreSQL's statistics say. The adverse case is set up
// on purpose: the table is analyzed while the user has a few rows, then
// 20,000 more are bulk-loaded (stale statistics, as after an import or for a
// user far heavier than the average). As a join the planner then hashed
// every row of the user per push. The plan is PostgreSQL 15's own EXPLAIN
// ANALYZE of the merge statement the server core installed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import postgres from 'postgres';
import { startPostgres } from '../harness/postgres.mjs';
import { nodeCore } from '../../hosts/wasm/node.mjs';
import { applyDdl } from '../../hosts/server/handler.mjs';

const SCHEMA = {
  version: 1,
  tables: [{
    name: 'items',
    columns: [
      { name: 'id', type: 'text' },
      { name: 'ownerId', type: 'text' },
      { name: 'title', type: 'text' },
    ],
    primaryKey: 'id',
    owner: 'ownerId',
    conflict: 'lww',
  }],
};
const LOADED = 20000;
const BATCH = 10;

let pg, sql;
before(async () => {
  const core = await nodeCore();
  pg = await startPostgres();
  sql = postgres(pg.url, { max: 1, onnotice: () => {} });
  const { pgDdl } = core.call('server.open', { schema: SCHEMA, limits: {} });
  await applyDdl(sql, pgDdl);
  const load = (owner, from, to) => sql.unsafe(`INSERT INTO items (id, owner_id, title, _es_hlc, _es_version, _es_xid)
    SELECT 'row-' || g, ${owner}, 't', '000000000000001:00000:load',
      nextval('edgesync_version_seq'), pg_current_xact_id() FROM generate_series(${from}, ${to}) g`);
  await load(`'user-' || (g % 500)`, 1, 1000);
  await sql`ANALYZE items`;
  await load(`'heavy'`, 1001, 1000 + LOADED);
}, { timeout: 120000 });
after(async () => { await sql?.end(); await pg?.stop(); });

/** The first statement of the installed merge helper `name` (m0 upserts, m1 deletes). */
async function mergeStatement(name) {
  const [{ src }] = await sql.unsafe(`SELECT prosrc AS src FROM pg_proc WHERE proname LIKE 'edgesync\\_%\\_${name}'`);
  return /^DECLARE [^;]*;(?: [^;]*;)* BEGIN (WITH x AS [\s\S]*?) INTO _es_j;/.exec(src)[1];
}

/** Rows of `items` the statement read (EXPLAIN ANALYZE, rolled back), and its scan nodes. */
async function rowsRead(text, input) {
  const rollback = new Error('rollback');
  let out;
  await sql.begin(async (tx) => {
    await tx.unsafe('DEALLOCATE ALL');
    await tx.unsafe(`PREPARE es_merge(text, text, text, bigint[]) AS ${text}`);
    const [row] = await tx.unsafe(`EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE es_merge('${JSON.stringify(input).replace(/'/g, "''")}', 'heavy', 'device-1', '{}')`);
    const nodes = [];
    const walk = (n) => { nodes.push(n); for (const c of n.Plans ?? []) walk(c); };
    walk(row['QUERY PLAN'][0].Plan);
    if (process.env.SHOW_PLAN) console.log(JSON.stringify(row['QUERY PLAN'][0].Plan, null, 1));
    const scans = nodes.filter((n) => n['Relation Name'] === 'items' && /Scan/.test(n['Node Type']));
    const per = (n, k) => (n[k] ?? 0) * n['Actual Loops'];
    out = {
      read: scans.reduce((sum, n) => sum + per(n, 'Actual Rows') + per(n, 'Rows Removed by Filter') + per(n, 'Rows Removed by Index Recheck'), 0),
      scans: scans.map((n) => n['Node Type']),
    };
    throw rollback; // the EXPLAIN ANALYZE wrote; leave nothing behind
  }).catch((e) => { if (e !== rollback) throw e; });
  return out;
}

const hlc = () => `${String(Date.now()).padStart(15, '0')}:00000:device-1`;

for (const [name, what, extra] of [['m0', 'upsert', (i) => ({ _es_c: null, title: `edited ${i}` })], ['m1', 'delete', () => ({})]]) {
  test(`a ${BATCH}-row ${what} batch reads only its own keys, with stale statistics and a heavy user`, async () => {
    const input = Array.from({ length: BATCH }, (_, i) => ({ _es_i: i, _es_h: hlc(), _es_b: null, id: `row-${1001 + 7 * i}`, ...extra(i) }));
    const { read, scans } = await rowsRead(await mergeStatement(name), input);
    assert.ok(scans.length > 0, 'the merge reads the stored rows');
    assert.ok(!scans.includes('Seq Scan'), `no sequential scan of the table (${scans.join(', ')})`);
    assert.ok(read <= 4 * BATCH, `rows read from items: ${read} for a ${BATCH}-row batch (${scans.join(', ')})`);
  });
}
