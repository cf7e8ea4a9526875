// The media storage backend on the local filesystem (the node host's
// default, in its data folder): uploads are staged as files under
// <root>/staging, finished objects renamed into <root>/objects/<key>. Keys
// and upload ids are checked against fixed hex patterns before any path is
// built, so no name can leave the root. An S3/R2 backend implements the same
// eight methods (types/server.d.ts, MediaStorage).
import { open, stat, rename, rm, mkdir } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { join, resolve } from 'node:path';
import { OBJECT_KEY } from '../common/media-ref.mjs';

const UPLOAD_ID = /^[0-9a-f]{32}$/;

/**
 * A filesystem MediaStorage rooted at `root` (created when missing).
 * @param {string} root
 */
export async function fsMediaStorage(root) {
  root = resolve(root);
  const staging = join(root, 'staging');
  const objects = join(root, 'objects');
  await mkdir(staging, { recursive: true });
  await mkdir(objects, { recursive: true });
  const staged = (id) => {
    if (!UPLOAD_ID.test(id)) throw new TypeError('bad upload id');
    return join(staging, id);
  };
  const object = (key) => {
    if (!OBJECT_KEY.test(key)) throw new TypeError('bad media key');
    return join(objects, ...key.split('/'));
  };
  const sizeOf = async (path) => {
    try { return (await stat(path)).size; } catch (e) { if (e.code === 'ENOENT') return null; throw e; }
  };

  return {
    /** Bytes staged so far for upload `id` (0 when none). */
    async stagedSize(id) { return (await sizeOf(staged(id))) ?? 0; },

    /**
     * Appends `body` (a web ReadableStream) at `offset`, never past `limit`
     * bytes in all: {size} after it, or {tooLarge: true} with the part's bytes
     * dropped. A broken body keeps the bytes that arrived (the client resumes).
     */
    async appendPart(id, offset, body, limit) {
      const path = staged(id);
      const fh = await open(path, 'a');
      let size = offset;
      try {
        if (body) {
          const reader = body.getReader();
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            if (size + value.byteLength > limit) {
              await reader.cancel().catch(() => {});
              await fh.truncate(offset);
              return { tooLarge: true };
            }
            await fh.write(value);
            size += value.byteLength;
          }
        }
      } finally {
        await fh.close();
      }
      return { size };
    },

    /** SHA-256 (hex) of the staged upload and its first `headBytes` bytes, streamed. */
    async inspect(id, headBytes) {
      const hash = createHash('sha256');
      const head = [];
      let got = 0;
      for await (const chunk of createReadStream(staged(id), { highWaterMark: 1 << 20 })) {
        hash.update(chunk);
        if (got < headBytes) { head.push(chunk.subarray(0, headBytes - got)); got += Math.min(chunk.length, headBytes - got); }
      }
      return { sha256: hash.digest('hex'), head: new Uint8Array(Buffer.concat(head)) };
    },

    /** Moves the staged upload to `key` (an identical object may already be there). */
    async commit(id, key) {
      const to = object(key);
      await mkdir(join(to, '..'), { recursive: true });
      await rename(staged(id), to);
    },

    /** Drops upload `id`'s staged bytes. */
    async discard(id) { await rm(staged(id), { force: true }); },

    /** Deletes object `key` (nothing when it is not there); a reader that already opened it finishes. */
    async delete(key) { await rm(object(key), { force: true }); },

    /** Byte size of object `key`, or null. */
    async size(key) { return sizeOf(object(key)); },

    /** {body: ReadableStream, size} of object `key`, or null. */
    async get(key) {
      const path = object(key);
      const size = await sizeOf(path);
      if (size === null) return null;
      return { size, body: Readable.toWeb(createReadStream(path, { highWaterMark: 1 << 20 })) };
    },
  };
}
