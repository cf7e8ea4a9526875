// `edgesync/inspector`: a plain-DOM panel showing what a sync client is doing
// — status, client id, cursor, the outbox, the last rounds, conflicts and
// rejections (sync.inspect()) — for an app to embed in its own pages:
//
//   import { mountInspector } from 'edgesync/inspector';
//   const unmount = mountInspector(document.getElementById('debug'), sync);
//
// Embedded, not served by the sync server: the local database lives in the
// app's origin (OPFS), which only the app's own pages can read. The panel
// refreshes on the client's events, at most every `minIntervalMs`, and
// writes every value as text (no HTML from the data).

const EVENTS = ['status', 'changes', 'acked', 'conflict', 'rejected'];

const STYLE = `
.es-inspector{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;color:#1d2433;background:#fbfcfe;
  border:1px solid #d5dbe6;border-radius:6px;padding:8px;overflow:auto;max-height:100%;box-sizing:border-box}
.es-inspector h3{font-size:12px;margin:10px 0 4px;text-transform:uppercase;letter-spacing:.04em;color:#56607a}
.es-inspector h3:first-child{margin-top:0}
.es-inspector table{border-collapse:collapse;width:100%}
.es-inspector th,.es-inspector td{text-align:left;padding:2px 6px;border-bottom:1px solid #e7ebf2;vertical-align:top;
  white-space:nowrap;max-width:24em;overflow:hidden;text-overflow:ellipsis}
.es-inspector .es-err{color:#b3261e}
.es-inspector .es-empty{color:#8a93a8;font-style:italic}
.es-inspector dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 10px;margin:0}
.es-inspector dt{color:#56607a}.es-inspector dd{margin:0;overflow-wrap:anywhere}
`;

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}

const time = (ms) => (ms ? new Date(ms).toLocaleTimeString() : '—');
const json = (v) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x));

// A table of `rows` (or `emptyText`), marked data-section=`name`.
function table(name, columns, rows, emptyText) {
  if (!rows.length) return el('p', { class: 'es-empty', 'data-section': name }, emptyText);
  return el('table', { 'data-section': name },
    el('thead', {}, el('tr', {}, ...columns.map(([h]) => el('th', {}, h)))),
    el('tbody', {}, ...rows.map((r) => el('tr', {}, ...columns.map(([, f]) => {
      const v = f(r);
      const td = el('td', {}, v ?? '');
      td.title = String(v ?? '');
      return td;
    })))));
}

/** Renders an inspection (sync.inspect()) into a fresh element. */
export function renderInspection(info) {
  const s = info.status;
  const err = s.lastError ? `${s.lastError.code}: ${s.lastError.message}` : null;
  const facts = el('dl', {},
    el('dt', {}, 'state'), el('dd', { 'data-field': 'state' }, s.state),
    el('dt', {}, 'role'), el('dd', { 'data-field': 'role' }, info.role ?? '—'),
    el('dt', {}, 'client id'), el('dd', { 'data-field': 'clientId' }, info.clientId || '—'),
    el('dt', {}, 'cursor'), el('dd', { 'data-field': 'cursor' }, info.cursor ?? '—'),
    el('dt', {}, 'pending'), el('dd', { 'data-field': 'pending' }, info.pending),
    el('dt', {}, 'last synced'), el('dd', {}, time(s.lastSyncedAt)),
    el('dt', {}, 'live'), el('dd', {}, s.live ? 'yes' : 'no'),
    ...(err ? [el('dt', {}, 'last error'), el('dd', { class: 'es-err' }, err)] : []));
  const rounds = [...info.rounds].reverse(); // newest first
  return el('div', {},
    el('h3', {}, 'Sync'), facts,
    el('h3', {}, `Outbox (${info.pending})`),
    table('outbox', [['id', (r) => r.id], ['table', (r) => r.table], ['op', (r) => r.op], ['key', (r) => json(r.pk)],
      ['row', (r) => json(r.row)], ['written', (r) => time(r.createdAt)]], info.outbox, 'empty'),
    el('h3', {}, 'Last rounds'),
    table('rounds', [['#', (r) => r.id], ['at', (r) => time(r.at)], ['request', (r) => `${r.method} ${r.path}${r.stream ? ' (stream)' : ''}`],
      ['sent B', (r) => r.bytesSent], ['changes', (r) => r.sent ?? '?'], ['status', (r) => r.status ?? '—'],
      ['applied/conflict/rejected', (r) => `${r.results.applied}/${r.results.conflict}/${r.results.rejected}`],
      ['pulled', (r) => r.pulled], ['ms', (r) => `${r.ms.request} / ${r.ms.total}`],
      ['error', (r) => (r.error ? `${r.error.code}: ${r.error.message}` : '')]], rounds, 'no round yet'),
    el('h3', {}, 'Conflicts'),
    table('conflicts', [['at', (r) => time(r.at)], ['table', (r) => r.table], ['key', (r) => json(r.pk)], ['reason', (r) => r.reason],
      ['server row', (r) => (r.deleted ? 'deleted' : json(r.row))]], [...info.conflicts].reverse(), 'none'),
    el('h3', {}, 'Rejections'),
    table('rejections', [['at', (r) => time(r.at)], ['table', (r) => r.table], ['key', (r) => json(r.pk)], ['reason', (r) => r.reason],
      ['message', (r) => r.message || r.code || '']], [...info.rejections].reverse(), 'none'));
}

/**
 * Mounts the inspector panel for `sync` into `element` and keeps it fresh;
 * returns a function that unmounts it.
 */
export function mountInspector(element, sync, { outboxLimit = 50, minIntervalMs = 250 } = {}) {
  if (!element || typeof element.append !== 'function') throw new TypeError('mountInspector: element must be a DOM element');
  if (!sync || typeof sync.inspect !== 'function') throw new TypeError('mountInspector: sync must be a sync client (createSync)');
  const root = el('section', { class: 'es-inspector', 'aria-label': 'edgesync inspector' }, el('style', {}, STYLE));
  const body = el('div', {}, el('p', { class: 'es-empty' }, 'loading…'));
  root.append(body);
  element.append(root);
  let alive = true;
  let busy = false;
  let again = false;
  let last = 0;
  let timer = null;
  const refresh = async () => {
    if (!alive) return;
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      const info = await sync.inspect({ outboxLimit });
      if (alive) body.replaceChildren(renderInspection(info));
    } catch (e) {
      if (alive) body.replaceChildren(el('p', { class: 'es-err' }, `inspect() failed: ${e?.code ?? ''} ${e?.message ?? e}`));
    } finally {
      busy = false;
      last = Date.now();
      if (again && alive) {
        again = false;
        schedule();
      }
    }
  };
  // At most one refresh per minIntervalMs, the last event always shown.
  const schedule = () => {
    if (timer !== null) return;
    timer = setTimeout(() => {
      timer = null;
      refresh();
    }, Math.max(0, last + minIntervalMs - Date.now()));
  };
  const offs = EVENTS.map((name) => sync.on(name, schedule));
  refresh();
  return () => {
    alive = false;
    clearTimeout(timer);
    for (const off of offs) off();
    root.remove();
  };
}
