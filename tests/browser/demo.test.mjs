// The demo PWA end to end in headless Debian Chromium (playwright-core):
// PostgreSQL 15 + the node host serving demo/dist, SQLite WASM on the OPFS
// SAH-pool VFS in a dedicated worker, edgesync/client. Two browsers (contexts)
// converge; a reload mid-sync loses nothing; offline edits sync when the
// network returns; two tabs of one browser elect one syncing tab; two users
// share a project, see each other's edits live, and a revoked member loses it;
// an image attached to a node offline shows at once, survives a reload,
// uploads when the network returns and appears in the other browser.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { deflateSync, crc32 } from 'node:zlib';
import { startE2E, openDemo, ready, view, waitForLabel } from './harness.mjs';

let e2e;
before(async () => { e2e = await startE2E(); }, { timeout: 120000 });
after(() => e2e?.stop(), { timeout: 30000 });

/** Polls the page's data until `check(view)` holds. */
async function until(page, check, what, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await view(page);
    if (check(last)) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last view: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function addProject(page, name) {
  await page.fill('[data-testid=project-name]', name);
  await page.click('[data-testid=add-project]');
  await page.waitForFunction((n) => window.demo.state.projects.some((p) => p.name === n)
    && window.demo.state.projects.find((p) => p.name === n).id === window.demo.state.projectId, name);
}

async function addNode(page, label) {
  await page.fill('[data-testid=node-label]', label);
  await page.click('[data-testid=add-node]');
  await page.waitForFunction((l) => window.demo.state.board.nodes.some((n) => n.label === l), label);
}

const pgNodes = async (user) => (await e2e.srv.sql`select label from workflow_nodes where owner_id = ${user} and not _es_deleted order by label`).map((r) => r.label);

describe('the demo in two browsers', () => {
  test('sign-in, status, Sync now, and edits in one browser appear in the other', { timeout: 90000 }, async () => {
    const ctxA = await e2e.browser.newContext();
    const ctxB = await e2e.browser.newContext();
    try {
      const a = await openDemo(ctxA, e2e.url, 'ann');
      const b = await openDemo(ctxB, e2e.url, 'ann');
      assert.equal(await a.textContent('[data-testid=user]'), 'ann');
      await waitForLabel(a, 'Synced');
      await addProject(a, 'Launch');
      await addNode(a, 'Design');
      await addNode(a, 'Build');
      await a.click('[data-testid=sync-now]');
      await a.waitForFunction(() => window.demo.state.label === 'Synced' && window.demo.state.pending === 0);
      assert.equal(await a.textContent('[data-testid=pending]'), '0 pending');
      assert.deepEqual(await pgNodes('ann'), ['Build', 'Design']);

      // B picks them up (Sync now; the periodic pull would too).
      await b.click('[data-testid=sync-now]');
      await until(b, (v) => v.nodes.length === 2, 'B to see A\'s nodes');
      await b.waitForSelector('.node >> text=Design');

      // B edits; A sees it without pressing anything (periodic pull, 5 s).
      const id = await b.evaluate(() => window.demo.state.board.nodes.find((n) => n.label === 'Design').id);
      await b.evaluate((nid) => window.demo.op('renameNode', nid, 'Design v2'), id);
      await b.evaluate((nid) => window.demo.op('moveNode', nid, 300, 200), id);
      await b.evaluate(() => window.demo.syncNow());
      const v = await until(a, (x) => x.nodes.some((n) => n.label === 'Design v2'), 'A to see B\'s edit', 30000);
      assert.deepEqual(v.nodes.find((n) => n.label === 'Design v2'), { project: 'Launch', label: 'Design v2', x: 300, y: 200 });
      assert.deepEqual(await view(a), await view(b));
      assert.equal(a.logs.filter((l) => l.startsWith('pageerror')).length, 0, a.logs.join('\n'));
    } finally {
      await ctxA.close();
      await ctxB.close();
    }
  });

  test('a page reloaded mid-sync loses nothing (OPFS) and nothing is applied twice', { timeout: 90000 }, async () => {
    const ctx = await e2e.browser.newContext();
    const other = await e2e.browser.newContext();
    try {
      let page = await openDemo(ctx, e2e.url, 'rita');
      await waitForLabel(page, 'Synced');
      await addProject(page, 'Reload');
      const labels = ['r1', 'r2', 'r3', 'r4', 'r5'];
      const pushed = page.waitForRequest((r) => new URL(r.url()).pathname === '/sync' && /"batch":\{/.test(r.postData() ?? ''));
      for (const l of labels) await page.evaluate((x) => window.demo.op('addNode', window.demo.state.projectId, x, 10, 10), l);
      page.evaluate(() => window.demo.syncNow()).catch(() => {});
      await pushed; // the batch is on the wire: reload now
      await page.reload();
      await ready(page);
      assert.deepEqual((await view(page)).nodes.map((n) => n.label), labels, 'every node is still in the local database');
      await page.evaluate(() => window.demo.syncNow());
      await page.waitForFunction(() => window.demo.state.pending === 0 && window.demo.state.label === 'Synced');
      assert.deepEqual(await pgNodes('rita'), labels);
      const [{ n }] = await e2e.srv.sql`select count(*)::int as n from workflow_nodes where owner_id = 'rita'`;
      assert.equal(n, 5, 'each node written once');
      const o = await openDemo(other, e2e.url, 'rita');
      await o.evaluate(() => window.demo.syncNow());
      assert.deepEqual((await until(o, (v) => v.nodes.length === 5, 'the other browser')).nodes.map((x) => x.label), labels);
      page = null;
    } finally {
      await ctx.close();
      await other.close();
    }
  });

  test('offline edits sync when the network comes back', { timeout: 90000 }, async () => {
    const ctx = await e2e.browser.newContext();
    const other = await e2e.browser.newContext();
    try {
      const page = await openDemo(ctx, e2e.url, 'olga');
      await waitForLabel(page, 'Synced');
      await addProject(page, 'Field work');
      await page.evaluate(() => window.demo.syncNow());
      await ctx.setOffline(true);
      await waitForLabel(page, 'Offline');
      await addNode(page, 'Written offline');
      await page.click('[data-testid=sync-now]'); // tries, fails: still offline
      await page.waitForFunction(() => window.demo.state.label === 'Offline' && window.demo.state.pending > 0);
      assert.match(await page.textContent('[data-testid=pending]'), /^[1-9]\d* pending$/);
      assert.deepEqual(await pgNodes('olga'), []);
      await ctx.setOffline(false);
      await page.waitForFunction(() => window.demo.state.label === 'Synced' && window.demo.state.pending === 0, null, { timeout: 20000 });
      assert.deepEqual(await pgNodes('olga'), ['Written offline']);
      const o = await openDemo(other, e2e.url, 'olga');
      await o.evaluate(() => window.demo.syncNow());
      await until(o, (v) => v.nodes.some((n) => n.label === 'Written offline'), 'the other browser');
    } finally {
      await ctx.close();
      await other.close();
    }
  });
});

describe('two tabs of one browser', () => {
  test('only the leading tab syncs; the other follows, forwards, and takes over', { timeout: 120000 }, async () => {
    const ctx = await e2e.browser.newContext();
    try {
      const t1 = await openDemo(ctx, e2e.url, 'tess');
      await waitForLabel(t1, 'Synced');
      const t2 = await openDemo(ctx, e2e.url, 'tess'); // signed in already (localStorage)
      const roles = await Promise.all([t1, t2].map((p) => p.evaluate(() => window.demo.stats())));
      assert.deepEqual(roles.map((r) => r.role).sort(), ['follower', 'leader']);
      const [leader, follower] = roles[0].role === 'leader' ? [t1, t2] : [t2, t1];
      assert.equal(await follower.textContent('[data-testid=role]'), 'another tab syncs');
      const leaderBefore = (await leader.evaluate(() => window.demo.stats())).requests;

      // Both tabs edit; the follower's writes go to the leading tab's database.
      await addProject(follower, 'Shared');
      await addNode(follower, 'From the follower');
      // The leading tab's page re-renders after the follower's writes.
      await leader.waitForFunction(() => window.demo.state.projects.some((p) => p.name === 'Shared'));
      await leader.evaluate(() => window.demo.op('addNode',
        window.demo.state.projects.find((p) => p.name === 'Shared').id, 'From the leader', 200, 40));
      // Sync now from the follower is done by the leader.
      await follower.click('[data-testid=sync-now]');
      await follower.waitForFunction(() => window.demo.state.label === 'Synced' && window.demo.state.pending === 0);
      await leader.waitForFunction(() => window.demo.state.label === 'Synced');
      assert.deepEqual(await pgNodes('tess'), ['From the follower', 'From the leader']);

      const [ls, fs] = await Promise.all([leader, follower].map((p) => p.evaluate(() => window.demo.stats())));
      assert.ok(ls.requests > leaderBefore, 'the leader sent /sync requests');
      assert.equal(fs.requests, 0, 'the follower never sent one');
      assert.ok(leader.syncRequests > 0, 'the browser saw the leader\'s /sync requests');
      assert.equal(follower.syncRequests, 0, 'and none from the follower page');
      console.log(`# /sync requests: leading tab ${leader.syncRequests} (worker count ${ls.requests}), following tab ${follower.syncRequests}`);
      // Both tabs show the same status (the follower mirrors the leader's).
      const [a, b] = await Promise.all([leader, follower].map((p) => p.evaluate(() => window.demo.state.status.clientId)));
      assert.equal(a, b);

      // The leading tab closes: the other takes over the database and the sync.
      await leader.close();
      await follower.waitForFunction(() => window.demo.state.role === 'leader', null, { timeout: 30000 });
      await addNode(follower, 'After takeover');
      await follower.evaluate(() => window.demo.syncNow());
      assert.deepEqual(await pgNodes('tess'), ['After takeover', 'From the follower', 'From the leader']);
      assert.ok((await follower.evaluate(() => window.demo.stats())).requests > 0, 'the new leader syncs');
    } finally {
      await ctx.close();
    }
  });
});

describe('a project shared by two users', () => {
  test('alice shares with bob; bob\'s edit reaches alice live; a reader is read-only; revoking removes the project from bob', { timeout: 90000 }, async () => {
    const ctxA = await e2e.browser.newContext();
    const ctxB = await e2e.browser.newContext();
    const t0 = Date.now();
    let alice;
    let bob;
    try {
      [alice, bob] = await Promise.all([openDemo(ctxA, e2e.url, 'alice'), openDemo(ctxB, e2e.url, 'bob')]);
      const live = (page) => page.waitForFunction(() => window.demo.state.status?.live === true, null, { timeout: 20000 });
      await Promise.all([live(alice), live(bob)]);
      await addProject(alice, 'Roadmap');
      await addNode(alice, 'Plan');
      assert.equal(await alice.isVisible('[data-testid=shared]'), false, 'not shared yet');
      await alice.fill('[data-testid=member-user]', 'bob');
      await alice.selectOption('[data-testid=member-role]', 'write');
      await alice.click('[data-testid=add-member]');
      await alice.waitForSelector('#members li[data-user=bob]');
      await alice.evaluate(() => window.demo.syncNow());
      await alice.waitForSelector('[data-testid=shared]:visible');
      assert.deepEqual((await e2e.srv.sql`select user_id, role from project_members where project_id in (select id from projects where name = 'Roadmap') and not _es_deleted order by user_id`)
        .map((r) => `${r.user_id}:${r.role}`), ['alice:admin', 'bob:write']);

      // Bob's browser shows the project without him doing anything (a poke).
      await bob.waitForSelector('#projects li >> text=Roadmap', { timeout: 10000 });
      await bob.waitForSelector('.node >> text=Plan');
      assert.deepEqual(await bob.$$eval('#members li', (lis) => lis.map((li) => `${li.dataset.user}:${li.querySelector('.role').textContent}`)),
        ['alice:admin', 'bob:write']);
      assert.equal(await bob.isVisible('#add-member'), false, 'only admins manage members');
      assert.equal(await bob.isVisible('[data-testid=remove-member]'), false);
      assert.equal(await bob.isVisible('[data-testid=leave]'), true);
      assert.equal(await alice.isVisible('[data-testid=leave]'), false, 'admins do not leave from the panel');
      await alice.waitForFunction(() => document.querySelector('[data-testid=status]').textContent === 'Live');

      // Bob renames a node; alice's page shows it without a reload, sooner
      // than her next periodic pull could: timed from the end of her last one.
      const pollMs = await alice.evaluate(() => window.demo.state.pollMs);
      assert.ok(pollMs >= 5000, `the demo polls every ${pollMs} ms`);
      await alice.evaluate(() => { window.sameDocument = true; });
      await alice.waitForEvent('requestfinished', { predicate: (r) => new URL(r.url()).pathname === '/sync', timeout: pollMs + 5000 });
      const lastPull = Date.now();
      bob.once('dialog', (d) => d.accept('Plan (bob)'));
      await bob.dblclick('.node >> text=Plan');
      await bob.evaluate(() => window.demo.syncNow());
      const pushed = Date.now();
      await alice.waitForSelector('.node >> text=Plan (bob)', { timeout: pollMs });
      const shown = Date.now();
      console.log(`# live edit: bob's push done ${pushed - lastPull} ms after alice's last pull; on alice's board ${shown - pushed} ms later (polling: every ${pollMs} ms)`);
      assert.ok(shown - lastPull < pollMs, `alice saw bob's edit ${shown - lastPull} ms after her last pull, not before her next periodic one (${pollMs} ms)`);
      assert.equal(await alice.evaluate(() => window.sameDocument), true, 'no reload');

      // Bob becomes a reader: his board turns read-only, and a write he
      // makes anyway is refused and rolled back, with a toast.
      await alice.fill('[data-testid=member-user]', 'bob');
      await alice.selectOption('[data-testid=member-role]', 'read');
      await alice.click('[data-testid=add-member]');
      await alice.evaluate(() => window.demo.syncNow());
      await bob.waitForSelector('[data-testid=read-only]:visible', { timeout: 10000 });
      assert.equal(await bob.isVisible('[data-testid=add-node]'), false);
      const nid = await bob.evaluate(() => window.demo.state.board.nodes[0].id);
      await bob.evaluate((id) => window.demo.op('renameNode', id, 'Plan (reader)'), nid);
      await bob.evaluate(() => window.demo.syncNow());
      await bob.waitForSelector('.toast >> text=/refused \\(forbidden\\)/');
      await bob.waitForSelector('.node >> text=Plan (bob)');

      // Alice removes bob: the project leaves his browser, with a word why.
      await alice.click('#members li[data-user=bob] [data-testid=remove-member]');
      await alice.waitForFunction(() => !document.querySelector('#members li[data-user=bob]'));
      await alice.evaluate(() => window.demo.syncNow());
      const revoked = Date.now();
      await bob.waitForFunction(() => window.demo.state.projects.length === 0, null, { timeout: pollMs });
      console.log(`# revocation: the project left bob's browser ${Date.now() - revoked} ms after alice's push`);
      await bob.waitForSelector('.toast >> text=You no longer have access to Roadmap');
      assert.equal(await bob.evaluate(() => window.demo.state.projectId), null, 'deselected');
      assert.equal(await bob.isVisible('#toolbar'), false);
      assert.deepEqual(await view(bob), { projects: [], nodes: [] }, 'its rows left bob\'s device');
      assert.deepEqual((await view(alice)).nodes.map((n) => n.label), ['Plan (bob)']);
      for (const p of [alice, bob]) assert.equal(p.logs.filter((l) => l.startsWith('pageerror')).length, 0, p.logs.join('\n'));
      console.log(`# sharing test: ${Date.now() - t0} ms`);
    } catch (e) {
      for (const [who, p] of [['alice', alice], ['bob', bob]]) {
        if (p) console.log(`# ${who}: ${JSON.stringify(await view(p).catch((x) => x.message))}; console:\n${p.logs.join('\n')}`);
      }
      throw e;
    } finally {
      await ctxA.close();
      await ctxB.close();
    }
  });

  test('on a 390 px phone: sign-in hides the app, no toolbar without a project, the header fits, quick adds spread, a real double-click renames, the Debug inspector shows the sync', { timeout: 90000 }, async () => {
    const ctx = await e2e.browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1 });
    let page;
    try {
      page = await ctx.newPage();
      page.logs = [];
      page.on('pageerror', (e) => page.logs.push(`pageerror: ${e.message}`));
      await page.goto(e2e.url);
      await page.waitForSelector('[data-testid=user-name]:visible');
      // The sign-in screen alone: none of the app beside the form.
      for (const sel of ['#app', '#toolbar', '#sync', '#who', '[data-testid=board]']) {
        assert.equal(await page.isVisible(sel), false, `${sel} is hidden while signed out`);
      }
      await page.fill('[data-testid=user-name]', 'phone');
      await page.click('[data-testid=sign-in]');
      await ready(page);
      await waitForLabel(page, 'Synced');
      assert.equal(await page.isVisible('#app'), true);
      assert.equal(await page.isVisible('#sign-in'), false);
      // A new user has no project: no toolbar (nothing to add nodes to).
      assert.equal(await page.evaluate(() => window.demo.state.projectId), null);
      assert.equal(await page.isVisible('#toolbar'), false, 'no toolbar without a project');

      await addProject(page, 'Pocket');
      await page.waitForSelector('#toolbar:visible');
      // Every control of the header and the toolbar is on screen, and the page does not scroll sideways.
      for (const sel of ['[data-testid=sync-now]', '[data-testid=debug-toggle]', '#sign-out', '[data-testid=add-node]', '[data-testid=node-label]']) {
        const box = await page.locator(sel).boundingBox();
        assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `${sel} within the 390 px viewport: ${JSON.stringify(box)}`);
      }
      assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 390), 'no horizontal overflow');

      // Three nodes added as fast as one can click: three different spots.
      for (const label of ['One', 'Two', 'Three']) {
        await page.fill('[data-testid=node-label]', label);
        await page.click('[data-testid=add-node]');
      }
      await page.waitForFunction(() => window.demo.state.board.nodes.length === 3);
      const spots = await page.evaluate(() => window.demo.state.board.nodes.map((n) => `${n.x},${n.y}`));
      assert.equal(new Set(spots).size, 3, `distinct positions: ${spots}`);

      // A real double-click (mouse events, not a scripted op) opens rename.
      await page.waitForSelector('.node >> text=Two');
      const dialog = new Promise((resolve) => page.once('dialog', (d) => { resolve(d.message()); d.accept('Two (renamed)'); }));
      await page.dblclick('.node >> text=Two');
      assert.equal(await dialog, 'Rename node');
      await page.waitForSelector('.node >> text=Two (renamed)');

      // The Debug toggle embeds edgesync/inspector: the client id, the rounds.
      await page.evaluate(() => window.demo.syncNow());
      await page.click('[data-testid=debug-toggle]');
      const clientId = await page.evaluate(() => window.demo.state.status.clientId);
      await page.waitForFunction((id) => document.querySelector('#debug-panel [data-field=clientId]')?.textContent === id, clientId);
      await page.waitForFunction(() => document.querySelectorAll('#debug-panel table[data-section=rounds] tbody tr').length > 0);
      const info = await page.evaluate(() => window.demo.inspect());
      assert.equal(info.clientId, clientId);
      assert.ok(info.rounds.some((r) => r.status === 200 && r.results.applied > 0), 'a push round is recorded');
      assert.equal(await page.textContent('#debug-panel [data-field=pending]'), String(info.pending));
      await page.click('[data-testid=debug-toggle]');
      assert.equal(await page.isVisible('#debug-panel'), false);
      assert.equal(page.logs.length, 0, page.logs.join('\n'));

      // The host's development-mode inspector page, on the demo's origin,
      // follows the demo's syncing worker without taking over.
      const insp = await ctx.newPage();
      insp.logs = [];
      insp.on('pageerror', (e) => insp.logs.push(`pageerror: ${e.message}`));
      await insp.goto(`${e2e.url}/_edgesync/inspector?db=board-phone`);
      await insp.waitForFunction((id) => document.querySelector('[data-field=clientId]')?.textContent === id, clientId);
      assert.equal(await insp.textContent('[data-field=role]'), 'leader', 'answered by the demo\'s leading tab');
      await insp.waitForSelector('table[data-section=rounds] tbody tr');
      assert.equal((await page.evaluate(() => window.demo.stats())).role, 'leader', 'the demo still leads');
      assert.deepEqual(insp.logs, []);
    } finally {
      await ctx.close();
    }
  });
});

