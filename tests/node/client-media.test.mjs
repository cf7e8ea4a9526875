// The client's files (sync.attach / file / fileStatus / evictFiles, the
// `file` event) against PostgreSQL 15 and the node host with its filesystem
// media store: upload after the row's push, download on a second device,
// resume after a restart and after a cut connection, refusals for good
// rolled back on both devices, offline attach, eager download, eviction.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { startStack, openClient, waitFor, sqlite, fakeLocks } from '../harness/client.mjs';
import { mediaRefOf } from '../../hosts/common/media-ref.mjs';

const MAX = 2 * 1024 * 1024;
const schemaWith = (maxBytes) => ({
  version: 1,
  tables: [{
    name: 'docs', primaryKey: 'id', owner: 'ownerId',
    columns: [
      { name: 'id', type: 'text' }, { name: 'ownerId', type: 'text' }, { name: 'title', type: 'text' },
      { name: 'file', type: 'blob_ref', media: { maxBytes, mime: ['image/png', 'image/jpeg'] } },
    ],
  }],
});
const schema = schemaWith(MAX);
const PNG_HEAD = Buffer.from('89504e470d0a1a0a', 'hex');
const png = (n) => new Uint8Array(Buffer.concat([PNG_HEAD, randomBytes(n - PNG_HEAD.length)]));
const PART = 64 * 1024;

let stack; let dir; const tmp = [];
const tempDir = () => { const d = mkdtempSync(join(tmpdir(), 'edgesync-client-media-')); tmp.push(d); return d; };

before(async () => {
  dir = tempDir();
  stack = await startStack(schema, { media: { dir, secret: 'client-media-test-secret-0123456789ab' } });
});
after(async () => {
  await stack?.stop();
  for (const d of tmp) rmSync(d, { recursive: true, force: true });
});

/** A client of `user` recording its `file` events and its media requests. */
async function device(user, { fetch: wrap, ...o } = {}) {
  const requests = [];
  const fetch = async (url, init) => {
    const u = new URL(url);
    const r = { method: init?.method ?? 'GET', path: u.pathname, offset: u.searchParams.get('offset'), status: null };
    if (u.pathname.startsWith('/media/')) requests.push(r);
    const res = await (wrap ?? globalThis.fetch)(url, init);
    r.status = res.status;
    return res;
  };
  const c = await openClient(o.url ?? stack.url, o.schema ?? schema, user, { fetch, media: { partSize: PART, ...o.media }, ...o });
  c.files = [];
  c.requests = requests;
  c.sync.on('file', (e) => c.files.push(e));
  return c;
}
const bytesOf = async (blob) => new Uint8Array(await blob.arrayBuffer());
const fileDone = (c, ref, status = 'synced') => waitFor(() => c.files.find((e) => e.ref === ref && e.status === status), { what: `file ${status}` });

