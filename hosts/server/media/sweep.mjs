// The media lifecycle (docs/protocol.md, "Lifecycle"): one environment-neutral
// sweep that marks the records whose row no longer names their file (the row
// was deleted, or its column names another file), un-marks those named again
// (an undo, a concurrent device that wins with the old file), and after a
// grace period deletes the record and — when no other record names it — the
// object. It also drops uploads left unfinished for too long, with their
// bytes. The per-column statements come from the core's media plan
// (`schema.media_sql`: orphanSql, expireSql), built from the sync's own
// tables, keys and tombstone flag; this file only runs them in order.
import { MEDIA_REF, objectKey } from '../../common/media-ref.mjs';

/** Records stay this long after their row stopped naming them (24 h). */
export const DEFAULT_GRACE_SEC = 24 * 3600;
/** Unfinished uploads are dropped after this long (24 h). */
export const DEFAULT_STAGED_MAX_AGE_SEC = 24 * 3600;

// Transaction-scoped advisory locks (pooler-safe): the first key names the
// lock's kind, the second its subject.
const OBJECT_LOCK = 0x65734f62; // 'esOb'
const USER_LOCK = 0x65735573; // 'esUs'

/** Objects whose records expire together, in one transaction. */
const EXPIRE_BATCH = 64;

// The reference is a SHA-256: its first 32 bits are a well-spread lock key.
const lockKey = (ref) => Number.parseInt(ref.slice(7, 15), 16) | 0;

/**
 * Takes the lock that serializes storing, deduplicating onto and deleting
 * the object of `ref` until `tx` ends.
 */
export async function lockObject(tx, ref) {
  await tx`select pg_advisory_xact_lock(${OBJECT_LOCK}::int4, ${lockKey(ref)}::int4)`;
}

// A PostgreSQL array literal of integers or references (both need no
// escaping: they match fixed patterns), passed as one text parameter.
const pgArray = (items) => `{${items.join(',')}}`;

// The locks of several objects, in ascending order (two sweeps never wait
// on each other in a cycle; every other holder takes one lock only).
async function lockObjects(tx, refs) {
  const keys = [...new Set(refs.map(lockKey))].sort((a, b) => a - b);
  await tx`select count(*) from (select pg_advisory_xact_lock(${OBJECT_LOCK}::int4, k) from unnest(${pgArray(keys)}::int4[]) k) l`;
}

/** Takes the lock that serializes quota checks of `userId` until `tx` ends. */
export async function lockUser(tx, userId) {
  await tx`select pg_advisory_xact_lock(${USER_LOCK}::int4, hashtext(${userId}))`;
}

/**
 * Bytes `userId` holds: distinct objects their verified uploads recorded
 * (records within the grace period included: the bytes are still stored)
 * plus the declared sizes of their unfinished uploads, leaving out the upload
 * `exceptId` and uploads of `sha256`; `owned`: they already hold that file.
 */
export async function mediaUsage(sql, userId, { exceptId = '', sha256 = '' } = {}) {
  const [r] = await sql`select
      coalesce((select sum(o.size) from (select distinct on (key) key, size from edgesync_media
        where user_id = ${userId} order by key) o), 0)::int8 as objects,
      coalesce((select sum(u.size) from (select distinct on (sha256) sha256, size from edgesync_media_uploads x
        where x.user_id = ${userId} and x.id <> ${exceptId} and x.sha256 <> ${sha256}
          and not exists (select 1 from edgesync_media m where m.user_id = ${userId} and m.key = 'sha256:' || x.sha256)
        order by sha256) u), 0)::int8 as uploads,
      exists (select 1 from edgesync_media where user_id = ${userId} and key = ${`sha256:${sha256}`}) as owned`;
  return { usedBytes: Number(r.objects) + Number(r.uploads), owned: r.owned };
}

