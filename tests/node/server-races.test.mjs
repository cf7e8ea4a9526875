// The server core's merge under real concurrency, on PostgreSQL 15: two
// requests in flight at once, one held open inside its transaction. Every
// outcome goes through the table's policy (a concurrent insert of the same
// new key included), authorization comes first, deletes raise a tombstone's
// clock, and locks are taken only on the caller's rows, in key order.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import postgres from 'postgres';
import { nodeCore } from '../../hosts/wasm/node.mjs';
import { startPostgres } from '../harness/postgres.mjs';
import { driveSync } from '../harness/drive.mjs';
import { POSTGRES_OPTIONS } from '../../hosts/server/handler.mjs';

const schema = JSON.parse(readFileSync(new URL('../fixtures/schema.v1.json', import.meta.url), 'utf8'));
const core = await nodeCore();
let pg, sql, handle;
const seqs = new Map();
let clock = 1_700_000_000_000;
const hlc = (ms, node) => `${String(ms).padStart(15, '0')}:00000:${node}`;

function body(clientId, changes) {
  const seq = (seqs.get(clientId) ?? 0) + 1;
  seqs.set(clientId, seq);
  return { protocol: 1, clientId, schemaVersion: 1, batch: { seq, changes } };
}

/**
 * Starts a request and holds it at its merge: `after` it ran (the request's
 * one statement done inside a transaction the test keeps open, so its writes
 * stay uncommitted), or before it. `resume()` runs the rest and commits; it
 * resolves with { status, body }.
 */
async function startUntilMerge(userId, req, after = false) {
  let release;
  const gate = new Promise((r) => { release = r; });
  let reachedMerge;
  const atMerge = new Promise((r) => { reachedMerge = r; });
  const run = async (text, params) => {
    if (!after) {
      reachedMerge();
      await gate;
      return sql.unsafe(text, params);
    }
    return sql.begin(async (tx) => {
      const rows = await tx.unsafe(text, params);
      reachedMerge();
      await gate;
      return rows;
    });
  };
  const done = driveSync(core, handle, sql, userId, req, run);
  done.catch(() => reachedMerge());
  await atMerge;
  return {
    resume: async () => {
      release();
      return done;
    },
  };
}

/** Waits until some backend waits on a lock (the other merge is blocked). */
async function untilBlocked() {
  for (let i = 0; i < 200; i++) {
    const [r] = await sql`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`;
    if (r.n > 0) return;
    await new Promise((res) => setTimeout(res, 10));
  }
  throw new Error('no backend blocked on a lock');
}

/**
 * Two requests insert the same new key at once: A reaches its merge, B runs
 * its merge (which waits on A's uncommitted insert), A commits, B finishes.
 */
async function insertRace(a, b) {
  const ra = await startUntilMerge(a.user, body(a.client, [a.change]), true);
  const rb = await startUntilMerge(b.user, body(b.client, [b.change]));
  const pb = rb.resume();
  await untilBlocked();
  const resA = await ra.resume();
  const resB = await pb;
  assert.equal(resA.status, 200, JSON.stringify(resA.body));
  assert.equal(resB.status, 200, JSON.stringify(resB.body));
  return [resA.body.results[0], resB.body.results[0]];
}

const up = (table, row, ms, node, baseVersion = null) => ({ id: 1, table, op: 'upsert', row, hlc: hlc(ms, node), baseVersion });

before(async () => {
  pg = await startPostgres();
  sql = postgres(pg.url, { ...POSTGRES_OPTIONS, max: 8 });
  const opened = core.call('server.open', { schema, limits: {} });
  handle = opened.handle;
  await sql.unsafe(opened.pgDdl);
});
after(async () => {
  await sql?.end({ timeout: 1 });
  await pg?.stop();
});