test('attach: stored locally at once, uploaded after the row is acknowledged, read by a second device', async () => {
  const a = await device('alice');
  const b = await device('alice');
  try {
    await a.sync.exec("INSERT INTO docs (id, ownerId, title) VALUES ('d1', 'alice', 'one')");
    const data = png(300_000);
    const ref = await a.sync.attach('docs', 'd1', 'file', new Blob([data], { type: 'image/png' }));
    assert.equal(ref, await mediaRefOf(data));
    // The row names the file at once, and the bytes read back locally before any upload.
    assert.equal(a.rows("SELECT file FROM docs WHERE id = 'd1'")[0].file, ref);
    assert.deepEqual(await bytesOf(await a.sync.file('docs', 'd1', 'file')), data);
    assert.equal((await a.sync.fileStatus(ref)).status === 'pending' || a.files.length > 1, true);
    await fileDone(a, ref);
    const statuses = a.files.filter((e) => e.ref === ref).map((e) => e.status);
    assert.equal(statuses[0], 'pending');
    assert.ok(statuses.includes('uploading'));
    const progress = a.files.filter((e) => e.status === 'uploading').map((e) => e.sent);
    assert.deepEqual(progress, [...progress].sort((x, y) => x - y), 'progress only grows');
    assert.ok(progress.includes(PART), 'progress per part');
    // Parts of partSize, in order, after the row's push was acknowledged.
    const puts = a.requests.filter((r) => r.method === 'PUT').map((r) => Number(r.offset));
    assert.deepEqual(puts, Array.from({ length: Math.ceil(data.length / PART) }, (_, i) => i * PART));
    const st = await a.sync.fileStatus(ref);
    assert.deepEqual([st.status, st.sent, st.size, st.mime, st.local, st.table, st.pk, st.column], ['synced', data.length, data.length, 'image/png', true, 'docs', ['d1'], 'file']);

    await b.sync.syncNow();
    const got = await b.sync.file('docs', 'd1', 'file');
    assert.equal(got.type, 'image/png');
    assert.deepEqual(await bytesOf(got), data);
    assert.equal((await b.sync.fileStatus(ref)).local, true);
    // The second read is local: no request.
    const n = b.requests.length;
    assert.deepEqual(await bytesOf(await b.sync.file('docs', 'd1', 'file')), data);
    assert.equal(b.requests.length, n);
    // Evicted, it downloads again.
    assert.deepEqual(await b.sync.evictFiles(), { evicted: 1, bytes: data.length, keptBytes: 0 });
    assert.equal((await b.sync.fileStatus(ref)), null);
    assert.deepEqual(await bytesOf(await b.sync.file('docs', 'd1', 'file')), data);
    assert.equal(b.requests.length, n + 1);
    // An empty column has no file.
    await a.sync.exec("INSERT INTO docs (id, ownerId, title) VALUES ('d0', 'alice', 'none')");
    assert.equal(await a.sync.file('docs', 'd0', 'file'), null);
  } finally {
    await a.close();
    await b.close();
  }
});

test('a local limit refuses at once; a server refusal rolls the reference back on both devices', async () => {
  // This device's schema allows more than the server's (e.g. an older build).
  const a = await device('bob', { schema: schemaWith(8 * MAX) });
  const b = await device('bob');
  try {
    await a.sync.exec("INSERT INTO docs (id, ownerId, title) VALUES ('r1', 'bob', 'r')");
    const good = png(20_000);
    const goodRef = await a.sync.attach('docs', 'r1', 'file', good, { mime: 'image/png' });
    await fileDone(a, goodRef);
    // Checked here first: wrong type, too large for this schema.
    await assert.rejects(a.sync.attach('docs', 'r1', 'file', good, { mime: 'image/gif' }), { code: 'unsupported_media_type' });
    await assert.rejects(a.sync.attach('docs', 'r1', 'file', new Uint8Array(8 * MAX + 1), { mime: 'image/png' }), { code: 'too_large' });
    assert.equal(a.rows("SELECT file FROM docs WHERE id = 'r1'")[0].file, goodRef);

    // The server refuses the size (413 too_large): rolled back to the previous file.
    const big = png(MAX + 1);
    const bigRef = await a.sync.attach('docs', 'r1', 'file', big, { mime: 'image/png' });
    const err = await fileDone(a, bigRef, 'error');
    assert.equal(err.error.code, 'too_large');
    const rej = await waitFor(() => a.events.rejected.find((r) => r.file?.ref === bigRef), { what: 'rejected' });
    assert.deepEqual([rej.table, rej.pk, rej.reason, rej.restored, rej.row.file], ['docs', ['r1'], 'too_large', true, goodRef]);
    assert.equal(a.rows("SELECT file FROM docs WHERE id = 'r1'")[0].file, goodRef);
    assert.equal((await a.sync.fileStatus(bigRef)).status, 'error');

    // Not a PNG though declared one: the server refuses at completion (415).
    const fake = new Uint8Array(randomBytes(5000));
    const fakeRef = await a.sync.attach('docs', 'r1', 'file', fake, { mime: 'image/png' });
    assert.equal((await fileDone(a, fakeRef, 'error')).error.code, 'unsupported_media_type');
    await waitFor(() => a.events.rejected.find((r) => r.file?.ref === fakeRef && r.reason === 'unsupported_media_type'));
    assert.equal(a.rows("SELECT file FROM docs WHERE id = 'r1'")[0].file, goodRef);
    await a.sync.syncNow();

    // The other device ends with the previous file, which opens.
    await b.sync.syncNow();
    assert.equal(b.rows("SELECT file FROM docs WHERE id = 'r1'")[0].file, goodRef);
    assert.deepEqual(await bytesOf(await b.sync.file('docs', 'r1', 'file')), good);
    const [server] = await stack.sql`select file from docs where id = 'r1'`;
    assert.equal(server.file, goodRef);
  } finally {
    await a.close();
    await b.close();
  }
});

