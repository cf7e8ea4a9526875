// The worker in workerd (`wrangler dev`) with the MEDIA R2 binding but no
// usable EDGESYNC_MEDIA_SECRET (unset, or too short): /media/… answers 503
// media_not_configured saying what to set, /sync and /healthz are
// unaffected, and the cron sweep fails loudly instead of doing nothing.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres } from '../harness/postgres.mjs';
import { startWranglerDev } from '../harness/wrangler.mjs';
import { TEST_SECRET, token, postSync, hlc, serverCoreAvailable } from '../harness/sync-http.mjs';
import { schema } from '../harness/media-scenarios.mjs';

const hasServerCore = await serverCoreAvailable();

describe('media on workerd without a usable EDGESYNC_MEDIA_SECRET', { skip: !hasServerCore && 'the server core is not in the WASM build yet' }, () => {
  let pg; let schemaDir; let alice;

  before(async () => {
    pg = await startPostgres();
    schemaDir = mkdtempSync(join(tmpdir(), 'edgesync-media-config-'));
    writeFileSync(join(schemaDir, 'schema.json'), JSON.stringify(schema));
    alice = await token('alice');
  }, { timeout: 60000 });

  after(async () => {
    await pg?.stop();
    if (schemaDir) rmSync(schemaDir, { recursive: true, force: true });
  }, { timeout: 30000 });

  for (const [label, vars, why] of [
    ['unset', {}, /EDGESYNC_MEDIA_SECRET is not set/],
    ['too short', { EDGESYNC_MEDIA_SECRET: 'too-short' }, /EDGESYNC_MEDIA_SECRET must have at least 32 characters/],
  ]) {
    test(`${label}: /media/ answers 503 media_not_configured, /sync works, the cron sweep fails`, { timeout: 120000 }, async () => {
      const worker = await startWranglerDev({
        databaseUrl: pg.url, schemaPath: join(schemaDir, 'schema.json'), testScheduled: true,
        vars: { EDGESYNC_JWT_SECRET: TEST_SECRET, ...vars },
      });
      try {
        const clientId = label === 'unset' ? 'c_wconfig_unset_1' : 'c_wconfig_short_1';
        const r = await postSync(worker.url, alice, { protocol: 1, clientId, schemaVersion: 1, cursor: null,
          batch: { seq: 1, changes: [{ id: 1, table: 'docs', op: 'upsert', row: { id: `d-${clientId}`, title: 't' }, hlc: hlc(clientId), baseVersion: null }] } });
        assert.equal(r.status, 200, `${JSON.stringify(r.body)}\n${worker.log().slice(-3000)}`);
        assert.equal(r.body.results[0].status, 'applied');

        for (const [method, path, body, tok] of [
          ['POST', '/media/uploads', JSON.stringify({ table: 'docs', column: 'file', pk: `d-${clientId}`, size: 10, mime: 'image/png', sha256: '0'.repeat(64) }), alice],
          ['GET', `/media/file?table=docs&column=file&pk=d-${clientId}`, undefined, alice],
          ['GET', `/media/signed?key=sha256:${'0'.repeat(64)}&mime=image/png&exp=1&sig=x`, undefined, null],
        ]) {
          const res = await fetch(`${worker.url}${path}`, {
            method, body, headers: { ...(tok ? { authorization: `Bearer ${tok}` } : {}), origin: 'https://app.example' },
            signal: AbortSignal.timeout(30000),
          });
          const json = await res.json();
          assert.equal(res.status, 503, `${method} ${path}: ${JSON.stringify(json)}`);
          assert.equal(json.error?.code, 'media_not_configured', JSON.stringify(json));
          assert.match(json.error.message, why);
          assert.match(json.error.message, /wrangler secret put EDGESYNC_MEDIA_SECRET/);
          assert.equal(res.headers.get('retry-after'), '60');
          assert.equal(res.headers.get('access-control-allow-origin'), '*');
        }
        assert.equal((await fetch(`${worker.url}/healthz`)).status, 200);

        // The sweep cannot run without the media route: the cron invocation fails (and logs why).
        const res = await fetch(`${worker.url}/__scheduled?cron=${encodeURIComponent('*/15 * * * *')}`, { signal: AbortSignal.timeout(30000) });
        const text = await res.text();
        assert.equal(res.status, 500, text); // wrangler's answer for a scheduled handler that threw
        assert.match(text, /media files are not configured/);
      } finally {
        await worker.stop();
      }
    });
  }
});
