// Live-poke benchmark (bench/run.mjs calls runLiveBench): PostgreSQL 15, the
// node host, and sync clients (the browser core on SQLite WASM, `ws` as
// their WebSocket) on loopback.
//
//   live_poke_p50_ms, live_poke_p99_ms
//       100 connected devices (50 users × 2). A row is committed for one
//       user (a direct INSERT in PostgreSQL; the clock starts before the
//       statement, so the commit is included); the figure is the time until
//       that user's second device has written it to its local SQLite (its
//       `changes` event). One commit at a time.
//   poll_p50_ms, poll_p99_ms
//       the same with live pokes off and the demo's 5 s periodic sync, each
//       commit at a random point of the poll cycle: what the pokes replace
//       (≈ half the interval at the median).
//   live_idle_rss_mb_10k, live_idle_connections
//       one node host in its own process holding N idle authenticated /live
//       connections (10,000; BENCH_QUICK: 2,000): its RSS in MB.
//   live_idle_rss_mb_base   the same process before any live connection.
import { readFileSync } from 'node:fs';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import postgres from 'postgres';
import { startPostgres } from '../tests/harness/postgres.mjs';
import { startServer } from '../hosts/node/server.mjs';
import { signDevToken } from '../hosts/server/auth.mjs';
import { createSync } from '../hosts/client/index.mjs';
import sqlite3InitModule from '@sqlite.org/sqlite-wasm';

const SECRET = 'bench-secret-bench-secret-bench-secret-0123';
const auth = { secret: SECRET, audience: 'authenticated' };
// The demo board's tables, owner-only as before sharing: results stay comparable across runs.
const schema = JSON.parse(readFileSync(new URL('../tests/fixtures/schema.demo-owner.json', import.meta.url), 'utf8'));
const quiet = { error: () => {}, warn: () => {}, log: () => {} };
const token = (user) => signDevToken(SECRET, { sub: user, ttlSec: 3600, audience: 'authenticated' });

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const round = (x) => Math.round(x * 10) / 10;

/** 2 × `users` devices of `users` users, started; each records when a row id lands. */
async function devices(url, users, { live, periodicMs }) {
  const s3 = await sqlite3InitModule({ print: () => {}, printErr: () => {} });
  const list = [];
  for (let u = 0; u < users; u++) {
    for (let k = 0; k < 2; k++) {
      const db = new s3.oo1.DB(':memory:', 'c');
      const user = `user${u}`;
      const sync = createSync({
        db, sqlite3: s3, url, schema, live, WebSocket, getToken: () => token(user),
        config: { periodicMs, debounceMs: 5 },
      });
      const d = { db, sync, user, waiters: new Map() };
      sync.on('changes', () => {
        for (const [id, resolve] of d.waiters) {
          if (db.selectValue('SELECT 1 FROM projects WHERE id = ?', [id])) {
            d.waiters.delete(id);
            resolve(performance.now());
          }
        }
      });
      list.push(d);
    }
  }
  for (const d of list) await d.sync.start();
  return list;
}

const landed = (d, id) => new Promise((resolve) => d.waiters.set(id, resolve));

async function latencyRun(pg, { live, samples, periodicMs, users = 50, concurrent = false }) {
  const srv = await startServer({ databaseUrl: pg.url, port: 0, poolSize: 8, schema, logger: quiet, auth, live });
  const sql = postgres(pg.url, { max: 4, onnotice: () => {} });
  const list = await devices(srv.url, users, { live, periodicMs });
  try {
    if (live) {
      const deadline = Date.now() + 30000;
      while (!list.every((d) => d.sync.status.live)) {
        if (Date.now() > deadline) throw new Error('bench: not every device went live');
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    await Promise.all(list.map((d) => d.sync.syncNow()));
    const ms = [];
    const one = async (i) => {
      const u = i % users;
      const d = list[u * 2 + 1];
      const id = `${live ? 'live' : 'poll'}-${i}`;
      const done = landed(d, id);
      const t0 = performance.now();
      await sql`insert into projects (id, owner_id, name) values (${id}, ${d.user}, 'bench')`;
      ms.push((await done) - t0);
    };
    if (concurrent) {
      // Polling: one commit per user at a time, each at a random point of
      // its device's poll cycle (so the wait averages half the interval).
      for (let i = 0; i < samples; i += users) {
        await Promise.all(Array.from({ length: Math.min(users, samples - i) }, async (_, k) => {
          await new Promise((r) => setTimeout(r, Math.random() * periodicMs));
          await one(i + k);
        }));
      }
    } else {
      for (let i = 0; i < samples; i++) await one(i);
    }
    ms.sort((a, b) => a - b);
    return { p50: round(pct(ms, 50)), p99: round(pct(ms, 99)) };
  } finally {
    for (const d of list) { await d.sync.stop(); d.db.close(); }
    await sql.end();
    await srv.close();
  }
}

/** RSS of a node host in its own process, before and with `n` idle live connections. */
async function idleRss(pg, n) {
  const child = fork(fileURLToPath(new URL('./live-host.mjs', import.meta.url)), [], {
    env: { ...process.env, BENCH_DATABASE_URL: pg.url, BENCH_SECRET: SECRET },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ask = (msg) => new Promise((resolve) => {
    child.once('message', resolve);
    child.send(msg);
  });
  const { url } = await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`bench: live host exited (${code})`)));
  });
  const sockets = [];
  try {
    const base = await ask({ t: 'rss' });
    const tokens = await Promise.all(Array.from({ length: 100 }, (_, i) => token(`idle${i}`)));
    const wsUrl = `${url.replace(/^http/, 'ws')}/live`;
    const batch = 200;
    for (let i = 0; i < n; i += batch) {
      await Promise.all(Array.from({ length: Math.min(batch, n - i) }, (_, k) => new Promise((resolve, reject) => {
        const ws = new WebSocket(wsUrl, { perMessageDeflate: false });
        sockets.push(ws);
        ws.once('open', () => ws.send(JSON.stringify({ type: 'auth', token: tokens[(i + k) % tokens.length] })));
        ws.once('message', () => resolve());
        ws.once('error', reject);
        ws.once('close', (code) => reject(new Error(`bench: live connection closed (${code})`)));
      })));
    }
    await new Promise((r) => setTimeout(r, 1000));
    const held = await ask({ t: 'rss' });
    if (held.ready !== n) throw new Error(`bench: the host holds ${held.ready} of ${n} connections`);
    return { base: round(base.rss / 1048576), held: round(held.rss / 1048576) };
  } finally {
    for (const ws of sockets) ws.terminate();
    child.kill('SIGTERM');
  }
}

export async function runLiveBench({ quick = false } = {}) {
  const pg = await startPostgres({ settings: { max_connections: 300 } });
  try {
    const live = await latencyRun(pg, { live: true, samples: quick ? 50 : 300, periodicMs: 60000 });
    const poll = await latencyRun(pg, { live: false, samples: quick ? 50 : 100, periodicMs: 5000, concurrent: true });
    const n = quick ? 2000 : 10000;
    const rss = await idleRss(pg, n);
    return {
      live_poke_p50_ms: live.p50,
      live_poke_p99_ms: live.p99,
      poll_p50_ms: poll.p50,
      poll_p99_ms: poll.p99,
      live_idle_connections: n,
      live_idle_rss_mb_base: rss.base,
      live_idle_rss_mb_10k: rss.held,
    };
  } finally {
    await pg.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.table(await runLiveBench({ quick: process.argv.includes('--quick') }));
}