describe('a concurrent insert of the same new key goes through the policy', () => {
  test('lww: the newer clock wins even when it commits second', async () => {
    const [a, b] = await insertRace(
      { user: 'u1', client: 'client-ra1', change: up('projects', { id: 'race-lww', name: 'A' }, clock + 1, 'client-ra1') },
      { user: 'u1', client: 'client-rb1', change: up('projects', { id: 'race-lww', name: 'B' }, clock + 2, 'client-rb1') });
    assert.equal(a.status, 'applied');
    assert.equal(b.status, 'applied', JSON.stringify(b));
    assert.equal((await sql`SELECT name FROM projects WHERE id = 'race-lww'`)[0].name, 'B');
  });

  test('lww: the older clock committing second gets conflict/older with the row', async () => {
    const [a, b] = await insertRace(
      { user: 'u1', client: 'client-ra1', change: up('projects', { id: 'race-lww2', name: 'A' }, clock + 5, 'client-ra1') },
      { user: 'u1', client: 'client-rb1', change: up('projects', { id: 'race-lww2', name: 'B' }, clock + 4, 'client-rb1') });
    assert.equal(a.status, 'applied');
    assert.deepEqual([b.status, b.reason, b.row?.name], ['conflict', 'older', 'A']);
    assert.equal((await sql`SELECT name FROM projects WHERE id = 'race-lww2'`)[0].name, 'A');
  });

  test('client-wins: the second insert is applied', async () => {
    const [a, b] = await insertRace(
      { user: 'u1', client: 'client-ra1', change: up('settings', { key: 'race-cw', value: 1 }, clock + 9, 'client-ra1') },
      { user: 'u1', client: 'client-rb1', change: up('settings', { key: 'race-cw', value: 2 }, clock + 1, 'client-rb1') });
    assert.equal(a.status, 'applied');
    assert.equal(b.status, 'applied', JSON.stringify(b));
    assert.equal((await sql`SELECT value FROM settings WHERE key = 'race-cw'`)[0].value, 2);
  });

  test('reject-stale: the second insert is rejected/stale with the server copy', async () => {
    const [a, b] = await insertRace(
      { user: 'u1', client: 'client-ra1', change: up('documents', { id: 4242, title: 'A', revision: 1 }, clock + 1, 'client-ra1') },
      { user: 'u1', client: 'client-rb1', change: up('documents', { id: 4242, title: 'B', revision: 1 }, clock + 2, 'client-rb1') });
    assert.equal(a.status, 'applied');
    assert.deepEqual([b.status, b.reason, b.row?.title], ['rejected', 'stale', 'A']);
  });

  test('lww-field: the second insert merges column by column', async () => {
    const [a, b] = await insertRace(
      { user: 'u1', client: 'client-ra1', change: up('workflowNodes', { id: 'race-n', projectId: 'p', label: 'A', x: 1, y: 1 }, clock + 1, 'client-ra1') },
      { user: 'u1', client: 'client-rb1', change: up('workflowNodes', { id: 'race-n', projectId: 'p', label: 'B', x: 2, y: 2 }, clock + 2, 'client-rb1') });
    assert.equal(a.status, 'applied');
    assert.equal(b.status, 'applied', JSON.stringify(b));
    assert.equal(b.row.label, 'B');
    assert.equal((await sql`SELECT label FROM workflow_nodes WHERE id = 'race-n'`)[0].label, 'B');
  });

  test("another user's concurrent insert of the key is rejected/forbidden, nothing leaks", async () => {
    const [a, b] = await insertRace(
      { user: 'u1', client: 'client-ra1', change: up('projects', { id: 'race-x', name: 'mine' }, clock + 1, 'client-ra1') },
      { user: 'u2', client: 'client-rc2', change: up('projects', { id: 'race-x', name: 'theirs' }, clock + 2, 'client-rc2') });
    assert.equal(a.status, 'applied');
    assert.deepEqual([b.status, b.reason], ['rejected', 'forbidden']);
    assert.equal(b.row, undefined);
    const [row] = await sql`SELECT name, owner_id FROM projects WHERE id = 'race-x'`;
    assert.deepEqual({ ...row }, { name: 'mine', owner_id: 'u1' });
  });
});

