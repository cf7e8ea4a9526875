// The worker in workerd (`wrangler dev`) without a way to verify tokens (no
// EDGESYNC_JWT_SECRET, no EDGESYNC_JWKS_URL): every request is refused with
// 503 not_configured naming the setting to make — an operator's omission,
// not a bug (500) — and nothing is served or written (fails closed).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { startPostgres } from '../harness/postgres.mjs';
import { startWranglerDev } from '../harness/wrangler.mjs';
import { token, postSync, hlc, serverCoreAvailable } from '../harness/sync-http.mjs';
import { schema } from '../harness/media-scenarios.mjs';

const hasServerCore = await serverCoreAvailable();

describe('a worker without token verification', { skip: !hasServerCore && 'the server core is not in the WASM build yet' }, () => {
  let pg; let schemaDir;

  before(async () => {
    pg = await startPostgres();
    schemaDir = mkdtempSync(join(tmpdir(), 'edgesync-worker-config-'));
    writeFileSync(join(schemaDir, 'schema.json'), JSON.stringify(schema));
  }, { timeout: 60000 });

  after(async () => {
    await pg?.stop();
    if (schemaDir) rmSync(schemaDir, { recursive: true, force: true });
  }, { timeout: 30000 });

  test('answers 503 not_configured saying what to set, and writes nothing', { timeout: 120000 }, async () => {
    const worker = await startWranglerDev({ databaseUrl: pg.url, schemaPath: join(schemaDir, 'schema.json'), vars: {} });
    try {
      const clientId = 'c_wconfig_noauth_1';
      const r = await postSync(worker.url, await token('alice'), { protocol: 1, clientId, schemaVersion: 1, cursor: null,
        batch: { seq: 1, changes: [{ id: 1, table: 'docs', op: 'upsert', row: { id: 'd-noauth', title: 't' }, hlc: hlc(clientId), baseVersion: null }] } });
      assert.equal(r.status, 503, `${JSON.stringify(r.body)}\n${worker.log().slice(-3000)}`);
      assert.equal(r.body.error?.code, 'not_configured', JSON.stringify(r.body));
      assert.match(r.body.error.message, /EDGESYNC_JWT_SECRET/);
      assert.match(r.body.error.message, /EDGESYNC_JWKS_URL/);
      const health = await fetch(`${worker.url}/healthz`, { signal: AbortSignal.timeout(30000) });
      assert.equal(health.status, 503);
      assert.equal(health.headers.get('retry-after'), '60');
      assert.equal((await health.json()).error?.code, 'not_configured');
      // Nothing reached the database: not even the schema's tables.
      const sql = postgres(pg.url, { max: 1, onnotice: () => {} });
      try {
        const [{ n }] = await sql`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'docs'`;
        assert.equal(n, 0);
      } finally {
        await sql.end();
      }
    } finally {
      await worker.stop();
    }
  });
});