test('a restart mid-upload resumes from the server\'s offset (the upload id survives in the database)', async () => {
  const s3 = await sqlite();
  const db = new s3.oo1.DB(':memory:', 'c');
  const mediaDir = tempDir();
  const data = png(600_000);
  let puts = 0;
  let stopAfter = null;
  const a = await device('carol', {
    db, mediaDir,
    fetch: async (url, init) => {
      const res = await globalThis.fetch(url, init);
      if (init?.method === 'PUT' && ++puts === 3) stopAfter?.();
      return res;
    },
  });
  let stopped;
  stopAfter = () => { stopped = a.sync.stop(); };
  await a.sync.exec("INSERT INTO docs (id, ownerId, title) VALUES ('c1', 'carol', 'c')");
  const ref = await a.sync.attach('docs', 'c1', 'file', data, { mime: 'image/png' });
  await waitFor(() => puts >= 3, { what: 'the stop mid-upload' });
  await stopped;
  const [u] = db.selectObjects('SELECT upload_id, sent, status FROM sync_media_uploads WHERE ref = ?', [ref]);
  assert.equal(u.status, 'uploading');
  assert.ok(u.upload_id && u.sent >= 2 * PART && u.sent < data.length, JSON.stringify(u));

  // "Reload": a new client on the same database and folder.
  const a2 = await device('carol', { db, mediaDir });
  const b = await device('carol');
  try {
    await fileDone(a2, ref);
    const first = a2.requests.filter((r) => r.method === 'PUT').map((r) => Number(r.offset))[0];
    assert.ok(first >= 2 * PART, `resumed at ${first}`);
    assert.ok(a2.requests.some((r) => r.method === 'GET' && r.path.startsWith('/media/uploads/')), 'asked for the offset');
    assert.ok(!a2.requests.some((r) => r.method === 'POST' && r.path === '/media/uploads'), 'no new upload');
    await b.sync.syncNow();
    assert.deepEqual(await bytesOf(await b.sync.file('docs', 'c1', 'file')), data);
  } finally {
    await a2.close();
    await b.close();
    db.close();
  }
});

/** A TCP proxy to the host that cuts the connection carrying the `cutAt`th upstream byte (once). */
async function cuttingProxy(target, cutAt) {
  const { port, hostname } = new URL(target);
  let total = 0;
  let cut = false;
  const sockets = new Set();
  const server = net.createServer((down) => {
    const up = net.connect(Number(port), hostname);
    sockets.add(down).add(up);
    down.on('data', (d) => {
      total += d.length;
      if (!cut && total >= cutAt) {
        cut = true;
        up.write(d.subarray(0, d.length - (total - cutAt)));
        down.destroy();
        up.destroy();
        return;
      }
      up.write(d);
    });
    up.on('data', (d) => down.write(d));
    for (const [s, o] of [[down, up], [up, down]]) {
      s.on('error', () => o.destroy());
      s.on('close', () => { o.destroy(); sockets.delete(s); });
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    get cut() { return cut; },
    close: () => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(r); }),
  };
}

test('a connection cut mid-part: the upload continues from the bytes that arrived', async () => {
  const proxy = await cuttingProxy(stack.url, 400_000);
  const data = png(700_000);
  const a = await device('dave', { url: proxy.url, media: { partSize: 256 * 1024 } });
  const b = await device('dave');
  try {
    await a.sync.exec("INSERT INTO docs (id, ownerId, title) VALUES ('e1', 'dave', 'e')");
    const ref = await a.sync.attach('docs', 'e1', 'file', data, { mime: 'image/png' });
    await fileDone(a, ref);
    assert.ok(proxy.cut, 'the connection was cut');
    // After the cut it asked the server how far it got, and went on from there.
    assert.ok(a.requests.some((r) => r.method === 'GET' && r.path.startsWith('/media/uploads/')), 'asked for the offset');
    const sent = a.requests.filter((r) => r.method === 'PUT').length;
    assert.ok(sent <= Math.ceil(data.length / (256 * 1024)) + 1, `${sent} parts`);
    assert.equal(a.requests.filter((r) => r.method === 'POST' && r.path === '/media/uploads').length, 1);
    await b.sync.syncNow();
    assert.deepEqual(await bytesOf(await b.sync.file('docs', 'e1', 'file')), data);
  } finally {
    await a.close();
    await b.close();
    await proxy.close();
  }
});

