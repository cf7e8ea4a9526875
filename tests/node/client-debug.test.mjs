// Observability, against PostgreSQL + the node host: the `debug` option logs
// each round with the right counts (request size, changes sent, results by
// status, rows pulled, timings), rejections are kept, and inspect() in a
// follower tab returns the leading tab's data (outbox, cursor, rounds).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { sqlite, fakeLocks, waitFor, FAST, startStack, openClient, tokenFor } from '../harness/client.mjs';
import { createSync } from '../../hosts/client/index.mjs';
import { debugLogger } from '../../hosts/client/debug.mjs';

const schema = JSON.parse(readFileSync(new URL('../../demo/schema.json', import.meta.url), 'utf8'));
const INSERT = "INSERT INTO projects (id, ownerId, name) VALUES (?, '', ?)";

let stack;
const closers = [];
before(async () => { stack = await startStack(schema); });
after(async () => {
  for (const c of closers) await c();
  await stack?.stop();
});

describe('debug rounds and inspect()', () => {
  test('debug logs a round with its counts; the ring keeps rounds and rejections with logging off', async () => {
    const lines = [];
    const a = await openClient(stack.url, schema, 'alice', { debug: (line, rec) => lines.push({ line, rec }) });
    closers.push(() => a.close());
    await a.sync.syncNow();
    lines.length = 0;
    for (const i of [1, 2, 3]) a.db.exec(INSERT, { bind: [`dbg-${i}`, `Project ${i}`] });
    a.sync.notifyLocalChange();
    await a.sync.syncNow();
    const push = lines.find((l) => l.rec.sent === 3);
    assert.ok(push, `a round sent the 3 changes: ${lines.map((l) => l.line).join(' | ')}`);
    assert.equal(push.rec.status, 200);
    assert.deepEqual(push.rec.results, { applied: 3, conflict: 0, rejected: 0 });
    assert.ok(push.rec.bytesSent > 100 && push.rec.bytesReceived > 0, 'sizes recorded');
    assert.ok(push.rec.ms.request >= 0 && push.rec.ms.total >= push.rec.ms.request, 'timings recorded');
    assert.equal(push.rec.error, null);
    assert.match(push.line, /^edgesync round #\d+ POST \/sync [\d.]+ k?B, 3 changes → 200 .*applied 3, conflict 0, rejected 0(; pulled \d+ rows)?; \d+ ms$/);

    // A second device of alice, logging off: its catch-up pull is recorded.
    const b = await openClient(stack.url, schema, 'alice');
    closers.push(() => b.close());
    await b.sync.syncNow();
    const info = await b.sync.inspect();
    assert.equal(info.pending, 0);
    // The 3 projects and their 3 owner memberships (the server adds them).
    const local = b.rows('SELECT (SELECT count(*) FROM projects) + (SELECT count(*) FROM projectMembers) AS n')[0].n;
    assert.equal(local, 6);
    assert.equal(info.rounds.reduce((n, r) => n + r.pulled, 0), local, 'the rows pulled');
    assert.ok(info.rounds.every((r) => r.status === 200 && r.error === null));
    assert.ok(info.cursor && typeof info.cursor === 'string', 'the cursor');
    assert.equal(info.clientId, b.sync.status.clientId);

    // Bob writes alice's key: refused (forbidden), kept among the rejections.
    const bob = await openClient(stack.url, schema, 'bob');
    closers.push(() => bob.close());
    bob.db.exec(INSERT, { bind: ['dbg-1', 'Not mine'] });
    bob.sync.notifyLocalChange();
    await waitFor(() => bob.events.rejected.length, { what: 'the rejection' });
    await waitFor(async () => (await bob.sync.inspect()).rounds.some((r) => r.results.rejected === 1), { what: 'the round record' });
    const seen = await bob.sync.inspect();
    assert.equal(seen.rejections.length, 1);
    assert.equal(seen.rejections[0].reason, 'forbidden');
    assert.deepEqual(seen.rejections[0].pk, ['dbg-1']);
  });

  test('debug: the option wins; unset, localStorage.edgesync_debug = "1" turns logging on (console.debug)', () => {
    const had = Object.getOwnPropertyDescriptor(globalThis, 'localStorage');
    const seen = [];
    const debug = console.debug;
    try {
      Object.defineProperty(globalThis, 'localStorage', { configurable: true, value: { getItem: (k) => (k === 'edgesync_debug' ? '1' : null) } });
      console.debug = (...a) => seen.push(a);
      const log = debugLogger(undefined);
      assert.equal(typeof log, 'function');
      log('a line', { id: 1 });
      assert.deepEqual(seen, [['a line', { id: 1 }]]);
      assert.equal(debugLogger(false), null, 'debug: false overrides the flag');
      Object.defineProperty(globalThis, 'localStorage', { configurable: true, value: { getItem: () => { throw new Error('denied'); } } });
      assert.equal(debugLogger(undefined), null, 'storage denied: off');
    } finally {
      console.debug = debug;
      if (had) Object.defineProperty(globalThis, 'localStorage', had);
      else delete globalThis.localStorage;
    }
    assert.equal(debugLogger(undefined), null, 'no localStorage (node, workers): off');
  });

  test('the inspector page is served only in development mode', async () => {
    const res = await fetch(`${stack.url}/_edgesync/inspector`);
    assert.equal(res.status, 404, 'no development tokens: no inspector page');
    await res.body?.cancel();
  });

  test('inspect() in a follower tab returns the leading tab\'s outbox, rounds and cursor', async () => {
    const s3 = await sqlite();
    const shared = new s3.oo1.DB(':memory:', 'c');
    closers.push(() => shared.close());
    const locks = fakeLocks();
    let token = null; // signed out at first: the writes stay queued
    const make = () => {
      const s = createSync({
        db: () => shared, dbName: `insp-${Math.random()}`.replace('0.', ''), sqlite3: s3, url: stack.url, schema,
        getToken: () => token, config: FAST, tabs: { locks, BroadcastChannel, name: 'inspect-tabs' },
      });
      closers.push(() => s.stop());
      return s;
    };
    const leader = make();
    await leader.start();
    const follower = make();
    await follower.start();
    assert.deepEqual([leader.role, follower.role], ['leader', 'follower']);
    await follower.exec(INSERT, ['tab-1', 'One']);
    await follower.exec(INSERT, ['tab-2', 'Two']);
    await waitFor(async () => (await follower.inspect()).rounds.some((r) => r.status === 401), { what: 'a signed-out round' });
    const queued = await follower.inspect({ outboxLimit: 1 });
    assert.equal(queued.role, 'leader', 'answered by the leading tab');
    assert.equal(queued.pending, 2);
    assert.equal(queued.outbox.length, 1, 'outboxLimit');
    assert.equal(queued.outbox[0].table, 'projects');
    assert.deepEqual(queued.outbox[0].pk, ['tab-1']);
    assert.equal(queued.outbox[0].row.name, 'One');
    assert.equal(queued.cursor, null, 'nothing pulled yet');

    token = tokenFor('carol');
    follower.tokenRefreshed();
    await waitFor(async () => (await follower.inspect()).pending === 0, { what: 'the queued writes to be sent' });
    await follower.syncNow();
    const synced = await follower.inspect();
    assert.equal(synced.pending, 0);
    assert.deepEqual(synced.outbox, []);
    assert.ok(synced.cursor, 'a cursor after the pull');
    assert.equal(synced.clientId, leader.status.clientId);
    // The 2 writes were applied (one batch may have been sealed before the second write).
    const ok = synced.rounds.filter((r) => r.status === 200);
    assert.equal(ok.reduce((n, r) => n + r.results.applied, 0), 2, `the push rounds: ${JSON.stringify(synced.rounds)}`);
    assert.ok(synced.rounds.some((r) => r.status === 401), 'the signed-out rounds are kept');
    // The same records the leader itself reports.
    assert.deepEqual(synced.rounds, (await leader.inspect()).rounds);
  });
});
