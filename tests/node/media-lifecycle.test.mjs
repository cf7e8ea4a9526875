// The media lifecycle (docs/protocol.md, "Lifecycle") of the node host
// against a real PostgreSQL and the filesystem store: a row that names a file
// before its upload finished (`not_uploaded`), deduplication per user, the
// per-user quota, and deletes after a grace period — with a concurrent reader,
// a shared object, an undo, a replaced file, and unfinished uploads.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres } from '../harness/postgres.mjs';
import { startServer } from '../../hosts/node/server.mjs';
import { fsMediaStorage } from '../../hosts/node/media-fs.mjs';
import { sweepMedia } from '../../hosts/server/media/sweep.mjs';
import { nodeCore } from '../../hosts/wasm/node.mjs';
import { loadConfig, ConfigError } from '../../hosts/server/config.mjs';
import postgres from 'postgres';
import { TEST_SECRET, token, postSync, hlc } from '../harness/sync-http.mjs';

const MAX = 256 * 1024;
const QUOTA = 300_000;
const HOUR = 3600 * 1000;
const schema = {
  version: 1,
  tables: [{
    name: 'docs', primaryKey: 'id', owner: 'ownerId',
    columns: [
      { name: 'id', type: 'text' }, { name: 'ownerId', type: 'text' }, { name: 'title', type: 'text' },
      { name: 'file', type: 'blob_ref', media: { maxBytes: MAX, mime: ['image/png'] } },
    ],
  }],
};
const PNG_HEAD = Buffer.from('89504e470d0a1a0a', 'hex');
const png = (n) => Buffer.concat([PNG_HEAD, randomBytes(n - PNG_HEAD.length)]);
const sha = (b) => createHash('sha256').update(b).digest('hex');
const refOf = (b) => `sha256:${sha(b)}`;

let pg; let server; let dir;
// The sweep's clock runs ahead of the real one as the tests "wait" (marks stay monotonic).
let skew = 0;
const clock = () => Date.now() + skew;
const wait = (ms) => { skew += ms; };
async function sweep() {
  const stats = await server.media.sweep({ now: clock() });
  assert.equal(stats.errors, 0, 'the sweep logged errors');
  return stats;
}

before(async () => {
  pg = await startPostgres();
  dir = mkdtempSync(join(tmpdir(), 'edgesync-media-life-'));
  server = await startServer({
    databaseUrl: pg.url, port: 0, poolSize: 4, schema, auth: { secret: TEST_SECRET }, live: false,
    media: { dir, secret: 'media-test-secret-0123456789abcdef', quotaBytes: QUOTA, sweepIntervalSec: 0, stagedMaxAgeSec: 365 * 86400 },
    logger: { error() {}, warn() {} },
  });
});

