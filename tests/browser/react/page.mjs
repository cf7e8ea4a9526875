// A tiny React page over edgesync/react (bundled by tests/browser/react.test.mjs
// with esbuild): an in-memory SQLite WASM database synced as ?user=…, a list
// from useQuery, the status from useSyncStatus, a row's mark from usePending.
import { createElement as h } from 'react';
import { createRoot } from 'react-dom/client';
import sqlite3InitModule from '@sqlite.org/sqlite-wasm';
import { createSync } from 'edgesync/client';
import { useQuery, useSyncStatus, usePending } from 'edgesync/react';
import schema from '../../../demo/schema.json';

const user = new URLSearchParams(location.search).get('user');
const renders = { list: 0, data: 0 };
let lastData;

function Projects({ sync }) {
  const { data, error, loading } = useQuery(sync, 'SELECT id, name FROM projects ORDER BY name');
  const status = useSyncStatus(sync);
  const pending = usePending(sync, 'projects', 'p1');
  renders.list++;
  if (data !== lastData) {
    lastData = data;
    renders.data++; // a new result from the watcher
  }
  return h('div', null,
    h('p', { 'data-testid': 'state' }, loading ? 'loading' : error ? `error: ${error.message}` : `${data.length} projects`),
    h('p', { 'data-testid': 'status' }, status.state),
    h('p', { 'data-testid': 'pending' }, String(pending)),
    h('ul', null, (data ?? []).map((p) => h('li', { key: p.id, 'data-id': p.id }, p.name))));
}

const sqlite3 = await sqlite3InitModule({ print: () => {}, printErr: () => {} });
const db = new sqlite3.oo1.DB(':memory:', 'c');
const sync = createSync({
  db, sqlite3, url: '', schema, tabs: false, wasmUrl: '/edgesync_client.wasm', config: { debounceMs: 30 },
  getToken: async () => (await (await fetch(`/dev/token?user=${user}`)).json()).token,
});
createRoot(document.getElementById('root')).render(h(Projects, { sync }));
await sync.start();
window.t = { sync, renders };
