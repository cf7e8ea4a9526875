// Writes the seed corpora in fuzz/corpus/<target>/ from the repository's
// fixtures and golden transcripts, plus a few hand-written edge cases.
// Deterministic: re-running rewrites the same files. Usage:
//   node fuzz/make-corpus.mjs
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const read = (rel) => readFileSync(join(root, rel), 'utf8');
const corpus = join(root, 'fuzz', 'corpus');

const seeds = {};
const add = (target, name, bytes) => {
  (seeds[target] ??= []).push([name, Buffer.from(bytes, 'latin1')]);
};
const utf8 = (s) => Buffer.from(s, 'utf8').toString('latin1');

// ---- the golden server transcript
const transcript = JSON.parse(read('tests/golden/transcripts/server.in.json')).steps;
const answers = JSON.parse(read('tests/golden/transcripts/server.out.json'));
const bodyOf = (frame) => frame.slice(frame.indexOf('\n') + 1);
const requests = [...new Set(transcript.filter((s) => s.op === 'server.begin').map((s) => bodyOf(s.input)))];
const responses = answers.filter((a) => a.startsWith('{"done":true')).map((a) => [JSON.parse(a.slice(0, a.indexOf('\n'))).status, bodyOf(a)]);

// ---- json_scanner: documents of every kind
const schemaV1 = read('tests/fixtures/schema.v1.json');
add('json_scanner', 'schema-v1.json', utf8(schemaV1));
requests.forEach((r, i) => add('json_scanner', `request-${i}.json`, utf8(r)));
responses.forEach(([, r], i) => add('json_scanner', `response-${i}.json`, utf8(r)));
add('json_scanner', 'scalars.json', '[0,-0,1.5e-3,-12E+2,9223372036854775807,-9223372036854775808,18446744073709551616,true,false,null,""]');
add('json_scanner', 'escapes.json', utf8('{"a\\u00e9":"\\"\\\\\\/\\b\\f\\n\\r\\t\\ud83d\\ude00","é€😀":{}}'));
add('json_scanner', 'nested.json', '[[[[{"a":[{"b":[[]]}]}]]]]');
add('json_scanner', 'duplicate-keys.json', '{"a":1,"a":[2],"b":{"a":3,"a":4}}');

// ---- validate_request: request bodies
requests.forEach((r, i) => add('validate_request', `transcript-${i}.json`, utf8(r)));
const hlc = (n) => `0017637984000${String(n).padStart(2, '0')}:00000:client-a1`;
const body = (changes, extra = {}) => JSON.stringify({
  protocol: 1, clientId: 'client-a1', schemaVersion: 1,
  batch: changes === null ? null : { seq: 3, changes }, cursor: '100:5', pageSize: 50, ...extra,
});
add('validate_request', 'pull-only.json', body(null));
add('validate_request', 'every-policy.json', utf8(body([
  { id: 1, table: 'projects', op: 'upsert', row: { id: 'p1', name: 'A\u00e9', archived: true, updatedAt: '2026-11-22T08:00:00.123+01:00' }, hlc: hlc(1), baseVersion: null },
  { id: 2, table: 'workflowNodes', op: 'upsert', row: { id: 'n1', projectId: 'p1', x: -1e3, y: 0, data: [{ k: null }] }, changed: ['x', 'data'], hlc: hlc(2), baseVersion: 7 },
  { id: 3, table: 'workflowEdges', op: 'delete', row: { projectId: 'p1', edgeId: 'e1' }, hlc: hlc(3), baseVersion: 2 },
  { id: 4, table: 'settings', op: 'upsert', row: { key: 'k', value: { dark: true } }, hlc: hlc(4) },
  { id: 5, table: 'documents', op: 'upsert', row: { id: 9, title: 't', revision: 3, coverImage: 'blob:1' }, hlc: hlc(5), baseVersion: 1 },
])));
add('validate_request', 'escaped-key.json', body([
  { id: 1, table: 'projects', op: 'upsert', row: { id: 'p\\u0031', name: 'x' }, hlc: hlc(1) },
]).replace('"p\\\\u0031"', '"p\\u0031"'));
add('validate_request', 'errors.json', body([
  { id: 'x', table: 'nope', op: 'merge', row: [], hlc: 5, extra: 1 },
  { id: 2, table: 'projects', op: 'upsert', row: { id: 1, name: null, ownerId: 'u9' }, hlc: hlc(2) },
], { unknown: true }));
add('validate_request', 'wrong-schema-version.json', JSON.stringify({ protocol: 1, clientId: 'client-a1', schemaVersion: 2, batch: null }));
add('validate_request', 'table-after-row.json', '{"protocol":1,"clientId":"client-a1","schemaVersion":1,"batch":{"seq":1,"changes":[{"id":1,"row":{"id":"p1","name":"n"},"op":"upsert","hlc":"' + hlc(1) + '","table":"projects"}]}}');

