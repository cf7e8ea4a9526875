// Three real tabs of one browser on the demo (headless Chromium, OPFS
// SAH-pool database in each tab's worker): a follower writes through
// sync.exec while the leading tab is closed mid-stream — every write lands
// exactly once (the next leader answers the in-flight one from its record),
// and the other follower's watch (the demo's re-render trigger) fires.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startE2E, openDemo, waitForLabel } from './harness.mjs';

let e2e;
before(async () => { e2e = await startE2E(); }, { timeout: 120000 });
after(() => e2e?.stop(), { timeout: 30000 });

const N = 40;

test('three tabs: the leader closes mid-write, nothing is lost or doubled, followers\' watchers fire', { timeout: 120000 }, async () => {
  const ctx = await e2e.browser.newContext();
  try {
    const t1 = await openDemo(ctx, e2e.url, 'trio');
    await waitForLabel(t1, 'Synced');
    const t2 = await openDemo(ctx, e2e.url, 'trio');
    const t3 = await openDemo(ctx, e2e.url, 'trio');
    const pages = [t1, t2, t3];
    const roles = await Promise.all(pages.map((p) => p.evaluate(() => window.demo.stats().then((s) => s.role))));
    assert.deepEqual([...roles].sort(), ['follower', 'follower', 'leader']);
    const leader = pages[roles.indexOf('leader')];
    const [writer, watcher] = pages.filter((p) => p !== leader);

    // A project, written by a follower; the other follower's watch re-renders it.
    const pid = await writer.evaluate(() => window.demo.op('addProject', 'Trio'));
    await watcher.waitForFunction((id) => window.demo.state.projects.some((p) => p.id === id), pid);
    const changesBefore = await watcher.evaluate(() => window.demo.state.changes);

    // N node inserts from the writer, one after another; the leader's tab
    // closes once a few have landed.
    await writer.evaluate(({ id, n }) => {
      window.writes = (async () => {
        const ids = [];
        for (let i = 0; i < n; i++) ids.push(await window.demo.op('addNode', id, `w${String(i).padStart(2, '0')}`, 10 + i, 10));
        return ids;
      })();
    }, { id: pid, n: N });
    await writer.waitForFunction(async (id) => (await window.demo.op('board', id)).nodes.length >= 5, pid, { polling: 50 });
    await leader.close();

    const ids = await writer.evaluate(() => window.writes);
    assert.equal(ids.length, N, 'every write resolved');
    await Promise.race([
      writer.waitForFunction(() => window.demo.state.role === 'leader', null, { timeout: 30000 }),
      watcher.waitForFunction(() => window.demo.state.role === 'leader', null, { timeout: 30000 }),
    ]);
    const board = await watcher.evaluate((id) => window.demo.op('board', id), pid);
    assert.equal(board.nodes.length, N, 'each node once in the local database');
    assert.deepEqual(board.nodes.map((x) => x.id).sort(), [...ids].sort());

    // The watcher follower re-rendered from its watch (more than once: the writes went on).
    const changesAfter = await watcher.evaluate(() => window.demo.state.changes);
    assert.ok(changesAfter > changesBefore, `the follower's watch fired (${changesBefore} → ${changesAfter})`);

    // Synced to PostgreSQL exactly once.
    await writer.evaluate(() => window.demo.syncNow());
    const [{ n }] = await e2e.srv.sql`select count(*)::int as n from workflow_nodes where project_id = ${pid} and not _es_deleted`;
    assert.equal(n, N);
    for (const p of [writer, watcher]) assert.equal(p.logs.filter((l) => l.startsWith('pageerror')).length, 0, p.logs.join('\n'));
  } finally {
    await ctx.close();
  }
});
