// Files referenced by blob_ref columns (mixed into Sync, see sync.mjs;
// docs/protocol.md "Media (blob_ref files)").
//
//   attach()  stores the bytes on the device (media-store.mjs), then in ONE
//             SQLite transaction sets the column to the file's reference
//             (`sha256:<hex>`, computed here, offline) and records a pending
//             upload in sync_media_uploads. The row change travels in the
//             outbox like any write.
//   uploads   run in the leading tab, after a sync round ends (the core's
//             debounce, online state and backoff decide when rounds run):
//             a file whose row has no unacknowledged change any more is
//             uploaded in parts, resuming from the server's offset (the
//             upload id survives in sync_media_uploads). Transient failures
//             retry with the core's backoff settings; a refusal for good
//             rolls the column back to its previous value (a local write that
//             syncs) and is reported like a rejected change.
//   file()    the local copy first (sync_media_files: size, type, last use),
//             else GET /media/file, checked against the reference, kept.
//   evictFiles() drops least recently used copies, never one still to upload.
import { SyncError } from './status.mjs';
import { retryAfterMs } from './loop.mjs';
import { tokenSubject } from './account.mjs';
import { openMediaStore } from './media-store.mjs';
import { execWrite } from './sqlite.mjs';
import { MEDIA_REF, mediaRefOf } from '../common/media-ref.mjs';

const UPLOADS = 'sync_media_uploads';
const FILES = 'sync_media_files';
/** Files downloaded eagerly per sync round, at most. */
const EAGER_PER_ROUND = 8;
/** Complete/offset answers that send the client back to sending parts, at most per attempt. */
const MAX_REWINDS = 5;
/** Refusals for good: the file will never be accepted as it is. */
const FATAL = new Set(['too_large', 'quota_exceeded', 'unsupported_media_type', 'forbidden', 'invalid_request']);

const q = (name) => `"${String(name).replace(/"/g, '""')}"`;
const hexOf = (ref) => ref.slice(7);

/** One outcome of an upload attempt: done, wait (retry later, with backoff when `backoff`), or fatal. */
class Outcome {
  constructor(kind, detail = {}) { Object.assign(this, { kind, ...detail }); }
}
const wait = (why, extra = {}) => new Outcome('wait', { why, backoff: true, ...extra });