describe('tombstones', () => {
  test('a delete of a tombstone raises its clock: an older update cannot resurrect the row', async () => {
    const t = clock + 1000;
    const ins = await driveSync(core, handle, sql, 'u1', body('client-ta1', [up('projects', { id: 'tomb', name: 'x' }, t + 10, 'client-ta1')]));
    const v = ins.body.results[0].version;
    const del1 = await driveSync(core, handle, sql, 'u1', body('client-ta1', [{ id: 2, table: 'projects', op: 'delete', row: { id: 'tomb' }, hlc: hlc(t + 30, 'client-ta1'), baseVersion: v }]));
    assert.equal(del1.body.results[0].status, 'applied');
    const del2 = await driveSync(core, handle, sql, 'u1', body('client-tb1', [{ id: 1, table: 'projects', op: 'delete', row: { id: 'tomb' }, hlc: hlc(t + 40, 'client-tb1'), baseVersion: v }]));
    assert.equal(del2.body.results[0].status, 'applied');
    const [{ _es_hlc }] = await sql`SELECT _es_hlc FROM projects WHERE id = 'tomb'`;
    assert.equal(_es_hlc, hlc(t + 40, 'client-tb1'));
    const late = await driveSync(core, handle, sql, 'u1', body('client-tc1', [up('projects', { id: 'tomb', name: 'zombie' }, t + 35, 'client-tc1', v)]));
    assert.deepEqual([late.body.results[0].status, late.body.results[0].reason, late.body.results[0].deleted], ['conflict', 'older', true]);
    assert.equal((await sql`SELECT _es_deleted FROM projects WHERE id = 'tomb'`)[0]._es_deleted, true);
  });
});

describe('locks', () => {
  test("a write to another user's row takes no lock on it", async () => {
    await driveSync(core, handle, sql, 'u1', body('client-la1', [up('projects', { id: 'lock-1', name: 'x' }, clock + 1, 'client-la1')]));
    // u1's transaction holds its row locked, as its merge would...
    const reserved = await sql.reserve();
    await reserved.unsafe('BEGIN');
    await reserved.unsafe("SELECT 1 FROM projects WHERE id = 'lock-1' FOR UPDATE");
    // ...u2's write to it is refused at once instead of waiting.
    const r = await Promise.race([
      driveSync(core, handle, sql, 'u2', body('client-lc2', [up('projects', { id: 'lock-1', name: 'z' }, clock + 3, 'client-lc2')])),
      new Promise((_, rej) => setTimeout(() => rej(new Error('blocked on another user\'s row lock')), 3000)),
    ]);
    assert.deepEqual([r.body.results[0].status, r.body.results[0].reason], ['rejected', 'forbidden']);
    await reserved.unsafe('ROLLBACK');
    reserved.release();
  });

  test('two batches writing the same rows in opposite orders do not deadlock', async () => {
    const keys = ['dl-a', 'dl-b', 'dl-c', 'dl-d'];
    for (const k of keys) await driveSync(core, handle, sql, 'u1', body('client-da1', [up('settings', { key: k, value: 0 }, clock + 1, 'client-da1')]));
    const changes = (order, node) => order.map((k, i) => ({ ...up('settings', { key: k, value: node }, clock + 10 + i, node), id: i + 1 }));
    const results = await Promise.all([0, 1, 2, 3].map((i) => {
      const order = i % 2 ? [...keys].reverse() : keys;
      return driveSync(core, handle, sql, 'u1', body(`client-dl${i}`, changes(order, `client-dl${i}`)));
    }));
    for (const r of results) assert.equal(r.status, 200, JSON.stringify(r.body));
  });

  test('batches mixing upserts and deletes of one table in opposite orders do not deadlock', async () => {
    const keys = ['mx-a', 'mx-b', 'mx-c', 'mx-d', 'mx-e', 'mx-f'];
    for (const k of keys) await driveSync(core, handle, sql, 'u1', body('client-ma1', [up('settings', { key: k, value: 0 }, clock + 1, 'client-ma1')]));
    // Device i upserts one half of the keys and deletes the other half; the
    // halves swap between devices, so the two statements of one batch would
    // lock in the opposite order of the other batch's.
    const batch = (i) => {
      const node = `client-mx${i}`;
      const [ups, dels] = i % 2 ? [keys.slice(3), keys.slice(0, 3)] : [keys.slice(0, 3), keys.slice(3)];
      return [
        ...ups.map((k, j) => ({ ...up('settings', { key: k, value: i }, clock + 20 + j, node), id: j + 1 })),
        ...dels.map((k, j) => ({ id: 10 + j, table: 'settings', op: 'delete', row: { key: k }, hlc: hlc(clock + 30 + j, node), baseVersion: null })),
      ];
    };
    for (let round = 0; round < 5; round++) {
      const results = await Promise.all([0, 1, 2, 3].map((i) => driveSync(core, handle, sql, 'u1', body(`client-mx${i}`, batch(i)))));
      for (const r of results) assert.equal(r.status, 200, JSON.stringify(r.body));
    }
  });
});
