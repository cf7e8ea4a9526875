// The media endpoints (docs/protocol.md, "Media") of the node host against a
// real PostgreSQL, as scenarios run once per storage backend
// (tests/node/media.test.mjs: filesystem; media-s3.test.mjs: s3rver): round
// trip, resume after a cut connection, limits, wrong MIME / magic bytes,
// another user's row, forged and expired download links — and nothing stored
// on any refusal.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import http from 'node:http';
import { startPostgres } from './postgres.mjs';
import { startServer } from '../../hosts/node/server.mjs';
import { TEST_SECRET, token, postSync, hlc } from './sync-http.mjs';
import { SHARED_SCHEMA } from './shared-schema.mjs';

const MAX = 256 * 1024;
/** The test schema: docs.file (PNG/JPEG up to 256 KiB), docs.video (MP4 up to 64 MiB). */
export const schema = {
  version: 1,
  tables: [{
    name: 'docs', primaryKey: 'id', owner: 'ownerId',
    columns: [
      { name: 'id', type: 'text' }, { name: 'ownerId', type: 'text' }, { name: 'title', type: 'text' },
      { name: 'file', type: 'blob_ref', media: { maxBytes: MAX, mime: ['image/png', 'image/jpeg'] } },
      { name: 'video', type: 'blob_ref', media: { maxBytes: 64 * 1024 * 1024, mime: ['video/mp4'] } },
    ],
  }],
};
const PNG_HEAD = Buffer.from('89504e470d0a1a0a', 'hex');
const png = (n) => Buffer.concat([PNG_HEAD, randomBytes(n - PNG_HEAD.length)]);
const sha = (b) => createHash('sha256').update(b).digest('hex');

/**
 * Registers the media scenarios (node:test) against one storage backend.
 * `backend.start()` → {media: startServer's media options (dir or storage),
 * dir: the folder whose files are everything the backend stores, stop()}; it
 * is called once for the main host and once more for the shared-scope host.
 * `label` names the backend in failures. Returns a getter of the running
 * host and tokens ({server, alice, bob, call}) for a backend's own tests.
 * @param {{label: string, start(): Promise<{media: object, dir: string, stop(): Promise<void>}>}} backend
 */