/** attach(), the background upload, file(), fileStatus(), evictFiles(). */
export class SyncMedia {
  /**
   * Attaches a file to a row's blob_ref column: keeps the bytes on the
   * device, sets the column to the file's reference and queues the upload
   * (after the row change is acknowledged). Resolves with the reference.
   */
  async attach(table, pk, column, data, { mime } = {}) {
    if (!this._started) throw new SyncError({ code: 'not_started', message: 'call start() before attach()' });
    const { def, keys } = this._mediaColumn(table, column);
    const pkv = this._mediaPk(keys, pk);
    const isBlob = typeof Blob !== 'undefined' && data instanceof Blob;
    if (!isBlob && !(data instanceof ArrayBuffer) && !ArrayBuffer.isView(data)) {
      throw new SyncError({ code: 'invalid_request', message: 'attach: pass a File, a Blob, an ArrayBuffer or a Uint8Array' });
    }
    const size = isBlob ? data.size : data.byteLength;
    const type = String(mime ?? ((isBlob && data.type) || (def.media.mime.length === 1 ? def.media.mime[0] : ''))).toLowerCase();
    if (size < 1) throw new SyncError({ code: 'invalid_request', message: 'attach: the file is empty' });
    // The schema's limits first: nothing is read of a file that cannot go.
    if (size > def.media.maxBytes) {
      throw new SyncError({ code: 'too_large', reason: 'too_large', message: `the file has ${size} bytes; ${table}.${column} takes at most ${def.media.maxBytes}` });
    }
    if (!def.media.mime.includes(type)) {
      throw new SyncError({ code: 'unsupported_media_type', reason: 'unsupported_media_type', message: `${table}.${column} takes ${def.media.mime.join(', ')}${type ? ` (not ${type})` : ' (pass { mime })'}` });
    }
    // Read once (a Blob), or used as it is (bytes): hashed, then stored.
    const bytes = isBlob ? new Uint8Array(await data.arrayBuffer())
      : data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const ref = await mediaRefOf(bytes);
    await (await this._mediaStore()).put(hexOf(ref), bytes);
    const key = JSON.stringify(pkv);
    const where = keys.map((k) => `${q(k)} = ?`).join(' AND ');
    const replaced = await this.transaction(async (tx) => {
      const [row] = await tx.query(`SELECT ${q(column)} AS v FROM ${q(table)} WHERE ${where}`, pkv);
      if (!row) throw new SyncError({ code: 'row_not_found', message: `attach: no row ${key} in ${table} on this device` });
      const [old] = await tx.query(`SELECT ref, status, upload_id, prev FROM ${UPLOADS} WHERE tbl = ? AND pk = ? AND col = ?`, [table, key, column]);
      if (row.v === ref && old?.ref === ref) return null; // the same file again
      // A file replacing one that never finished rolls back to what came before both.
      const prev = old && old.status !== 'synced' && row.v === old.ref ? old.prev : row.v;
      await tx.exec(`UPDATE ${q(table)} SET ${q(column)} = ? WHERE ${where}`, [ref, ...pkv]);
      await tx.exec(`INSERT OR REPLACE INTO ${UPLOADS} (tbl, pk, col, ref, size, mime, status, upload_id, sent, prev, error, at)
        VALUES (?, ?, ?, ?, ?, ?, 'pending', NULL, 0, ?, NULL, ?)`, [table, key, column, ref, size, type, prev ?? null, this._now()]);
      await tx.exec(`INSERT INTO ${FILES} (ref, size, mime, used_at) VALUES (?, ?, ?, ?)
        ON CONFLICT (ref) DO UPDATE SET used_at = excluded.used_at`, [ref, size, type, this._now()]);
      return { uploadId: old?.upload_id ?? null };
    });
    if (replaced?.uploadId) this._mediaCancelUpload(replaced.uploadId);
    if (replaced) this._fileEvent({ ref, table, pk: pkv, column, status: 'pending', sent: 0, size, mime: type, error: null });
    return ref;
  }

  /**
   * The file of a row's blob_ref column as a Blob (null when the column is
   * empty): the local copy, else downloaded (and kept). A file whose upload
   * has not finished rejects with code `not_uploaded`, or — with `wait` —
   * is asked for again with backoff until it arrives (or `timeoutMs`).
   */
  async file(table, pk, column, { wait: waitFor = false, timeoutMs } = {}) {
    if (!this._started) throw new SyncError({ code: 'not_started', message: 'call start() before file()' });
    const { keys } = this._mediaColumn(table, column, false);
    const pkv = this._mediaPk(keys, pk);
    const deadline = timeoutMs === undefined ? Infinity : this._now() + timeoutMs;
    for (let attempt = 0; ; attempt++) {
      const ref = await this._mediaCell(table, keys, pkv, column);
      if (ref === null) return null;
      const local = await this._mediaLocal(ref);
      if (local) return local;
      try {
        return await this._mediaDownload(table, pkv, column, ref);
      } catch (e) {
        if (!waitFor || e?.code !== 'not_uploaded' || !this._running) throw e;
        const delay = this._mediaDelay(attempt);
        if (this._now() + delay > deadline) throw e;
        await new Promise((r) => this._timers.set(r, delay));
      }
    }
  }

  /** file() as an object URL for <img src>: `{ url, blob, revoke() }`, or null when the column is empty (browsers). */
  async fileUrl(table, pk, column, options) {
    const blob = await this.file(table, pk, column, options);
    if (!blob) return null;
    const url = URL.createObjectURL(blob);
    return { url, blob, revoke: () => URL.revokeObjectURL(url) };
  }

