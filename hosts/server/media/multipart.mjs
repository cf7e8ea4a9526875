// A MediaStorage (types/server.d.ts) over an object store that has multipart
// uploads but no append: S3-compatible services (./s3.mjs) and R2 bindings
// (../../workerd/media-r2.mjs). Environment-neutral: the store adapter and the
// incremental SHA-256 are passed in.
//
// The staging bookkeeping lives in the store itself, so no database change is
// needed and a restart (or another isolate) resumes: a manifest object
// `staging/<id>.json` names the multipart upload and its finished parts
// (number, etag, size), all exactly PART_SIZE bytes except the last (S3 wants
// >= 5 MiB, R2 equal sizes). Bytes that do not fill a part yet — the end of a
// request shorter than a part, or what arrived of a part before its
// connection broke — are kept as a small "tail" object, read back and sent
// on with the next request. Only bytes buffered when the host process itself
// dies are lost (at most one part); the client then resumes from the offset
// the manifest gives.
//
// complete: inspect() assembles the parts into `staging/<id>.data` and hashes
// it by reading it back as a stream; commit() copies it to `o/<hex>` and drops
// the staging objects. Nothing of an upload is ever under `o/` before it is
// verified.
import { OBJECT_KEY } from '../../common/media-ref.mjs';
import { PART_SIZE } from './handler.mjs';
import { readLimited } from './read-limited.mjs';

const UPLOAD_ID = /^[0-9a-f]{32}$/;

/**
 * The store adapter a multipart MediaStorage needs (all keys are path-safe
 * ASCII; `bytes` are Uint8Array):
 * head(key) → size|null; get(key) → {body, size}|null; put(key, bytes);
 * delete(key); list(prefix) → keys; copy(from, to);
 * createMultipart(key) → uploadId; uploadPart(key, uploadId, n, bytes) → etag;
 * completeMultipart(key, uploadId, [{n, etag}]); abortMultipart(key, uploadId) → false when the
 * service cannot abort (then the parts are assembled and deleted instead).
 * @typedef {object} ObjectStore
 */

/**
 * A MediaStorage over `store`.
 * @param {object} o
 * @param {ObjectStore} o.store
 * @param {() => {update(b: Uint8Array): unknown, digest(): Promise<string>}} o.sha256 an incremental SHA-256 (hex digest)
 * @param {number} [o.partSize=PART_SIZE] bytes of every part but the last
 */
