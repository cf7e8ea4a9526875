// The media endpoints of the worker in workerd (`wrangler dev`, offline) with
// the MEDIA R2 binding (simulated by wrangler in a per-run folder) and
// PostgreSQL 15 through the Hyperdrive binding: round trip through R2
// multipart parts, resume after a cut connection, limits, authorization
// across users, the lifecycle sweep from the Cron Trigger (`scheduled`, fired
// through `--test-scheduled`) — and nothing left in the bucket after a refusal.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import { startPostgres } from '../harness/postgres.mjs';
import { startWranglerDev } from '../harness/wrangler.mjs';
import { TEST_SECRET, token, postSync, hlc, serverCoreAvailable } from '../harness/sync-http.mjs';
import { schema } from '../harness/media-scenarios.mjs';

const hasServerCore = await serverCoreAvailable();
const MB = 1024 * 1024;
const PART = 8 * MB;
const PNG_HEAD = Buffer.from('89504e470d0a1a0a', 'hex');
const png = (n) => Buffer.concat([PNG_HEAD, randomBytes(n - PNG_HEAD.length)]);
const sha = (b) => createHash('sha256').update(b).digest('hex');
const code = (r) => r.json?.error?.code;
/** The grace period the worker runs with: long enough to see a marked file stay, short enough to wait out. */
const GRACE_SEC = 3;
function mp4(size) {
  const b = randomBytes(size);
  Buffer.from('0000001866747970', 'hex').copy(b);
  return b;
}