// ---- schema_codegen: every fixture schema, good and bad
for (const f of readdirSync(join(root, 'tests/fixtures')).filter((f) => f.endsWith('.json')).sort())
  add('schema_codegen', f, utf8(read(`tests/fixtures/${f}`)));
for (const f of readdirSync(join(root, 'tests/fixtures/bad-schemas')).sort())
  add('schema_codegen', `bad-${f}`, utf8(read(`tests/fixtures/bad-schemas/${f}`)));

// ---- control: call sequences ("\0" between calls, "\x01" after the op)
const calls = (list) => list.map(([op, input]) => `${op}\x01${input}`).join('\0');
add('control', 'server-transcript', utf8(calls(transcript.map((s) => [s.op, s.input]))));
// Small schemas: every call parses its schema, and schema_codegen fuzzes
// the parser itself.
const tiny = (version, extra = []) => JSON.stringify({ version, tables: [{ name: 'notes', columns: [
  { name: 'id', type: 'text' }, { name: 'ownerId', type: 'text' }, { name: 'body', type: 'json' }, ...extra,
], primaryKey: 'id', owner: 'ownerId', conflict: 'lww-field' }] });
const tinyV1 = tiny(1);
const tinyV2 = tiny(2, [{ name: 'done', type: 'boolean' }]);
const pair = (a, b) => `{"from":${a},"to":${b}}`;
add('control', 'schema-ops', utf8(calls([
  ['schema.validate', tinyV1], ['schema.sqlite_ddl', tinyV1], ['schema.pg_ddl', tinyV2],
  ['schema.sqlite_migration', pair(tinyV1, tinyV2)], ['schema.pg_migration', pair(tinyV2, tinyV1)],
  ['schema.nope', '{}'],
])));
const frame = (meta, segs = []) => JSON.stringify({ ...meta, segments: segs.map((s) => Buffer.byteLength(s)) }) + '\n' + segs.join('');
const clientId = 'c_0123456789abcdef';
const loadDoc = JSON.stringify({ state: { client_id: clientId, seq: 1, cursor: null }, clock: { ms: 0, ctr: 0, node: clientId }, pending: 0, sqlite: '3.46.1' });
const pullAnswer = JSON.stringify({ protocol: 1, serverTime: 1763798400000, ack: null, results: [], changes: [{ table: 'notes', op: 'upsert', version: 3, row: { id: 'n1', ownerId: 'u1', body: { a: 1 } } }], cursor: '9:3', hasMore: false });
add('control', 'client-round', utf8(calls([
  ['client.open', frame({ schema: JSON.parse(tinyV1), config: { debounceMs: 10, pageSize: 20 }, seed: '0123456789abcdef0123', now: 1763798400000, clientId })],
  ['client.handle', frame({ client: 1, type: 'sql_done', id: 1, now: 1763798400001 }, [loadDoc])],
  ['client.handle', frame({ client: 1, type: 'sql_done', id: 2, now: 1763798400002 }, ['{"pending":0,"rows":[]}'])],
  ['client.handle', frame({ client: 1, type: 'http_response', id: 3, status: 200, now: 1763798400003 }, [pullAnswer])],
  ['client.handle', frame({ client: 1, type: 'sql_done', id: 4, now: 1763798400004 }, ['0'])],
  ['client.handle', frame({ client: 1, type: 'local_change', now: 1763798400005 })],
  ['client.handle', frame({ client: 1, type: 'tick', now: 1763798402000 })],
  ['client.status', frame({ client: 1 })],
  ['client.close', frame({ client: 1 })],
])));
const tinyRequest = JSON.stringify({ protocol: 1, clientId: 'client-a1', schemaVersion: 1, batch: { seq: 1, changes: [
  { id: 1, table: 'notes', op: 'upsert', row: { id: 'n1', body: [1, { b: null }] }, hlc: '001763798400000:00000:client-a1', baseVersion: null }] }, cursor: null });