  /**
   * The upload state of a reference: `{ ref, table, pk, column, status,
   * sent, size, mime, error, local }` (status pending | uploading | synced |
   * error), `{ ref, status: 'synced', local: true, … }` for a file only
   * downloaded here, or null when this device does not know it.
   */
  async fileStatus(ref) {
    if (!this._started) throw new SyncError({ code: 'not_started', message: 'call start() before fileStatus()' });
    const [u] = await this.query(`SELECT * FROM ${UPLOADS} WHERE ref = ? ORDER BY at DESC LIMIT 1`, [ref]);
    const [f] = await this.query(`SELECT size, mime FROM ${FILES} WHERE ref = ?`, [ref]);
    if (u) return { ...this._mediaEntry(u), local: Boolean(f) };
    if (f) return { ref, table: null, pk: null, column: null, status: 'synced', sent: f.size, size: f.size, mime: f.mime, error: null, local: true };
    return null;
  }

  /**
   * Drops local copies, least recently used first, until at most `maxBytes`
   * remain (default 0: all that may go). A file still to upload stays.
   * Resolves with `{ evicted, bytes, keptBytes }`.
   */
  async evictFiles({ maxBytes = 0 } = {}) {
    if (!this._started) throw new SyncError({ code: 'not_started', message: 'call start() before evictFiles()' });
    const rows = await this.query(`SELECT f.ref, f.size, EXISTS (SELECT 1 FROM ${UPLOADS} u WHERE u.ref = f.ref AND u.status <> 'synced') AS pinned
      FROM ${FILES} f ORDER BY f.used_at ASC`);
    let total = rows.reduce((n, r) => n + Number(r.size), 0);
    const store = await this._mediaStore();
    let evicted = 0;
    let bytes = 0;
    for (const r of rows) {
      if (total <= maxBytes) break;
      if (Number(r.pinned)) continue;
      await this._mediaExec(`DELETE FROM ${FILES} WHERE ref = ?`, [r.ref]);
      await store.delete(hexOf(r.ref));
      total -= Number(r.size);
      bytes += Number(r.size);
      evicted++;
    }
    return { evicted, bytes, keptBytes: total };
  }

  // ---------------------------------------------------------- internals

  _installMedia(db) {
    db.exec(`CREATE TABLE IF NOT EXISTS ${UPLOADS} (
      tbl TEXT NOT NULL, pk TEXT NOT NULL, col TEXT NOT NULL, ref TEXT NOT NULL,
      size INTEGER NOT NULL, mime TEXT NOT NULL, status TEXT NOT NULL, upload_id TEXT,
      sent INTEGER NOT NULL DEFAULT 0, prev TEXT, error TEXT, at INTEGER NOT NULL,
      PRIMARY KEY (tbl, pk, col)) WITHOUT ROWID`);
    db.exec(`CREATE TABLE IF NOT EXISTS ${FILES} (
      ref TEXT PRIMARY KEY, size INTEGER NOT NULL, mime TEXT, used_at INTEGER NOT NULL) WITHOUT ROWID`);
  }

  _mediaStore() {
    this._mediaStoreP ??= openMediaStore(this._o, this._dbName);
    return this._mediaStoreP;
  }

  // The schema's table and blob_ref column (with `media` limits when `uploads`).
  _mediaColumn(table, column, uploads = true) {
    const t = this._o.schema.tables?.find((x) => x.name === table);
    const def = t?.columns?.find((c) => c.name === column);
    if (!def || def.type !== 'blob_ref') {
      throw new SyncError({ code: 'invalid_request', message: `${table}.${column} is not a blob_ref column of the schema` });
    }
    if (uploads && !def.media) {
      throw new SyncError({ code: 'invalid_request', message: `${table}.${column} takes no uploads: declare "media": {"maxBytes", "mime"} on it in the schema` });
    }
    return { def, keys: Array.isArray(t.primaryKey) ? t.primaryKey : [t.primaryKey] };
  }

  _mediaPk(keys, pk) {
    const v = Array.isArray(pk) ? pk : [pk];
    if (v.length !== keys.length) throw new SyncError({ code: 'invalid_request', message: `expected ${keys.length} primary key value(s)` });
    return v;
  }

  async _mediaCell(table, keys, pkv, column) {
    const [row] = await this.query(`SELECT ${q(column)} AS v FROM ${q(table)} WHERE ${keys.map((k) => `${q(k)} = ?`).join(' AND ')}`, pkv);
    if (!row) throw new SyncError({ code: 'row_not_found', message: `no row ${JSON.stringify(pkv)} in ${table} on this device` });
    if (row.v === null || row.v === undefined || row.v === '') return null;
    if (!MEDIA_REF.test(String(row.v))) throw new SyncError({ code: 'invalid_request', message: `${table}.${column} does not hold a file reference` });
    return String(row.v);
  }