/** A `w`×`h` PNG of random pixels (incompressible: a real upload). */
function randomPng(w, h) {
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const rows = [];
  for (let y = 0; y < h; y++) rows.push(Buffer.from([0]), randomBytes(w * 3));
  return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.concat(rows))), chunk('IEND', Buffer.alloc(0))]);
}

describe('an image on a node', () => {
  test('attached offline: shown at once from the local copy, kept across a reload, uploaded when online, shown in the other browser', { timeout: 120000 }, async () => {
    const ctxA = await e2e.browser.newContext();
    const ctxB = await e2e.browser.newContext();
    // The API unreachable (no service worker here: ?nosw), the page itself loads.
    const api = /\/(sync|live)(\?|$)|\/media\//;
    const cut = (route) => route.abort('internetdisconnected');
    try {
      const a = await openDemo(ctxA, `${e2e.url}/?nosw`, 'pia');
      await waitForLabel(a, 'Synced');
      await addProject(a, 'Pictures');
      await addNode(a, 'Photo');
      await a.evaluate(() => window.demo.syncNow());
      const nodeId = await a.evaluate(() => window.demo.state.board.nodes[0].id);
      await a.click('.node >> text=Photo');
      await a.waitForFunction(() => window.demo.state.selected !== null);

      await ctxA.route(api, cut);
      const png = randomPng(200, 200);
      const digest = createHash('sha256').update(png).digest('hex');
      const t0 = Date.now();
      await a.setInputFiles('[data-testid=attach-image]', { name: 'photo.png', mimeType: 'image/png', buffer: png });
      const shown = () => a.waitForFunction(() => {
        const img = document.querySelector('[data-testid=node-image]');
        return img?.complete && img.naturalWidth === 200;
      }, null, { timeout: 20000 });
      await shown();
      console.log(`# image shown from the local copy ${Date.now() - t0} ms after the file was picked (${png.length} bytes, offline)`);
      assert.equal(await a.getAttribute('[data-testid=file-status]', 'data-status'), 'pending');

      await a.reload();
      await ready(a);
      await shown();
      assert.equal(await a.getAttribute('[data-testid=file-status]', 'data-status'), 'pending');
      const [{ n }] = await e2e.srv.sql`select count(*)::int as n from edgesync_media`;
      assert.equal(n, 0, 'nothing uploaded while offline');

      await ctxA.unroute(api, cut);
      await a.evaluate(() => window.demo.syncNow()).catch(() => {});
      await a.waitForFunction(() => document.querySelector('[data-testid=file-status]')?.dataset.status === 'synced', null, { timeout: 30000 });
      const [row] = await e2e.srv.sql`select image from workflow_nodes where id = ${nodeId}`;
      assert.equal(row.image, `sha256:${digest}`);

      const b = await openDemo(ctxB, `${e2e.url}/?nosw`, 'pia');
      await b.evaluate(() => window.demo.syncNow());
      await b.waitForFunction(() => {
        const img = document.querySelector('[data-testid=node-image]');
        return img?.complete && img.naturalWidth === 200;
      }, null, { timeout: 30000 }).catch(async (e) => {
        const board = await b.evaluate(() => ({ nodes: window.demo.state.board.nodes, html: document.querySelector('#board')?.innerHTML.slice(0, 800) }));
        throw new Error(`${e.message}\nB's board: ${JSON.stringify(board)}\nB's log:\n${b.logs.join('\n')}`);
      });
      assert.equal(await b.evaluate((id) => window.demo.imageDigest(id), nodeId), digest, 'the same bytes');
      for (const p of [a, b]) assert.equal(p.logs.filter((l) => l.startsWith('pageerror')).length, 0, p.logs.join('\n'));
    } finally {
      await ctxA.close();
      await ctxB.close();
    }
  });
});
