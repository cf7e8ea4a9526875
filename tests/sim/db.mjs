// The simulation's PostgreSQL 15: one cluster for every seed (reset between
// seeds), a pool for the real request handler whose statements pass through
// the scheduler one at a time, and a monitor connection that tells a
// statement blocked on a lock from one still running.
import postgres from 'postgres';
import { startPostgres } from '../harness/postgres.mjs';
import { POSTGRES_OPTIONS, applyDdl } from '../../hosts/server/handler.mjs';

/** More connections than requests can be in flight at once, so no request
 * ever waits for a pooled connection (that order would not be the scheduler's). */
const POOL = 48;

/**
 * PostgreSQL for the simulation. `deadlock_timeout` is tiny so that a lock
 * cycle is broken long before the scheduler looks again; autovacuum is off so
 * nothing but the scheduled requests takes transaction ids or locks.
 */
export class SimPostgres {
  static async start() {
    const pg = await startPostgres({ settings: { deadlock_timeout: '1ms', autovacuum: 'off', max_connections: 120 } });
    const self = new SimPostgres();
    self.pg = pg;
    // Through the Unix socket: the transport is not under test, and TCP on
    // loopback costs the simulation more CPU than anything it checks.
    const opts = { ...POSTGRES_OPTIONS, path: `${pg.dir}/.s.PGSQL.${pg.port}`, idle_timeout: 0, max_lifetime: 0 };
    self.sql = postgres(pg.url, { ...opts, max: POOL });
    self.monitor = postgres(pg.url, { ...opts, max: 1 });
    self.admin = postgres(pg.url, { ...opts, max: 1 });
    return self;
  }

  /** Runs the schema's DDL once and opens every pooled connection. */
  async prepare(pgDdl, serverTables) {
    await applyDdl(this.admin, pgDdl);
    this.tables = serverTables;
    // Open the whole pool now: a connection opened mid-seed would be slow and
    // its order arbitrary.
    await Promise.all(Array.from({ length: POOL }, () => this.sql`select pg_sleep(0.02)`));
  }

  /**
   * Empties the synced and bookkeeping tables and restarts the version
   * sequence. TRUNCATE, not DELETE: a DELETE of a synced row is a direct
   * write that leaves a tombstone (docs/server.md), and a seed starts empty.
   */
  async reset() {
    const names = [...this.tables.map((t) => `"${t}"`), 'edgesync_clients', 'edgesync_conflicts'];
    await this.admin.unsafe(`TRUNCATE ${names.join(', ')}; SELECT setval('edgesync_version_seq', 1, false)`);
  }

  /** For each backend pid, the pids it waits for on a lock (empty: not blocked). */
  async blockers(pids) {
    if (!pids.length) return new Map();
    const rows = await this.monitor.unsafe(
      'SELECT p::int AS pid, pg_blocking_pids(p::int) AS b FROM unnest($1::text::int[]) AS p',
      [`{${pids.join(',')}}`]);
    return new Map(rows.map((r) => [r.pid, parseIntArray(r.b)]));
  }

  /** Cancels the statement running in `pid` (its transaction then rolls back). */
  async cancel(pid) {
    await this.monitor.unsafe('SELECT pg_cancel_backend($1::text::int)', [String(pid)]);
  }

  async stop() {
    await Promise.allSettled([this.sql.end({ timeout: 2 }), this.monitor.end({ timeout: 2 }), this.admin.end({ timeout: 2 })]);
    await this.pg.stop();
  }
}

// fetch_types is off, so int[] arrives as its text form "{1,2}".
function parseIntArray(v) {
  if (Array.isArray(v)) return v.map(Number);
  if (typeof v !== 'string' || v === '{}') return [];
  return v.slice(1, -1).split(',').map(Number);
}

/**
 * The postgres.js client handed to the real handler. Every `sql.unsafe(...)`
 * of a request (one statement: the whole request) waits for a permit from the
 * request's exec (found through `execOf()`, an AsyncLocalStorage), so the
 * scheduler decides the order in which concurrent requests reach PostgreSQL.
 * Anything else (the health check) passes straight through.
 */
export function gatedSql(real, execOf) {
  const sql = (...args) => real(...args);
  sql.begin = (...args) => real.begin(...args);
  sql.unsafe = (text, params) => {
    const exec = execOf();
    if (!exec) return real.unsafe(text, params);
    // On a reserved connection whose backend pid the scheduler knows (to
    // see its lock waits and to cancel it in a crash).
    const run = (raw) => exec.statement(text, async () => {
      exec.pid = null;
      const conn = await real.reserve();
      try {
        const [{ pid }] = await conn.unsafe('SELECT pg_backend_pid() AS pid');
        exec.pid = pid;
        return await (raw ? conn.unsafe(text, params).raw() : conn.unsafe(text, params));
      } finally {
        conn.release();
      }
    });
    return {
      raw: () => run(true),
      then: (ok, fail) => run(false).then(ok, fail),
    };
  };
  return sql;
}
