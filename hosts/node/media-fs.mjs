// The media storage backend on the local filesystem (the node host's
// default, in its data folder): uploads are staged as files under
// <root>/staging, finished objects renamed into <root>/objects/<key>. Keys
// and upload ids are checked against fixed hex patterns before any path is
// built, so no name can leave the root. An S3/R2 backend implements the same
// eight methods (types/server.d.ts, MediaStorage).
import { open, stat, rename, rm, mkdir } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { OBJECT_KEY } from '../common/media-ref.mjs';
import { readLimited } from '../server/media/read-limited.mjs';

const UPLOAD_ID = /^[0-9a-f]{32}$/;

/**
 * A file as a web ReadableStream of 1 MiB chunks, read on demand (a fresh
 * buffer each: the consumer may keep it); lighter than Readable.toWeb, which
 * adds a node stream's buffering and a promise hop per chunk.
 * @param {string} path
 */
function fileStream(path) {
  let fh;
  return new ReadableStream({
    async start() { fh = await open(path, 'r'); },
    async pull(controller) {
      const buf = Buffer.allocUnsafe(1 << 20);
      let bytesRead;
      try {
        ({ bytesRead } = await fh.read(buf, 0, buf.length, null));
      } catch (e) {
        await fh.close().catch(() => {});
        throw e;
      }
      if (bytesRead === 0) {
        await fh.close();
        controller.close();
        return;
      }
      controller.enqueue(new Uint8Array(buf.buffer, buf.byteOffset, bytesRead));
    },
    async cancel() { await fh?.close(); },
  }, { highWaterMark: 2 });
}

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
  const running = new Map(); // upload id -> {hash, size}: the staged bytes' SHA-256 so far (this process)
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
      // The SHA-256 of the staged bytes, kept up to date as they are written
      // (so complete needs no second pass); lost on a restart: then inspect
      // reads the file back.
      let run = running.get(id);
      if (offset === 0) run = { hash: createHash('sha256'), size: 0 };
      if (run?.size !== offset) run = null;
      running.delete(id);
      let size = offset;
      // Chunks gathered into one writev of ~1 MiB (a request body arrives in
      // 16–64 KiB chunks).
      let batch = [];
      let batched = 0;
      const flush = async () => {
        if (batched === 0) return;
        await fh.writev(batch);
        for (const b of batch) run?.hash.update(b);
        if (run) run.size += batched;
        batch = [];
        batched = 0;
      };
      try {
        let read;
        try {
          read = await readLimited(body, limit - offset, async (chunk) => {
            batch.push(chunk);
            batched += chunk.byteLength;
            if (batched >= 1 << 20 || batch.length >= 512) await flush();
          });
        } catch (e) {
          await flush(); // a broken body keeps what arrived
          throw e;
        }
        if (read.tooLarge) {
          await fh.truncate(offset);
          return { tooLarge: true };
        }
        await flush();
        size += read.size;
      } finally {
        await fh.close();
      }
      if (run) running.set(id, run);
      return { size };
    },

    /** SHA-256 (hex) of the staged upload and its first `headBytes` bytes (streamed read-back unless hashed as written). */
    async inspect(id, headBytes) {
      const path = staged(id);
      const run = running.get(id);
      if (run && run.size === await sizeOf(path)) {
        const fh = await open(path, 'r');
        try {
          const head = new Uint8Array(headBytes);
          const { bytesRead } = await fh.read(head, 0, headBytes, 0);
          return { sha256: run.hash.copy().digest('hex'), head: head.subarray(0, bytesRead) };
        } finally {
          await fh.close();
        }
      }
      const hash = createHash('sha256');
      const head = [];
      let got = 0;
      for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
        hash.update(chunk);
        if (got < headBytes) { head.push(chunk.subarray(0, headBytes - got)); got += Math.min(chunk.length, headBytes - got); }
      }
      return { sha256: hash.digest('hex'), head: new Uint8Array(Buffer.concat(head)) };
    },

    /** Moves the staged upload to `key` (an identical object may already be there). */
    async commit(id, key) {
      running.delete(id);
      const to = object(key);
      await mkdir(join(to, '..'), { recursive: true });
      await rename(staged(id), to);
    },

    /** Drops upload `id`'s staged bytes. */
    async discard(id) { running.delete(id); await rm(staged(id), { force: true }); },

    /** Deletes object `key` (nothing when it is not there); a reader that already opened it finishes. */
    async delete(key) { await rm(object(key), { force: true }); },

    /** Byte size of object `key`, or null. */
    async size(key) { return sizeOf(object(key)); },

    /** {body: ReadableStream, size} of object `key`, or null. */
    async get(key) {
      const path = object(key);
      const size = await sizeOf(path);
      if (size === null) return null;
      return { size, body: fileStream(path) };
    },
  };
}
