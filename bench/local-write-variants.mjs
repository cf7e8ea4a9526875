// Where the local write overhead goes (docs/performance.md, "Local writes"):
// the writes of bench/client.mjs (W prepared INSERTs, W UPDATEs, W/10 one-row
// UPDATE transactions on workflowNodes) timed in process CPU time on a plain
// table and on variants of the generated DDL, alternating, best of N each.
// Ratios are to the plain table. Variants edit the generated text, so they
// follow the generator:
//
//   generated    the DDL as schema.sqlite_ddl makes it
//   no-tick      without the clock UPDATE (stamps then never advance)
//   no-write     a trigger per insert and update that writes nothing
//   bare-outbox  one INSERT into sync_outbox per write: no JSON, clock or probes
//   bare-outbox-noautoinc, bare-outbox-noindex  the same without AUTOINCREMENT
//                / the (tbl, pk) index
//
//   node bench/local-write-variants.mjs [--rows W] [--runs N] [variant…]
import { readFileSync } from 'node:fs';
import sqlite3InitModule from '@sqlite.org/sqlite-wasm';
import createClientModule from '../dist/edgesync_client.mjs';
import { loadCoreWith } from '../hosts/wasm/core-base.mjs';
import { registerClock } from '../hosts/client/sqlite.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const W = arg('--rows', 20_000);
const RUNS = arg('--runs', 5);
const schema = JSON.parse(readFileSync(new URL('../tests/fixtures/schema.demo-owner.json', import.meta.url), 'utf8'));
const core = await loadCoreWith(createClientModule, readFileSync(new URL('../dist/edgesync_client.wasm', import.meta.url)));
const generated = core.call('schema.sqlite_ddl', schema);
const cols = schema.tables.find((t) => t.name === 'workflowNodes').columns.map((c) => c.name);
const COLS = cols.map((c) => `"${c}"`).join(', ');
const CREATE = `CREATE TABLE "workflowNodes" ("id" TEXT NOT NULL, "projectId" TEXT NOT NULL, "ownerId" TEXT NOT NULL,
  "label" TEXT, "x" REAL, "y" REAL, "data" TEXT, PRIMARY KEY ("id"))`;

// The generated DDL without any trigger of workflowNodes.
const untriggered = generated.replace(
  /DROP TRIGGER IF EXISTS "sync_workflowNodes_\w+";\n(CREATE TRIGGER "sync_workflowNodes_\w+"[\s\S]*?\nEND;\n)?/g, '');
const withTriggers = (body) => untriggered + ['INSERT', 'UPDATE'].map((ev) =>
  `CREATE TRIGGER "v_${ev}" AFTER ${ev} ON "workflowNodes" BEGIN\n${body}\nEND;\n`).join('');
const bareOutbox = `INSERT INTO "sync_outbox" (tbl, pk, op, row, changed, hlc, base_version, created_at)
  VALUES ('workflowNodes', json_array(NEW."id"), 'U', NULL, NULL, '', NULL, 0);`;
const variants = {
  generated: () => generated,
  'no-tick': () => generated.replace(/ {2}UPDATE "sync_clock" SET \(ms, ctr\)[^\n]*\n/g, ''),
  'no-write': () => withTriggers('SELECT 1;'),
  'bare-outbox': () => withTriggers(bareOutbox),
  'bare-outbox-noautoinc': () => withTriggers(bareOutbox).replace('PRIMARY KEY AUTOINCREMENT', 'PRIMARY KEY'),
  'bare-outbox-noindex': () => withTriggers(bareOutbox).replace(/CREATE INDEX IF NOT EXISTS "sync_outbox_row"[^\n]*\n/, ''),
};

const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const rows = [];
for (let i = 0; i < W; i++) {
  rows.push([`n${String(i).padStart(7, '0')}`, `p${i % 50}`, 'bench', `Step ${i}`, (i % 40) * 25.5,
    Math.floor(i / 40) * 12.25, JSON.stringify({ kind: 'task', w: 120, tags: ['a', 'b'] })]);
}

/** The bench's writes on a fresh database made by `ddl`; CPU ms per phase. */
function writes(sqlite3, ddl) {
  const db = new sqlite3.oo1.DB(':memory:', 'c');
  registerClock(db);
  db.exec(ddl);
  const ins = db.prepare(`INSERT INTO "workflowNodes" (${COLS}) VALUES (${cols.map(() => '?').join(', ')})`);
  const upd = db.prepare('UPDATE "workflowNodes" SET "label" = ?, "x" = ? WHERE "id" = ?');
  const step = (st, values) => {
    st.bind(values);
    st.step();
    st.reset(true);
  };
  let t = cpu();
  db.exec('BEGIN');
  for (const r of rows) step(ins, r);
  db.exec('COMMIT');
  const insert = cpu() - t;
  t = cpu();
  db.exec('BEGIN');
  rows.forEach((r, i) => step(upd, [`Edited ${i}`, i + 0.5, r[0]]));
  db.exec('COMMIT');
  const update = cpu() - t;
  t = cpu();
  for (let i = 0; i < W / 10; i++) {
    db.exec('BEGIN');
    step(upd, [`Again ${i}`, i + 0.25, rows[i][0]]);
    db.exec('COMMIT');
  }
  const single = cpu() - t;
  ins.finalize();
  upd.finalize();
  db.close();
  return { total: insert + update + single, insert, update, single };
}

const sqlite3 = await sqlite3InitModule({ print: () => {}, printErr: console.error });
const names = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && !all[i - 1]?.startsWith('--'));
for (const n of names) if (!variants[n]) throw new Error(`unknown variant ${n} (${Object.keys(variants).join(', ')})`);
const runs = { plain: CREATE };
for (const n of names.length ? names : Object.keys(variants)) runs[n] = variants[n]();
const best = {};
for (let r = 0; r <= RUNS; r++) {
  for (const [n, ddl] of Object.entries(runs)) {
    const m = writes(sqlite3, ddl);
    if (r === 0) continue;  // warm-up
    best[n] ??= m;
    for (const k of Object.keys(m)) best[n][k] = Math.min(best[n][k], m[k]);
  }
}
const ratio = (n, k) => Number((best[n][k] / best.plain[k]).toFixed(2));
console.table(Object.keys(best).map((n) => ({
  variant: n, cpu_ms: Math.round(best[n].total), ratio: ratio(n, 'total'),
  insert: ratio(n, 'insert'), update: ratio(n, 'update'), single_tx: ratio(n, 'single'),
})));
