// Browser end-to-end harness: PostgreSQL 15 + the node host serving the built
// demo (demo/dist) with dev tokens, and headless Debian Chromium through
// playwright-core (never a downloaded browser).
import { existsSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startPostgres } from '../harness/postgres.mjs';
import { startServer } from '../../hosts/node/server.mjs';
import { buildDemo, isStale } from '../../demo/build.mjs';

export const schema = JSON.parse(readFileSync(new URL('../../demo/schema.json', import.meta.url), 'utf8'));
const DEV_SECRET = 'edgesync-browser-test-secret-0123456789';
const CHROMIUM = process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find(existsSync);
export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

/** Builds the demo when stale, starts PostgreSQL + the server + Chromium. */
export async function startE2E() {
  if (!CHROMIUM) throw new Error('chromium is not installed (apt-get install chromium; npm test installs it)');
  if (isStale()) await buildDemo({ quiet: true });
  const pg = await startPostgres();
  const mediaDir = mkdtempSync(join(tmpdir(), 'edgesync-e2e-media-'));
  let srv;
  let browser;
  try {
    srv = await startServer({
      databaseUrl: pg.url, port: 0, poolSize: 4, schema, staticDir: new URL('../../demo/dist', import.meta.url).pathname,
      auth: { secret: DEV_SECRET, audience: 'authenticated' }, devTokenSecret: DEV_SECRET,
      media: { dir: mediaDir, secret: `${DEV_SECRET}-media` },
      logger: { error: (...a) => console.error(...a), warn: () => {}, log: () => {} },
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
  } catch (e) {
    await srv?.close();
    await pg.stop();
    rmSync(mediaDir, { recursive: true, force: true });
    throw e;
  }
  return {
    pg, srv, browser, url: srv.url, mediaDir,
    async stop() {
      await browser.close().catch(() => {});
      await srv.close();
      await pg.stop();
      rmSync(mediaDir, { recursive: true, force: true });
    },
  };
}

/**
 * Opens the demo in `context` signed in as `user`; returns the page with a
 * per-page count of the /sync requests it (its worker) sent.
 */
export async function openDemo(context, url, user, { signIn = true } = {}) {
  const page = await context.newPage();
  page.syncRequests = 0;
  page.logs = [];
  page.on('console', (m) => page.logs.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => page.logs.push(`pageerror: ${e.message}`));
  page.on('request', (r) => { if (new URL(r.url()).pathname === '/sync') page.syncRequests++; });
  await page.goto(url);
  if (signIn) {
    await page.waitForSelector('[data-testid=user-name]:visible, [data-testid=status]:visible');
    if (await page.isVisible('[data-testid=user-name]')) {
      await page.fill('[data-testid=user-name]', user);
      await page.click('[data-testid=sign-in]');
    }
  }
  await ready(page);
  return page;
}

/** Waits until the page's worker has started sync. */
export async function ready(page) {
  await page.waitForFunction(() => window.demo?.state.ready === true, null, { timeout: 30000 });
}

/** Waits for the page's status badge to read `label`. */
export async function waitForLabel(page, label, timeout = 20000) {
  await page.waitForFunction((l) => window.demo?.state.label === l, label, { timeout });
}

/** The page's data as the UI sees it: { projects, nodes } (labels). */
export async function view(page) {
  return page.evaluate(async () => {
    const projects = await window.demo.op('listProjects');
    const nodes = [];
    for (const p of projects) {
      const b = await window.demo.op('board', p.id);
      for (const n of b.nodes) nodes.push({ project: p.name, label: n.label, x: n.x, y: n.y });
    }
    nodes.sort((a, b) => (a.project + a.label).localeCompare(b.project + b.label));
    return { projects: projects.map((p) => p.name).sort(), nodes };
  });
}