  // The local copy of `ref` when it is whole (its recorded size).
  async _mediaLocal(ref) {
    const [f] = await this.query(`SELECT size, mime FROM ${FILES} WHERE ref = ?`, [ref]);
    if (!f) return null;
    const blob = await (await this._mediaStore()).get(hexOf(ref));
    if (!blob || blob.size !== Number(f.size)) return null;
    await this._mediaExec(`UPDATE ${FILES} SET used_at = ? WHERE ref = ?`, [this._now(), ref]);
    return blob.type === (f.mime ?? '') ? blob : new Blob([blob], { type: f.mime ?? '' });
  }

  async _mediaDownload(table, pkv, column, ref) {
    const qs = new URLSearchParams({ table, column });
    for (const v of pkv) qs.append('pk', String(v));
    const res = await this._mediaFetch('GET', `/media/file?${qs}`);
    if (res.status !== 200) {
      const err = res.json?.error ?? {};
      // The row names a file whose upload has not finished (or not reached this server yet).
      if (res.status === 404 && (err.code === 'not_uploaded' || err.code === 'not_found')) {
        throw new SyncError({ code: 'not_uploaded', status: 404, message: `the file of ${table}.${column} ${JSON.stringify(pkv)} is not uploaded yet` });
      }
      throw new SyncError({ code: err.code ?? (res.status ? 'http_error' : 'offline'), status: res.status || null, message: err.message ?? res.message ?? `download failed (${res.status})` });
    }
    const bytes = res.bytes;
    const got = await mediaRefOf(bytes);
    const mime = res.headers.get('content-type') ?? '';
    await this._mediaKeep(got, bytes, mime);
    // The server's row may already name another file than this device's copy.
    if (got !== ref) throw new SyncError({ code: 'not_uploaded', status: 404, message: `the server's file of ${table}.${column} is another version than this device's row names` });
    // The stored copy (a file-backed Blob under node and in OPFS: no second copy in memory).
    return (await this._mediaLocal(ref)) ?? new Blob([bytes], { type: mime });
  }

  async _mediaKeep(ref, bytes, mime) {
    await (await this._mediaStore()).put(hexOf(ref), bytes);
    await this._mediaExec(`INSERT INTO ${FILES} (ref, size, mime, used_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (ref) DO UPDATE SET used_at = excluded.used_at`, [ref, bytes.byteLength, mime, this._now()]);
  }

  // One request to the media endpoints with the token (a refreshed one
  // after a 401). Never throws: `{ status: 0, message }` when offline.
  async _mediaFetch(method, path, { body, json, retried = false } = {}) {
    let token;
    try {
      token = await this._o.getToken({ refresh: retried });
    } catch (e) {
      return { status: 0, message: String(e?.message ?? e), signedOut: true };
    }
    if (!token || this._refuseToken?.(tokenSubject(token))) return { status: 0, message: 'signed out', signedOut: true };
    const ctrl = new AbortController();
    this._mediaCtrls ??= new Set();
    this._mediaCtrls.add(ctrl);
    try {
      const headers = { authorization: `Bearer ${token}` };
      if (json !== undefined) headers['content-type'] = 'application/json';
      else if (body !== undefined) headers['content-type'] = 'application/octet-stream';
      const res = await this._fetch(this._baseUrl() + path, {
        method, headers, body: json !== undefined ? JSON.stringify(json) : body, signal: ctrl.signal, cache: 'no-store',
      });
      if (res.status === 401 && !retried) {
        await res.arrayBuffer().catch(() => {});
        return this._mediaFetch(method, path, { body, json, retried: true });
      }
      const bytes = new Uint8Array(await res.arrayBuffer());
      let parsed = null;
      if ((res.headers.get('content-type') ?? '').startsWith('application/json')) {
        try { parsed = JSON.parse(new TextDecoder().decode(bytes)); } catch { /* not JSON */ }
      }
      return { status: res.status, json: parsed, bytes, headers: res.headers };
    } catch (e) {
      return { status: 0, message: String(e?.message ?? e) };
    } finally {
      this._mediaCtrls.delete(ctrl);
    }
  }

