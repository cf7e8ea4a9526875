// A trap in the WASM core (a bug, memory exhausted) must not poison the
// server: that request answers 500 and the host swaps in a fresh instance for
// the next requests. A trap before the request's statement writes nothing; a
// trap after it (the statement committed) leaves a batch the retry finds
// recorded: applied once, its results repeated.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startPostgres } from '../harness/postgres.mjs';
import { startServer } from '../../hosts/node/server.mjs';
import { loadFreshServerCore } from '../../hosts/wasm/node.mjs';
import { TEST_SECRET, token, postSync, hlc } from '../harness/sync-http.mjs';

const schema = JSON.parse(readFileSync(new URL('../fixtures/schema.v1.json', import.meta.url), 'utf8'));
let pg;
const servers = {};
const errors = [];

/** A node host whose core traps once on `op`, as a corrupt instance would. */
async function startTrapping(op) {
  const core = await loadFreshServerCore();
  const realFramed = core.callFramed.bind(core);
  let armed = true;
  core.callFramed = (name, meta, segments) => {
    if (name === op && armed) {
      armed = false;
      throw new WebAssembly.RuntimeError('unreachable');
    }
    return realFramed(name, meta, segments);
  };
  return startServer({
    databaseUrl: pg.url, port: 0, schema, core, auth: { secret: TEST_SECRET },
    logger: { error: (...a) => errors.push(a.join(' ')), warn: () => {}, info: () => {} },
  });
}

before(async () => {
  pg = await startPostgres();
  servers.begin = await startTrapping('server.begin');
  servers.step = await startTrapping('server.step');
});
after(async () => {
  await Promise.all(Object.values(servers).map((s) => s.close()));
  await pg?.stop();
});

const body = (client, seq) => ({ protocol: 1, clientId: client, schemaVersion: 1,
  batch: { seq, changes: [{ id: 1, table: 'projects', op: 'upsert', row: { id: `p-${client}`, name: 'A' }, hlc: hlc(client) }] } });

/** Posts until the fresh instance answers 200 (the swap is asynchronous). */
async function retry(server, tok, b) {
  let res;
  for (let i = 0; i < 20; i++) {
    res = await postSync(server.url, tok, b);
    if (res.status === 200) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res;
}

test('a core trapped before the statement answers 500, writes nothing, and is replaced', async () => {
  const tok = await token('u1');
  const server = servers.begin;
  errors.length = 0;
  const first = await postSync(server.url, tok, body('client-crash1', 1));
  assert.equal(first.status, 500);
  assert.equal(first.body.error.code, 'internal');
  assert.ok(errors.some((e) => e.includes('trapped')), errors.join('\n'));
  const second = await retry(server, tok, body('client-crash1', 1));
  assert.equal(second.body.results[0].status, 'applied');
  assert.deepEqual(second.body.ack, { seq: 1, duplicate: false }, 'the failed attempt wrote nothing');
});

test('a core trapped after the statement committed answers 500; the retry repeats the recorded results', async () => {
  const tok = await token('u1');
  const server = servers.step;
  errors.length = 0;
  const first = await postSync(server.url, tok, body('client-crash2', 1));
  assert.equal(first.status, 500);
  assert.ok(errors.some((e) => e.includes('trapped')), errors.join('\n'));
  const second = await retry(server, tok, body('client-crash2', 1));
  assert.deepEqual(second.body.ack, { seq: 1, duplicate: true }, 'the batch was recorded once');
  assert.equal(second.body.results[0].status, 'applied', 'its results are the recorded ones');
});