add('control', 'server-open-and-abort', utf8(calls([
  ['server.open', `{"schema":${tinyV1},"limits":{"maxChanges":5,"maxBodyBytes":4096}}`],
  ['server.begin', frame({ handle: 1, userId: 'u1', nowMs: 1 }, [tinyRequest])],
  ['server.abort', '{"state":1099511627777}'],
  ['server.step', frame({ state: 1099511627777, nowMs: 2 }, ['{}'])],
  ['nope', ''],
])));

// ---- client_response: flags byte, then per answer a status selector
// ('0' 200, '4' 400, '5' 401, '6' 403, '7' 409, '8' 413, ':' 500) + body.
const ok = (o) => JSON.stringify({ protocol: 1, serverTime: 1763798400500, ack: null, results: [], changes: [], cursor: '7:9', hasMore: false, ...o });
const err = (code, extra = {}) => JSON.stringify({ protocol: 1, error: { code, message: 'm', ...extra } });
responses.forEach(([status, r], i) => add('client_response', `transcript-${i}`, `\x01${status === 200 ? '0' : '4'}${utf8(r)}`));
add('client_response', 'pull-every-table', `\x000${utf8(ok({ changes: [
  { table: 'projects', op: 'upsert', version: 3, row: { id: 'p1', ownerId: 'u1', name: 'A', archived: true, updatedAt: '2026-01-01T00:00:00Z' } },
  { table: 'workflowNodes', op: 'upsert', version: 4, row: { id: 'n1', projectId: 'p1', x: 1.5, data: { a: [1] } } },
  { table: 'workflowEdges', op: 'delete', version: 5, row: { projectId: 'p1', edgeId: 'e1' } },
  { table: 'settings', op: 'upsert', version: 6, row: { key: 'theme', value: 'dark' } },
  { table: 'documents', op: 'upsert', version: 7, row: { id: 7, title: 'T' } },
  { table: 'unknown', op: 'upsert', version: 8, row: { id: 1 } },
], hasMore: true }))}\x000${ok({})}`);
add('client_response', 'inflight-results', `\x070${utf8(ok({ ack: { seq: 7, duplicate: false }, results: [
  { id: 1, status: 'applied', version: 11 },
  { id: 2, status: 'conflict', reason: 'stale', version: 12, row: { projectId: 'p1', edgeId: 'e1', source: 'a', target: 'b' } },
  { id: 4, status: 'rejected', reason: 'stale', version: 13, deleted: true },
], changes: [{ table: 'projects', op: 'upsert', version: 10, row: { id: 'p1', name: 'older' } }] }))}\x000${ok({ ack: { seq: 8, duplicate: false }, results: [{ id: 11, status: 'applied', version: 20 }, { id: 12, status: 'applied', version: 21 }] })}`);
add('client_response', 'errors-then-ok', `\x014${err('type_mismatch', { path: 'batch.changes[1].row.x', errors: [{ code: 'type_mismatch', path: 'batch.changes[1].row.x', message: 'no' }] })}\x005${err('unauthorized')}\x00:${err('internal')}\x008${err('payload_too_large')}\x000${ok({ ack: { seq: 7, duplicate: true }, results: [] })}`);
add('client_response', 'stop-409', `\x017${JSON.stringify({ protocol: 1, serverSchemaVersion: 2, error: { code: 'schema_version_mismatch', message: 'm' } })}`);
add('client_response', 'malformed', '\x000{"protocol":1,"changes":[{"table":"projects","row":{"id":"p\\u0031"}}],"results":{}}');

rmSync(corpus, { recursive: true, force: true });
for (const [target, list] of Object.entries(seeds)) {
  mkdirSync(join(corpus, target), { recursive: true });
  for (const [name, bytes] of list) writeFileSync(join(corpus, target, name), bytes);
}
console.log(Object.entries(seeds).map(([t, l]) => `${t}: ${l.length}`).join(', '));
