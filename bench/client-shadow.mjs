// Cost of a full shadow (every pulled row's JSON kept) vs. the lazy base.
import sqlite3InitModule from '@sqlite.org/sqlite-wasm';
const sqlite3 = await sqlite3InitModule({ print: () => {}, printErr: console.error });
const n = 50000;
const s = JSON.stringify(Array.from({ length: n }, (_, i) => ({ table: 'workflowNodes', op: 'upsert', version: i + 1, row: { id: `n${String(i).padStart(7, '0')}`, projectId: `p${i % 50}`, ownerId: 'bench', label: `Step ${i}`, x: (i % 40) * 25.5, y: Math.floor(i / 40) * 12.25, data: { kind: 'task', w: 120, tags: ['a', 'b'] } } })));
const cols = ['id', 'projectId', 'ownerId', 'label', 'x', 'y', 'data'];
const res = { upsert: [], record: [], shadow: [] };
for (let k = 0; k < 7; k++) {
  const db = new sqlite3.oo1.DB(':memory:', 'c');
  db.exec(`CREATE TABLE "workflowNodes" ("id" TEXT NOT NULL, "projectId" TEXT NOT NULL, "ownerId" TEXT NOT NULL, "label" TEXT, "x" REAL, "y" REAL, "data" TEXT, PRIMARY KEY ("id"));
    CREATE TABLE sync_rows (tbl TEXT NOT NULL, pk TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (tbl, pk)) WITHOUT ROWID;
    CREATE TABLE sync_shadow (tbl TEXT NOT NULL, pk TEXT NOT NULL, version INTEGER NOT NULL, row TEXT, PRIMARY KEY (tbl, pk)) WITHOUT ROWID;`);
  db.exec('BEGIN');
  const time = (sql) => { const t = performance.now(); db.exec({ sql, bind: [s] }); return performance.now() - t; };
  res.upsert.push(time(`INSERT INTO "workflowNodes" SELECT ${cols.map((c) => (c === 'data' ? `NULLIF(j.value -> '$.row.${c}', 'null')` : `j.value ->> '$.row.${c}'`)).join(', ')} FROM jsonb_each(?1) j WHERE true ON CONFLICT DO NOTHING`));
  res.record.push(time(`INSERT INTO sync_rows SELECT 'workflowNodes', json_array(j.value ->> '$.row.id'), j.value ->> '$.version' FROM jsonb_each(?1) j WHERE true ON CONFLICT DO NOTHING`));
  res.shadow.push(time(`INSERT INTO sync_shadow SELECT 'workflowNodes', json_array(j.value ->> '$.row.id'), j.value ->> '$.version', j.value -> '$.row' FROM jsonb_each(?1) j WHERE true ON CONFLICT DO NOTHING`));
  db.exec('COMMIT');
  db.close();
}
const min = (a) => Math.min(...a).toFixed(1);
console.log(`rows ${n}: table upsert ${min(res.upsert)} ms, version record ${min(res.record)} ms, full shadow (row JSON per row) ${min(res.shadow)} ms`);