export function multipartMediaStorage({ store, sha256, partSize = PART_SIZE }) {
  const check = (id) => {
    if (!UPLOAD_ID.test(id)) throw new TypeError('bad upload id');
    return id;
  };
  const manifestKey = (id) => `staging/${check(id)}.json`;
  const dataKey = (id) => `staging/${check(id)}.data`;
  const objectKey = (key) => {
    if (!OBJECT_KEY.test(key)) throw new TypeError('bad media key');
    return key;
  };
  const randomHex = () => Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0')).join('');

  async function readAll(body, size) {
    const out = new Uint8Array(size);
    let at = 0;
    for await (const chunk of body) { out.set(chunk, at); at += chunk.byteLength; }
    if (at !== size) throw new Error(`short read from the media store: ${at} of ${size} bytes`);
    return out;
  }

  // The upload's manifest, or an empty one (nothing staged yet).
  async function manifest(id) {
    const o = await store.get(manifestKey(id));
    if (!o) return { multipart: null, parts: [], tail: null, assembled: false, none: true };
    return JSON.parse(new TextDecoder().decode(await readAll(o.body, o.size)));
  }
  const putManifest = (id, m) => store.put(manifestKey(id), new TextEncoder().encode(JSON.stringify({ ...m, none: undefined })));
  const stagedOf = (m) => m.parts.reduce((n, p) => n + p.size, 0) + (m.tail?.size ?? 0);

  // Drops a multipart upload and its parts [{n, etag}]; a service without
  // AbortMultipartUpload gets them assembled and the result deleted.
  async function abort(id, uploadId, parts) {
    if (await store.abortMultipart(dataKey(id), uploadId)) return;
    if (parts.length === 0) return; // nothing stored under this upload
    await store.completeMultipart(dataKey(id), uploadId, parts.map(({ n, etag }) => ({ n, etag })));
    await store.delete(dataKey(id));
  }

  async function discard(id) {
    const m = await manifest(id);
    if (m.multipart && !m.assembled) await abort(id, m.multipart, m.parts);
    const keys = (await store.list(`staging/${check(id)}.`)).filter((k) => k !== manifestKey(id));
    for (const k of keys) await store.delete(k);
    await store.delete(manifestKey(id)); // last: until then a retry finds the rest
  }

  return {
    /** Bytes staged so far for upload `id` (finished parts and the tail; 0 when none). */
    async stagedSize(id) { return stagedOf(await manifest(id)); },

    /**
     * Appends `body` at `offset` (the staged size), never past `limit` bytes in
     * all: every full part goes to the store as it fills; {size} after it, or
     * {tooLarge: true} with the manifest as it was (nothing of the part kept).
     */
    async appendPart(id, offset, body, limit) {
      const before = await manifest(id);
      if (stagedOf(before) !== offset) throw new Error('appendPart: offset is not the staged size');
      const m = structuredClone(before);
      let buf = new Uint8Array(partSize);
      let fill = 0;
      if (m.tail) {
        const t = await store.get(m.tail.key);
        if (!t) throw new Error(`the staged tail of upload ${id} is missing from the media store`);
        buf.set(await readAll(t.body, t.size), 0);
        fill = t.size;
      }
      const oldTail = m.tail?.key ?? null;
      let size = offset;
      let wrote = false; // the manifest was rewritten by this request

      const flushPart = async () => {
        m.multipart ??= await store.createMultipart(dataKey(id));
        const n = m.parts.length + 1;
        const etag = await store.uploadPart(dataKey(id), m.multipart, n, buf.subarray(0, fill));
        m.parts.push({ n, etag, size: fill });
        m.tail = null;
        await putManifest(id, m);
        wrote = true;
        fill = 0;
      };
      // The buffered bytes that fill no part yet, as a new tail object.
      const keepTail = async () => {
        const key = `staging/${id}.tail.${randomHex()}`;
        await store.put(key, buf.slice(0, fill));
        m.tail = { key, size: fill };
        await putManifest(id, m);
        wrote = true;
      };

      let broken = null;
      let read = { tooLarge: false };
      try {
        read = await readLimited(body, limit - offset, async (chunk) => {
          let at = 0;
          while (at < chunk.byteLength) {
            const n = Math.min(partSize - fill, chunk.byteLength - at);
            buf.set(chunk.subarray(at, at + n), fill);
            fill += n; at += n; size += n;
            if (fill === partSize) await flushPart();
          }
        });
      } catch (e) {
        broken = e; // a cut connection: keep what arrived, the client resumes
      }
      if (read.tooLarge) {
        if (wrote && before.none) await store.delete(manifestKey(id));
        else if (wrote) await putManifest(id, before);
        // A multipart upload begun by this very request goes too.
        if (m.multipart && !before.multipart) await abort(id, m.multipart, m.parts);
        return { tooLarge: true };
      }
      if (fill > 0) {
        if (size === limit && !broken) await flushPart(); // the last part
        else if (fill > (m.tail?.size ?? 0) || m.tail === null) await keepTail();
      }
      if (oldTail && m.tail?.key !== oldTail) await store.delete(oldTail).catch(() => {});
      buf = null;
      return { size: stagedOf(m) };
    },

    /** SHA-256 (hex) of the staged upload and its first `headBytes` bytes, read back as a stream. */
    async inspect(id, headBytes) {
      const m = await manifest(id);
      if (!m.assembled) {
        if (m.tail) throw new Error(`upload ${id} is not complete: its last bytes are not a part yet`);
        await store.completeMultipart(dataKey(id), m.multipart, m.parts.map(({ n, etag }) => ({ n, etag })));
        m.assembled = true;
        await putManifest(id, m);
      }
      const o = await store.get(dataKey(id));
      if (!o) throw new Error(`the assembled upload ${id} is missing from the media store`);
      const hash = sha256();
      const head = new Uint8Array(headBytes);
      let got = 0;
      for await (const chunk of o.body) {
        await hash.update(chunk);
        if (got < headBytes) {
          const n = Math.min(chunk.byteLength, headBytes - got);
          head.set(chunk.subarray(0, n), got);
          got += n;
        }
      }
      return { sha256: await hash.digest(), head: head.subarray(0, got) };
    },

    /** Copies the assembled upload to `key` (unless an identical object is there), then drops its staging objects. */
    async commit(id, key) {
      const to = objectKey(key);
      // Content-addressed: an object at `key` of the same size holds these bytes.
      if ((await store.head(to)) !== (await store.head(dataKey(id)))) await store.copy(dataKey(id), to);
      await discard(id);
    },

    /** Drops upload `id`'s multipart upload and staging objects. */
    discard,

    /** Deletes object `key` (the media sweep, after the grace period); absent is fine. */
    async delete(key) { await store.delete(objectKey(key)); },

    /** Byte size of object `key`, or null. */
    async size(key) { return store.head(objectKey(key)); },

    /** {body: ReadableStream, size} of object `key` (streamed from the store), or null. */
    async get(key) { return store.get(objectKey(key)); },
  };
}