/**
 * Runs one sweep; safe to run from several hosts at once. `now` (ms) is the
 * sweep's clock: records are marked with it and deleted once marked
 * `graceSec` before it. Answers counts: {marked, unmarked, records,
 * objects, bytes, staged, errors}.
 *
 * @param {object} o
 * @param {import('postgres').Sql} o.sql
 * @param {import('../../../types/server').MediaStorage} o.storage
 * @param {{columns: {table: string, column: string, orphanSql: string, expireSql: string}[]}} o.plan the core's media plan
 * @param {number} [o.graceSec=86400]
 * @param {number} [o.stagedMaxAgeSec=86400]
 * @param {number} [o.now=Date.now()]
 * @param {{error: Function}} [o.logger=console]
 */
export async function sweepMedia({
  sql, storage, plan, graceSec = DEFAULT_GRACE_SEC, stagedMaxAgeSec = DEFAULT_STAGED_MAX_AGE_SEC, now = Date.now(),
  logger = console,
}) {
  const stats = { marked: 0, unmarked: 0, records: 0, objects: 0, bytes: 0, staged: 0, errors: 0 };
  const at = new Date(now).toISOString();
  const cutoff = new Date(now - graceSec * 1000).toISOString();
  const columns = new Map(plan.columns.map((c) => [`${c.table}\u0000${c.column}`, c]));
  const failed = (what, e) => {
    stats.errors++;
    logger.error(`edgesync: media sweep: ${what}: ${e?.name ?? 'Error'}: ${e?.message ?? e}`);
  };

  // 1. Mark and un-mark, column by column.
  for (const col of columns.values()) {
    try {
      for (const r of await sql.unsafe(col.orphanSql, [at])) {
        if (r.orphaned) stats.marked++;
        else stats.unmarked++;
      }
    } catch (e) { failed(`${col.table}.${col.column}`, e); }
  }

  // 2. Expired records, a batch of objects at a time: under the objects'
  // locks (an upload completing or deduplicating onto one waits), delete
  // their expired records that are still not named, then each object no
  // record names any more. The records go only with the transaction, after
  // the objects: a crash in between leaves records the next sweep deletes.
  const due = await sql`select key, tbl, col from edgesync_media
    where orphaned_at is not null and orphaned_at <= ${cutoff}::timestamptz order by key`;
  const byKey = new Map();
  for (const r of due) {
    if (!byKey.has(r.key)) byKey.set(r.key, new Set());
    byKey.get(r.key).add(`${r.tbl}\u0000${r.col}`);
  }
  const refs = [...byKey.keys()].filter((ref) => MEDIA_REF.test(ref));
  for (let i = 0; i < refs.length; i += EXPIRE_BATCH) {
    const batch = refs.slice(i, i + EXPIRE_BATCH);
    try {
      const done = await sql.begin(async (tx) => {
        await lockObjects(tx, batch);
        const sizes = new Map();
        let records = 0;
        for (const c of new Set(batch.flatMap((ref) => [...byKey.get(ref)]))) {
          const col = columns.get(c);
          if (!col) continue; // the column left the schema: its records stay
          for (const r of await tx.unsafe(col.expireSql, [cutoff, pgArray(batch)])) {
            records++;
            sizes.set(r.key, Number(r.size));
          }
        }
        if (!sizes.size) return { records, objects: 0, bytes: 0 };
        const unnamed = await tx`select k from unnest(${pgArray([...sizes.keys()])}::text[]) k
          where not exists (select 1 from edgesync_media where key = k)`;
        await Promise.all(unnamed.map(({ k }) => storage.delete(objectKey(k))));
        return { records, objects: unnamed.length, bytes: unnamed.reduce((n, { k }) => n + sizes.get(k), 0) };
      });
      stats.records += done.records;
      stats.objects += done.objects;
      stats.bytes += done.bytes;
    } catch (e) { failed(`objects ${batch[0]} …`, e); }
  }

  // 3. Unfinished uploads past their time: the record first, then the bytes
  // (an upload without its record is gone for its client either way).
  try {
    const stale = await sql`delete from edgesync_media_uploads
      where created_at < ${new Date(now - stagedMaxAgeSec * 1000).toISOString()}::timestamptz returning id`;
    for (const { id } of stale) {
      await storage.discard(id);
      stats.staged++;
    }
  } catch (e) { failed('unfinished uploads', e); }
  return stats;
}
