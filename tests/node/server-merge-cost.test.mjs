// What a push costs as a user's rows grow: the merge statements of a 10-row
// batch read the stored rows of their own keys only (one primary-key probe
// per key), whatever plan PostgreSQL made. The adverse case is set up on
// purpose, as it happens in production: the request function's statements
// are planned once per connection and the plan is kept, so a plan made while
// the table was nearly empty is still used when one user owns 20,000 rows.
// Before, such a plan hashed every row of the user per push (a join the
// planner answered through the owner index), or probed the owner index once
// per key. The plans are PostgreSQL 15's own EXPLAIN ANALYZE of the merge
// statements the server core installed.
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
const HELPERS = { m0: 'upsert', m1: 'delete' };

let pg, sql;
const hlc = () => `${String(Date.now()).padStart(15, '0')}:00000:device-1`;
const load = (owner, from, to) => sql.unsafe(`INSERT INTO items (id, owner_id, title, _es_hlc, _es_version, _es_xid)
  SELECT 'row-' || g, ${owner}, 't', '000000000000001:00000:load',
    nextval('edgesync_version_seq'), pg_current_xact_id() FROM generate_series(${from}, ${to}) g`);

/** One batch of `BATCH` changes of the heavy user's rows, as helper `name` reads it. */
function batchFor(name) {
  return Array.from({ length: BATCH }, (_, i) => ({
    _es_i: i, _es_h: hlc(), _es_b: null, id: `row-${1001 + 7 * i}`,
    ...(name === 'm0' ? { _es_c: null, title: `edited ${i}` } : {}),
  }));
}

/** The first statement of the installed merge helper `name`, and the settings it runs with. */
async function mergeStatement(name) {
  const [{ src, config }] = await sql.unsafe(`SELECT prosrc AS src, proconfig AS config FROM pg_proc WHERE proname LIKE 'edgesync\\_%\\_${name}'`);
  return { text: /^DECLARE [^;]*;(?: [^;]*;)* BEGIN (WITH x AS [\s\S]*?) INTO _es_j;/.exec(src)[1], settings: config ?? [] };
}

/** EXPLAIN ANALYZE of prepared statement `es_<name>` on `input`, rolled back: its plan. */
async function explain(name, input) {
  const rollback = new Error('rollback');
  let plan;
  await sql.begin(async (tx) => {
    const [row] = await tx.unsafe(`EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE es_${name}('${JSON.stringify(input).replace(/'/g, "''")}', 'heavy', 'device-1', '{}')`);
    plan = row['QUERY PLAN'][0].Plan;
    throw rollback; // the EXPLAIN ANALYZE wrote; leave nothing behind
  }).catch((e) => { if (e !== rollback) throw e; });
  return plan;
}

before(async () => {
  const core = await nodeCore();
  pg = await startPostgres();
  sql = postgres(pg.url, { max: 1, onnotice: () => {} });
  const { pgDdl } = core.call('server.open', { schema: SCHEMA, limits: {} });
  await applyDdl(sql, pgDdl);
  await load(`'user-' || g`, 1, 10);
  await sql`ANALYZE items`;
  // Plan each statement on the nearly empty table, as a pooled connection
  // does on its first requests, and keep the plan.
  await sql`SET plan_cache_mode = force_generic_plan`;
  for (const name of Object.keys(HELPERS)) {
    const { text, settings } = await mergeStatement(name);
    // The function's own settings (its SET clauses), in force when it plans.
    for (const setting of settings) {
      const [key, value] = setting.split('=');
      await sql.unsafe(`SET ${key} = '${value}'`);
    }
    await sql.unsafe(`PREPARE es_${name}(text, text, text, bigint[]) AS ${text}`);
    await explain(name, batchFor(name));
  }
  await load(`'heavy'`, 1001, 1000 + LOADED);
}, { timeout: 120000 });
after(async () => { await sql?.end(); await pg?.stop(); });

for (const [name, what] of Object.entries(HELPERS)) {
  test(`a ${BATCH}-row ${what} batch reads only its own keys, with a plan made on an empty table and a heavy user`, async () => {
    const nodes = [];
    const walk = (n) => { nodes.push(n); for (const c of n.Plans ?? []) walk(c); };
    walk(await explain(name, batchFor(name)));
    if (process.env.SHOW_PLAN) console.log(JSON.stringify(nodes[0], null, 1));
    const scans = nodes.filter((n) => n['Relation Name'] === 'items' && /Scan/.test(n['Node Type']));
    const per = (n, k) => (n[k] ?? 0) * n['Actual Loops'];
    const read = scans.reduce((sum, n) => sum + per(n, 'Actual Rows') + per(n, 'Rows Removed by Filter') + per(n, 'Rows Removed by Index Recheck'), 0);
    const shape = scans.map((n) => `${n['Node Type']}${n['Index Name'] ? ` ${n['Index Name']}` : ''}`).join(', ');
    assert.ok(scans.length > 0, 'the merge reads the stored rows');
    assert.ok(!scans.some((n) => n['Node Type'] === 'Seq Scan'), `no sequential scan of the table (${shape})`);
    assert.ok(read <= 4 * BATCH, `rows read from items: ${read} for a ${BATCH}-row batch (${shape})`);
  });
}
