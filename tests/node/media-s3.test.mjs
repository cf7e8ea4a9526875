// The media endpoints of the node host with the S3-compatible backend
// (hosts/node/media-s3.mjs) against s3rver on a private loopback port: the
// shared scenarios (tests/harness/media-scenarios.mjs), then what is S3's
// own — files of several 8 MiB multipart parts, staging kept in the bucket
// (a restarted host resumes), a refused part that had already filled a part.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import S3rver from 's3rver';
import { mediaScenarios } from '../harness/media-scenarios.mjs';
import { s3MediaStorage } from '../../hosts/node/media-s3.mjs';
import { postSync, hlc } from '../harness/sync-http.mjs';
import { loadConfig, ConfigError } from '../../hosts/server/config.mjs';

const MB = 1024 * 1024;
const PART = 8 * MB;
let s3; let s3dir; let endpoint; let n = 0;
const config = (prefix) => ({ endpoint, bucket: 'media', region: 'us-east-1', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', prefix });

// Started by the first host (the scenarios' own before hook), stopped last.
async function startS3rver() {
  s3dir = mkdtempSync(join(tmpdir(), 'edgesync-s3rver-'));
  s3 = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: s3dir, configureBuckets: [{ name: 'media' }] });
  const { port } = await s3.run();
  endpoint = `http://127.0.0.1:${port}`;
}

const ctx = mediaScenarios({
  label: 's3',
  async start() {
    if (!s3) await startS3rver();
    // Each host its own prefix in the one bucket; everything s3rver keeps
    // (objects, metadata, unfinished multipart parts) is under s3dir.
    const prefix = `host${n++}/`;
    return { media: { storage: s3MediaStorage(config(prefix)) }, dir: s3dir, stop: async () => {} };
  },
});

after(async () => {
  await s3?.close();
  if (s3dir) rmSync(s3dir, { recursive: true, force: true });
});

// An MP4-looking file of `size` bytes (the video column takes video/mp4).
function mp4(size, seed) {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4096) b.writeUInt32LE((i * 2654435761 + seed) >>> 0, i);
  Buffer.from('0000001866747970', 'hex').copy(b);
  return b;
}
const sha = (b) => createHash('sha256').update(b).digest('hex');
const code = (r) => r.json?.error?.code;
function files() {
  const out = [];
  const walk = (d) => { for (const f of readdirSync(d)) { const p = join(d, f); if (statSync(p).isDirectory()) walk(p); else out.push(p); } };
  walk(s3dir);
  return out.sort();
}
// A PUT whose connection drops after `send` of its `length` bytes.
function cutPut(url, tok, bytes, length) {
  return new Promise((resolve) => {
    const req = http.request(url, { method: 'PUT', headers: { authorization: `Bearer ${tok}`, 'content-length': String(length) } });
    req.on('error', () => resolve());
    req.on('response', () => resolve());
    req.write(bytes, () => setTimeout(() => { req.destroy(); resolve(); }, 300));
  });
}

test('s3: a 17 MiB file in three multipart parts, resumed after a cut and after a host restart, downloads whole', async () => {
  const { server, alice, call } = ctx();
  const file = mp4(2 * PART + MB + 5, 1);
  const c = await call('POST', '/media/uploads', alice, { table: 'docs', column: 'video', pk: 'd-alice', size: file.length,
    mime: 'video/mp4', sha256: sha(file) });
  assert.equal(c.status, 201, JSON.stringify(c.json));
  const id = c.json.uploadId;
  // A part and a bit: the bit is kept as a staging tail.
  let r = await call('PUT', `/media/uploads/${id}?offset=0`, alice, file.subarray(0, PART + 100_000));
  assert.deepEqual([r.status, r.json.offset], [200, PART + 100_000]);
  // A restarted host (a new storage on the same bucket) knows the staged bytes from the bucket alone.
  const again = s3MediaStorage(config('host0/'));
  assert.equal(await again.stagedSize(id), PART + 100_000);
  // The next part's connection drops midway: what arrived is kept.
  await cutPut(`${server.url}/media/uploads/${id}?offset=${PART + 100_000}`, alice,
    file.subarray(PART + 100_000, PART + 100_000 + 3 * MB), PART);
  let offset;
  for (let i = 0; i < 100; i++) {
    r = await call('GET', `/media/uploads/${id}`, alice);
    offset = r.json.offset;
    const put = await call('PUT', `/media/uploads/${id}?offset=${offset}`, alice, file.subarray(offset, Math.min(file.length, offset + PART)));
    if (code(put) !== 'upload_busy') { r = put; break; }
    await new Promise((ok) => setTimeout(ok, 50));
  }
  assert.ok(offset >= PART + 100_000 && offset <= PART + 100_000 + 3 * MB, `resumed from ${offset}`);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  while (r.json.offset < file.length) {
    r = await call('PUT', `/media/uploads/${id}?offset=${r.json.offset}`, alice, file.subarray(r.json.offset, r.json.offset + PART));
    assert.equal(r.status, 200, JSON.stringify(r.json));
  }
  r = await call('POST', `/media/uploads/${id}/complete`, alice);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const ref = r.json.ref;
  assert.equal(ref, `sha256:${sha(file)}`);
  // The object, and nothing of the upload's staging, is in the bucket.
  const keys = files().map((f) => f.slice(s3dir.length)).filter((f) => f.includes('/host0/'));
  assert.ok(keys.some((k) => k.includes(`/o/${sha(file)}`)), keys.join('\n'));
  assert.ok(!keys.some((k) => k.includes(id)), keys.join('\n'));

  const push = await postSync(server.url, alice, { protocol: 1, clientId: 'c_media_alice_01', schemaVersion: 1, cursor: null,
    batch: { seq: 10, changes: [{ id: 1, table: 'docs', op: 'upsert', row: { id: 'd-alice', title: 't', video: ref },
      hlc: hlc('c_media_alice_01', Date.now() + 60_000, 9), baseVersion: null }] } });
  assert.equal(push.status, 200, JSON.stringify(push.body));
  const dl = await call('GET', '/media/file?table=docs&column=video&pk=d-alice', alice);
  assert.equal(dl.status, 200);
  assert.equal(dl.buf.length, file.length);
  assert.ok(dl.buf.equals(file));

  // The same file again from the same user: recorded at once, no bytes sent (deduplicated).
  const c2 = await call('POST', '/media/uploads', alice, { table: 'docs', column: 'video', pk: 'd-alice', size: file.length,
    mime: 'video/mp4', sha256: sha(file) });
  assert.deepEqual([c2.status, c2.json.ref, c2.json.deduplicated, c2.json.uploadId], [200, ref, true, undefined]);
});

