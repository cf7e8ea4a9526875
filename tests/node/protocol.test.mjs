// The protocol's facts come from the core: both WASM builds describe the same
// facts, the server host's exports are read from them, and the bodies the
// hosts answer themselves have the core's error shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { nodeCore } from '../../hosts/wasm/node.mjs';
import { loadClientCore } from '../../hosts/client/core.mjs';
import { createHandler, openServer, errorBody } from '../../hosts/server/handler.mjs';
import { PROTOCOL, DEFAULT_LIMITS } from '../../hosts/server/index.mjs';

const core = await nodeCore();
const schema = JSON.parse(readFileSync(new URL('../fixtures/schema.v1.json', import.meta.url), 'utf8'));

test('both WASM builds describe the same protocol facts', async () => {
  const facts = core.protocol();
  assert.equal(facts.version, 1);
  assert.deepEqual(facts.limits.defaults,
    { maxBodyBytes: 8 << 20, maxChanges: 10000, maxPageSize: 5000, defaultPageSize: 500, maxClockSkewMs: 60000 });
  assert.equal(facts.hlc.format, 'MMMMMMMMMMMMMMM:CCCCC:node');
  assert.equal(facts.hlc.maxCounter, 99999);
  assert.equal(facts.errorCodes.unauthorized, 401);
  assert.ok(new RegExp(facts.clientId.pattern).test('c_3f9a1b2c4d5e6f70'));
  assert.ok(!new RegExp(facts.clientId.pattern).test('short'));
  assert.ok(Object.isFrozen(facts.limits.defaults), 'shared facts cannot be edited by a caller');
  const browser = await loadClientCore();
  assert.deepEqual(browser.protocol(), facts, 'the browser build has protocol.describe too');
});

test('the server exports are the core\'s facts', () => {
  assert.equal(PROTOCOL, core.protocol().version);
  assert.deepEqual(DEFAULT_LIMITS, core.protocol().limits.defaults);
  const { limits } = openServer(core, schema, { maxChanges: 7 });
  assert.deepEqual(limits, { ...core.protocol().limits.defaults, maxChanges: 7 });
});

test('host error bodies have the shape of the core\'s error bodies', async () => {
  const { handle } = openServer(core, schema);
  // The core's own body for an invalid request.
  const out = core.callFramed('server.begin', { handle, userId: 'u', nowMs: 1 }, ['{}']);
  const coreBody = JSON.parse(new TextDecoder().decode(out.segments[0]));
  const shape = (b) => ({
    top: Object.keys(b).sort(), error: Object.keys(b.error).sort(),
    entry: Object.keys(b.error.errors[0]).sort(),
  });
  const host = errorBody('not_found', 'no such endpoint', 'x');
  assert.deepEqual(host, {
    protocol: 1,
    error: { code: 'not_found', message: 'no such endpoint', path: 'x',
      errors: [{ code: 'not_found', message: 'no such endpoint', path: 'x' }] },
  });
  assert.deepEqual(shape(host), shape(coreBody));
  assert.deepEqual(Object.keys(errorBody('internal', 'm').error).sort(), ['code', 'errors', 'message']);

  // Through the handler: a 401 the host answers and a 404.
  const verifier = { verify: async () => { throw Object.assign(new Error('no token'), { code: 'unauthorized' }); } };
  const handler = createHandler({ core, handle, sql: null, verifier, schemaVersion: 1 });
  const r401 = await handler(new Request('http://x/sync', { method: 'POST', body: '{}' }));
  assert.equal(r401.status, 401);
  assert.deepEqual(await r401.json(), core.errorBody('unauthorized', 'no token'));
  const r404 = await handler(new Request('http://x/nope'));
  const b404 = await r404.json();
  assert.deepEqual(b404.error.errors, [{ code: 'not_found', message: b404.error.message }]);
});
