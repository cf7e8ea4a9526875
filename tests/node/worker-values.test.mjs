// The validator's value limits equal PostgreSQL's (security probe F2): every
// value of tests/fixtures/value-boundaries.json goes through the WASM server
// core into a real PostgreSQL 15. Values just inside a limit are stored;
// values just outside are a 400 (value_out_of_range, or type_mismatch for a
// timestamp field outside its ISO-8601 range) with the column's path,
// refused before any SQL — and PostgreSQL itself refuses them through the
// same jsonb_to_recordset cast the merge uses.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { nodeCore } from '../../hosts/wasm/node.mjs';
import { startPostgres } from '../harness/postgres.mjs';
import { driveSync } from '../harness/drive.mjs';
import { POSTGRES_OPTIONS } from '../../hosts/server/handler.mjs';

const read = (p) => JSON.parse(readFileSync(new URL(p, import.meta.url), 'utf8'));
const schema = read('../fixtures/schema.v1.json');
const { cases } = read('../fixtures/value-boundaries.json');
const core = await nodeCore();

// The schema's server names and types (tests/fixtures/schema.v1.json).
const snake = (s) => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
const tables = Object.fromEntries(schema.tables.map((t) => [t.name, {
  server: t.serverName ?? snake(t.name),
  key: [t.primaryKey].flat(),
  types: Object.fromEntries(t.columns.map((c) => [c.name, c.type])),
}]));
const PG_TYPES = { text: 'text', integer: 'bigint', real: 'double precision', timestamp: 'timestamptz', json: 'jsonb' };

/** `@{s*n}`: s repeated n times. */
const expand = (raw) => raw.replace(/@\{(.+?)\*(\d+)\}/gs, (_, s, n) => s.repeat(Number(n)));

let pg, sql, handle;
before(async () => {
  pg = await startPostgres();
  sql = postgres(pg.url, { ...POSTGRES_OPTIONS, max: 4 });
  const opened = core.call('server.open', { schema, limits: {} });
  handle = opened.handle;
  await sql.unsafe(opened.pgDdl);
}, { timeout: 60000 });
after(async () => {
  await sql?.end();
  await pg?.stop();
}, { timeout: 30000 });

let n = 0;
/** Pushes one upsert whose row is given as raw JSON members; returns the response. */
async function push(table, members) {
  n += 1;
  const clientId = `client-values-${n}`;
  const hlc = `${String(1_700_000_000_000 + n).padStart(15, '0')}:00000:${clientId}`;
  const body = `{"protocol":1,"clientId":"${clientId}","schemaVersion":1,"batch":{"seq":1,"changes":[` +
    `{"id":1,"table":"${table}","op":"upsert","row":{${members.join(',')}},"hlc":"${hlc}","baseVersion":null}]}}`;
  return driveSync(core, handle, sql, 'u1', body);
}

/** PostgreSQL's own verdict on a value for a column type, through the merge's cast. */
async function postgresAccepts(type, raw) {
  try {
    await sql.unsafe(`select 1 from jsonb_to_recordset($1::text::jsonb) as x("v" ${PG_TYPES[type]})`, [`[{"v":${raw}}]`]);
    return true;
  } catch {
    return false;
  }
}

describe('values at PostgreSQL\'s limits', () => {
  cases.forEach((c, i) => {
    const raw = expand(c.value);
    const label = `${c.table}.${c.column} = ${c.value.slice(0, 48)} ${c.accepted ? 'is stored' : 'is a 400'}`;
    test(label, async () => {
      const t = tables[c.table];
      const members = [];
      const row = {};
      const set = (col, value) => { members.push(`"${col}":${value}`); row[col] = value; };
      // Fill the key and the not-null columns; the case sets the rest.
      for (const col of t.key) if (col !== c.column && !(c.with && col in c.with)) set(col, `"k${i}"`);
      if (c.table === 'projects') set('name', '"n"');
      if (c.table === 'workflowNodes') set('projectId', '"p"');
      if (c.table === 'workflowEdges') { set('source', '"a"'); set('target', '"b"'); }
      for (const [col, v] of Object.entries(c.with ?? {})) set(col, expand(v));
      set(c.column, raw);

      const r = await push(c.table, members);
      const type = t.types[c.column];
      if (c.accepted) {
        assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 300));
        assert.equal(r.body.results[0].status, 'applied');
        const where = t.key.map((col, k) => `"${snake(col)}" = $${k + 1}`).join(' and ');
        const stored = await sql.unsafe(`select "${snake(c.column)}" is not null as present from "${t.server}" where ${where}`,
          t.key.map((col) => JSON.parse(row[col])));
        assert.deepEqual(stored.map((x) => x.present), [true], 'PostgreSQL stored the value');
        return;
      }
      assert.equal(r.status, 400, JSON.stringify(r.body).slice(0, 300));
      assert.equal(r.body.error.code, c.code ?? 'value_out_of_range');
      assert.equal(r.body.error.path, `batch.changes[0].row.${c.column}`);
      assert.equal(r.body.error.errors.length, 1);
      // A primary key's text is capped below PostgreSQL's own (data-dependent)
      // btree limit; every other value is refused by PostgreSQL too.
      assert.equal(await postgresAccepts(type, raw), Boolean(c.postgresAccepts),
        c.postgresAccepts ? 'within PostgreSQL\'s limit: the validator\'s own cap' : 'PostgreSQL refuses it too');
    });
  });

  test('the key cap sits below PostgreSQL\'s btree limit: an incompressible 2700-byte key fails there', async () => {
    await sql.unsafe('create temporary table k (id text primary key)');
    const key = randomBytes(2700).toString('base64').slice(0, 2700);
    await assert.rejects(sql.unsafe('insert into k values ($1)', [key]), /index row size/);
    const r = await push('settings', [`"key":${JSON.stringify(key)}`]);
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'value_out_of_range');
    assert.equal(r.body.error.path, 'batch.changes[0].row.key');
  });

  test('after a refused value the same client\'s next batch is applied (nothing is wedged)', async () => {
    n += 1;
    const clientId = `client-values-wedge-${n}`;
    const change = (id, x) => ({ id, table: 'workflowNodes', op: 'upsert', row: { id: `w${n}`, projectId: 'p' }, hlc: `${String(1_700_000_000_000 + id).padStart(15, '0')}:00000:${clientId}`, baseVersion: null, ...x });
    const bad = JSON.stringify({ protocol: 1, clientId, schemaVersion: 1, batch: { seq: 1, changes: [change(1)] } })
      .replace('"projectId":"p"', '"projectId":"p","x":1e400');
    const refused = await driveSync(core, handle, sql, 'u1', bad);
    assert.equal(refused.status, 400);
    const ok = await driveSync(core, handle, sql, 'u1', { protocol: 1, clientId, schemaVersion: 1, batch: { seq: 1, changes: [change(2)] } });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.results[0].status, 'applied');
  });
});