export function mediaScenarios(backend) {
  let pg; let server; let dir; let alice; let bob; let store;

  before(async () => {
    pg = await startPostgres();
    store = await backend.start();
    dir = store.dir;
    server = await startServer({
      databaseUrl: pg.url, port: 0, poolSize: 4, schema, auth: { secret: TEST_SECRET }, live: false,
      media: { ...store.media, secret: 'media-test-secret-0123456789abcdef', urlTtlSec: 60 }, logger: { error() {}, warn() {} },
    });
    alice = await token('alice');
    bob = await token('bob');
    for (const [tok, id, c] of [[alice, 'd-alice', 'c_media_alice_01'], [bob, 'd-bob', 'c_media_bob_0001']]) {
      const r = await postSync(server.url, tok, { protocol: 1, clientId: c, schemaVersion: 1, cursor: null,
        batch: { seq: 1, changes: [{ id: 1, table: 'docs', op: 'upsert', row: { id, title: 't' }, hlc: hlc(c), baseVersion: null }] } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
  });

  after(async () => {
    await server?.close();
    await pg?.stop();
    await store?.stop();
  });

  async function call(method, path, tok, body, headers = {}) {
    const res = await fetch(`${server.url}${path}`, {
      method, headers: { ...(tok ? { authorization: `Bearer ${tok}` } : {}), ...headers },
      body: body === undefined ? undefined : Buffer.isBuffer(body) ? body : JSON.stringify(body),
    });
    const buf = Buffer.from(await res.arrayBuffer());
    let json = null;
    try { json = JSON.parse(buf.toString()); } catch { /* bytes */ }
    return { status: res.status, json, buf, headers: res.headers };
  }
  const create = (tok, o) => call('POST', '/media/uploads', tok, { table: 'docs', column: 'file', pk: 'd-alice', ...o },
    { 'content-type': 'application/json' });
  const code = (r) => r.json?.error?.code;

  // Everything the store holds: staged uploads and objects.
  function stored() {
    const out = [];
    const walk = (d) => { for (const f of readdirSync(d)) { const p = join(d, f); if (statSync(p).isDirectory()) walk(p); else out.push(p); } };
    walk(dir);
    return out.sort();
  }
  async function objectRows() { return (await server.sql`select count(*)::int as n from edgesync_media`)[0].n; }

  async function assertNothingStored(before_) {
    assert.deepEqual(stored(), before_.files);
    assert.equal(await objectRows(), before_.rows);
  }
  async function snapshot() { return { files: stored(), rows: await objectRows() }; }

  test(`${backend.label}: upload in parts, complete, download by GET and by signed URL`, async () => {
    const file = png(100_000);
    const c = await create(alice, { size: file.length, mime: 'image/png', sha256: sha(file) });
    assert.equal(c.status, 201, JSON.stringify(c.json));
    const id = c.json.uploadId;
    let r = await call('PUT', `/media/uploads/${id}?offset=0`, alice, file.subarray(0, 60_000));
    assert.deepEqual([r.status, r.json.offset], [200, 60_000]);
    r = await call('PUT', `/media/uploads/${id}?offset=60000`, alice, file.subarray(60_000));
    assert.deepEqual([r.status, r.json.offset], [200, 100_000]);
    r = await call('POST', `/media/uploads/${id}/complete`, alice);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.ref, `sha256:${sha(file)}`);
    const ref = r.json.ref;
    // Before the row names the object, it has no file to download.
    r = await call('GET', '/media/file?table=docs&column=file&pk=d-alice', alice);
    assert.deepEqual([r.status, code(r)], [404, 'not_found']);
    const push = await postSync(server.url, alice, { protocol: 1, clientId: 'c_media_alice_01', schemaVersion: 1, cursor: null,
      batch: { seq: 2, changes: [{ id: 1, table: 'docs', op: 'upsert', row: { id: 'd-alice', title: 't', file: ref },
        hlc: hlc('c_media_alice_01', Date.now(), 5), baseVersion: null }] } });
    assert.equal(push.status, 200, JSON.stringify(push.body));
    r = await call('GET', '/media/file?table=docs&column=file&pk=d-alice', alice);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'image/png');
    assert.equal(r.headers.get('access-control-allow-origin'), '*');
    assert.ok(r.buf.equals(file));
    // Bob may not read alice's row, so not its file either.
    r = await call('GET', '/media/file?table=docs&column=file&pk=d-alice', bob);
    assert.deepEqual([r.status, code(r)], [403, 'forbidden']);
    r = await call('GET', '/media/url?table=docs&column=file&pk=d-alice', bob);
    assert.deepEqual([r.status, code(r)], [403, 'forbidden']);

    r = await call('GET', '/media/url?table=docs&column=file&pk=d-alice', alice);
    assert.equal(r.status, 200);
    const signed = new URL(r.json.url, server.url);
    const dl = await call('GET', `${signed.pathname}${signed.search}`);
    assert.equal(dl.status, 200);
    assert.ok(dl.buf.equals(file));
    // A forged signature, an altered key, an expired link: refused.
    const forged = new URL(signed); forged.searchParams.set('sig', 'A'.repeat(43));
    const altered = new URL(signed); altered.searchParams.set('exp', String(Number(signed.searchParams.get('exp')) + 3600));
    const expired = new URL(signed); expired.searchParams.set('exp', '1000');
    for (const u of [forged, altered, expired]) {
      const x = await call('GET', `${u.pathname}${u.search}`);
      assert.deepEqual([x.status, code(x)], [403, 'invalid_signature'], u.search);
    }
    // A reference copied into bob's own row does not open alice's file: to
    // the server it is a file bob has not uploaded for that row (yet).
    await postSync(server.url, bob, { protocol: 1, clientId: 'c_media_bob_0001', schemaVersion: 1, cursor: null,
      batch: { seq: 2, changes: [{ id: 1, table: 'docs', op: 'upsert', row: { id: 'd-bob', title: 't', file: ref },
        hlc: hlc('c_media_bob_0001', Date.now(), 5), baseVersion: null }] } });
    r = await call('GET', '/media/file?table=docs&column=file&pk=d-bob', bob);
    assert.deepEqual([r.status, code(r), r.buf.includes(file.subarray(0, 64))], [404, 'not_uploaded', false]);
    r = await call('GET', '/media/url?table=docs&column=file&pk=d-bob', bob);
    assert.deepEqual([r.status, code(r)], [404, 'not_uploaded']);
    // Nor does dedup: bob never uploaded these bytes, so he must send them all.
    r = await create(bob, { pk: 'd-bob', size: file.length, mime: 'image/png', sha256: sha(file) });
    assert.deepEqual([r.status, r.json.offset], [201, 0]);
    assert.equal((await call('DELETE', `/media/uploads/${r.json.uploadId}`, bob)).status, 200);
  });

  test(`${backend.label}: a 48 MB body streams to storage as it arrives (never held whole)`, async () => {
    const MB = 1024 * 1024;
    const chunks = 48;
    const chunk = (i) => {
      const b = Buffer.alloc(MB, i % 251);
      if (i === 0) Buffer.from('0000001866747970', 'hex').copy(b); // an MP4 'ftyp' box
      return b;
    };
    const hash = createHash('sha256');
    for (let i = 0; i < chunks; i++) hash.update(chunk(i));
    const c = await create(alice, { column: 'video', size: chunks * MB, mime: 'video/mp4', sha256: hash.digest('hex') });
    assert.equal(c.status, 201, JSON.stringify(c.json));
    const id = c.json.uploadId;
    let i = 0;
    let heldAt40 = null;
    const body = new ReadableStream({
      async pull(controller) {
        if (i === 40) heldAt40 = (await call('GET', `/media/uploads/${id}`, alice)).json.offset;
        if (i === chunks) { controller.close(); return; }
        controller.enqueue(new Uint8Array(chunk(i++)));
      },
    }, { highWaterMark: 0 });
    const res = await fetch(`${server.url}/media/uploads/${id}?offset=0`, {
      method: 'PUT', headers: { authorization: `Bearer ${alice}` }, body, duplex: 'half',
    });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal((await res.json()).offset, chunks * MB);
    // When the client had produced 40 MB, most of it was already on disk.
    assert.ok(heldAt40 >= 24 * MB, `on disk after 40 MB sent: ${heldAt40}`);
    const done = await call('POST', `/media/uploads/${id}/complete`, alice);
    assert.equal(done.status, 200, JSON.stringify(done.json));
  });

  test(`${backend.label}: resume after a cut connection: the offset says where to go on`, async () => {
    const file = png(200_000);
    const c = await create(alice, { size: file.length, mime: 'image/png', sha256: sha(file) });
    const id = c.json.uploadId;
    let r = await call('PUT', `/media/uploads/${id}?offset=0`, alice, file.subarray(0, 50_000));
    assert.equal(r.json.offset, 50_000);
    // The second part's connection drops after 30 000 of its bytes.
    await new Promise((resolve) => {
      const req = http.request(`${server.url}/media/uploads/${id}?offset=50000`, {
        method: 'PUT', headers: { authorization: `Bearer ${alice}`, 'content-length': String(150_000) },
      });
      req.on('error', () => resolve());
      req.on('response', () => resolve());
      req.write(file.subarray(50_000, 80_000), () => setTimeout(() => { req.destroy(); resolve(); }, 200));
    });
    // The server notices the drop asynchronously: until then the upload is
    // busy. Then it holds part 1 and what arrived of part 2.
    let offset;
    for (let i = 0; ; i++) {
      offset = (await call('GET', `/media/uploads/${id}`, alice)).json.offset;
      r = await call('PUT', `/media/uploads/${id}?offset=${offset}`, alice, file.subarray(offset));
      if (code(r) !== 'upload_busy' || i === 100) break;
      await new Promise((ok) => setTimeout(ok, 50));
    }
    assert.ok(offset > 50_000 && offset <= 80_000, `resumed from ${offset}`);
    assert.deepEqual([r.status, r.json.offset], [200, file.length]);
    r = await call('PUT', `/media/uploads/${id}?offset=0`, alice, file.subarray(0, 10));
    assert.deepEqual([r.status, code(r), r.json.offset], [409, 'offset_mismatch', file.length]);
    r = await call('POST', `/media/uploads/${id}/complete`, alice);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    // Another user cannot see or finish alice's upload.
    assert.equal((await call('GET', `/media/uploads/${id}`, bob)).status, 404);
  });

  test(`${backend.label}: refusals: a 4xx with a code and a path, and nothing stored`, async () => {
    const before_ = await snapshot();
    const file = png(1000);
    const ok = { size: file.length, mime: 'image/png', sha256: sha(file) };
    let r = await create(alice, { ...ok, size: MAX + 1 });
    assert.deepEqual([r.status, code(r), r.json.error.path], [413, 'too_large', 'size']);
    r = await create(alice, { ...ok, mime: 'image/gif' });
    assert.deepEqual([r.status, code(r), r.json.error.path], [415, 'unsupported_media_type', 'mime']);
    r = await create(alice, { ...ok, pk: 'd-bob' });
    assert.deepEqual([r.status, code(r)], [403, 'forbidden']);
    r = await create(alice, { ...ok, pk: 'no-such-row' });
    assert.deepEqual([r.status, code(r)], [404, 'row_not_found']);
    r = await create(alice, { ...ok, column: 'title' });
    assert.deepEqual([r.status, code(r), r.json.error.path], [400, 'invalid_request', 'column']);
    r = await create(alice, { ...ok, sha256: '../../etc/passwd' });
    assert.deepEqual([r.status, code(r), r.json.error.path], [400, 'invalid_request', 'sha256']);
    r = await create(null, ok);
    assert.deepEqual([r.status, code(r)], [401, 'unauthorized']);
    r = await call('GET', '/media/uploads/..%2F..%2Fetc', alice);
    assert.deepEqual([r.status, code(r)], [404, 'not_found']);

    // A part past the declared size: 413 from Content-Length, before the body.
    const c = await create(alice, ok);
    const id = c.json.uploadId;
    r = await call('PUT', `/media/uploads/${id}?offset=0`, alice, Buffer.concat([file, file]));
    assert.deepEqual([r.status, code(r)], [413, 'too_large']);
    assert.equal((await call('GET', `/media/uploads/${id}`, alice)).json.offset, 0);
    // ... and by counting when no length is declared (a chunked body).
    r = await new Promise((resolve, reject) => {
      const req = http.request(`${server.url}/media/uploads/${id}?offset=0`, { method: 'PUT', headers: { authorization: `Bearer ${alice}` } });
      req.on('error', reject);
      req.on('response', (res) => { let t = ''; res.on('data', (d) => { t += d; }); res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(t) })); });
      req.write(file); req.write(file); req.end();
    });
    assert.deepEqual([r.status, code(r)], [413, 'too_large']);
    assert.equal((await call('GET', `/media/uploads/${id}`, alice)).json.offset, 0);

    // Bytes that do not hash to the declared SHA-256: dropped at completion.
    const other = png(1000);
    r = await call('PUT', `/media/uploads/${id}?offset=0`, alice, other);
    assert.equal(r.status, 200);
    r = await call('POST', `/media/uploads/${id}/complete`, alice);
    assert.deepEqual([r.status, code(r)], [400, 'hash_mismatch']);
    assert.equal((await call('GET', `/media/uploads/${id}`, alice)).status, 404);

    // Declared image/png, but the bytes are not a PNG (magic bytes).
    const fake = Buffer.concat([Buffer.from('GIF89a'), randomBytes(994)]);
    const f = await create(alice, { size: fake.length, mime: 'image/png', sha256: sha(fake) });
    await call('PUT', `/media/uploads/${f.json.uploadId}?offset=0`, alice, fake);
    r = await call('POST', `/media/uploads/${f.json.uploadId}/complete`, alice);
    assert.deepEqual([r.status, code(r), r.json.error.path], [415, 'unsupported_media_type', 'mime']);

    await assertNothingStored(before_);
  });

  // A scoped table: the same roles as the sync (read members pull, write
  // members write), for files too. Its own database and host.
  test(`${backend.label}: a shared scope: writers attach, readers download, others are refused`, async () => {
    const shared = JSON.parse(JSON.stringify(SHARED_SCHEMA));
    shared.tables.find((t) => t.name === 'nodes').columns.push(
      { name: 'image', type: 'blob_ref', media: { maxBytes: MAX, mime: ['image/png'] } });
    pg.psql('CREATE DATABASE media_shared OWNER edgesync');
    const store2 = await backend.start();
    const host = await startServer({
      databaseUrl: pg.url.replace(/\/edgesync$/, '/media_shared'), port: 0, poolSize: 2, schema: shared,
      auth: { secret: TEST_SECRET }, live: false, media: store2.media, logger: { error() {}, warn() {} },
    });
    try {
      const [al, bo, ca, da] = await Promise.all(['s-alice', 's-bob', 's-carol', 's-dave'].map((u) => token(u)));
      const c = 'c_media_shared_01';
      const change = (id, table, row) => ({ id, table, op: 'upsert', row, hlc: hlc(c, Date.now(), id), baseVersion: null });
      let r = await postSync(host.url, al, { protocol: 1, clientId: c, schemaVersion: 1, cursor: null, batch: { seq: 1, changes: [
        change(1, 'projects', { id: 'p1', name: 'P' }),
        change(2, 'projectMembers', { projectId: 'p1', userId: 's-bob', role: 'read' }),
        change(3, 'projectMembers', { projectId: 'p1', userId: 's-carol', role: 'write' }),
        change(4, 'nodes', { id: 'n1', projectId: 'p1', label: 'x' }),
      ] } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.ok(r.body.results.every((x) => x.status === 'applied'), JSON.stringify(r.body.results));

      const file = png(5000);
      const req = (method, path, tok, body) => fetch(`${host.url}${path}`, {
        method, headers: { authorization: `Bearer ${tok}` }, body: body === undefined ? undefined : Buffer.isBuffer(body) ? body : JSON.stringify(body),
      }).then(async (res) => ({ status: res.status, buf: Buffer.from(await res.arrayBuffer()) }))
        .then((x) => ({ ...x, json: (() => { try { return JSON.parse(x.buf.toString()); } catch { return null; } })() }));
      const start = (tok) => req('POST', '/media/uploads', tok,
        { table: 'nodes', column: 'image', pk: 'n1', size: file.length, mime: 'image/png', sha256: sha(file) });

      r = await start(bo); // read role: may not write the row
      assert.deepEqual([r.status, code(r)], [403, 'forbidden']);
      r = await start(da); // not a member
      assert.deepEqual([r.status, code(r)], [403, 'forbidden']);
      r = await start(ca); // write role
      assert.equal(r.status, 201, JSON.stringify(r.json));
      const id = r.json.uploadId;
      assert.equal((await req('PUT', `/media/uploads/${id}?offset=0`, ca, file)).status, 200);
      r = await req('POST', `/media/uploads/${id}/complete`, ca);
      assert.equal(r.status, 200, JSON.stringify(r.json));
      r = await postSync(host.url, ca, { protocol: 1, clientId: 'c_media_shared_02', schemaVersion: 1, cursor: null,
        batch: { seq: 1, changes: [{ ...change(5, 'nodes', { id: 'n1', projectId: 'p1', label: 'x', image: r.json.ref }), hlc: hlc('c_media_shared_02') }] } });
      assert.equal(r.status, 200, JSON.stringify(r.body));

      const path = '/media/file?table=nodes&column=image&pk=n1';
      r = await req('GET', path, bo); // read role: may pull the row
      assert.equal(r.status, 200);
      assert.ok(r.buf.equals(file));
      r = await req('GET', path, da);
      assert.deepEqual([r.status, code(r)], [403, 'forbidden']);
    } finally {
      await host.close();
      await store2.stop();
    }
  });
  return () => ({ server, alice, bob, call, dir });
}
