// The media endpoints (docs/protocol.md, "Media (blob_ref files)") as one
// environment-neutral route from a web-standard Request to a Response. Thin
// on purpose: the limits, the magic-byte signatures and the authorization
// statements come from the core's media plan (`schema.media_sql`, the same
// row rules as the sync); this file runs them, moves bytes through a storage
// backend (storage.d.ts in types/server.d.ts) and answers.
import { corsHeaders } from '../cors.mjs';
import { createSigner } from './signing.mjs';
import { matchesMagic, magicHeadLength } from './magic.mjs';
import { MEDIA_REF, mediaRef, objectKey } from '../../common/media-ref.mjs';
import { lockObject, lockUser, mediaUsage } from './sweep.mjs';

const UPLOAD_ID = /^[0-9a-f]{32}$/;
const SHA256 = /^[0-9a-f]{64}$/;
/** Parts are this size (the last one shorter); an S3 backend needs >= 5 MiB. */
export const PART_SIZE = 8 * 1024 * 1024;
const MAX_JSON = 16 * 1024;
const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');

/** A refusal: an HTTP status, a machine-readable code, a message, a JSON path. */
class Refusal {
  constructor(status, code, message, path, extra) { Object.assign(this, { status, code, message, path, extra }); }
}
const refuse = (...a) => { throw new Refusal(...a); };

/**
 * Creates the media route: `(request, url) => Promise<Response|null>` (null
 * for paths outside /media/).
 *
 * @param {object} o
 * @param {import('../../wasm/core.mjs').Core} o.core
 * @param {object} o.schema the shared schema document
 * @param {import('postgres').Sql} o.sql
 * @param {{verify(h: string|null): Promise<{userId: string}>}} o.verifier
 * @param {object} o.storage a storage backend (e.g. ../../node/media-fs.mjs)
 * @param {string} o.secret signs download URLs (>= 32 characters)
 * @param {number} [o.urlTtlSec=300] lifetime of a signed download URL
 * @param {number|null} [o.quotaBytes=null] bytes each user may hold (stored objects + unfinished uploads); null: no quota
 * @param {string} [o.corsOrigin='*']
 * @param {() => number} [o.now=Date.now]
 * @param {{error: Function}} [o.logger=console]
 */