  _mediaDelay(attempt, atLeast = 0) {
    const c = this._o.config ?? {};
    const base = c.backoffBaseMs ?? 1000;
    const max = c.backoffMaxMs ?? 60000;
    const d = Math.min(max, base * 2 ** Math.min(attempt, 30));
    const jitter = this._o.random ? this._o.random() : Math.random();
    return Math.max(atLeast, Math.round(d * (0.5 + jitter / 2)));
  }

  // Called when a sync round ends (loop.mjs) and by the backoff timer: the
  // leading tab uploads what is due and downloads the eager columns' files.
  _mediaKick() {
    if (this._handle === null || !this._running || this._status.state === 'offline' || this._online === false) return;
    if (this._mediaBusy) {
      this._mediaAgain = true;
      return;
    }
    this._mediaBusy = true;
    const gen = this._gen;
    (async () => {
      try {
        do {
          this._mediaAgain = false;
          await this._mediaPass(gen);
          await this._mediaEager(gen);
        } while (this._mediaAgain && gen === this._gen && this._handle !== null);
      } catch (e) {
        if (gen === this._gen && this._running) this._emit('error', e);
      } finally {
        this._mediaBusy = false;
      }
    })();
  }

  _mediaStop() {
    this._timers.clear(this._mediaTimer);
    this._mediaTimer = null;
    for (const c of this._mediaCtrls ?? []) c.abort();
    this._mediaCtrls?.clear();
  }

  async _mediaPass(gen) {
    const due = await this.query(`SELECT * FROM ${UPLOADS} WHERE status IN ('pending', 'uploading') ORDER BY at`);
    let retry = null;
    for (const row of due) {
      if (gen !== this._gen || this._handle === null) return;
      const e = this._mediaEntry(row);
      const { keys } = this._mediaColumn(e.table, e.column);
      let cell;
      try {
        cell = await this._mediaCell(e.table, keys, e.pk, e.column);
      } catch { cell = null; }
      if (cell !== e.ref) {
        // The row no longer names this file (replaced, rolled back, deleted): nothing to upload.
        await this._mediaExec(`DELETE FROM ${UPLOADS} WHERE tbl = ? AND pk = ? AND col = ? AND ref = ?`, [e.table, row.pk, e.column, e.ref]);
        if (e.uploadId) this._mediaCancelUpload(e.uploadId);
        this._fileEvent({ ...e, status: 'cancelled' });
        continue;
      }
      // The server needs the row first: upload once its change is acknowledged.
      if (await this.isPending(e.table, e.pk)) continue;
      const out = await this._mediaUpload(e, row.pk, gen);
      if (out.kind === 'wait' && out.backoff) retry = Math.max(retry ?? 0, out.after ?? 0);
    }
    this._timers.clear(this._mediaTimer);
    this._mediaTimer = null;
    if (retry === null) {
      this._mediaFails = 0;
      return;
    }
    const delay = this._mediaDelay(this._mediaFails ?? 0, retry);
    this._mediaFails = (this._mediaFails ?? 0) + 1;
    this._mediaTimer = this._timers.set(() => {
      this._mediaTimer = null;
      if (gen === this._gen) this._mediaKick();
    }, delay);
  }

  _mediaEntry(u) {
    return {
      ref: u.ref, table: u.tbl, pk: JSON.parse(u.pk), column: u.col, status: u.status, sent: Number(u.sent),
      size: Number(u.size), mime: u.mime, error: u.error ? JSON.parse(u.error) : null, uploadId: u.upload_id ?? null,
      prev: u.prev ?? null,
    };
  }

  // A bookkeeping write: in the leading tab directly (no local-change
  // notice: the synced tables did not change), else through it.
  _mediaExec(sql, params) {
    if (this._role === 'follower' || !this._db) return this.exec(sql, params);
    return this._exclusive(() => this._local(() => execWrite(this._db, sql, params)));
  }

