// The request validator inside the WASM build: hostile bodies answer 400 with
// a path and leave the core's memory as it was (security probe F1, F6, F7).
// No database: every request here is refused by server.begin.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadFreshCore } from '../../hosts/wasm/node.mjs';

const schema = JSON.parse(readFileSync(new URL('../fixtures/schema.v1.json', import.meta.url), 'utf8'));
const decoder = new TextDecoder();
const hlc = (n = 0) => `${String(1_700_000_000_000 + n).padStart(15, '0')}:00000:client-a1`;

let core, handle;
before(async () => {
  core = await loadFreshCore();
  ({ handle } = core.call('server.open', { schema, limits: {} }));
});

/** server.begin on one body; returns { status, body } (the core must be done). */
function begin(body) {
  const out = core.callFramed('server.begin', { handle, userId: 'u1', nowMs: 1_700_000_000_000 },
    [typeof body === 'string' ? body : JSON.stringify(body)]);
  assert.equal(out.meta.done, true, 'refused before any SQL');
  assert.equal(out.meta.statements?.length ?? 0, 0);
  return { status: out.meta.status, body: JSON.parse(decoder.decode(out.segments[0])) };
}

const memoryBytes = () => core.m.HEAPU8.buffer.byteLength;

describe('F1: the error cap never changes a decision', () => {
  // The probe's body: 100 unknown top-level fields fill the stored errors,
  // then changes that are each invalid (only an id) used to look clean and
  // were closed into a group that did not exist.
  const unknown = Array.from({ length: 100 }, (_, i) => `"junk${i}":${i}`).join(',');
  const changes = Array.from({ length: 1000 }, (_, i) => `{"id":${i + 1}}`).join(',');
  const probe = `{${unknown},"protocol":1,"clientId":"client-a1","schemaVersion":1,` +
    `"batch":{"seq":1,"changes":[${changes}]}}`;

  test('100 unknown top-level fields then invalid changes: 400, every time, and the memory stays flat', () => {
    const first = begin(probe);
    assert.equal(first.status, 400);
    assert.equal(first.body.error.code, 'invalid_request');
    assert.equal(first.body.error.path, 'junk0');
    assert.equal(first.body.error.errors.length, 100, 'at most 100 errors are stored');
    for (let i = 0; i < 20; i++) begin(probe); // warm the allocator
    const warm = memoryBytes();
    for (let i = 0; i < 500; i++) {
      const r = begin(probe);
      assert.equal(r.status, 400);
    }
    assert.equal(memoryBytes(), warm, `the core's memory grew from ${warm} to ${memoryBytes()} bytes`);
    // The core still serves a valid request afterwards (nothing was corrupted).
    const ok = core.callFramed('server.begin', { handle, userId: 'u1', nowMs: 1_700_000_000_000 }, [JSON.stringify({
      protocol: 1, clientId: 'client-a1', schemaVersion: 1,
      batch: { seq: 1, changes: [{ id: 1, table: 'settings', op: 'upsert', row: { key: 'k' }, hlc: hlc() }] },
    })]);
    assert.equal(ok.meta.done, false, 'a valid batch goes on to the claim statement');
    core.call('server.abort', { state: ok.meta.state });
  });

  test('invalid changes after 100 errors inside the batch are still refused', () => {
    const bad = Array.from({ length: 120 }, (_, i) => `{"id":${i},"table":"nope","op":"upsert","row":{},"hlc":"${hlc(i)}"}`);
    const r = begin(`{"protocol":1,"clientId":"client-a1","schemaVersion":1,"batch":{"seq":1,"changes":[${bad.join(',')},` +
      `{"id":999,"table":"settings","op":"upsert","row":{"key":"k","value":1e1000000},"hlc":"${hlc()}"}]}}`);
    assert.equal(r.status, 400);
    assert.equal(r.body.error.errors.length, 100);
  });
});

describe('F6: a member given twice is refused, never merged', () => {
  const change = (inner) => `{"protocol":1,"clientId":"client-a1","schemaVersion":1,"batch":{"seq":1,"changes":[${inner}]}}`;
  const cases = [
    ['"row" twice', change(`{"id":1,"table":"settings","op":"upsert","row":{"key":"a"},"row":{"key":"b"},"hlc":"${hlc()}"}`),
      'batch.changes[0].row'],
    ['"table" after "row"', change(`{"id":1,"table":"settings","op":"upsert","row":{"key":"a"},"table":"projects","hlc":"${hlc()}"}`),
      'batch.changes[0].table'],
    ['a column twice in a row', change(`{"id":1,"table":"settings","op":"upsert","row":{"key":"a","key":"b"},"hlc":"${hlc()}"}`),
      'batch.changes[0].row.key'],
    ['a column null then set', change(`{"id":1,"table":"settings","op":"upsert","row":{"key":"a","value":null,"value":2},"hlc":"${hlc()}"}`),
      'batch.changes[0].row.value'],
    ['"batch" twice', '{"protocol":1,"clientId":"client-a1","schemaVersion":1,"batch":null,"batch":{"seq":1,"changes":[]}}', 'batch'],
    ['"protocol" twice', '{"protocol":1,"protocol":1,"clientId":"client-a1","schemaVersion":1}', 'protocol'],
    ['"changes" twice', '{"protocol":1,"clientId":"client-a1","schemaVersion":1,"batch":{"seq":1,"changes":[],"changes":[]}}', 'batch.changes'],
  ];
  for (const [name, body, path] of cases) {
    test(name, () => {
      const r = begin(body);
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.error.code, 'invalid_request');
      assert.equal(r.body.error.path, path);
      assert.match(r.body.error.message, /given twice/);
    });
  }

  test('an unknown member names itself and its path', () => {
    const r = begin(change(`{"id":1,"table":"settings","op":"upsert","row":{"key":"a"},"hlc":"${hlc()}","foo":1}`));
    assert.equal(r.status, 400);
    assert.equal(r.body.error.path, 'batch.changes[0].foo');
    assert.equal(r.body.error.message, 'unknown field "foo"');
  });
});

describe('F7: maxBodyBytes is capped to what the core can hold', () => {
  test('server.open refuses 1 GiB with the path of the limit', () => {
    assert.throws(() => core.call('server.open', { schema, limits: { maxBodyBytes: 1 << 30 } }),
      (e) => e.code === 'invalid_request' && e.path === 'limits.maxBodyBytes' && /67108864/.test(e.message));
  });

  test('a body at the cap is validated without trapping', () => {
    const cap = 64 << 20;
    const { handle: big } = core.call('server.open', { schema, limits: { maxBodyBytes: cap, maxChanges: 1_000_000 } });
    const one = (i) => `{"id":${i},"table":"workflowNodes","op":"upsert","row":{"id":"n${i}","projectId":"p","label":"${'x'.repeat(200)}"},"hlc":"${hlc(i)}"}`;
    const parts = [];
    let size = 80;
    for (let i = 0; size < cap - 400; i++) { const s = one(i); parts.push(s); size += s.length + 1; }
    const body = `{"protocol":1,"clientId":"client-a1","schemaVersion":1,"batch":{"seq":1,"changes":[${parts.join(',')}]}}`;
    assert.ok(body.length <= cap && body.length > cap - 1024, `${body.length}`);
    const out = core.callFramed('server.begin', { handle: big, userId: 'u1', nowMs: 1_700_000_000_000 }, [body]);
    assert.equal(out.meta.done, false, 'valid: on to the claim statement');
    core.call('server.abort', { state: out.meta.state });
  });
});