export async function createMediaRoute({
  core, schema, sql, verifier, storage, secret, urlTtlSec = 300, quotaBytes = null, corsOrigin = '*', now = Date.now,
  logger = console,
}) {
  const plan = core.call('schema.media_sql', schema);
  const columns = new Map(plan.columns.map((c) => [`${c.table}\u0000${c.column}`, {
    ...c, head: magicHeadLength(c.magic),
  }]));
  const signer = await createSigner(secret);
  const busy = new Set(); // uploads with a part being written (one at a time)

  // The same origin rule as /sync.
  function withCors(request, response) {
    for (const [k, v] of Object.entries(corsHeaders(corsOrigin, request, 'WWW-Authenticate'))) {
      if (k === 'vary') response.headers.append(k, v);
      else response.headers.set(k, v);
    }
    return response;
  }
  const json = (status, body) => new Response(JSON.stringify(body), {
    status, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  });
  const failure = (r) => json(r.status, { ...core.errorBody(r.code, r.message, r.path), ...(r.extra ?? {}) });

  async function user(request) {
    try {
      return (await verifier.verify(request.headers.get('authorization'))).userId;
    } catch (e) {
      if (e?.code === 'unauthorized') refuse(401, 'unauthorized', e.message);
      if (e?.code === 'unavailable') refuse(503, 'unavailable', e.message);
      throw e;
    }
  }

  async function readJson(request) {
    const declared = Number(request.headers.get('content-length') ?? 0);
    if (declared > MAX_JSON) refuse(413, 'payload_too_large', `the request body is larger than ${MAX_JSON} bytes`);
    const text = await request.text();
    if (text.length > MAX_JSON) refuse(413, 'payload_too_large', `the request body is larger than ${MAX_JSON} bytes`);
    try {
      const body = JSON.parse(text);
      if (body && typeof body === 'object' && !Array.isArray(body)) return body;
    } catch { /* below */ }
    return refuse(400, 'invalid_json', 'expected a JSON object body');
  }

  // The column's plan for {table, column}, and the row key as the SQL takes it.
  function target(body) {
    for (const k of ['table', 'column']) {
      if (typeof body[k] !== 'string') refuse(400, 'invalid_request', `expected a string`, k);
    }
    const col = columns.get(`${body.table}\u0000${body.column}`);
    if (!col) {
      refuse(400, 'invalid_request', `${body.table}.${body.column} takes no uploads: declare it a blob_ref column with ` +
        '"media": {"maxBytes", "mime"} in the schema', 'column');
    }
    const pk = Array.isArray(body.pk) ? body.pk : [body.pk];
    if (pk.length === 0 || !pk.every((v) => typeof v === 'string' || Number.isSafeInteger(v))) {
      refuse(400, 'invalid_request', 'expected the row\'s primary key: a string or integer, or an array of them', 'pk');
    }
    return { col, pk: JSON.stringify(pk.map(String)) };
  }

  // The sync's write rule on the row, from the core's statement.
  async function mayWrite(col, userId, pk) {
    const [{ access }] = await sql.unsafe(col.writeSql, [userId, pk]);
    if (access === 'absent') refuse(404, 'row_not_found', 'no such row on the server: push the row first, then upload its file', 'pk');
    if (access !== 'ok') refuse(403, 'forbidden', 'you may not write this row', 'pk');
  }

  async function createUpload(request) {
    const userId = await user(request);
    const body = await readJson(request);
    const { col, pk } = target(body);
    if (!Number.isSafeInteger(body.size) || body.size < 1) refuse(400, 'invalid_request', 'expected the file size in bytes (>= 1)', 'size');
    if (body.size > col.maxBytes) {
      refuse(413, 'too_large', `the file has ${body.size} bytes; ${col.table}.${col.column} takes at most ${col.maxBytes}`, 'size',
        { maxBytes: col.maxBytes });
    }
    if (typeof body.mime !== 'string' || !col.mime.includes(body.mime)) {
      refuse(415, 'unsupported_media_type', `${col.table}.${col.column} takes ${col.mime.join(', ')}`, 'mime', { accepted: col.mime });
    }
    if (typeof body.sha256 !== 'string' || !SHA256.test(body.sha256)) {
      refuse(400, 'invalid_request', 'expected the file\'s SHA-256 as 64 lowercase hex digits', 'sha256');
    }
    await mayWrite(col, userId, pk);
    const ref = mediaRef(body.sha256);
    if (await deduplicate(userId, col, pk, ref, body.size, body.mime)) {
      return json(200, { ref, size: body.size, mime: body.mime, sha256: body.sha256, deduplicated: true });
    }
    const id = hex(crypto.getRandomValues(new Uint8Array(16)));
    const insert = (tx) => tx`insert into edgesync_media_uploads (id, user_id, tbl, col, pk, size, mime, sha256)
      values (${id}, ${userId}, ${col.table}, ${col.column}, ${pk}::jsonb, ${body.size}, ${body.mime}, ${body.sha256})`;
    if (quotaBytes === null) await insert(sql);
    else {
      // Checked and counted under the user's lock: two uploads at once cannot both fit the last bytes.
      await sql.begin(async (tx) => {
        await lockUser(tx, userId);
        await withinQuota(tx, userId, { sha256: body.sha256, size: body.size });
        await insert(tx);
      });
    }
    return json(201, { uploadId: id, offset: 0, size: body.size, partSize: PART_SIZE });
  }

  // Refuses 413 quota_exceeded when `size` more bytes would take the user
  // past the quota (a file they already hold costs nothing).
  async function withinQuota(q, userId, { sha256, size, exceptId }) {
    if (quotaBytes === null) return;
    const { usedBytes, owned } = await mediaUsage(q, userId, { sha256, exceptId });
    if (!owned && usedBytes + size > quotaBytes) {
      refuse(413, 'quota_exceeded', `the file has ${size} bytes; you hold ${usedBytes} of your ${quotaBytes} bytes: ` +
        'delete files (their storage is freed after the grace period) or ask for a larger quota', 'size',
      { quotaBytes, usedBytes });
    }
  }

  // The same user already uploaded these bytes (a record carries their id
  // and the object is stored): record them for this row too, no bytes sent.
  // They hold the file already, so this tells them nothing new. Under the
  // object's lock, so the sweep cannot delete it in between.
  async function deduplicate(userId, col, pk, ref, size, mime) {
    const own = (q) => q`select 1 as x from edgesync_media
      where key = ${ref} and user_id = ${userId} and size = ${size} and mime = ${mime} limit 1`;
    if ((await own(sql)).length === 0) return false; // the usual case: no transaction, no lock
    return sql.begin(async (tx) => {
      await lockObject(tx, ref);
      if ((await own(tx)).length === 0 || (await storage.size(objectKey(ref))) !== size) return false;
      await tx`insert into edgesync_media (key, tbl, col, pk, user_id, size, mime)
        values (${ref}, ${col.table}, ${col.column}, ${pk}::jsonb, ${userId}, ${size}, ${mime})
        on conflict do nothing`;
      return true;
    });
  }

  // The caller's own upload; another user's is "not found" (ids leak nothing).
  async function upload(id, userId) {
    if (!UPLOAD_ID.test(id)) refuse(404, 'not_found', 'no such upload', 'uploadId');
    const [u] = await sql`select id, tbl, col, pk::text as pk, size::int8 as size, mime, sha256
      from edgesync_media_uploads where id = ${id} and user_id = ${userId}`;
    if (!u) refuse(404, 'not_found', 'no such upload (finished, cancelled, or never created)', 'uploadId');
    return { ...u, size: Number(u.size), col: columns.get(`${u.tbl}\u0000${u.col}`) };
  }

  async function status(request, id) {
    const u = await upload(id, await user(request));
    return json(200, { uploadId: id, offset: await storage.stagedSize(id), size: u.size, partSize: PART_SIZE });
  }

  async function putPart(request, id, url) {
    const u = await upload(id, await user(request));
    const offset = Number(url.searchParams.get('offset'));
    if (!Number.isSafeInteger(offset) || offset < 0) refuse(400, 'invalid_request', 'expected ?offset=<bytes already sent>', 'offset');
    const declared = request.headers.get('content-length');
    if (declared !== null && offset + Number(declared) > u.size) {
      refuse(413, 'too_large', `the part ends past the declared size (${u.size} bytes)`, 'size');
    }
    if (busy.has(id)) refuse(409, 'upload_busy', 'a part of this upload is being written; wait for it, then ask for the offset');
    busy.add(id);
    try {
      const staged = await storage.stagedSize(id);
      if (staged !== offset) {
        refuse(409, 'offset_mismatch', `the upload has ${staged} bytes; send from there`, 'offset', { offset: staged });
      }
      const r = await storage.appendPart(id, offset, request.body, u.size);
      if (r.tooLarge) refuse(413, 'too_large', `the part ends past the declared size (${u.size} bytes); nothing of it was kept`, 'size');
      return json(200, { uploadId: id, offset: r.size, size: u.size });
    } finally {
      busy.delete(id);
    }
  }

  async function complete(request, id) {
    const userId = await user(request);
    const u = await upload(id, userId);
    if (busy.has(id)) refuse(409, 'upload_busy', 'a part of this upload is being written');
    busy.add(id);
    try {
      const drop = async (...why) => {
        await storage.discard(id);
        await sql`delete from edgesync_media_uploads where id = ${id}`;
        refuse(...why);
      };
      if (!u.col) await drop(400, 'invalid_request', 'the column no longer takes uploads (schema changed)', 'column');
      const staged = await storage.stagedSize(id);
      if (staged !== u.size) refuse(409, 'incomplete', `the upload has ${staged} of ${u.size} bytes`, 'offset', { offset: staged });
      const { sha256, head } = await storage.inspect(id, u.col.head);
      if (sha256 !== u.sha256) await drop(400, 'hash_mismatch', 'the bytes do not have the declared SHA-256; upload again', 'sha256');
      if (!matchesMagic(head, u.col.magic[u.mime])) {
        await drop(415, 'unsupported_media_type', `the file's content is not ${u.mime}`, 'mime');
      }
      // The row may have changed hands since the upload began; the quota may
      // have shrunk.
      try {
        await mayWrite(u.col, userId, u.pk);
        await withinQuota(sql, userId, { sha256: u.sha256, size: u.size, exceptId: id });
      } catch (e) {
        await storage.discard(id);
        await sql`delete from edgesync_media_uploads where id = ${id}`;
        throw e;
      }
      const key = mediaRef(u.sha256);
      // Under the object's lock: the sweep never deletes an object between
      // these bytes landing and their record.
      await sql.begin(async (tx) => {
        await lockObject(tx, key);
        await storage.commit(id, objectKey(key));
        await tx`insert into edgesync_media (key, tbl, col, pk, user_id, size, mime)
          values (${key}, ${u.tbl}, ${u.col.column}, ${u.pk}::jsonb, ${userId}, ${u.size}, ${u.mime})
          on conflict do nothing`;
        await tx`delete from edgesync_media_uploads where id = ${id}`;
      });
      return json(200, { ref: key, size: u.size, mime: u.mime, sha256: u.sha256 });
    } finally {
      busy.delete(id);
    }
  }

  async function cancel(request, id) {
    await upload(id, await user(request));
    await storage.discard(id);
    await sql`delete from edgesync_media_uploads where id = ${id}`;
    return json(200, { uploadId: id, cancelled: true });
  }

  // The row's file if the sync's read rule lets the user pull the row.
  async function readable(userId, query) {
    const { col, pk } = target(query);
    const [r] = await sql.unsafe(col.readSql, [userId, pk]);
    if (r.access === 'forbidden') refuse(403, 'forbidden', 'you may not read this row', 'pk');
    if (r.access === 'ok' && (!r.key || !MEDIA_REF.test(r.key)) && typeof r.ref === 'string' && MEDIA_REF.test(r.ref)) {
      // Refs are content hashes: a device syncs the row first, then uploads.
      refuse(404, 'not_uploaded', 'the row names a file whose upload has not finished: retry later', 'column', { ref: r.ref });
    }
    if (r.access !== 'ok' || !r.key || !MEDIA_REF.test(r.key)) refuse(404, 'not_found', 'the row has no uploaded file in this column', 'column');
    return r;
  }

  const fromQuery = (url) => {
    const pk = url.searchParams.getAll('pk');
    return { table: url.searchParams.get('table'), column: url.searchParams.get('column'), pk: pk.length === 1 ? pk[0] : pk };
  };

  async function stream(key, mime, size, request) {
    const object = await storage.get(objectKey(key));
    if (!object) refuse(404, 'not_found', 'the file is missing from storage', 'column');
    return new Response(request.method === 'HEAD' ? null : object.body, {
      status: 200,
      headers: {
        'content-type': mime, 'content-length': String(size), 'cache-control': 'private, max-age=300',
        'x-content-type-options': 'nosniff', 'content-disposition': 'attachment',
      },
    });
  }

  async function signedUrl(request, url) {
    const userId = await user(request);
    const r = await readable(userId, fromQuery(url));
    const exp = Math.floor(now() / 1000) + urlTtlSec;
    const sig = await signer.sign(r.key, r.mime, exp);
    const q = new URLSearchParams({ key: r.key, mime: r.mime, exp: String(exp), sig });
    return json(200, { url: `/media/signed?${q}`, expiresAt: exp, size: Number(r.size), mime: r.mime });
  }

  async function signedGet(request, url) {
    const key = url.searchParams.get('key') ?? '';
    const mime = url.searchParams.get('mime') ?? '';
    const exp = Number(url.searchParams.get('exp'));
    if (!MEDIA_REF.test(key) || !(await signer.verify(key, mime, exp, url.searchParams.get('sig'), Math.floor(now() / 1000)))) {
      refuse(403, 'invalid_signature', 'the download link is forged, altered or expired; ask for a new one', 'sig');
    }
    const meta = await storage.size(objectKey(key));
    if (meta === null) refuse(404, 'not_found', 'the file is missing from storage');
    return stream(key, mime, meta, request);
  }

  async function route(request, url) {
    const { pathname } = url;
    const m = pathname.match(/^\/media\/uploads\/([^/]+)(\/complete)?$/);
    const method = request.method;
    if (method === 'OPTIONS') {
      return new Response(null, { status: 204, headers: { 'access-control-allow-methods': 'GET, HEAD, POST, PUT, DELETE, OPTIONS',
        'access-control-allow-headers': 'Authorization, Content-Type', 'access-control-max-age': '86400' } });
    }
    if (pathname === '/media/uploads' && method === 'POST') return createUpload(request);
    if (m && !m[2] && method === 'GET') return status(request, m[1]);
    if (m && !m[2] && method === 'PUT') return putPart(request, m[1], url);
    if (m && !m[2] && method === 'DELETE') return cancel(request, m[1]);
    if (m && m[2] && method === 'POST') return complete(request, m[1]);
    if (pathname === '/media/file' && (method === 'GET' || method === 'HEAD')) {
      const r = await readable(await user(request), fromQuery(url));
      return stream(r.key, r.mime, Number(r.size), request);
    }
    if (pathname === '/media/url' && method === 'GET') return signedUrl(request, url);
    if (pathname === '/media/signed' && (method === 'GET' || method === 'HEAD')) return signedGet(request, url);
    return refuse(404, 'not_found', `no media endpoint ${method} ${pathname} (see docs/protocol.md, "Media")`);
  }

  /** The route: a Response for /media/…, null for other paths. */
  return async function mediaRoute(request, url) {
    if (!url.pathname.startsWith('/media/')) return null;
    return withCors(request, await answer(request, url));
  };

  async function answer(request, url) {
    try {
      return await route(request, url);
    } catch (e) {
      if (e instanceof Refusal) {
        // An unread body is cancelled: the node host then discards the rest
        // (and closes the connection after the answer) instead of keeping it.
        if (request.body && !request.bodyUsed) request.body.cancel().catch(() => {});
        return failure(e);
      }
      const id = Math.random().toString(36).slice(2, 10);
      logger.error(`edgesync: media request ${id}: ${e?.name ?? 'Error'}: ${e?.message ?? e}`);
      return failure(new Refusal(500, 'internal', `internal error — retry later (error id ${id})`));
    }
  }
}