after(async () => {
  await server?.close();
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// One device per user: pushes rows with increasing clocks.
const devices = new Map();
async function device(user) {
  if (!devices.has(user)) devices.set(user, { tok: await token(user), clientId: `c_life_${user}`.padEnd(16, '0'), seq: 0, n: 0 });
  return devices.get(user);
}
async function push(user, changes, clientId) {
  const d = await device(user);
  const id = clientId ?? d.clientId;
  if (clientId && !devices.has(id)) devices.set(id, { seq: 0 });
  const seqOf = clientId ? devices.get(id) : d;
  const r = await postSync(server.url, d.tok, { protocol: 1, clientId: id, schemaVersion: 1, cursor: null,
    batch: { seq: ++seqOf.seq, changes: changes.map((c, i) => ({ id: i + 1, baseVersion: null, hlc: hlc(id, Date.now(), ++d.n), ...c })) } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.ok(r.body.results.every((x) => x.status === 'applied'), JSON.stringify(r.body.results));
}
const upsert = (user, id, file, clientId) => push(user, [{ table: 'docs', op: 'upsert', row: { id, title: 't', file } }], clientId);
const remove = (user, id) => push(user, [{ table: 'docs', op: 'delete', row: { id } }]);

async function call(method, path, tok, body) {
  const res = await fetch(`${server.url}${path}`, {
    method, headers: { ...(tok ? { authorization: `Bearer ${tok}` } : {}), ...(body && !Buffer.isBuffer(body) ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });
  const buf = Buffer.from(await res.arrayBuffer());
  let json = null;
  try { json = JSON.parse(buf.toString()); } catch { /* bytes */ }
  return { status: res.status, json, buf };
}
const code = (r) => r.json?.error?.code;
const create = async (user, pk, file, over = {}) => call('POST', '/media/uploads', (await device(user)).tok,
  { table: 'docs', column: 'file', pk, size: file.length, mime: 'image/png', sha256: sha(file), ...over });
/** Creates, sends and completes an upload: the complete answer. */
async function upload(user, pk, file) {
  const { tok } = await device(user);
  const c = await create(user, pk, file);
  assert.equal(c.status, 201, JSON.stringify(c.json));
  const p = await call('PUT', `/media/uploads/${c.json.uploadId}?offset=0`, tok, file);
  assert.equal(p.status, 200, JSON.stringify(p.json));
  const done = await call('POST', `/media/uploads/${c.json.uploadId}/complete`, tok);
  assert.equal(done.status, 200, JSON.stringify(done.json));
  return done.json;
}
const download = async (user, pk) => call('GET', `/media/file?table=docs&column=file&pk=${pk}`, (await device(user)).tok);
const objectPath = (ref) => join(dir, 'objects', 'o', ref.slice(7));
const stagedFiles = () => readdirSync(join(dir, 'staging'));
async function records(ref) {
  return [...await server.sql`select tbl, col, pk->>0 as pk, user_id, orphaned_at from edgesync_media where key = ${ref} order by pk->>0`];
}

test('a row naming a file before its upload finished: not_uploaded; naming nothing: not_found', async () => {
  const file = png(5000);
  const ref = refOf(file); // computed on the device, offline
  await upsert('nu', 'nu-1', ref); // the row travels first
  await upsert('nu', 'nu-2', null);
  let r = await download('nu', 'nu-1');
  assert.deepEqual([r.status, code(r), r.json.error.path, r.json.ref], [404, 'not_uploaded', 'column', ref]);
  r = await call('GET', '/media/url?table=docs&column=file&pk=nu-1', (await device('nu')).tok);
  assert.deepEqual([r.status, code(r)], [404, 'not_uploaded']);
  r = await download('nu', 'nu-2');
  assert.deepEqual([r.status, code(r)], [404, 'not_found']);
  // A row that is not there (or was deleted) is not_found too; another user's is forbidden.
  r = await download('nu', 'nu-none');
  assert.deepEqual([r.status, code(r)], [404, 'not_found']);
  r = await download('nu-other', 'nu-1');
  assert.deepEqual([r.status, code(r)], [403, 'forbidden']);

  assert.equal((await upload('nu', 'nu-1', file)).ref, ref);
  r = await download('nu', 'nu-1');
  assert.equal(r.status, 200);
  assert.ok(r.buf.equals(file));
});

test('dedup per user: the same user records a file again without sending it; another user uploads it', async () => {
  const file = png(40_000);
  const ref = refOf(file);
  await upsert('dd', 'dd-1', ref);
  await upsert('dd', 'dd-2', ref);
  await upload('dd', 'dd-1', file);
  const staged = stagedFiles();

  // Same user, another row: no upload id, no bytes, at once.
  let r = await create('dd', 'dd-2', file);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.deepEqual(r.json, { ref, size: file.length, mime: 'image/png', sha256: sha(file), deduplicated: true });
  assert.deepEqual(stagedFiles(), staged);
  r = await download('dd', 'dd-2');
  assert.equal(r.status, 200);
  assert.ok(r.buf.equals(file));
  assert.deepEqual((await records(ref)).map((x) => [x.pk, x.user_id]), [['dd-1', 'dd'], ['dd-2', 'dd']]);

  // A claim that does not match what they uploaded (another size) is no dedup: upload in full.
  r = await create('dd', 'dd-2', file, { size: file.length - 1 });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  await call('DELETE', `/media/uploads/${r.json.uploadId}`, (await device('dd')).tok);

  // Another user with the identical file: must send the bytes (knowing the hash proves nothing) …
  await upsert('dd-other', 'dd-o1', ref);
  r = await create('dd-other', 'dd-o1', file);
  assert.equal(r.status, 201, JSON.stringify(r.json));
  assert.equal(r.json.offset, 0);
  await call('DELETE', `/media/uploads/${r.json.uploadId}`, (await device('dd-other')).tok);
  r = await download('dd-other', 'dd-o1');
  assert.deepEqual([r.status, code(r)], [404, 'not_uploaded']);
  // … and once they did, the object is stored once (content-addressed).
  const objects = readdirSync(join(dir, 'objects', 'o')).length;
  assert.equal((await upload('dd-other', 'dd-o1', file)).ref, ref);
  r = await download('dd-other', 'dd-o1');
  assert.ok(r.buf.equals(file));
  assert.equal(readdirSync(join(dir, 'objects', 'o')).length, objects);
  assert.equal((await records(ref)).length, 3);
});

test('quota: 413 quota_exceeded with the figures, nothing stored; freed after delete + sweep past the grace', async () => {
  const { tok } = await device('qq');
  const big = png(200_000);
  await upsert('qq', 'qq-1', refOf(big));
  await upsert('qq', 'qq-2', null);
  await upload('qq', 'qq-1', big);

  const next = png(120_000);
  const uploadsBefore = (await server.sql`select count(*)::int as n from edgesync_media_uploads`)[0].n;
  const staged = stagedFiles();
  let r = await create('qq', 'qq-2', next);
  assert.deepEqual([r.status, code(r), r.json.error.path, r.json.quotaBytes, r.json.usedBytes],
    [413, 'quota_exceeded', 'size', QUOTA, 200_000]);
  assert.equal((await server.sql`select count(*)::int as n from edgesync_media_uploads`)[0].n, uploadsBefore);
  assert.deepEqual(stagedFiles(), staged);

  // Unfinished uploads count with their declared size.
  const small = png(90_000);
  const pending = await create('qq', 'qq-2', small);
  assert.equal(pending.status, 201);
  r = await create('qq', 'qq-2', png(20_000));
  assert.deepEqual([r.status, code(r), r.json.usedBytes], [413, 'quota_exceeded', 290_000]);
  // The same file again costs nothing (the user holds it): dedup answers.
  r = await create('qq', 'qq-2', big);
  assert.equal(r.status, 200);
  assert.equal(r.json.deduplicated, true);

  // Re-checked at complete: a host with a smaller quota refuses and drops the upload.
  const strict = await startServer({
    databaseUrl: pg.url, port: 0, poolSize: 2, schema, auth: { secret: TEST_SECRET }, live: false,
    media: { dir, quotaBytes: 250_000, sweepIntervalSec: 0 }, logger: { error() {}, warn() {} },
  });
  try {
    const put = await fetch(`${strict.url}/media/uploads/${pending.json.uploadId}?offset=0`,
      { method: 'PUT', headers: { authorization: `Bearer ${tok}` }, body: small });
    assert.equal(put.status, 200);
    const done = await fetch(`${strict.url}/media/uploads/${pending.json.uploadId}/complete`,
      { method: 'POST', headers: { authorization: `Bearer ${tok}` } });
    const body = await done.json();
    assert.deepEqual([done.status, body.error.code, body.quotaBytes, body.usedBytes], [413, 'quota_exceeded', 250_000, 200_000]);
  } finally {
    await strict.close();
  }
  assert.equal((await call('GET', `/media/uploads/${pending.json.uploadId}`, tok)).status, 404);
  assert.deepEqual(stagedFiles(), staged);
  assert.equal(existsSync(objectPath(refOf(small))), false);

  // Deleting the rows frees the space only after the grace period.
  await remove('qq', 'qq-1');
  await upsert('qq', 'qq-2', null); // the deduplicated record of qq-2 is not named either
  await sweep();
  r = await create('qq', 'qq-2', next);
  assert.deepEqual([r.status, code(r), r.json.usedBytes], [413, 'quota_exceeded', 200_000]);
  wait(25 * HOUR);
  const stats = await sweep();
  assert.ok(stats.objects >= 1 && stats.bytes >= 200_000, JSON.stringify(stats));
  assert.equal(existsSync(objectPath(refOf(big))), false);
  r = await create('qq', 'qq-2', next);
  assert.equal(r.status, 201, JSON.stringify(r.json));
  await call('DELETE', `/media/uploads/${r.json.uploadId}`, tok);
});

test('a deleted row: the object outlives the grace period only while another row names it', async () => {
  const { tok } = await device('gd');
  const file = png(30_000);
  const ref = refOf(file);
  await upsert('gd', 'gd-1', ref);
  await upsert('gd', 'gd-2', ref);
  await upload('gd', 'gd-1', file);
  assert.equal((await create('gd', 'gd-2', file)).json.deduplicated, true);
  // A reader got a link before the delete (another device, a tab still showing the file).
  const link = await call('GET', '/media/url?table=docs&column=file&pk=gd-1', tok);
  assert.equal(link.status, 200);

  await remove('gd', 'gd-1'); // a tombstone via /sync
  let stats = await sweep();
  assert.ok(stats.marked >= 1);
  assert.ok((await records(ref)).find((x) => x.pk === 'gd-1').orphaned_at);
  // Within the grace period: nothing is deleted; the reader still downloads.
  wait(23 * HOUR);
  await sweep();
  assert.ok(existsSync(objectPath(ref)));
  let r = await call('GET', link.json.url);
  assert.equal(r.status, 200);
  assert.ok(r.buf.equals(file));
  assert.equal((await download('gd', 'gd-2')).status, 200);

  // Past it: gd-1's record goes; the object stays, gd-2 names it.
  wait(2 * HOUR);
  stats = await sweep();
  assert.ok(stats.records >= 1);
  assert.deepEqual((await records(ref)).map((x) => [x.pk, x.orphaned_at]), [['gd-2', null]]);
  assert.ok(existsSync(objectPath(ref)));
  assert.equal((await download('gd', 'gd-2')).status, 200);

  // gd-2 deleted too: after the grace, the record and the object are gone.
  await remove('gd', 'gd-2');
  await sweep();
  assert.ok(existsSync(objectPath(ref)));
  wait(25 * HOUR);
  await sweep();
  assert.deepEqual(await records(ref), []);
  assert.equal(existsSync(objectPath(ref)), false);
  r = await call('GET', link.json.url);
  assert.deepEqual([r.status, code(r)], [404, 'not_found']);
});

test('a device that brings the row back within the grace period (undo, a concurrent edit) keeps the file', async () => {
  const file = png(8000);
  const ref = refOf(file);
  await upsert('un', 'un-1', ref);
  await upload('un', 'un-1', file);
  await remove('un', 'un-1');
  await sweep();
  assert.ok((await records(ref))[0].orphaned_at);
  wait(12 * HOUR);
  // A second device that had not seen the delete writes the row again (later clock: it wins).
  await upsert('un', 'un-1', ref, 'c_life_un_second');
  const stats = await sweep();
  assert.ok(stats.unmarked >= 1);
  assert.equal((await records(ref))[0].orphaned_at, null);
  wait(48 * HOUR);
  await sweep();
  assert.ok(existsSync(objectPath(ref)));
  const r = await download('un', 'un-1');
  assert.equal(r.status, 200);
  assert.ok(r.buf.equals(file));
});

test('a replaced file: the old object is deleted after the grace period, the new one stays', async () => {
  const old = png(10_000);
  const neu = png(11_000);
  await upsert('rp', 'rp-1', refOf(old));
  await upload('rp', 'rp-1', old);
  await upsert('rp', 'rp-1', refOf(neu));
  let r = await download('rp', 'rp-1');
  assert.deepEqual([r.status, code(r)], [404, 'not_uploaded']);
  await upload('rp', 'rp-1', neu);
  await sweep();
  assert.ok((await records(refOf(old)))[0].orphaned_at);
  assert.equal((await records(refOf(neu)))[0].orphaned_at, null);
  assert.ok(existsSync(objectPath(refOf(old))));
  wait(25 * HOUR);
  await sweep();
  assert.equal(existsSync(objectPath(refOf(old))), false);
  assert.deepEqual(await records(refOf(old)), []);
  r = await download('rp', 'rp-1');
  assert.equal(r.status, 200);
  assert.ok(r.buf.equals(neu));
});

test('a sweep racing uploads of the same file never leaves a record without its object', async () => {
  // Each round: a row whose record expires (its object due for deletion)
  // while another user completes or deduplicates the identical file.
  for (let i = 0; i < 12; i++) {
    const file = png(20_000);
    const ref = refOf(file);
    await upsert('ra', `ra-${i}`, ref);
    await upload('ra', `ra-${i}`, file);
    await remove('ra', `ra-${i}`);
    await sweep();
    wait(25 * HOUR);
    await upsert('rb', `rb-${i}`, ref);
    const { tok } = await device('rb');
    const c = await create('rb', `rb-${i}`, file);
    assert.equal(c.status, 201);
    await call('PUT', `/media/uploads/${c.json.uploadId}?offset=0`, tok, file);
    const [done] = await Promise.all([call('POST', `/media/uploads/${c.json.uploadId}/complete`, tok), sweep()]);
    assert.equal(done.status, 200, JSON.stringify(done.json));
    assert.deepEqual((await records(ref)).map((x) => x.pk), [`rb-${i}`]);
    assert.ok(existsSync(objectPath(ref)), `round ${i}: the object of a live record is gone`);
    const r = await download('rb', `rb-${i}`);
    assert.ok(r.buf.equals(file));
  }
});

test('unfinished uploads are dropped with their bytes after their time', async () => {
  const { tok } = await device('st');
  await upsert('st', 'st-1', null);
  const file = png(50_000);
  const c = await create('st', 'st-1', file);
  await call('PUT', `/media/uploads/${c.json.uploadId}?offset=0`, tok, file.subarray(0, 20_000));
  assert.ok(stagedFiles().includes(c.json.uploadId));
  const storage = await fsMediaStorage(dir);
  const plan = (await nodeCore()).call('schema.media_sql', schema);
  const run = (ms) => sweepMedia({ sql: server.sql, storage, plan, stagedMaxAgeSec: 86400, now: Date.now() + ms });
  let stats = await run(23 * HOUR);
  assert.deepEqual([stats.staged, stats.errors], [0, 0]);
  assert.equal((await call('GET', `/media/uploads/${c.json.uploadId}`, tok)).json.offset, 20_000);
  stats = await run(25 * HOUR);
  assert.ok(stats.staged >= 1, JSON.stringify(stats));
  assert.equal((await call('GET', `/media/uploads/${c.json.uploadId}`, tok)).status, 404);
  assert.equal(stagedFiles().includes(c.json.uploadId), false);
});

test('the node host sweeps on its interval; the DDL upgrades a database made before the lifecycle', async () => {
  // A database whose media tables predate the lifecycle (no orphaned_at).
  pg.psql('CREATE DATABASE media_old OWNER edgesync');
  const url = pg.url.replace(/\/edgesync$/, '/media_old');
  const old = postgres(url, { onnotice: () => {} });
  await old.unsafe(`CREATE TABLE edgesync_media (key text NOT NULL, tbl text NOT NULL, col text NOT NULL, pk jsonb NOT NULL,
      user_id text NOT NULL, size bigint NOT NULL, mime text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (key, tbl, col, pk));
    CREATE TABLE edgesync_media_uploads (id text PRIMARY KEY, user_id text NOT NULL, tbl text NOT NULL, col text NOT NULL,
      pk jsonb NOT NULL, size bigint NOT NULL, mime text NOT NULL, sha256 text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`);
  await old.end();
  const dir2 = mkdtempSync(join(tmpdir(), 'edgesync-media-life-'));
  const host = await startServer({
    databaseUrl: url, port: 0, poolSize: 2, schema, auth: { secret: TEST_SECRET }, live: false,
    media: { dir: dir2, sweepIntervalSec: 1 }, logger: { error() {}, warn() {} },
  });
  try {
    const tok = await token('iv');
    const sync = (seq, change) => postSync(host.url, tok, { protocol: 1, clientId: 'c_life_interval_1', schemaVersion: 1, cursor: null,
      batch: { seq, changes: [{ id: 1, baseVersion: null, hlc: hlc('c_life_interval_1', Date.now(), seq), ...change }] } });
    const file = png(3000);
    assert.equal((await sync(1, { table: 'docs', op: 'upsert', row: { id: 'iv-1', file: refOf(file) } })).status, 200);
    const req = (method, path, body) => fetch(`${host.url}${path}`, {
      method, headers: { authorization: `Bearer ${tok}` }, body: Buffer.isBuffer(body) ? body : JSON.stringify(body),
    }).then((r) => r.json());
    const c = await req('POST', '/media/uploads', { table: 'docs', column: 'file', pk: 'iv-1', size: file.length, mime: 'image/png', sha256: sha(file) });
    await req('PUT', `/media/uploads/${c.uploadId}?offset=0`, file);
    assert.equal((await req('POST', `/media/uploads/${c.uploadId}/complete`)).ref, refOf(file));
    assert.equal((await sync(2, { table: 'docs', op: 'delete', row: { id: 'iv-1' } })).status, 200);
    let marked = null;
    for (let i = 0; i < 50 && !marked; i++) {
      await new Promise((ok) => setTimeout(ok, 100));
      [{ marked }] = await host.sql`select orphaned_at as marked from edgesync_media where key = ${refOf(file)}`;
    }
    assert.ok(marked, 'the interval sweep marked the deleted row\'s record');
  } finally {
    await host.close();
    rmSync(dir2, { recursive: true, force: true });
  }
});

test('configuration: EDGESYNC_MEDIA_QUOTA_BYTES, EDGESYNC_MEDIA_GRACE_SEC, EDGESYNC_MEDIA_SWEEP_INTERVAL_SEC', () => {
  const cfg = loadConfig({ EDGESYNC_MEDIA_QUOTA_BYTES: '1048576', EDGESYNC_MEDIA_GRACE_SEC: '600', EDGESYNC_MEDIA_SWEEP_INTERVAL_SEC: '0' });
  assert.deepEqual([cfg.media.quotaBytes, cfg.media.graceSec, cfg.media.sweepIntervalSec], [1048576, 600, 0]);
  assert.equal(loadConfig({}).media.quotaBytes, undefined);
  assert.throws(() => loadConfig({ EDGESYNC_MEDIA_QUOTA_BYTES: '10MB' }), (e) => e instanceof ConfigError && /EDGESYNC_MEDIA_QUOTA_BYTES/.test(e.message));
  assert.throws(() => loadConfig({ EDGESYNC_MEDIA_QUOTA_BYTES: '0' }), ConfigError);
});