  async _mediaSave(e, key, fields) {
    const sets = Object.keys(fields).map((k) => `${k} = ?`).join(', ');
    await this._mediaExec(`UPDATE ${UPLOADS} SET ${sets} WHERE tbl = ? AND pk = ? AND col = ? AND ref = ?`,
      [...Object.values(fields), e.table, key, e.column, e.ref]);
  }

  _fileEvent(e) {
    const data = { ...e };
    delete data.uploadId; // bookkeeping, not for listeners
    delete data.prev;
    this._emit('file', data);
    if (this._handle !== null) this._post({ t: 'event', name: 'file', data });
  }

  // A failed request as an outcome: a refusal for good, or wait and retry.
  _mediaFailure(res) {
    const err = res.json?.error ?? {};
    const code = err.code ?? (res.status ? `http_${res.status}` : 'offline');
    if (res.signedOut) return wait('signed_out');
    if (res.status === 0) return wait('offline');
    if (res.status === 404 && code === 'row_not_found') return wait(code);
    if (res.status === 401) return wait('unauthorized');
    if ((res.status === 413 || res.status === 415 || res.status === 403 || res.status === 400) && FATAL.has(code)) {
      return new Outcome('fatal', { code, status: res.status, message: err.message ?? code, path: err.path ?? null });
    }
    const after = retryAfterMs(res.headers?.get?.('retry-after'), this._now());
    return wait(code, { after });
  }

  async _mediaUpload(e, key, gen) {
    const blob = await (await this._mediaStore()).get(hexOf(e.ref));
    if (!blob || blob.size !== e.size) {
      return this._mediaRefused(e, key, { code: 'missing_local_file', status: null, message: 'the attached file is no longer on this device', path: null });
    }
    let id = e.uploadId;
    let offset = 0;
    let partSize = 0;
    if (id) {
      const r = await this._mediaFetch('GET', `/media/uploads/${id}`);
      if (r.status === 200) {
        offset = r.json.offset;
        partSize = r.json.partSize;
      } else if (r.status === 404) {
        id = null; // finished, cancelled or expired on the server: start again
      } else {
        return this._mediaFailure(r);
      }
    }
    if (!id) {
      const r = await this._mediaFetch('POST', '/media/uploads', {
        json: { table: e.table, column: e.column, pk: e.pk.length === 1 ? e.pk[0] : e.pk, size: e.size, mime: e.mime, sha256: hexOf(e.ref) },
      });
      // The same user uploaded this content before: no bytes needed.
      if (r.status === 200 && (r.json?.deduplicated || r.json?.ref === e.ref)) return this._mediaDone(e, key);
      if (r.status !== 201) {
        const out = this._mediaFailure(r);
        return out.kind === 'fatal' ? this._mediaRefused(e, key, out) : out;
      }
      id = r.json.uploadId;
      offset = r.json.offset ?? 0;
      partSize = r.json.partSize;
      await this._mediaSave(e, key, { upload_id: id, status: 'uploading', sent: offset });
    }
    const part = Math.max(1, Math.min(this._o.media?.partSize ?? Infinity, partSize || 8 * 1024 * 1024));
    this._fileEvent({ ...e, status: 'uploading', sent: offset });
    for (let rewinds = 0; ;) {
      while (offset < e.size) {
        if (gen !== this._gen) return wait('stopped', { backoff: false });
        const chunk = new Uint8Array(await blob.slice(offset, Math.min(e.size, offset + part)).arrayBuffer());
        const r = await this._mediaFetch('PUT', `/media/uploads/${id}?offset=${offset}`, { body: chunk });
        if (r.status === 200) {
          offset = r.json.offset;
        } else if (r.status === 409 && r.json?.error?.code === 'offset_mismatch' && Number.isSafeInteger(r.json.offset) && rewinds++ < MAX_REWINDS) {
          offset = r.json.offset;
        } else {
          if (r.status === 404) await this._mediaSave(e, key, { upload_id: null, sent: 0 }); // gone: a new one next time
          const out = this._mediaFailure(r);
          return out.kind === 'fatal' ? this._mediaRefused(e, key, out) : out;
        }
        await this._mediaSave(e, key, { sent: offset, status: 'uploading' });
        this._fileEvent({ ...e, status: 'uploading', sent: offset });
      }
      const r = await this._mediaFetch('POST', `/media/uploads/${id}/complete`);
      if (r.status === 200) return this._mediaDone(e, key);
      const code = r.json?.error?.code;
      if (r.status === 409 && code === 'incomplete' && Number.isSafeInteger(r.json.offset) && rewinds++ < MAX_REWINDS) {
        offset = r.json.offset;
        continue;
      }
      // The upload was dropped (bytes changed on the way): a new one next time.
      if (code === 'hash_mismatch' || r.status === 404) await this._mediaSave(e, key, { upload_id: null, sent: 0 });
      const out = this._mediaFailure(r);
      return out.kind === 'fatal' ? this._mediaRefused(e, key, out) : out;
    }
  }

