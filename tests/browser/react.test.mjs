// edgesync/react in headless Chromium: a React page (tests/browser/react/
// page.mjs, bundled here with esbuild and served beside the demo) whose list
// comes from useQuery — it re-renders after a local write and after a pulled
// one — with useSyncStatus and usePending following the row to the server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { build } from 'esbuild';
import { startE2E } from './harness.mjs';

let e2e;
let bundle;
before(async () => {
  const out = await build({
    entryPoints: [new URL('./react/page.mjs', import.meta.url).pathname], bundle: true, format: 'esm', platform: 'browser',
    write: false, logLevel: 'error', define: { 'process.env.NODE_ENV': '"production"' },
    absWorkingDir: new URL('../..', import.meta.url).pathname,
  });
  bundle = out.outputFiles[0].text;
  e2e = await startE2E();
}, { timeout: 120000 });
after(() => e2e?.stop(), { timeout: 30000 });

/** The React page, served at /react-test.html next to the demo's wasm files. */
async function openPage(ctx, user) {
  await ctx.route('**/react-test.html*', (r) => r.fulfill({ contentType: 'text/html', body: '<!doctype html><div id="root"></div><script type="module" src="/react-test.js"></script>' }));
  await ctx.route('**/react-test.js', (r) => r.fulfill({ contentType: 'text/javascript', body: bundle }));
  const page = await ctx.newPage();
  page.logs = [];
  page.on('pageerror', (e) => page.logs.push(`pageerror: ${e.message}`));
  await page.goto(`${e2e.url}/react-test.html?user=${user}`);
  await page.waitForFunction(() => window.t?.sync.status.state === 'idle', null, { timeout: 30000 });
  return page;
}

const text = (page, id) => page.textContent(`[data-testid=${id}]`);

test('useQuery re-renders on local and pulled writes; useSyncStatus and usePending follow the sync', { timeout: 90000 }, async () => {
  const ctxA = await e2e.browser.newContext();
  const ctxB = await e2e.browser.newContext();
  try {
    const a = await openPage(ctxA, 'rhea');
    const b = await openPage(ctxB, 'rhea');
    await a.waitForSelector('[data-testid=state] >> text=0 projects');
    assert.equal(await text(a, 'status'), 'idle');
    assert.equal(await text(a, 'pending'), 'false');

    // A local write: the list and the pending mark re-render, then the mark clears once acknowledged.
    await a.evaluate(() => window.t.sync.exec("INSERT INTO projects (id, ownerId, name) VALUES ('p1', 'rhea', 'Alpha')"));
    await a.waitForSelector('li[data-id=p1] >> text=Alpha');
    await a.waitForSelector('[data-testid=pending] >> text=true', { timeout: 5000 }).catch(() => { /* acknowledged already */ });
    await a.evaluate(() => window.t.sync.syncNow());
    await a.waitForSelector('[data-testid=pending] >> text=false');
    await a.waitForSelector('[data-testid=status] >> text=idle');

    // A pulled write (from the other browser): the list re-renders without a reload, once per commit.
    await b.evaluate(() => window.t.sync.transaction(async (tx) => {
      for (let i = 0; i < 20; i++) await tx.exec('INSERT INTO projects (id, ownerId, name) VALUES (?, ?, ?)', [`b${i}`, 'rhea', `Beta ${String(i).padStart(2, '0')}`]);
    }));
    await b.evaluate(() => window.t.sync.syncNow());
    const before = await a.evaluate(() => window.t.renders.data);
    const roundMs = await a.evaluate(async () => { const t0 = performance.now(); await window.t.sync.syncNow(); return performance.now() - t0; });
    await a.waitForSelector('[data-testid=state] >> text=21 projects');
    await new Promise((r) => setTimeout(r, 300));
    const results = (await a.evaluate(() => window.t.renders.data)) - before;
    // The pull commits 20 pages; the watcher runs at the end of the round (or
    // every 200 ms of a longer one), never for the sync's own bookkeeping:
    // one result, plus one per 200 ms the round took (a loaded machine).
    const bound = 1 + Math.ceil(roundMs / 200);
    assert.ok(results >= 1 && results <= Math.min(bound, 19), `${results} new results for 20 pulled rows (round ${roundMs.toFixed(0)} ms, at most ${bound})`);
    assert.deepEqual(await a.$$eval('li', (lis) => lis.map((li) => li.textContent)).then((l) => l.slice(0, 2)), ['Alpha', 'Beta 00']);
    for (const p of [a, b]) assert.deepEqual(p.logs, []);
  } finally {
    await ctxA.close();
    await ctxB.close();
  }
});
