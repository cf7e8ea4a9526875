// A trap in the WASM core (a bug, memory exhausted) must not poison the
// server: that request answers 500, nothing is written, and the host swaps in
// a fresh instance for the next requests.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startPostgres } from '../harness/postgres.mjs';
import { startServer } from '../../hosts/node/server.mjs';
import { loadFreshCore } from '../../hosts/wasm/node.mjs';
import { TEST_SECRET, token, postSync, hlc } from '../harness/sync-http.mjs';

const schema = JSON.parse(readFileSync(new URL('../fixtures/schema.v1.json', import.meta.url), 'utf8'));
let pg, server;
const errors = [];

before(async () => {
  pg = await startPostgres();
  const core = await loadFreshCore();
  // Trap on the first server.step, as a corrupt instance would.
  const realFramed = core.callFramed.bind(core);
  let trapped = false;
  core.callFramed = (op, meta, segments) => {
    if (op === 'server.step' && !trapped) {
      trapped = true;
      throw new WebAssembly.RuntimeError('unreachable');
    }
    return realFramed(op, meta, segments);
  };
  server = await startServer({
    databaseUrl: pg.url, port: 0, schema, core, auth: { secret: TEST_SECRET },
    logger: { error: (...a) => errors.push(a.join(' ')), warn: () => {}, info: () => {} },
  });
});
after(async () => {
  await server?.close();
  await pg?.stop();
});

test('a trapped core answers 500, writes nothing, and is replaced', async () => {
  const tok = await token('u1');
  const body = (seq) => ({ protocol: 1, clientId: 'client-crash', schemaVersion: 1,
    batch: { seq, changes: [{ id: 1, table: 'projects', op: 'upsert', row: { id: 'p1', name: 'A' }, hlc: hlc('client-crash') }] } });
  const first = await postSync(server.url, tok, body(1));
  assert.equal(first.status, 500);
  assert.equal(first.body.error.code, 'internal');
  assert.ok(errors.some((e) => e.includes('trapped')), errors.join('\n'));
  // The retry reaches the fresh instance and applies once.
  let second;
  for (let i = 0; i < 20; i++) {
    second = await postSync(server.url, tok, body(1));
    if (second.status === 200) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(second.status, 200, JSON.stringify(second.body));
  assert.equal(second.body.results[0].status, 'applied');
  assert.deepEqual(second.body.ack, { seq: 1, duplicate: false }, 'the failed attempt wrote nothing');
});