test('attach offline, then online: the file follows its row; a reader waits for an unfinished upload', async () => {
  let release;
  const gate = new Promise((r) => { release = r; });
  const a = await device('erin', {
    fetch: async (url, init) => {
      if (init?.method === 'PUT') await gate; // hold the bytes back until told
      return globalThis.fetch(url, init);
    },
  });
  const b = await device('erin', { media: { eager: [] } });
  try {
    a.sync.setOnline(false);
    await waitFor(() => a.sync.status.state === 'offline', { what: 'offline' });
    await a.sync.exec("INSERT INTO docs (id, ownerId, title) VALUES ('f1', 'erin', 'f')");
    const data = png(100_000);
    const ref = await a.sync.attach('docs', 'f1', 'file', data, { mime: 'image/png' });
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(a.requests, [], 'nothing sent offline');
    assert.equal((await a.sync.fileStatus(ref)).status, 'pending');
    a.sync.setOnline(true);
    await waitFor(() => a.files.find((e) => e.ref === ref && e.status === 'uploading'), { what: 'uploading' });
    // The row arrived at the other device, its file not yet.
    await b.sync.syncNow();
    assert.equal(b.rows("SELECT file FROM docs WHERE id = 'f1'")[0].file, ref);
    await assert.rejects(b.sync.file('docs', 'f1', 'file'), { code: 'not_uploaded' });
    const waiting = b.sync.file('docs', 'f1', 'file', { wait: true, timeoutMs: 20000 });
    release();
    await fileDone(a, ref);
    assert.deepEqual(await bytesOf(await waiting), data);
  } finally {
    release();
    await a.close();
    await b.close();
  }
});

test('eager columns download after the pull; eviction keeps files still to upload', async () => {
  const a = await device('frank');
  const c = await device('frank', { media: { eager: ['docs.file'] } });
  try {
    await a.sync.exec("INSERT INTO docs (id, ownerId, title) VALUES ('g1', 'frank', 'g')");
    const data = png(50_000);
    const ref = await a.sync.attach('docs', 'g1', 'file', data, { mime: 'image/png' });
    await fileDone(a, ref);
    await waitFor(async () => { await c.sync.syncNow(); return (await c.sync.fileStatus(ref))?.local; }, { what: 'the eager download' });
    const n = c.requests.length;
    assert.deepEqual(await bytesOf(await c.sync.file('docs', 'g1', 'file')), data);
    assert.equal(c.requests.length, n, 'read locally');

    // A file still to upload is never evicted.
    a.sync.setOnline(false);
    await waitFor(() => a.sync.status.state === 'offline', { what: 'offline' });
    await a.sync.exec("INSERT INTO docs (id, ownerId, title) VALUES ('g2', 'frank', 'g')");
    const pending = png(30_000);
    const pRef = await a.sync.attach('docs', 'g2', 'file', pending, { mime: 'image/png' });
    const r = await a.sync.evictFiles();
    assert.deepEqual(r, { evicted: 1, bytes: data.length, keptBytes: pending.length });
    assert.deepEqual(await bytesOf(await a.sync.file('docs', 'g2', 'file')), pending);
    a.sync.setOnline(true);
    await fileDone(a, pRef);
  } finally {
    await a.close();
    await c.close();
  }
});

