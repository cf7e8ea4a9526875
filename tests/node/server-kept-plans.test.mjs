// What a request costs as a user's rows grow, whatever plan PostgreSQL made:
// the merge statements of a 10-row batch read the stored rows of their own
// keys only (one primary-key probe per key), and a pull near the head reads
// about its page. The adverse case is set up on purpose, as it happens in
// production: the request function's statements are planned once per
// connection and the plan is kept, so a plan made while the table was nearly
// empty is still used when one user owns 20,000 rows. Before, such a plan
// hashed every row of the user per push (a join the planner answered through
// the owner index), probed the owner index once per key, or read the whole
// table per pull (a sequential scan and a sort). The plans are PostgreSQL
// 15's own EXPLAIN ANALYZE of the statements the server core installed.
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
const PAGE = 100;

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

/** The first statement of installed helper `name` (m0, m1: merges; p: the pull), and the settings it runs with. */
async function helperStatement(name) {
  const [{ src, config }] = await sql.unsafe(`SELECT prosrc AS src, proconfig AS config FROM pg_proc WHERE proname LIKE 'edgesync\\_%\\_${name}'`);
  return { text: /^DECLARE [^;]*;(?: [^;]*;)* BEGIN ((?:WITH x|WITH s) AS [\s\S]*?) INTO _es_j;/.exec(src)[1], settings: config ?? [] };
}

/** EXPLAIN ANALYZE of `EXECUTE <call>`, rolled back: its plan. */
async function explain(call) {
  const rollback = new Error('rollback');
  let plan;
  await sql.begin(async (tx) => {
    const [row] = await tx.unsafe(`EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE ${call}`);
    plan = row['QUERY PLAN'][0].Plan;
    throw rollback; // the EXPLAIN ANALYZE may have written; leave nothing behind
  }).catch((e) => { if (e !== rollback) throw e; });
  return plan;
}

const literal = (text) => `'${text.replace(/'/g, "''")}'`;
const mergeCall = (name) => `es_${name}(${literal(JSON.stringify(batchFor(name)))}, 'heavy', 'device-1', '{}')`;
/** A pull of the heavy user from `cursor` (xid, version). */
const pullCall = ([xid, version]) => `es_p('heavy', '${xid}', '${version}', 'device-1', '${PAGE}', '0')`;

/** Rows of `items` a plan read, and its scan nodes. */
function rowsRead(plan) {
  const nodes = [];
  const walk = (n) => { nodes.push(n); for (const c of n.Plans ?? []) walk(c); };
  walk(plan);
  const scans = nodes.filter((n) => n['Relation Name'] === 'items' && /Scan/.test(n['Node Type']));
  const per = (n, k) => (n[k] ?? 0) * n['Actual Loops'];
  return {
    read: scans.reduce((sum, n) => sum + per(n, 'Actual Rows') + per(n, 'Rows Removed by Filter') + per(n, 'Rows Removed by Index Recheck'), 0),
    scans: scans.map((n) => n['Node Type']),
    shape: scans.map((n) => `${n['Node Type']}${n['Index Name'] ? ` ${n['Index Name']}` : ''}`).join(', '),
  };
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
  for (const name of [...Object.keys(HELPERS), 'p']) {
    const { text, settings } = await helperStatement(name);
    // The function's own settings (its SET clauses), in force when it plans.
    for (const setting of settings) {
      const [key, value] = setting.split('=');
      await sql.unsafe(`SET ${key} = '${value}'`);
    }
    const types = name === 'p' ? 'text, text, text, text, text, text' : 'text, text, text, bigint[]';
    await sql.unsafe(`PREPARE es_${name}(${types}) AS ${text}`);
    await explain(name === 'p' ? pullCall(['0', '0']) : mergeCall(name));
  }
  await load(`'heavy'`, 1001, 1000 + LOADED);
}, { timeout: 120000 });
after(async () => { await sql?.end(); await pg?.stop(); });

for (const [name, what] of Object.entries(HELPERS)) {
  test(`a ${BATCH}-row ${what} batch reads only its own keys, with a plan made on an empty table and a heavy user`, async () => {
    const plan = await explain(mergeCall(name));
    if (process.env.SHOW_PLAN) console.log(JSON.stringify(plan, null, 1));
    const { read, scans, shape } = rowsRead(plan);
    assert.ok(scans.length > 0, 'the merge reads the stored rows');
    assert.ok(!scans.includes('Seq Scan'), `no sequential scan of the table (${shape})`);
    assert.ok(read <= 4 * BATCH, `rows read from items: ${read} for a ${BATCH}-row batch (${shape})`);
  });
}

test('a pull near the head reads about its page, with a plan made on an empty table and a heavy user', async () => {
  const [{ xid, version }] = await sql`SELECT max(_es_xid)::text AS xid, max(_es_version) - 50 AS version FROM items`;
  const plan = await explain(pullCall([xid, version]));
  const { read, scans, shape } = rowsRead(plan);
  assert.ok(scans.length > 0, 'the pull reads the table');
  assert.ok(!scans.includes('Seq Scan'), `no sequential scan of the table (${shape})`);
  assert.ok(read <= PAGE + 1, `rows read from items: ${read} for 50 rows past the cursor (${shape})`);
});
