// Many clients push and pull over HTTP while a writing transaction is held
// open (pg_sleep). Once everything has committed and everyone pulls to the
// end, every client has every row: the cursor skipped nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import postgres from 'postgres';
import { startPostgres } from '../harness/postgres.mjs';
import { startServer } from '../../hosts/node/server.mjs';
import { POSTGRES_OPTIONS } from '../../hosts/server/handler.mjs';
import { TEST_SECRET, token, postSync, hlc } from '../harness/sync-http.mjs';

const schema = JSON.parse(readFileSync(new URL('../fixtures/schema.v1.json', import.meta.url), 'utf8'));
let pg, server, sql;

before(async () => {
  pg = await startPostgres();
  server = await startServer({
    databaseUrl: pg.url, port: 0, poolSize: 12, schema, auth: { secret: TEST_SECRET },
    logger: { error: console.error, warn: () => {}, info: () => {} },
  });
  sql = postgres(pg.url, { ...POSTGRES_OPTIONS, max: 2 });
});
after(async () => {
  await server?.close();
  await sql?.end();
  await pg?.stop();
});

test('10 clients, 4 batches each, a writer held open: every client converges on every row', async () => {
  const CLIENTS = 10, BATCHES = 4, ROWS = 8;
  const tok = await token('team');
  // The slow writer takes its transaction id first and commits last: it
  // sleeps in the database (pg_sleep) until every client is done.
  let release = false;
  const slow = sql.begin(async (tx) => {
    await tx`INSERT INTO projects (id, owner_id, name, _es_origin) VALUES ('held-open', 'team', 'slow', 'writer-slow')`;
    while (!release) await tx`SELECT pg_sleep(0.1)`;
  });
  await new Promise((r) => setTimeout(r, 100));

  const seen = Array.from({ length: CLIENTS }, () => new Map());
  const cursors = new Array(CLIENTS).fill(null);
  async function pullOnce(c) {
    const id = `conc-client-${c}`;
    for (;;) {
      const r = await postSync(server.url, tok, { protocol: 1, clientId: id, schemaVersion: 1, cursor: cursors[c], pageSize: 7 });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      for (const ch of r.body.changes) seen[c].set(ch.row.id, ch.op);
      cursors[c] = r.body.cursor;
      if (!r.body.hasMore) return;
    }
  }
  await Promise.all(Array.from({ length: CLIENTS }, async (_, c) => {
    const id = `conc-client-${c}`;
    for (let b = 1; b <= BATCHES; b++) {
      const changes = Array.from({ length: ROWS }, (_, k) => ({
        id: k + 1, table: 'projects', op: 'upsert', row: { id: `c${c}-b${b}-r${k}`, name: 'x' },
        hlc: hlc(id, Date.now(), k), baseVersion: null,
      }));
      const r = await postSync(server.url, tok, { protocol: 1, clientId: id, schemaVersion: 1, batch: { seq: b, changes }, cursor: cursors[c], pageSize: 7 });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.ok(r.body.results.every((x) => x.status === 'applied'));
      for (const ch of r.body.changes) seen[c].set(ch.row.id, ch.op);
      cursors[c] = r.body.cursor;
      await pullOnce(c);
    }
  }));
  assert.ok(seen.every((m) => !m.has('held-open')), 'the open transaction\'s row is not visible before it commits');
  release = true;
  await slow;
  await Promise.all(Array.from({ length: CLIENTS }, (_, c) => pullOnce(c)));

  const all = (await sql`SELECT id FROM projects WHERE owner_id = 'team'`).map((r) => r.id);
  assert.equal(all.length, CLIENTS * BATCHES * ROWS + 1);
  for (let c = 0; c < CLIENTS; c++) {
    // A client's own rows are not echoed back; it must have everyone else's.
    const expected = all.filter((id) => !id.startsWith(`c${c}-`)).sort();
    assert.deepEqual([...seen[c].keys()].sort(), expected, `client ${c} is missing rows`);
  }
});