test('two tabs: a follower\'s attach runs in the leading tab, which uploads; both see the file events', async () => {
  const s3 = await sqlite();
  const shared = new s3.oo1.DB(':memory:', 'c');
  const locks = fakeLocks();
  const mediaDir = tempDir(); // one store per origin, like OPFS
  const opts = { db: () => shared, dbName: 'tabs-media', mediaDir, tabs: { locks, BroadcastChannel } };
  const a = await device('gina', opts);
  const b = await device('gina', opts);
  const other = await device('gina');
  try {
    assert.deepEqual([a.sync.role, b.sync.role], ['leader', 'follower']);
    await b.sync.exec("INSERT INTO docs (id, ownerId, title) VALUES ('t1', 'gina', 't')");
    const data = png(150_000);
    const ref = await b.sync.attach('docs', 't1', 'file', data, { mime: 'image/png' });
    await fileDone(b, ref); // forwarded by the leading tab
    await fileDone(a, ref);
    assert.equal(b.requests.length, 0, 'the follower sent no media request');
    assert.ok(a.requests.some((r) => r.method === 'PUT'), 'the leader uploaded');
    assert.equal((await b.sync.fileStatus(ref)).status, 'synced');
    assert.deepEqual(await bytesOf(await b.sync.file('docs', 't1', 'file')), data);
    await other.sync.syncNow();
    assert.deepEqual(await bytesOf(await other.sync.file('docs', 't1', 'file')), data);
  } finally {
    await b.close({ keepDb: true });
    await a.close({ keepDb: true });
    await other.close();
    shared.close();
  }
});

test('a refused token is refreshed once (like /sync), then the upload goes on', async () => {
  const { signDevToken } = await import('../../hosts/server/auth.mjs');
  // Signed with another secret: the host refuses it (401) like an expired one.
  const refused = await signDevToken('not-the-host-secret-0123456789abcdefgh', { sub: 'hana', ttlSec: 600, audience: 'authenticated' });
  const { tokenFor } = await import('../harness/client.mjs');
  const refreshes = [];
  let stale = false;
  const a = await device('hana', {
    // After the row's push, the cached token "expires": the server refuses it.
    getToken: async ({ refresh }) => {
      if (refresh) refreshes.push(Date.now());
      return stale && !refresh ? refused : tokenFor('hana');
    },
  });
  try {
    await a.sync.exec("INSERT INTO docs (id, ownerId, title) VALUES ('h1', 'hana', 'h')");
    await a.sync.syncNow();
    stale = true;
    const ref = await a.sync.attach('docs', 'h1', 'file', png(10_000), { mime: 'image/png' });
    await fileDone(a, ref);
    assert.ok(refreshes.length >= 1, 'getToken({ refresh: true }) was asked');
    const create = a.requests.filter((r) => r.path === '/media/uploads');
    assert.deepEqual(create.map((r) => r.status).slice(0, 2), [401, 201], 'refused, then asked again with the fresh token');
  } finally {
    await a.close();
  }
});

// Answers the other media helpers' server work adds (docs/protocol.md): a
// deduplicated create (no bytes needed) and a quota refusal. Until that
// server lands, the host's answer is replaced for the one request, exactly
// as documented; everything else is the real host.
test('a deduplicated create needs no bytes; quota_exceeded is a refusal for good', async () => {
  let answer = null;
  const a = await device('ivan', {
    fetch: async (url, init) => {
      if (answer && new URL(url).pathname === '/media/uploads' && init?.method === 'POST') {
        const r = answer;
        answer = null;
        return Response.json(r.body, { status: r.status });
      }
      return globalThis.fetch(url, init);
    },
  });
  try {
    await a.sync.exec("INSERT INTO docs (id, ownerId, title) VALUES ('i1', 'ivan', 'i')");
    const data = png(40_000);
    const ref = await mediaRefOf(data);
    answer = { status: 200, body: { ref, size: data.length, mime: 'image/png', sha256: ref.slice(7), deduplicated: true } };
    await a.sync.attach('docs', 'i1', 'file', data, { mime: 'image/png' });
    await fileDone(a, ref);
    assert.equal(a.requests.filter((r) => r.method === 'PUT').length, 0, 'no bytes sent');

    answer = { status: 413, body: { error: { code: 'quota_exceeded', message: 'the user stores 1 GiB already', path: 'size' } } };
    const more = png(30_000);
    const moreRef = await a.sync.attach('docs', 'i1', 'file', more, { mime: 'image/png' });
    assert.equal((await fileDone(a, moreRef, 'error')).error.code, 'quota_exceeded');
    const rej = await waitFor(() => a.events.rejected.find((r) => r.file?.ref === moreRef));
    assert.deepEqual([rej.reason, rej.restored, rej.row.file], ['quota_exceeded', true, ref]);
    assert.equal(a.rows("SELECT file FROM docs WHERE id = 'i1'")[0].file, ref);
  } finally {
    await a.close();
  }
});