describe('media through wrangler dev (workerd + R2 binding)', { skip: !hasServerCore && 'the server core is not in the WASM build yet' }, () => {
  let pg; let worker; let schemaDir; let alice; let bob;

  before(async () => {
    pg = await startPostgres();
    schemaDir = mkdtempSync(join(tmpdir(), 'edgesync-media-schema-'));
    writeFileSync(join(schemaDir, 'schema.json'), JSON.stringify(schema));
    worker = await startWranglerDev({
      databaseUrl: pg.url, schemaPath: join(schemaDir, 'schema.json'), testScheduled: true,
      vars: {
        EDGESYNC_JWT_SECRET: TEST_SECRET, EDGESYNC_MEDIA_SECRET: 'media-test-secret-0123456789abcdef',
        EDGESYNC_MEDIA_GRACE_SEC: String(GRACE_SEC),
      },
    });
    alice = await token('alice');
    bob = await token('bob');
    for (const [tok, id, c] of [[alice, 'd-alice', 'c_wmedia_alice_1'], [bob, 'd-bob', 'c_wmedia_bob_001']]) {
      const r = await postSync(worker.url, tok, { protocol: 1, clientId: c, schemaVersion: 1, cursor: null,
        batch: { seq: 1, changes: [{ id: 1, table: 'docs', op: 'upsert', row: { id, title: 't' }, hlc: hlc(c), baseVersion: null }] } });
      assert.equal(r.status, 200, `${JSON.stringify(r.body)}\n${worker.log().slice(-3000)}`);
    }
  }, { timeout: 90000 });

  after(async () => {
    await worker?.stop();
    await pg?.stop();
    if (schemaDir) rmSync(schemaDir, { recursive: true, force: true });
  }, { timeout: 30000 });

  async function call(method, path, tok, body, headers = {}) {
    let res;
    try {
      res = await fetch(`${worker.url}${path}`, {
        method, headers: { ...(tok ? { authorization: `Bearer ${tok}` } : {}), ...headers },
        body: body === undefined ? undefined : Buffer.isBuffer(body) ? body : JSON.stringify(body), signal: AbortSignal.timeout(60000),
      });
    } catch (e) {
      throw new Error(`${e.message} (${method} ${path})\n${worker.log().slice(-4000)}`, { cause: e });
    }
    const buf = Buffer.from(await res.arrayBuffer());
    let json = null;
    try { json = JSON.parse(buf.toString()); } catch { /* bytes */ }
    return { status: res.status, json, buf, headers: res.headers };
  }
  // A PUT the worker refuses before (or while) reading its body, on a
  // connection of its own: under `wrangler dev` the next request on a
  // kept-alive connection whose last body was left unread waits (and now and
  // then any next request stalls for a minute or more), and the local
  // proxy now and then answers such a request "503 Your worker restarted
  // mid-request … try sending the request again" — then it is sent again, as
  // the message says (local proxy quirks; the node host closes such a
  // connection itself).
  const refusedPut = async (path, chunks, length) => {
    for (let attempt = 0; ; attempt++) {
      const r = await new Promise((resolve, reject) => {
        const req = http.request(`${worker.url}${path}`, { method: 'PUT', agent: false,
          headers: { authorization: `Bearer ${alice}`, ...(length === undefined ? {} : { 'content-length': String(length) }) } });
        req.on('error', reject);
        req.on('response', (res) => {
          let t = '';
          res.on('data', (d) => { t += d; });
          res.on('end', () => resolve({ status: res.statusCode, text: t }));
        });
        for (const c of chunks) req.write(c);
        req.end();
      });
      if (r.status === 503 && /^Your worker restarted mid-request/.test(r.text) && attempt < 3) continue;
      try { return { status: r.status, json: JSON.parse(r.text) }; } catch { throw new Error(`${r.status} ${r.text}\n${worker.log().slice(-3000)}`); }
    }
  };
  const create = (tok, o) => call('POST', '/media/uploads', tok, { table: 'docs', column: 'file', pk: 'd-alice', ...o });
  const push = (tok, clientId, row, seq) => postSync(worker.url, tok, { protocol: 1, clientId, schemaVersion: 1, cursor: null,
    batch: { seq, changes: [{ id: 1, table: 'docs', op: 'upsert', row, hlc: hlc(clientId, Date.now(), seq), baseVersion: null }] } });
  // Every file wrangler keeps for the simulated R2 bucket (blobs and index).
  function bucketFiles() {
    const out = [];
    const walk = (d) => {
      if (!existsSync(d)) return;
      for (const f of readdirSync(d)) { const p = join(d, f); if (statSync(p).isDirectory()) walk(p); else if (!/\.sqlite(-wal|-shm)?$/.test(f)) out.push(p); }
    };
    walk(join(worker.persist, 'v3', 'r2'));
    return out.sort();
  }

  test('round trip: parts, complete, download by GET and by signed URL; other users refused', async () => {
    const file = png(100_000);
    let r = await create(alice, { size: file.length, mime: 'image/png', sha256: sha(file) });
    assert.equal(r.status, 201, `${JSON.stringify(r.json)}\n${worker.log().slice(-3000)}`);
    const id = r.json.uploadId;
    r = await call('PUT', `/media/uploads/${id}?offset=0`, alice, file.subarray(0, 60_000));
    assert.deepEqual([r.status, r.json.offset], [200, 60_000], JSON.stringify(r.json));
    assert.equal((await call('GET', `/media/uploads/${id}`, bob)).status, 404);
    r = await call('PUT', `/media/uploads/${id}?offset=60000`, alice, file.subarray(60_000));
    assert.deepEqual([r.status, r.json.offset], [200, 100_000]);
    r = await call('POST', `/media/uploads/${id}/complete`, alice);
    assert.equal(r.status, 200, `${JSON.stringify(r.json)}\n${worker.log().slice(-3000)}`);
    const ref = r.json.ref;
    assert.equal(ref, `sha256:${sha(file)}`);
    assert.equal((await push(alice, 'c_wmedia_alice_1', { id: 'd-alice', title: 't', file: ref }, 2)).status, 200);
    r = await call('GET', '/media/file?table=docs&column=file&pk=d-alice', alice);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'image/png');
    assert.ok(r.buf.equals(file));
    r = await call('GET', '/media/file?table=docs&column=file&pk=d-alice', bob);
    assert.deepEqual([r.status, code(r)], [403, 'forbidden']);
    r = await create(bob, { size: file.length, mime: 'image/png', sha256: sha(file) });
    assert.deepEqual([r.status, code(r)], [403, 'forbidden']);
    r = await call('GET', '/media/url?table=docs&column=file&pk=d-alice', alice);
    assert.equal(r.status, 200);
    const signed = new URL(r.json.url, worker.url);
    const dl = await call('GET', `${signed.pathname}${signed.search}`);
    assert.equal(dl.status, 200);
    assert.ok(dl.buf.equals(file));
    signed.searchParams.set('sig', 'A'.repeat(43));
    assert.deepEqual(code(await call('GET', `${signed.pathname}${signed.search}`)), 'invalid_signature');
    // bob's row naming alice's reference opens nothing: a file bob has not uploaded for that row.
    assert.equal((await push(bob, 'c_wmedia_bob_001', { id: 'd-bob', title: 't', file: ref }, 2)).status, 200);
    r = await call('GET', '/media/file?table=docs&column=file&pk=d-bob', bob);
    assert.deepEqual([r.status, code(r), r.buf.includes(file.subarray(0, 64))], [404, 'not_uploaded', false]);
  });

  test('a 17 MiB file in R2 multipart parts, resumed after a cut connection', async () => {
    const file = mp4(2 * PART + MB + 5);
    let r = await create(alice, { column: 'video', size: file.length, mime: 'video/mp4', sha256: sha(file) });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    const id = r.json.uploadId;
    r = await call('PUT', `/media/uploads/${id}?offset=0`, alice, file.subarray(0, PART));
    assert.deepEqual([r.status, r.json.offset], [200, PART], JSON.stringify(r.json));
    // The next part's connection drops after 3 MiB of its 8.
    await new Promise((resolve) => {
      const req = http.request(`${worker.url}/media/uploads/${id}?offset=${PART}`, {
        method: 'PUT', headers: { authorization: `Bearer ${alice}`, 'content-length': String(PART) },
      });
      req.on('error', () => resolve());
      req.on('response', () => resolve());
      req.write(file.subarray(PART, PART + 3 * MB), () => setTimeout(() => { req.destroy(); resolve(); }, 500));
    });
    let offset;
    for (let i = 0; ; i++) {
      offset = (await call('GET', `/media/uploads/${id}`, alice)).json.offset;
      r = await call('PUT', `/media/uploads/${id}?offset=${offset}`, alice, file.subarray(offset, offset + PART));
      if (code(r) !== 'upload_busy' || i === 100) break;
      await new Promise((ok) => setTimeout(ok, 100));
    }
    assert.ok(offset >= PART && offset <= PART + 3 * MB, `resumed from ${offset}`);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    while (r.json.offset < file.length) {
      r = await call('PUT', `/media/uploads/${id}?offset=${r.json.offset}`, alice, file.subarray(r.json.offset, r.json.offset + PART));
      assert.equal(r.status, 200, JSON.stringify(r.json));
    }
    r = await call('POST', `/media/uploads/${id}/complete`, alice);
    assert.equal(r.status, 200, `${JSON.stringify(r.json)}\n${worker.log().slice(-3000)}`);
    assert.equal((await push(alice, 'c_wmedia_alice_1', { id: 'd-alice', title: 't', video: r.json.ref }, 3)).status, 200);
    r = await call('GET', '/media/file?table=docs&column=video&pk=d-alice', alice);
    assert.equal(r.status, 200);
    assert.ok(r.buf.equals(file));
  });

  test('the cron sweep: files of deleted rows and replaced files leave R2 after the grace period; named ones stay', async () => {
    let seq = 0;
    const clientId = 'c_wmedia_sweep_1';
    const sync = (changes) => postSync(worker.url, alice, { protocol: 1, clientId, schemaVersion: 1, cursor: null,
      batch: { seq: ++seq, changes: changes.map((c, i) => ({ id: i + 1, hlc: hlc(clientId, Date.now(), seq * 100 + i), baseVersion: null, ...c })) } });
    const upsert = (row) => ({ table: 'docs', op: 'upsert', row: { title: 't', ...row } });
    const ids = ['s-del', 's-keep', 's-repl', 's-twin1', 's-twin2'];
    let r = await sync(ids.map((id) => upsert({ id })));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    // One file per row; the twins share one object (the second is deduplicated).
    const files = { del: png(2000), keep: png(2001), old: png(2002), new: png(2003), twin: png(2004) };
    async function upload(pk, file) {
      const c = await create(alice, { pk, size: file.length, mime: 'image/png', sha256: sha(file) });
      if (c.status === 200) return c.json.ref;
      assert.equal(c.status, 201, JSON.stringify(c.json));
      assert.equal((await call('PUT', `/media/uploads/${c.json.uploadId}?offset=0`, alice, file)).status, 200);
      const done = await call('POST', `/media/uploads/${c.json.uploadId}/complete`, alice);
      assert.equal(done.status, 200, JSON.stringify(done.json));
      return done.json.ref;
    }
    const refs = {
      del: await upload('s-del', files.del), keep: await upload('s-keep', files.keep), old: await upload('s-repl', files.old),
      twin: await upload('s-twin1', files.twin),
    };
    assert.equal(await upload('s-twin2', files.twin), refs.twin);
    r = await sync([
      upsert({ id: 's-del', file: refs.del }), upsert({ id: 's-keep', file: refs.keep }), upsert({ id: 's-repl', file: refs.old }),
      upsert({ id: 's-twin1', file: refs.twin }), upsert({ id: 's-twin2', file: refs.twin }),
    ]);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    // Signed links, taken while the rows name the files: they reach R2 without any row check.
    const link = async (pk) => {
      const u = await call('GET', `/media/url?table=docs&column=file&pk=${pk}`, alice);
      assert.equal(u.status, 200, JSON.stringify(u.json));
      return u.json.url;
    };
    const links = { del: await link('s-del'), keep: await link('s-keep'), old: await link('s-repl'), twin: await link('s-twin1') };
    const fetchLink = (name) => call('GET', links[name]);

    // Delete s-del and s-twin1, replace s-repl's file.
    refs.new = await upload('s-repl', files.new);
    r = await sync([
      { table: 'docs', op: 'delete', row: { id: 's-del' } }, { table: 'docs', op: 'delete', row: { id: 's-twin1' } },
      upsert({ id: 's-repl', file: refs.new }),
    ]);
    assert.equal(r.status, 200, JSON.stringify(r.body));

    const fire = async () => {
      const res = await fetch(`${worker.url}/__scheduled?cron=${encodeURIComponent('*/15 * * * *')}`, { signal: AbortSignal.timeout(60000) });
      const text = await res.text();
      assert.equal(res.status, 200, `${text}\n${worker.log().slice(-3000)}`);
    };
    // The first sweep marks the unnamed records: within the grace period every file still downloads.
    await fire();
    for (const name of ['del', 'keep', 'old', 'twin']) {
      const d = await fetchLink(name);
      assert.equal(d.status, 200, `${name}: ${JSON.stringify(d.json)}`);
      assert.ok(d.buf.equals(files[name]), name);
    }
    const filesBefore = bucketFiles().length;
    await new Promise((ok) => setTimeout(ok, GRACE_SEC * 1000 + 500));
    // Past the grace period: the deleted row's file and the replaced one leave R2.
    await fire();
    for (const name of ['del', 'old']) {
      const d = await fetchLink(name);
      assert.deepEqual([d.status, code(d)], [404, 'not_found'], `${name}: ${JSON.stringify(d.json)}`);
    }
    assert.ok(bucketFiles().length <= filesBefore - 2, `${filesBefore} -> ${bucketFiles().length} files in the bucket`);
    // Named files stay: the live row's, the new one, and the object the other twin still names.
    for (const [name, pk, file] of [['keep', 's-keep', files.keep], ['new', 's-repl', files.new], ['twin', 's-twin2', files.twin]]) {
      const d = await call('GET', `/media/file?table=docs&column=file&pk=${pk}`, alice);
      assert.equal(d.status, 200, `${name}: ${JSON.stringify(d.json)}`);
      assert.ok(d.buf.equals(file), name);
    }
    assert.equal((await fetchLink('twin')).status, 200);
  });

  test('limits: 413 by Content-Length and by counting, hash mismatch dropped, nothing left in the bucket', async () => {
    const before_ = bucketFiles();
    assert.ok(before_.length > 0, 'the simulated bucket holds the earlier tests\' objects');
    const file = png(1000);
    let r = await create(alice, { size: 300 * 1024, mime: 'image/png', sha256: sha(file) });
    assert.deepEqual([r.status, code(r), r.json.error.path], [413, 'too_large', 'size']);
    r = await create(alice, { size: file.length, mime: 'image/png', sha256: sha(file) });
    const id = r.json.uploadId;
    r = await call('PUT', `/media/uploads/${id}?offset=0`, alice, png(1000));
    assert.equal(r.status, 200);
    r = await call('POST', `/media/uploads/${id}/complete`, alice);
    assert.deepEqual([r.status, code(r)], [400, 'hash_mismatch']);
    assert.equal((await call('GET', `/media/uploads/${id}`, alice)).status, 404);
    // Cancelled after a full part: the multipart upload goes too.
    const big = mp4(9 * MB);
    r = await create(alice, { column: 'video', size: big.length, mime: 'video/mp4', sha256: sha(big) });
    assert.equal((await call('PUT', `/media/uploads/${r.json.uploadId}?offset=0`, alice, big.subarray(0, PART + 10))).status, 200);
    assert.equal((await call('DELETE', `/media/uploads/${r.json.uploadId}`, alice)).status, 200);
    assert.deepEqual(bucketFiles(), before_);
    // Parts past the declared size, refused from Content-Length and by
    // counting: nothing of them reaches the bucket. Last in this file: under
    // `wrangler dev` a request after such a refusal now and then stalls for a
    // minute (see refusedPut), so the bucket is checked on disk.
    r = await create(alice, { size: file.length, mime: 'image/png', sha256: sha(file) });
    const id2 = r.json.uploadId;
    r = await refusedPut(`/media/uploads/${id2}?offset=0`, [file, file], 2 * file.length);
    assert.deepEqual([r.status, code(r)], [413, 'too_large']);
    r = await refusedPut(`/media/uploads/${id2}?offset=0`, [file, file]);
    assert.deepEqual([r.status, code(r)], [413, 'too_large']);
    assert.deepEqual(bucketFiles(), before_);
  });
});
