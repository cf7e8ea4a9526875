// The client core's share of pull-apply and drain only (apply_core_ms and
// drain_core_ms of bench/client.mjs), as CPU time, best of N, for comparing
// builds of dist/edgesync_client.wasm on a shared machine: runs of the given
// module directories alternate so load changes hit each alike.
//
//   node bench/client-core.mjs [--rows 50000] [--runs 8] [dir …]
// A dir holds edgesync_client.mjs + .wasm (default: dist/).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import sqlite3InitModule from '@sqlite.org/sqlite-wasm';
import { loadCoreWith } from '../hosts/wasm/core-base.mjs';
import { runSqlEffect, registerClock } from '../hosts/client/sqlite.mjs';
import { writeAppRows } from './client.mjs';

const args = process.argv.slice(2);
const opt = (name, d) => { const i = args.indexOf(name); return i < 0 ? d : Number(args.splice(i, 2)[1]); };
const n = opt('--rows', 50_000);
const runs = opt('--runs', 8);
const dirs = args.length ? args : [new URL('../dist/', import.meta.url).pathname];
const schema = JSON.parse(readFileSync(new URL('../tests/fixtures/schema.demo-owner.json', import.meta.url), 'utf8'));
const encoder = new TextEncoder();

/** CPU milliseconds (user + system) of fn(). */
function cpu(fn) {
  const t = process.cpuUsage();
  const out = fn();
  const d = process.cpuUsage(t);
  return [out, (d.user + d.system) / 1000];
}

/** Performs sql effects until an http effect; adds the core's CPU ms to t. */
function drive(core, handle, db, first, t) {
  const fx = [...first.meta.effects.map((f) => ({ f, segs: first.segments }))];
  for (;;) {
    const next = fx.shift();
    if (!next) return null;
    const { f, segs } = next;
    if (f.type === 'http') return { id: f.id, body: segs[f.body.seg] };
    if (f.type !== 'sql') continue;
    const r = runSqlEffect(db, f, segs);
    if (!r.ok) throw new Error(`sql effect ${f.purpose} failed: ${r.message}`);
    const [out, ms] = cpu(() => core.callFramed('client.handle', { type: 'sql_done', id: f.id, client: handle, now: Date.now() }, r.values));
    t.core += ms;
    for (const g of out.meta.effects) fx.push({ f: g, segs: out.segments });
  }
}

function fresh(core, sqlite3, config) {
  const db = new sqlite3.oo1.DB(':memory:', 'c');
  registerClock(db);
  db.exec(core.call('schema.sqlite_ddl', schema));
  const out = core.callFramed('client.open', { schema, config, seed: '0123456789abcdef0123456789abcdef', now: Date.now() });
  const http = drive(core, out.meta.client, db, out, { core: 0 });
  return { db, handle: out.meta.client, http };
}

function rowsOf(count) {
  return Array.from({ length: count }, (_, i) => ({
    id: `n${String(i).padStart(7, '0')}`, projectId: `p${i % 50}`, ownerId: 'bench', label: `Step ${i}`,
    x: (i % 40) * 25.5, y: Math.floor(i / 40) * 12.25, data: { kind: 'task', w: 120, tags: ['a', 'b'] },
  }));
}

function bodyOf(rows) {
  return encoder.encode(JSON.stringify({
    protocol: 1, serverTime: Date.now(), ack: null, results: [],
    changes: rows.map((row, i) => ({ table: 'workflowNodes', op: 'upsert', version: i + 1, row })),
    cursor: `1:${rows.length}`, hasMore: false,
  }));
}

function apply(core, sqlite3, body, count) {
  const c = fresh(core, sqlite3, {});
  const t = { core: 0 };
  const [out, ms] = cpu(() => core.callFramed('client.handle', { type: 'http_response', id: c.http.id, status: 200, client: c.handle, now: Date.now() }, [body]));
  t.core += ms;
  drive(core, c.handle, c.db, out, t);
  if (Number(c.db.selectValue('SELECT count(*) FROM "workflowNodes"')) !== count) throw new Error('apply wrote the wrong rows');
  core.callFramed('client.close', { client: c.handle });
  c.db.close();
  return t.core;
}

function drain(core, sqlite3, rows) {
  const c = fresh(core, sqlite3, { maxBatchChanges: rows.length, maxBatchBytes: 256 << 20 });
  const empty = bodyOf([]);
  drive(core, c.handle, c.db, core.callFramed('client.handle', { type: 'http_response', id: c.http.id, status: 200, client: c.handle, now: Date.now() }, [empty]), { core: 0 });
  writeAppRows(c.db, rows);
  const t = { core: 0 };
  const [out, ms] = cpu(() => core.callFramed('client.handle', { type: 'sync_now', client: c.handle, now: Date.now() }, []));
  t.core += ms;
  const http = drive(core, c.handle, c.db, out, t);
  if (!http) throw new Error('the core asked for no request');
  core.callFramed('client.close', { client: c.handle });
  c.db.close();
  return t.core;
}

const sqlite3 = await sqlite3InitModule({ print: () => {}, printErr: console.error });
const cores = [];
for (const dir of dirs) {
  const base = resolve(dir);
  const { default: create } = await import(pathToFileURL(`${base}/edgesync_client.mjs`).href);
  cores.push({ dir, core: await loadCoreWith(create, readFileSync(`${base}/edgesync_client.wasm`)), apply: [], drain: [] });
}
const rows = rowsOf(n);
const body = bodyOf(rows);
const few = rowsOf(500);
for (const c of cores) { apply(c.core, sqlite3, bodyOf(few), 500); drain(c.core, sqlite3, few); }
for (let i = 0; i < runs; i++) {
  for (const c of cores) {
    c.apply.push(apply(c.core, sqlite3, body, n));
    c.drain.push(drain(c.core, sqlite3, rows));
  }
}
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.table(cores.map((c) => ({
  dir: c.dir, apply_core_min: +Math.min(...c.apply).toFixed(1), apply_core_med: +med(c.apply).toFixed(1),
  drain_core_min: +Math.min(...c.drain).toFixed(1), drain_core_med: +med(c.drain).toFixed(1),
})));
