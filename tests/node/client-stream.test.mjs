// Streamed initial sync (docs/protocol.md, "Streamed pulls"): a fresh device
// catches up through streamed pulls — pages applied while the rest downloads,
// `progress` events, and a stream cut mid-way (or a reload) resumes from the
// last applied page instead of from zero. Real node host, PostgreSQL 15 and
// SQLite WASM.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startStack, openClient, waitFor } from '../harness/client.mjs';

const schema = JSON.parse(readFileSync(new URL('../fixtures/schema.demo-owner.json', import.meta.url), 'utf8'));
const N = 6000;
const PAGE = 500; // maxPageSize: a stream of N / PAGE frames

let stack;
before(async () => {
  stack = await startStack(schema, { limits: { maxPageSize: PAGE, defaultPageSize: 100 } });
  // Direct writes: the triggers stamp them, so the pull cursor sees them.
  await stack.sql.unsafe(`insert into workflow_nodes (id, project_id, owner_id, label, x, y, data)
    select 'n' || lpad(i::text, 7, '0'), 'p' || (i % 50), 'alice', 'Step ' || i, i, i * 0.5,
           jsonb_build_object('kind', 'task', 'w', 120, 'tags', jsonb_build_array('a', 'b'))
    from generate_series(1, ${N}) i`);
  // Another user's rows are never pulled.
  await stack.sql.unsafe(`insert into workflow_nodes (id, project_id, owner_id, label)
    select 'b' || i, 'p', 'bob', 'x' from generate_series(1, 100) i`);
}, { timeout: 60000 });
after(() => stack?.stop(), { timeout: 30000 });

const clients = [];
after(async () => { for (const c of clients) await c.close().catch(() => {}); });

/**
 * A fetch that records each /sync request body and the rows of every frame
 * it passed on; `cut(i)` may return a byte count after which the i-th
 * streamed response breaks (as a lost connection does).
 */
function recordingFetch({ cut = () => null } = {}) {
  const log = [];
  const fetchFn = async (url, init) => {
    const text0 = typeof init.body === 'string' ? init.body : new TextDecoder().decode(init.body);
    const entry = { body: JSON.parse(text0), frames: [], rows: 0 };
    log.push(entry);
    const res = await fetch(url, init);
    if (res.headers.get('content-type') !== 'application/x-ndjson') return res;
    const limit = cut(log.length - 1);
    const reader = res.body.getReader();
    let seen = 0;
    let text = '';
    const decoder = new TextDecoder();
    const body = new ReadableStream({
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) { controller.close(); return; }
        let chunk = value;
        if (limit !== null && seen + chunk.byteLength > limit) {
          chunk = chunk.subarray(0, Math.max(0, limit - seen));
          if (chunk.byteLength) controller.enqueue(chunk);
          reader.cancel().catch(() => {});
          controller.error(new TypeError('terminated: connection cut by the test'));
          return;
        }
        seen += chunk.byteLength;
        text += decoder.decode(chunk, { stream: true });
        for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n')) {
          const frame = JSON.parse(text.slice(0, nl));
          entry.frames.push(frame);
          entry.rows += frame.changes.length;
          text = text.slice(nl + 1);
        }
        controller.enqueue(chunk);
      },
      cancel() { return reader.cancel(); },
    });
    return new Response(body, { status: res.status, headers: res.headers });
  };
  return { fetch: fetchFn, log };
}

function checkProgress(events) {
  assert.ok(events.length > 0, 'progress events');
  let last = { received: 0, applied: 0 };
  for (const p of events) {
    assert.ok(p.received >= last.received && p.applied >= last.applied, `progress is monotonic: ${JSON.stringify(p)}`);
    assert.ok(p.applied <= p.received, 'never more applied than received');
    last = p;
  }
  return last;
}

async function allRows(c) {
  const ids = c.rows('SELECT id FROM workflowNodes ORDER BY id').map((r) => r.id);
  assert.equal(ids.length, N, 'every row arrived');
  assert.equal(new Set(ids).size, N);
  for (let i = 1; i <= N; i++) assert.equal(ids[i - 1], `n${String(i).padStart(7, '0')}`);
}

// A fresh device of alice's syncing through `rec` until it holds every row:
// the client and the progress events it emitted.
async function catchUp(rec) {
  const c = await openClient(stack.url, schema, 'alice', { fetch: rec.fetch });
  clients.push(c);
  const progress = [];
  c.sync.on('progress', (p) => progress.push(p));
  await waitFor(() => c.rows('SELECT count(*) AS n FROM workflowNodes')[0].n === N && c.sync.status.state === 'idle',
    { what: 'the catch-up', timeoutMs: 30000 });
  await allRows(c);
  return { c, progress };
}

