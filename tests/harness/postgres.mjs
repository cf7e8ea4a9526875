// Starts a throwaway PostgreSQL 15 cluster in a temp dir on a private port,
// and (optionally) pgbouncer in transaction mode in front of it.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, chownSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { isMainThread } from 'node:worker_threads';

const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
const isRoot = process.getuid?.() === 0;

/** A free TCP port on 127.0.0.1. */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

// initdb and postgres refuse to run as root; run them as the postgres user.
function asPgUser(cmd, args, opts = {}) {
  if (!isRoot) return spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  return spawnSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { encoding: 'utf8', cwd: '/tmp', ...opts });
}

// Clusters (and pgbouncers) still running, each with a synchronous stop:
// a test process that exits or is signalled before its `after` hook (a
// cancelled run, a timeout, Ctrl-C) must not leave its servers behind.
const running = new Set();
let hooked = false;

function stopAllSync() {
  for (const stop of running) {
    try { stop(); } catch { /* best effort on the way out */ }
  }
  running.clear();
}

function hookExit() {
  if (hooked) return;
  hooked = true;
  process.once('exit', stopAllSync);
  // Signals reach the main thread only (the simulation's workers end with it).
  if (!isMainThread) return;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, () => {
      stopAllSync();
      // Ours was the only listener left: die of the signal as without it.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

function check(r, what) {
  if (r.status !== 0) {
    throw new Error(`${what} failed (exit ${r.status}): ${r.stderr || r.stdout}\n` +
      `Is postgresql-15 installed? Run: npm test (it installs what is missing).`);
  }
}

/**
 * Starts PostgreSQL 15. Returns { url, port, dir, stop() }. The cluster has a
 * password-protected role `edgesync` owning database `edgesync`.
 */
export async function startPostgres({ settings = {} } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'edgesync-pg-'));
  if (isRoot) chownSync(dir, uid('postgres'), gid('postgres'));
  const port = await freePort();
  const pwfile = join(dir, 'pw');
  writeFileSync(pwfile, 'edgesync\n', { mode: 0o600 });
  if (isRoot) chownSync(pwfile, uid('postgres'), gid('postgres'));
  check(asPgUser(`${PG_BIN}/initdb`, ['-D', join(dir, 'data'), '-U', 'postgres', '--auth-local=trust',
    '--auth-host=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']), 'initdb');
  const opts = { listen_addresses: '127.0.0.1', port, unix_socket_directories: dir, fsync: 'off',
    synchronous_commit: 'off', full_page_writes: 'off', max_connections: 200, ...settings };
  const o = Object.entries(opts).map(([k, v]) => `-c ${k}=${v}`).join(' ');
  check(asPgUser(`${PG_BIN}/pg_ctl`, ['-D', join(dir, 'data'), '-l', join(dir, 'log'), '-w', '-o', o, 'start']), 'pg_ctl start');
  const psql = (sql) => check(asPgUser(`${PG_BIN}/psql`, ['-h', dir, '-p', String(port), '-U', 'postgres',
    '-v', 'ON_ERROR_STOP=1', '-qc', sql]), 'psql');
  let stopped = false;
  const stopSync = () => {
    if (stopped) return;
    stopped = true;
    running.delete(stopSync);
    asPgUser(`${PG_BIN}/pg_ctl`, ['-D', join(dir, 'data'), '-m', 'immediate', '-w', 'stop']);
    rmSync(dir, { recursive: true, force: true });
  };
  running.add(stopSync);
  hookExit();
  psql(`CREATE ROLE edgesync LOGIN PASSWORD 'edgesync'`);
  psql(`CREATE DATABASE edgesync OWNER edgesync`);
  return {
    url: `postgres://edgesync:edgesync@127.0.0.1:${port}/edgesync`,
    port,
    dir,
    psql,
    async stop() {
      stopSync();
    },
  };
}

/** Starts pgbouncer in transaction mode in front of `pg`. Returns { url, stop() }. */
export async function startPgbouncer(pg, { poolSize = 10 } = {}) {
  const bin = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer'].find(existsSync);
  if (!bin) throw new Error('pgbouncer is not installed; run: npm test (it installs what is missing)');
  const port = await freePort();
  const dir = pg.dir;
  writeFileSync(join(dir, 'userlist.txt'), '"edgesync" "edgesync"\n');
  writeFileSync(join(dir, 'pgbouncer.ini'), [
    '[databases]', `edgesync = host=127.0.0.1 port=${pg.port} dbname=edgesync`,
    '[pgbouncer]', `listen_addr = 127.0.0.1`, `listen_port = ${port}`, `unix_socket_dir =`,
    `auth_type = plain`, `auth_file = ${join(dir, 'userlist.txt')}`, `pool_mode = transaction`,
    `default_pool_size = ${poolSize}`, `max_client_conn = 500`, `ignore_startup_parameters = extra_float_digits,options`,
    `logfile = ${join(dir, 'pgbouncer.log')}`, '',
  ].join('\n'));
  if (isRoot) {
    for (const f of ['userlist.txt', 'pgbouncer.ini']) chownSync(join(dir, f), uid('postgres'), gid('postgres'));
  }
  // pgbouncer refuses to run as root. Start it directly as the postgres user
  // (not through runuser, which does not pass SIGINT on and never exits), so
  // `child` is pgbouncer itself and stop() can wait for it.
  const child = spawn(bin, [join(dir, 'pgbouncer.ini')], {
    stdio: 'ignore', cwd: '/tmp', ...(isRoot ? { uid: uid('postgres'), gid: gid('postgres') } : {}),
  });
  let exited = false;
  const kill = () => child.kill('SIGKILL');
  running.add(kill);
  hookExit();
  const exit = new Promise((r) => child.once('exit', () => { exited = true; running.delete(kill); r(); }));
  try {
    await waitForPort(port);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  return {
    url: `postgres://edgesync:edgesync@127.0.0.1:${port}/edgesync`,
    port,
    async stop() {
      if (exited) return;
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exit;
      clearTimeout(timer);
    },
  };
}

/** Resolves once something accepts TCP connections on the port. */
export async function waitForPort(port, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.end(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function uid(user) { return Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim()); }
function gid(user) { return Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim()); }