  async _mediaDone(e, key) {
    await this._mediaSave(e, key, { status: 'synced', upload_id: null, sent: e.size, error: null });
    this._fileEvent({ ...e, status: 'synced', sent: e.size, error: null });
    return new Outcome('done');
  }

  // A refusal for good: the column goes back to its previous value (a local
  // write that syncs, when it still names this file), reported as a
  // `rejected` event (reason = the code) and a `file` event with status error.
  async _mediaRefused(e, key, failure) {
    const error = { code: failure.code, status: failure.status ?? null, message: failure.message, path: failure.path ?? null };
    const { keys } = this._mediaColumn(e.table, e.column);
    const where = keys.map((k) => `${q(k)} = ?`).join(' AND ');
    let row = null;
    const restored = await this.transaction(async (tx) => {
      await tx.exec(`UPDATE ${UPLOADS} SET status = 'error', upload_id = NULL, error = ? WHERE tbl = ? AND pk = ? AND col = ? AND ref = ?`,
        [JSON.stringify(error), e.table, key, e.column, e.ref]);
      const r = await tx.exec(`UPDATE ${q(e.table)} SET ${q(e.column)} = ? WHERE ${where} AND ${q(e.column)} = ?`, [e.prev, ...e.pk, e.ref]);
      [row] = await tx.query(`SELECT * FROM ${q(e.table)} WHERE ${where}`, e.pk);
      return r.changes > 0;
    });
    this._fileEvent({ ...e, status: 'error', error });
    const rejected = {
      table: e.table, pk: e.pk, op: 'upsert', ids: [], reason: failure.code, code: failure.code, message: error.message,
      path: e.column, row: row ?? null, deleted: false, version: null, restored,
      file: { ref: e.ref, column: e.column, size: e.size, mime: e.mime },
    };
    this._emit('rejected', rejected);
    this._post({ t: 'event', name: 'rejected', data: rejected });
    return new Outcome('fatal', failure);
  }

  _mediaCancelUpload(id) {
    this._mediaFetch('DELETE', `/media/uploads/${id}`).catch(() => {});
  }

  // Eager columns (`media: { eager: ['table.column'] }`): files rows name
  // that this device has no copy of are downloaded after each round.
  async _mediaEager(gen) {
    const eager = this._o.media?.eager ?? [];
    let budget = EAGER_PER_ROUND;
    for (const name of eager) {
      const [table, column] = String(name).split('.');
      const { keys } = this._mediaColumn(table, column, false);
      const rows = await this.query(`SELECT ${keys.map((k, i) => `${q(k)} AS k${i}`).join(', ')}, ${q(column)} AS v FROM ${q(table)}
        WHERE ${q(column)} LIKE 'sha256:%' AND ${q(column)} NOT IN (SELECT ref FROM ${FILES}) LIMIT ?`, [budget]);
      for (const r of rows) {
        if (gen !== this._gen || budget-- <= 0) return;
        try {
          await this._mediaDownload(table, keys.map((_, i) => r[`k${i}`]), column, r.v);
        } catch { /* not uploaded yet, offline: the next round tries again */ }
      }
    }
  }

  // signOut(): the files and their records go with the local data.
  async _mediaClear(db) {
    db.exec(`DELETE FROM ${UPLOADS}; DELETE FROM ${FILES};`);
    await (await this._mediaStore()).clear();
  }
}
