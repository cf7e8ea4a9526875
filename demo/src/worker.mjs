// The demo's data worker: the app's SQLite WASM database (OPFS SAH-pool VFS,
// one pool per signed-in user) and edgesync/client, exactly as an app would
// use them.
//
// Several tabs: the SAH-pool VFS lets one tab at a time hold the database,
// so the tab that leads the sync (the Web Lock edgesync/client takes) is
// also the one that opens the database (createSync's `db` is a function).
// The page's operations use sync.query / exec / transaction, which run in
// that tab whichever tab calls them, and a sync.watch tells the page when
// to re-render.
import sqlite3InitModule from '@sqlite.org/sqlite-wasm';
import { createSync, statusLabel, registerClock } from 'edgesync/client';
import schema from '../schema.json';
import { OPS, SHOWN_TABLES } from './ops.mjs';

let user;
let sync;
let sqlite3;
let syncRequests = 0;
let token = null;
const tabId = Math.random().toString(36).slice(2, 10);
/** The periodic pull's interval (the fallback when live pokes are off). */
const POLL_MS = 5000;

const post = (msg) => self.postMessage(msg);
const log = (...a) => post({ t: 'log', text: a.join(' ') });

async function getToken({ refresh } = {}) {
  if (!refresh && token && token.expiresAt - Date.now() > 60_000) return token.value;
  const res = await fetch(`/dev/token?user=${encodeURIComponent(user)}`, { cache: 'no-store' });
  if (!res.ok) throw new Error(`the dev token route answered ${res.status}`);
  const body = await res.json();
  token = { value: body.token, expiresAt: Date.now() + body.expiresIn * 1000 };
  return token.value;
}

// Opens this user's database on the SAH pool. A tab that just went away may
// still hold the pool's files for a moment: retry.
async function openDb() {
  // `-2`: the schema gained workflowNodes.image; the client creates missing
  // tables but does not alter existing ones, so older local copies stay aside.
  const name = `edgesync-demo-${user}-2`;
  let lastError;
  for (let attempt = 0; attempt < 40; attempt++) {
    try {
      const pool = await sqlite3.installOpfsSAHPoolVfs({
        name, directory: `.${name}`, initialCapacity: 6, forceReinitIfPreviouslyFailed: true,
      });
      const db = new pool.OpfsSAHPoolDb('/board.sqlite3');
      db.exec('PRAGMA foreign_keys = OFF; PRAGMA journal_mode = DELETE;');
      // The triggers' HLC clock (createSync registers it too; this tab may
      // write before the sync has opened the database).
      registerClock(db);
      return db;
    } catch (e) {
      lastError = e;
      await new Promise((r) => setTimeout(r, 100 + attempt * 25));
    }
  }
  throw lastError;
}

async function init(msg) {
  user = msg.user;
  sqlite3 = await sqlite3InitModule({ print: () => {}, printErr: (...a) => log('sqlite:', ...a) });
  sync = createSync({
    db: openDb,
    dbName: `board-${user}`,
    sqlite3,
    url: '',
    schema,
    getToken,
    wasmUrl: new URL('./edgesync_client.wasm', self.location.href),
    // Round logging (the page's localStorage.edgesync_debug = '1').
    debug: msg.debug === true,
    // Quick pushes. Other browsers' edits (the same user's, or a shared
    // project's members') arrive through live pokes (GET /live) at once; the
    // pull every POLL_MS is the fallback without them.
    config: { debounceMs: 300, maxDebounceMs: 3000, periodicMs: POLL_MS },
    fetch: (url, init) => {
      if (new URL(url).pathname === '/sync') syncRequests++;
      return fetch(url, init);
    },
    // Node images come down with their rows (not only when shown).
    media: { eager: ['workflowNodes.image'] },
  });
  const status = (s) => post({ t: 'status', status: s, label: statusLabel(s), requests: syncRequests });
  sync.on('status', status);
  sync.on('rejected', (r) => post({ t: 'notice', kind: 'rejected', data: r }));
  sync.on('conflict', (c) => post({ t: 'notice', kind: 'conflict', data: c }));
  sync.on('error', (e) => log('sync error:', e?.message ?? e));
  sync.on('role', (role) => post({ t: 'role', role }));
  // Each attached image's upload: pending → uploading → synced | error.
  sync.on('file', (f) => post({ t: 'file', file: f }));
  // Any commit on the tables the page shows (any tab's writes, pulls): re-render.
  sync.watch(SHOWN_TABLES, [], () => post({ t: 'changed' }));
  await sync.start();
  post({ t: 'ready', role: sync.role, status: sync.status, tab: tabId, pollMs: POLL_MS });
}

self.onmessage = async ({ data: m }) => {
  try {
    switch (m.t) {
      case 'init':
        await init(m);
        break;
      case 'op':
        post({ t: 'result', id: m.id, ok: true, value: await OPS[m.op](sync, user, ...(m.args ?? [])) });
        break;
      case 'syncNow':
        post({ t: 'result', id: m.id, ok: true, value: await sync.syncNow() });
        break;
      case 'pendingCount':
        post({ t: 'result', id: m.id, ok: true, value: await sync.pendingCount() });
        break;
      case 'inspect':
        post({ t: 'result', id: m.id, ok: true, value: await sync.inspect(m.options) });
        break;
      case 'attach':
        // Kept in OPFS and set on the node at once; uploads in the background.
        post({ t: 'result', id: m.id, ok: true, value: await sync.attach('workflowNodes', m.node, 'image', m.file) });
        break;
      case 'image': {
        // The local copy, or downloaded (code not_uploaded: not there yet).
        const blob = await sync.file('workflowNodes', m.node, 'image');
        const status = blob ? await sync.fileStatus(m.ref) : null;
        post({ t: 'result', id: m.id, ok: true, value: { blob, status } });
        break;
      }
      case 'imageDigest': {
        const blob = await sync.file('workflowNodes', m.node, 'image');
        const d = blob ? new Uint8Array(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer())) : null;
        post({ t: 'result', id: m.id, ok: true, value: d && Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('') });
        break;
      }
      case 'isPending':
        post({ t: 'result', id: m.id, ok: true, value: await sync.isPending(m.table, m.pk) });
        break;
      case 'visible':
        sync?.setVisible(m.visible);
        break;
      case 'online':
        sync?.setOnline(m.online);
        break;
      case 'stats':
        post({ t: 'result', id: m.id, ok: true, value: { requests: syncRequests, role: sync?.role, tab: tabId } });
        break;
      default:
        break;
    }
  } catch (e) {
    if (m.id !== undefined) post({ t: 'result', id: m.id, ok: false, error: String(e?.message ?? e), code: e?.code });
    else log('worker error:', e?.stack ?? e);
  }
};
