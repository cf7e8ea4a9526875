// The worker's MediaStorage on an R2 bucket binding: the environment-neutral
// multipart storage (../server/media/multipart.mjs) on the binding's own
// multipart API, hashing with workerd's crypto.DigestStream (incremental
// SHA-256; WebCrypto's digest() would need the whole file in memory).
import { multipartMediaStorage } from '../server/media/multipart.mjs';

/**
 * The ObjectStore of an R2 binding (types: R2Bucket).
 * @param {any} bucket the binding, e.g. env.MEDIA
 */
export function r2ObjectStore(bucket) {
  return {
    /** Byte size of `key`, or null. */
    async head(key) { return (await bucket.head(key))?.size ?? null; },
    /** {body, size} of `key` streamed, or null. */
    async get(key) {
      const o = await bucket.get(key);
      return o ? { body: o.body, size: o.size } : null;
    },
    /** Stores `bytes` at `key`. */
    async put(key, bytes) { await bucket.put(key, bytes); },
    /** Deletes `key` (absent is fine). */
    async delete(key) { await bucket.delete(key); },
    /** The keys under `prefix`. */
    async list(prefix) {
      const keys = [];
      let cursor;
      do {
        const page = await bucket.list({ prefix, cursor });
        keys.push(...page.objects.map((o) => o.key));
        cursor = page.truncated ? page.cursor : undefined;
      } while (cursor);
      return keys;
    },
    /** R2 has no server-side copy in the binding: streams `from` into `to` (a known-length body). */
    async copy(from, to) {
      const o = await bucket.get(from);
      if (!o) throw new Error(`media copy: ${from} is missing`);
      const { readable, writable } = new globalThis.FixedLengthStream(o.size); // workerd's
      const piped = o.body.pipeTo(writable);
      await Promise.all([bucket.put(to, readable), piped]);
    },
    /** Starts a multipart upload to `key`: its upload id. */
    async createMultipart(key) { return (await bucket.createMultipartUpload(key)).uploadId; },
    /** Uploads part `n` (1-based): its etag. */
    async uploadPart(key, uploadId, n, bytes) {
      return (await bucket.resumeMultipartUpload(key, uploadId).uploadPart(n, bytes)).etag;
    },
    /** Assembles the parts [{n, etag}] into the object `key`. */
    async completeMultipart(key, uploadId, parts) {
      await bucket.resumeMultipartUpload(key, uploadId).complete(parts.map((p) => ({ partNumber: p.n, etag: p.etag })));
    },
    /** Aborts a multipart upload (one already gone is fine). */
    async abortMultipart(key, uploadId) {
      try {
        await bucket.resumeMultipartUpload(key, uploadId).abort();
      } catch (e) {
        if (!/NoSuchUpload|does not exist|not found/i.test(String(e?.message))) throw e;
      }
      return true;
    },
  };
}

/** A MediaStorage on the R2 binding `bucket`. */
export function r2MediaStorage(bucket) {
  return multipartMediaStorage({
    store: r2ObjectStore(bucket),
    sha256: () => {
      const stream = new crypto.DigestStream('SHA-256');
      const writer = stream.getWriter();
      return {
        update: (b) => writer.write(b),
        digest: async () => {
          await writer.close();
          return Array.from(new Uint8Array(await stream.digest), (x) => x.toString(16).padStart(2, '0')).join('');
        },
      };
    },
  });
}
