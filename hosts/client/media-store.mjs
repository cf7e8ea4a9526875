// Where a sync client keeps file bytes on the device (media.mjs): one file per
// content hash (`<64 hex>`), so a file attached here or downloaded once is
// read locally afterwards. Three stores with the same four methods:
//   OPFS     browsers (and their workers): `edgesync-media/<dbName>/<hex>`
//   folder   node: the `mediaDir` option, `<mediaDir>/<hex>`
//   memory   node without `mediaDir` (gone when the process ends)
// A write is complete before it is recorded (sync_media_files), and a read
// checks the recorded size, so a write cut by a crash reads as "absent".

const HEX = /^[0-9a-f]{64}$/;
const check = (hex) => {
  if (!HEX.test(hex)) throw new TypeError('edgesync: bad media file name');
  return hex;
};

/** A store keeping the bytes in a Map (node without a folder; tests). */
export function memoryMediaStore() {
  const files = new Map();
  return {
    kind: 'memory',
    async put(hex, data) { files.set(check(hex), new Blob([data])); },
    async get(hex) { return files.get(check(hex)) ?? null; },
    async delete(hex) { files.delete(check(hex)); },
    async clear() { files.clear(); },
  };
}

/** A store in the folder `dir` (node): writes go to a temporary name, then are renamed. */
export async function folderMediaStore(dir) {
  // A computed specifier: browser bundlers leave it alone (never loaded there).
  const spec = ['node:fs', 'node:path'];
  const fs = await import(/* @vite-ignore */ spec[0]);
  const { join } = await import(/* @vite-ignore */ spec[1]);
  await fs.promises.mkdir(dir, { recursive: true });
  return {
    kind: 'folder',
    async put(hex, data) {
      const path = join(dir, check(hex));
      const tmp = `${path}.${Math.random().toString(36).slice(2)}.part`; // unique per writer
      const bytes = data instanceof Blob ? new Uint8Array(await data.arrayBuffer()) : data;
      await fs.promises.writeFile(tmp, bytes);
      await fs.promises.rename(tmp, path);
    },
    async get(hex) {
      try {
        return await fs.openAsBlob(join(dir, check(hex)));
      } catch (e) {
        if (e?.code === 'ENOENT') return null;
        throw e;
      }
    },
    async delete(hex) { await fs.promises.rm(join(dir, check(hex)), { force: true }); },
    async clear() {
      for (const f of await fs.promises.readdir(dir)) if (HEX.test(f)) await fs.promises.rm(join(dir, f), { force: true });
    },
  };
}

/** A store in the origin private file system, folder `edgesync-media/<name>`. */
export async function opfsMediaStore(name) {
  const root = await globalThis.navigator.storage.getDirectory();
  const top = await root.getDirectoryHandle('edgesync-media', { create: true });
  const dir = await top.getDirectoryHandle(String(name || 'default').replace(/[^A-Za-z0-9._-]/g, '_'), { create: true });
  return {
    kind: 'opfs',
    async put(hex, data) {
      const handle = await dir.getFileHandle(check(hex), { create: true });
      if (typeof handle.createWritable === 'function') {
        const w = await handle.createWritable();
        await w.write(data);
        await w.close();
        return;
      }
      // Workers of browsers without createWritable (Safari): a sync handle.
      const h = await handle.createSyncAccessHandle();
      try {
        const bytes = data instanceof Blob ? new Uint8Array(await data.arrayBuffer()) : data;
        h.truncate(0);
        h.write(bytes, { at: 0 });
        h.flush();
      } finally {
        h.close();
      }
    },
    async get(hex) {
      try {
        return await (await dir.getFileHandle(check(hex))).getFile();
      } catch (e) {
        if (e?.name === 'NotFoundError') return null;
        throw e;
      }
    },
    async delete(hex) {
      try { await dir.removeEntry(check(hex)); } catch (e) { if (e?.name !== 'NotFoundError') throw e; }
    },
    async clear() {
      for await (const [entry] of dir.entries()) if (HEX.test(entry)) await dir.removeEntry(entry);
    },
  };
}

/** The store for a client's options: `mediaStore` given, else OPFS in browsers, `mediaDir` under node, else memory. */
export async function openMediaStore(o, dbName) {
  if (o.mediaStore) return o.mediaStore;
  if (o.mediaDir) return folderMediaStore(o.mediaDir);
  if (typeof globalThis.navigator?.storage?.getDirectory === 'function') {
    try {
      return await opfsMediaStore(dbName);
    } catch { /* no OPFS here (e.g. a private window): memory */ }
  }
  return memoryMediaStore();
}
