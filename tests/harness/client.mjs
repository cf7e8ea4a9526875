// Helpers for the client tests: PostgreSQL 15 + the node host, and sync
// clients on the official SQLite WASM build (in-memory or MEMFS file DBs).
import sqlite3InitModule from '@sqlite.org/sqlite-wasm';
import postgres from 'postgres';
import { startPostgres } from './postgres.mjs';
import { TEST_SECRET } from './sync-http.mjs';
import { signDevToken } from '../../hosts/server/auth.mjs';
import { startServer } from '../../hosts/node/server.mjs';
import { createSync } from '../../hosts/client/index.mjs';

export { TEST_SECRET };
const quiet = { error: () => {}, warn: () => {}, log: () => {} };

let sqlite3;
/** The official SQLite WASM build's namespace (loaded once). */
export async function sqlite() {
  sqlite3 ??= await sqlite3InitModule({ print: () => {}, printErr: console.error });
  return sqlite3;
}

/** PostgreSQL 15 + the node host for `schema` (`media`: the host's media option, e.g. `{ dir }`). */
export async function startStack(schema, { limits, media } = {}) {
  const pg = await startPostgres();
  let srv;
  try {
    srv = await startServer({
      databaseUrl: pg.url, port: 0, poolSize: 4, schema, logger: quiet, limits, media,
      auth: { secret: TEST_SECRET, audience: 'authenticated' },
    });
  } catch (e) {
    await pg.stop();
    throw e;
  }
  const sql = postgres(pg.url, { max: 2, onnotice: () => {} });
  return {
    pg, srv, sql, url: srv.url,
    async stop() {
      await sql.end();
      await srv.close();
      await pg.stop();
    },
  };
}

/** An HS256 token for `user`, as the dev-token route signs them. */
export const tokenFor = (user) => signDevToken(TEST_SECRET, { sub: user, ttlSec: 600, audience: 'authenticated' });

/** Fast timings for tests (debounce 20 ms, short backoff). */
export const FAST = { debounceMs: 20, maxDebounceMs: 200, backoffBaseMs: 50, backoffMaxMs: 400, requestTimeoutMs: 5000 };

/**
 * A client: its own SQLite WASM database and a started createSync. Records
 * every event in `events`.
 */
export async function openClient(url, schema, user, {
  db: givenDb, file, fetch, config, start = true, getToken, ...rest
} = {}) {
  const s3 = await sqlite();
  const db = givenDb ?? new s3.oo1.DB(file ?? ':memory:', 'c');
  const events = { status: [], acked: [], rejected: [], conflict: [], changes: [], error: [] };
  const sync = createSync({
    db, sqlite3: s3, url, schema, fetch,
    getToken: getToken ?? (() => tokenFor(user)),
    config: { ...FAST, ...config },
    ...rest,
  });
  for (const k of Object.keys(events)) sync.on(k, (e) => events[k].push(e));
  if (start) await sync.start();
  return {
    db, sync, events, user,
    rows: (sql, bind) => db.selectObjects(sql, bind).map((r) => ({ ...r })),
    async close({ keepDb = false } = {}) {
      await sync.stop();
      if (!keepDb && !givenDb) db.close();
    },
  };
}

/** Polls `fn` until it returns a truthy value. */
export async function waitFor(fn, { timeoutMs = 10000, what = 'a condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A minimal in-process Web Locks implementation (exclusive mode, ifAvailable,
 * signal) so the tab logic can be tested under node.
 */
export function fakeLocks() {
  const held = new Map(); // name -> queue of waiters
  const grant = (name) => {
    const q = held.get(name);
    if (!q?.length) {
      held.delete(name);
      return;
    }
    const next = q[0];
    Promise.resolve().then(() => next.run());
  };
  return {
    request(name, opts, cb) {
      if (typeof opts === 'function') {
        cb = opts;
        opts = {};
      }
      return new Promise((resolve, reject) => {
        if (!held.has(name)) held.set(name, []);
        const q = held.get(name);
        if (opts.ifAvailable && q.length) {
          Promise.resolve(cb(null)).then(resolve, reject);
          return;
        }
        const entry = {
          async run() {
            try {
              resolve(await cb({ name, mode: 'exclusive' }));
            } catch (e) {
              reject(e);
            } finally {
              q.splice(q.indexOf(entry), 1);
              grant(name);
            }
          },
        };
        if (opts.signal) {
          if (opts.signal.aborted) return reject(new DOMException('aborted', 'AbortError'));
          opts.signal.addEventListener('abort', () => {
            const i = q.indexOf(entry);
            if (i > 0) { // waiting, not holding
              q.splice(i, 1);
              reject(new DOMException('aborted', 'AbortError'));
            }
          });
        }
        q.push(entry);
        if (q.length === 1) entry.run();
      });
    },
  };
}
