// What a pull costs as scopes and members grow (docs/protocol.md, "Scopes
// and roles"): on 10,000 projects × 10 members × 100 rows each, the pull of
// a member of 5 projects reads index ranges only — no sequential scan of a
// scoped table, the membership table or the root table — both in the
// steady state (a cursor near the head) and in a backfill (a fresh device).
// The plan is PostgreSQL 15's own EXPLAIN ANALYZE of the server core's SQL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import postgres from 'postgres';
import { startPostgres } from '../harness/postgres.mjs';
import { nodeCore } from '../../hosts/wasm/node.mjs';
import { loadScopes, LOADED_TABLES } from '../harness/scopes-data.mjs';
import { SHARED_SCHEMA } from '../harness/shared-schema.mjs';

const SCOPES = 10000;
const MEMBERS = 10;
const ROWS = 100;
const BIG = new Set(LOADED_TABLES);
const decoder = new TextDecoder();

let pg, sql, core, handle;
before(async () => {
  core = await nodeCore();
  pg = await startPostgres();
  sql = postgres(pg.url, { max: 1, onnotice: () => {} });
  await loadScopes(sql, core, { scopes: SCOPES, members: MEMBERS, rows: ROWS });
  handle = core.call('server.open', { schema: SHARED_SCHEMA, limits: {} }).handle;
}, { timeout: 240000 });
after(async () => { await sql?.end(); await pg?.stop(); });

/**
 * The pull statement the server core runs for `body`, with its params: the
 * body of the request function's pull helper (from pg_proc, as installed),
 * and the values the request's one statement passes it.
 */
async function pullStatement(user, body) {
  const out = core.callFramed('server.begin', { handle, userId: user, nowMs: Date.now() }, [JSON.stringify(body)]);
  assert.equal(out.meta.done, false, decoder.decode(out.segments[0] ?? new Uint8Array()));
  core.call('server.abort', { state: out.meta.state });
  const call = decoder.decode(out.segments[out.meta.statements[0].sql.seg]);
  const prefix = /^SELECT (edgesync_[0-9a-f]+)_sync\(/.exec(call)[1];
  const [xid, version, page, row] = /'(\d+)', '(\d+)', '(\d+)', '(\d+)'\) AS j$/.exec(call).slice(1);
  const [{ src }] = await sql.unsafe('SELECT prosrc AS src FROM pg_proc WHERE proname = $1', [`${prefix}_p`]);
  const text = /^DECLARE _es_j text; BEGIN ([\s\S]*) INTO _es_j; RETURN _es_j; END$/.exec(src)[1];
  return { text, params: [user, xid, version, body.clientId, page, row] };
}

/** EXPLAIN ANALYZE of a pull: its plan nodes, rows returned and time. */
async function explainPull(user, cursor) {
  const st = await pullStatement(user, { protocol: 1, clientId: `explain-${user}-0001`, schemaVersion: 1, cursor });
  // Prepared with text parameters, as the helper function declares them.
  await sql.unsafe('DEALLOCATE ALL');
  await sql.unsafe(`PREPARE es_pull(text, text, text, text, text, text) AS ${st.text}`);
  const args = st.params.map((p) => `'${p.replace(/'/g, "''")}'`).join(', ');
  const [row] = await sql.unsafe(`EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE es_pull(${args})`);
  const plan = row['QUERY PLAN'][0];
  const nodes = [];
  const walk = (n) => { nodes.push(n); for (const c of n.Plans ?? []) walk(c); };
  walk(plan.Plan);
  const [res] = await sql.unsafe(`EXECUTE es_pull(${args})`);
  return { nodes, ms: plan['Execution Time'], result: res.j };
}

function assertIndexOnly(nodes, what) {
  const seq = nodes.filter((n) => n['Node Type'] === 'Seq Scan' && BIG.has(n['Relation Name']));
  assert.deepEqual(seq.map((n) => n['Relation Name']), [], `${what}: no sequential scan of a large table`);
  const scanned = new Set(nodes.filter((n) => /Index|Bitmap Heap/.test(n['Node Type'])).map((n) => n['Relation Name']));
  if (process.env.EDGESYNC_SHOW_PLANS) console.log(what, nodes.map((n) => `${n['Node Type']} ${n['Relation Name'] ?? ''} ${n['Index Name'] ?? ''} rows=${n['Actual Rows']}`));
  for (const t of ['nodes', 'project_members']) assert.ok(scanned.has(t), `${what}: ${t} is read through an index`);
}

test('10k projects × 10 members × 100 rows: a pull reads index ranges only', { timeout: 120000 }, async () => {
  const [{ n }] = await sql`select count(*)::int as n from project_members where user_id = 'u7'`;
  assert.equal(n, 5, 'the test user is a member of 5 projects');

  // A fresh device: the first page backfills the first of its 5 projects.
  const fresh = await explainPull('u7', null);
  assertIndexOnly(fresh.nodes, 'backfill');
  const [changes, meta] = fresh.result.split('\n').map((t) => JSON.parse(t));
  assert.ok(changes.length > ROWS, `the first project whole: its root row, members and nodes (${changes.length} changes)`);
  assert.ok(meta.uv > 0, 'the page stops before the next project to backfill');

  // The steady state: a cursor at the head of the database.
  const [{ xid }] = await sql`select pg_snapshot_xmin(pg_current_snapshot())::text as xid`;
  const head = await explainPull('u7', `${xid}:0`);
  assertIndexOnly(head.nodes, 'steady state');
  assert.equal(JSON.parse(head.result.split('\n')[0]).length, 0);
  console.log(`# pull_ms_10k_scopes backfill_page=${fresh.ms.toFixed(2)} steady=${head.ms.toFixed(2)}`);
});