describe('streamed initial sync', () => {
  test('a fresh device catches up in one streamed request, with progress', async () => {
    const rec = recordingFetch();
    const { c, progress } = await catchUp(rec);
    const first = rec.log[0];
    assert.equal(first.body.stream, true);
    assert.equal(first.body.cursor, null);
    assert.equal(first.body.pageSize, undefined);
    assert.equal(first.frames.length, N / PAGE, 'one frame per page');
    assert.equal(first.rows, N);
    assert.ok(first.frames.every((f, i) => f.rows === f.changes.length && f.hasMore === (i < N / PAGE - 1)));
    // Caught up: the next pull is an ordinary one.
    await c.sync.syncNow();
    assert.equal(rec.log.at(-1).body.stream, undefined);
    assert.equal(rec.log.at(-1).body.pageSize, 500);
    const last = checkProgress(progress);
    assert.equal(last.received, N);
    assert.equal(last.applied, N);
    assert.ok(progress.some((p) => p.applied > 0 && p.applied < N), 'progress during the catch-up');
    assert.equal(Number(c.db.selectValue('SELECT count(*) FROM sync_outbox')), 0, 'pulled rows never enter the outbox');
  });

  test('a stream cut mid-way resumes from the last applied page: no restart, no duplicates, no gaps', async () => {
    // The first stream breaks after about a third of its bytes.
    const rec = recordingFetch({ cut: (i) => (i === 0 ? 400_000 : null) });
    const { progress } = await catchUp(rec);
    const [cutOne, resumed] = rec.log;
    assert.equal(cutOne.body.stream, true);
    assert.ok(cutOne.rows > 0 && cutOne.rows < N, `the first stream delivered part of the rows (${cutOne.rows})`);
    assert.equal(resumed.body.stream, true);
    assert.notEqual(resumed.body.cursor, null, 'the next request resumes from a cursor');
    assert.equal(resumed.body.cursor, cutOne.frames.at(-1).cursor, 'from the last whole page received');
    assert.equal(cutOne.rows + resumed.rows, N, 'no row is pulled twice, none skipped');
    const last = checkProgress(progress);
    assert.equal(last.applied, N);
  });

  test('a reload mid-way (a new client on the same database) resumes from the persisted cursor', async () => {
    // The first client's stream stalls after its first frames: its body is
    // held back until the client is stopped.
    const s3db = await (await import('../harness/client.mjs')).sqlite();
    const db = new s3db.oo1.DB(':memory:', 'c');
    let release;
    const held = new Promise((r) => { release = r; });
    const rec = recordingFetch({ cut: () => 200_000 });
    const stalling = async (url, init) => {
      const res = await rec.fetch(url, init);
      if (!res.body || res.headers.get('content-type') !== 'application/x-ndjson') return res;
      const reader = res.body.getReader();
      return new Response(new ReadableStream({
        async pull(controller) {
          try {
            const { done, value } = await reader.read();
            if (done) controller.close(); else controller.enqueue(value);
          } catch {
            await held; // the connection hangs instead of breaking
            controller.error(new TypeError('terminated'));
          }
        },
      }), { status: res.status, headers: res.headers });
    };
    const a = await openClient(stack.url, schema, 'alice', { db, fetch: stalling });
    await waitFor(() => Number(db.selectValue('SELECT count(*) FROM workflowNodes')) > 0, { what: 'the first pages' });
    await new Promise((r) => setTimeout(r, 100));
    await a.close({ keepDb: true });
    release();
    const before = Number(db.selectValue('SELECT count(*) FROM workflowNodes'));
    const cursor = db.selectValue("SELECT value FROM sync_state WHERE key = 'cursor'");
    assert.ok(before > 0 && before < N, `part of the rows were applied (${before})`);
    assert.ok(cursor, 'the cursor of the last applied page is persisted');

    const rec2 = recordingFetch();
    const b = await openClient(stack.url, schema, 'alice', { db, fetch: rec2.fetch });
    clients.push(b);
    await waitFor(() => b.rows('SELECT count(*) AS n FROM workflowNodes')[0].n === N && b.sync.status.state === 'idle',
      { what: 'the resumed catch-up', timeoutMs: 30000 });
    await allRows(b);
    assert.equal(rec2.log[0].body.cursor, cursor, 'the reloaded client goes on from the persisted cursor');
    assert.equal(rec2.log[0].rows, N - before, 'only the rows not applied yet are pulled');
  });
});
