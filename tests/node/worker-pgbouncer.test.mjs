// The node host behind pgbouncer in transaction mode (the Hyperdrive-like
// setup): no session state, no named prepared statements, one transaction per
// request — so server connections can be shared between client connections.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import postgres from 'postgres';
import { startPostgres, startPgbouncer } from '../harness/postgres.mjs';
import {
  TEST_SECRET, token, postSync, hlc, serverCoreAvailable, pushPullRoundTrip,
} from '../harness/sync-http.mjs';
import { startServer } from '../../hosts/node/server.mjs';

// The demo board's tables owner-only, as before sharing: the paged pull below
// counts owner-only rows (a shared project's members rows would page too).
const schema = JSON.parse(readFileSync(new URL('../fixtures/schema.demo-owner.json', import.meta.url), 'utf8'));
const hasServerCore = await serverCoreAvailable();

describe('node host behind pgbouncer (transaction mode)', { skip: !hasServerCore && 'the server core is not in the WASM build yet' }, () => {
  let pg, bouncer, srv, sql;
  before(async () => {
    pg = await startPostgres();
    bouncer = await startPgbouncer(pg, { poolSize: 2 });
    // More client connections than pgbouncer has server connections.
    srv = await startServer({ databaseUrl: bouncer.url, port: 0, poolSize: 6, auth: { secret: TEST_SECRET }, schema,
      logger: { error: (...a) => console.error(...a) } });
    sql = postgres(pg.url, { max: 1, onnotice: () => {} });
  }, { timeout: 60000 });
  after(async () => {
    await srv?.close();
    await sql?.end();
    await bouncer?.stop();
    await pg?.stop();
  }, { timeout: 30000 });

  test('healthz', async () => {
    const r = await fetch(`${srv.url}/healthz`);
    assert.equal(r.status, 200);
  });

  test('push and pull round trip', async () => {
    await pushPullRoundTrip(srv.url, { tag: 'bouncer' });
  });

  test('concurrent pushes from many clients share two server connections', async () => {
    const n = 16;
    const user = await token('dana');
    const pushes = await Promise.all(Array.from({ length: n }, (_, i) => {
      const clientId = `c_bouncer_dev_${String(i).padStart(3, '0')}`;
      return postSync(srv.url, user, {
        protocol: 1, clientId, schemaVersion: 1,
        batch: { seq: 1, changes: [{ id: 1, table: 'projects', op: 'upsert',
          row: { id: `dana-${i}`, name: `Project ${i}`, updatedAt: null }, hlc: hlc(clientId), baseVersion: null }] },
      });
    }));
    for (const p of pushes) assert.equal(p.status, 200, JSON.stringify(p.body));
    const seen = new Set();
    let cursor = null;
    for (let page = 0; page < 10; page++) {
      const r = await postSync(srv.url, user, { protocol: 1, clientId: 'c_bouncer_reader', schemaVersion: 1, cursor, pageSize: 5 });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      for (const c of r.body.changes) seen.add(c.row.id);
      cursor = r.body.cursor;
      if (!r.body.hasMore) break;
    }
    assert.equal(seen.size, n, `paged pull sees every row: ${[...seen].sort()}`);
    const [{ count }] = await sql`select count(*)::int as count from projects where owner_id = 'dana'`;
    assert.equal(count, n);
  });

  test('a second host applying the DDL at the same time is harmless', async () => {
    const other = await startServer({ databaseUrl: bouncer.url, port: 0, poolSize: 2, auth: { secret: TEST_SECRET }, schema });
    try {
      const r = await fetch(`${other.url}/healthz`);
      assert.equal(r.status, 200);
    } finally {
      await other.close();
    }
  });
});