test('s3: a chunked part refused past the declared size after filling a multipart part keeps nothing; cancel keeps nothing', async () => {
  const { server, alice, call } = ctx();
  const before_ = files();
  const file = mp4(9 * MB, 2);
  const c = await call('POST', '/media/uploads', alice, { table: 'docs', column: 'video', pk: 'd-alice', size: file.length,
    mime: 'video/mp4', sha256: sha(file) });
  const id = c.json.uploadId;
  // 12 MiB with no Content-Length: the first 8 MiB fill a part before the count passes 9 MiB.
  const r = await new Promise((resolve, reject) => {
    const req = http.request(`${server.url}/media/uploads/${id}?offset=0`, { method: 'PUT', headers: { authorization: `Bearer ${alice}` } });
    req.on('error', reject);
    req.on('response', (res) => { let t = ''; res.on('data', (d) => { t += d; }); res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(t) })); });
    for (let i = 0; i < 12; i++) req.write(file.subarray(0, MB));
    req.end();
  });
  assert.deepEqual([r.status, code(r)], [413, 'too_large']);
  assert.equal((await call('GET', `/media/uploads/${id}`, alice)).json.offset, 0);
  assert.deepEqual(files(), before_);
  // Half sent, then cancelled: the multipart upload and the staging go.
  assert.equal((await call('PUT', `/media/uploads/${id}?offset=0`, alice, file.subarray(0, PART + 10))).status, 200);
  assert.notDeepEqual(files(), before_);
  assert.equal((await call('DELETE', `/media/uploads/${id}`, alice)).status, 200);
  assert.deepEqual(files(), before_);
});

test('s3: the node host\'s configuration (EDGESYNC_MEDIA_S3_*)', () => {
  const env = { EDGESYNC_MEDIA_S3_URL: 'http://127.0.0.1:9000', EDGESYNC_MEDIA_S3_BUCKET: 'b',
    EDGESYNC_MEDIA_S3_ACCESS_KEY_ID: 'k', EDGESYNC_MEDIA_S3_SECRET_ACCESS_KEY: 's' };
  assert.deepEqual(loadConfig(env).media.s3,
    { endpoint: 'http://127.0.0.1:9000', bucket: 'b', region: 'us-east-1', accessKeyId: 'k', secretAccessKey: 's', prefix: '' });
  assert.equal(loadConfig({ ...env, EDGESYNC_MEDIA_S3_REGION: 'auto', EDGESYNC_MEDIA_S3_PREFIX: 'media/' }).media.s3.prefix, 'media/');
  assert.equal(loadConfig({}).media.s3, undefined);
  assert.throws(() => loadConfig({ ...env, EDGESYNC_MEDIA_S3_BUCKET: '' }), (e) => e instanceof ConfigError && /EDGESYNC_MEDIA_S3_BUCKET/.test(e.message));
  assert.throws(() => loadConfig({ ...env, EDGESYNC_MEDIA_S3_URL: 'ftp://x' }), ConfigError);
});
