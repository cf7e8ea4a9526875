// The demo's page: sign-in, the board UI, and the bridge to the data worker
// (demo/src/worker.mjs), which owns SQLite and edgesync/client.
import { mountInspector } from 'edgesync/inspector';

const $ = (id) => document.getElementById(id);
const USER_KEY = 'edgesync-demo:user';

let worker = null;
let nextId = 0;
const calls = new Map();
const state = {
  user: null, status: null, label: 'Starting', role: null, requests: 0, pending: 0,
  projects: [], projectId: null, board: { nodes: [], edges: [] }, selected: null, connecting: false,
  members: [], ready: false, notices: [], changes: 0, // changes: the worker's watch fired
  autoPick: true, // select a project by itself until one was selected
};
// Projects this page deleted or left: their disappearance is no news.
const dropped = new Set();
// Grid slots given to nodes being added, until the board shows them: quick
// adds do not stack on one spot.
const placing = new Set();
// Node images: object URLs by reference (from the worker's local copy or a
// download), the latest upload event by reference, and the references
// being fetched or not uploaded yet (asked again after a while).
const images = new Map();
const files = new Map();
const loading = new Set();
const notYet = new Map(); // ref -> when to ask again
// The worker's sync as the inspector sees it: inspect() and its events.
const listeners = new Map();
const emit = (name, data) => { for (const fn of listeners.get(name) ?? []) fn(data); };
const syncView = {
  inspect: (o) => call('inspect', { options: o ?? {} }),
  on(name, fn) {
    if (!listeners.has(name)) listeners.set(name, new Set());
    listeners.get(name).add(fn);
    return () => listeners.get(name).delete(fn);
  },
};

// ------------------------------------------------------------- the worker

function call(t, extra = {}) {
  return new Promise((resolve, reject) => {
    const id = ++nextId;
    calls.set(id, { resolve, reject });
    worker.postMessage({ t, id, ...extra });
  });
}
const op = (name, ...args) => call('op', { op: name, args });

function onWorker({ data: m }) {
  switch (m.t) {
    case 'result': {
      const c = calls.get(m.id);
      calls.delete(m.id);
      if (!c) return;
      if (m.ok) c.resolve(m.value);
      else c.reject(Object.assign(new Error(m.error), { code: m.code }));
      break;
    }
    case 'status':
      state.status = m.status;
      state.label = m.label;
      state.requests = m.requests;
      renderStatus();
      emit('status', m.status);
      // Acknowledged rows lose their "not synced yet" marks.
      if (m.status.state !== 'syncing') refresh();
      else refreshPending();
      break;
    case 'role':
      state.role = m.role;
      renderStatus();
      break;
    case 'ready':
      state.ready = true;
      state.role = m.role;
      state.tab = m.tab;
      state.pollMs = m.pollMs;
      renderStatus();
      refresh();
      break;
    case 'changed':
      state.changes++;
      emit('changes');
      refresh();
      break;
    case 'notice':
      notice(m.kind, m.data);
      emit(m.kind, m.data);
      break;
    case 'file':
      // A refusal also arrives as a `rejected` notice (the toast); the image
      // column was set back to its previous value.
      files.set(m.file.ref, m.file);
      renderBoard();
      break;
    case 'log':
      console.log('[worker]', m.text);
      break;
    default:
      break;
  }
}

function startWorker(user) {
  worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  worker.onmessage = onWorker;
  worker.onerror = (e) => console.error('worker error', e.message);
  // The worker has no localStorage: the page passes the debug switch on.
  let debug = false;
  try { debug = localStorage.getItem('edgesync_debug') === '1'; } catch { /* storage denied */ }
  worker.postMessage({ t: 'init', user, debug });
  // The worker has no document: forward what only the page sees.
  const visible = () => worker.postMessage({ t: 'visible', visible: document.visibilityState === 'visible' });
  document.addEventListener('visibilitychange', visible);
  addEventListener('pagehide', () => worker.postMessage({ t: 'visible', visible: false }));
  addEventListener('pageshow', (e) => { if (e.persisted) worker.postMessage({ t: 'visible', visible: true }); });
  addEventListener('online', () => worker.postMessage({ t: 'online', online: true }));
  addEventListener('offline', () => worker.postMessage({ t: 'online', online: false }));
}

// ------------------------------------------------------------- rendering

// The badge: "Live" while up to date with live pokes connected, else the
// sync state (state.label, statusLabel's answer).
function renderStatus() {
  const s = state.status;
  const shown = state.label === 'Synced' && s?.live ? 'Live' : state.label;
  const badge = $('status');
  badge.textContent = shown;
  badge.className = `badge ${shown}`;
  badge.title = s?.lastError ? s.lastError.message
    : s?.lastSyncedAt ? `last synced ${new Date(s.lastSyncedAt).toLocaleTimeString()}${s.live ? ' · live updates on' : ''}` : '';
  $('pending').textContent = `${state.pending} pending`;
  $('role').textContent = state.role === 'follower' ? 'another tab syncs' : state.role === 'leader' ? 'this tab syncs' : '';
}

let pendingTimer = null;
function refreshPending() {
  if (pendingTimer || !state.ready) return;
  pendingTimer = setTimeout(async () => {
    pendingTimer = null;
    try {
      state.pending = await call('pendingCount');
      renderStatus();
    } catch { /* no database yet */ }
  }, 50);
}

let refreshing = null;
let again = false;
async function refresh() {
  if (!state.ready) return;
  if (refreshing) {
    again = true;
    return refreshing;
  }
  refreshing = (async () => {
    try {
      const before = state.projects;
      state.projects = await op('listProjects');
      const ids = new Set(state.projects.map((p) => p.id));
      // A project gone without this page deleting or leaving it: its admin
      // removed us (or deleted it). Its rows left the device with it.
      for (const p of before) {
        if (ids.has(p.id) || dropped.delete(p.id)) continue;
        toast(`You no longer have access to ${p.name}`);
      }
      if (state.projectId && !ids.has(state.projectId)) {
        state.projectId = null;
        state.selected = null;
        history.replaceState(null, '', location.pathname + location.search);
      } else if (!state.projectId && state.autoPick) {
        const fromHash = new URLSearchParams(location.hash.slice(1)).get('p');
        state.projectId = ids.has(fromHash) ? fromHash : state.projects[0]?.id ?? null;
        if (state.projectId) state.autoPick = false;
      }
      state.board = state.projectId ? await op('board', state.projectId) : { nodes: [], edges: [] };
      for (const n of state.board.nodes) placing.delete(`${n.x},${n.y}`);
      state.members = state.projectId ? await op('members', state.projectId) : [];
      renderProjects();
      renderBoard();
      renderShare();
      refreshPending();
    } catch (e) {
      console.warn('refresh failed:', e.message);
    } finally {
      refreshing = null;
      if (again) {
        again = false;
        refresh();
      }
    }
  })();
  return refreshing;
}

function renderProjects() {
  const ul = $('projects');
  ul.replaceChildren(...state.projects.map((p) => {
    const li = document.createElement('li');
    li.dataset.id = p.id;
    li.className = p.id === state.projectId ? 'selected' : '';
    const name = document.createElement('span');
    name.textContent = p.name;
    if (p.pending) name.append(Object.assign(document.createElement('span'), { className: 'dot', title: 'not synced yet' }));
    if (p.members > 1) name.append(Object.assign(document.createElement('span'), { className: 'tag', textContent: 'Shared', title: `${p.members} members; your role: ${p.role}` }));
    const count = Object.assign(document.createElement('span'), { className: 'count', textContent: `${p.nodes}` });
    li.append(name, count);
    li.onclick = () => selectProject(p.id);
    return li;
  }));
}

function selectProject(id) {
  state.projectId = id;
  state.autoPick = false;
  state.selected = null;
  history.replaceState(null, '', `#p=${encodeURIComponent(id)}`);
  refresh();
}

const current = () => state.projects.find((p) => p.id === state.projectId);
// Readers see the board read-only (the server would refuse their writes, and
// the device would roll them back).
const canWrite = () => current()?.role === 'write' || current()?.role === 'admin';

function renderBoard() {
  const project = current();
  const writable = canWrite();
  $('toolbar').hidden = !project;
  $('shared').hidden = !(project?.members > 1);
  $('read-only').hidden = !project || writable;
  $('new-node').hidden = !writable;
  $('connect').hidden = !writable;
  $('delete').hidden = !writable;
  $('attach-label').hidden = !writable;
  $('delete-project').hidden = project?.role !== 'admin';
  $('board').classList.toggle('board-read-only', !writable);
  $('empty').hidden = Boolean(project && state.board.nodes.length);
  $('project-title').textContent = project?.name ?? '';
  const board = $('board');
  for (const el of board.querySelectorAll('.node')) el.remove();
  const byId = new Map();
  for (const n of state.board.nodes) {
    const el = document.createElement('div');
    el.className = `node${n.id === state.selected ? ' selected' : ''}${n.pending ? ' pending' : ''}${state.connecting ? ' connecting' : ''}`;
    el.dataset.id = n.id;
    el.dataset.testid = 'node';
    el.textContent = n.label ?? '';
    el.style.left = `${n.x ?? 0}px`;
    el.style.top = `${n.y ?? 0}px`;
    el.title = n.pending ? 'not synced yet' : 'synced';
    if (n.image) el.append(...imageOf(n));
    dragAndClick(el, n);
    board.append(el);
    byId.set(n.id, n);
  }
  const svg = $('edges');
  svg.innerHTML = '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#7a8696"/></marker></defs>';
  for (const e of state.board.edges) {
    const a = byId.get(e.source);
    const b = byId.get(e.target);
    if (!a || !b) continue;
    const line = document.createElementNS('http://www.w3.org/2000/svg', 'line');
    line.setAttribute('x1', (a.x ?? 0) + 56);
    line.setAttribute('y1', (a.y ?? 0) + 18);
    line.setAttribute('x2', (b.x ?? 0) + 56);
    line.setAttribute('y2', (b.y ?? 0) + 18);
    line.dataset.id = e.id;
    svg.append(line);
  }
  $('connect').disabled = !state.selected;
  $('delete').disabled = !state.selected;
  $('attach-image').disabled = !state.selected;
  $('attach-label').classList.toggle('disabled', !state.selected);
  $('connect').textContent = state.connecting ? 'Click a target…' : 'Connect…';
}

// A node's image and its badge: the local copy shows at once (before any
// upload); another device's image is downloaded by the worker (eagerly after
// each sync, or here on demand) and shows once its upload has finished.
function imageOf(n) {
  const ref = n.image;
  const img = document.createElement('img');
  img.className = 'node-image';
  img.dataset.testid = 'node-image';
  img.alt = '';
  img.draggable = false;
  const badge = document.createElement('span');
  badge.className = 'file-badge';
  badge.dataset.testid = 'file-status';
  const url = images.get(ref);
  if (url) img.src = url;
  else loadImage(n.id, ref);
  const f = files.get(ref);
  const status = f?.status ?? (url ? 'synced' : 'waiting');
  badge.dataset.status = status;
  badge.textContent = status === 'uploading' ? `uploading ${Math.floor((100 * f.sent) / f.size)}%`
    : status === 'waiting' ? 'not uploaded yet' : status;
  return url ? [img, badge] : [badge];
}

async function loadImage(nodeId, ref) {
  if (loading.has(ref) || (notYet.get(ref) ?? 0) > Date.now()) return;
  loading.add(ref);
  try {
    const { blob, status } = await call('image', { node: nodeId, ref });
    if (blob) {
      images.set(ref, URL.createObjectURL(blob));
      if (status && !files.has(ref)) files.set(ref, status);
      notYet.delete(ref);
    }
  } catch (e) {
    // Not uploaded yet (its device is offline or still sending): later.
    const delay = e.code === 'not_uploaded' ? 2000 : 5000;
    if (e.code !== 'not_uploaded') console.warn(`image ${ref}: ${e.message}`);
    notYet.set(ref, Date.now() + delay);
    setTimeout(() => renderBoard(), delay + 50);
  } finally {
    loading.delete(ref);
  }
  renderBoard();
}

function dragAndClick(el, n) {
  if (!canWrite()) return;
  let start = null;
  el.addEventListener('pointerdown', (e) => {
    start = { x: e.clientX, y: e.clientY, nx: n.x ?? 0, ny: n.y ?? 0, moved: false };
    el.setPointerCapture(e.pointerId);
  });
  el.addEventListener('pointermove', (e) => {
    if (!start) return;
    const dx = e.clientX - start.x;
    const dy = e.clientY - start.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) start.moved = true;
    if (start.moved) {
      el.style.left = `${Math.max(0, start.nx + dx)}px`;
      el.style.top = `${Math.max(0, start.ny + dy)}px`;
    }
  });
  el.addEventListener('pointerup', async (e) => {
    const s = start;
    start = null;
    if (!s) return;
    if (s.moved) {
      await op('moveNode', n.id, Math.round(Math.max(0, s.nx + e.clientX - s.x)), Math.round(Math.max(0, s.ny + e.clientY - s.y)));
      return;
    }
    if (!state.connecting && await tapped(n)) return;
    if (state.connecting && state.selected && state.selected !== n.id) {
      state.connecting = false;
      await op('addEdge', state.projectId, state.selected, n.id);
      return;
    }
    state.selected = state.selected === n.id ? null : n.id;
    state.connecting = false;
    renderBoard();
  });
}

// A double click renames. Counted by node id, not by element: the first
// click re-renders the board (selection), so the second lands on a new one.
let lastTap = { id: null, at: 0 };
async function tapped(n) {
  const at = Date.now();
  if (lastTap.id !== n.id || at - lastTap.at > 400) {
    lastTap = { id: n.id, at };
    return false;
  }
  lastTap = { id: null, at: 0 };
  const label = prompt('Rename node', n.label ?? '');
  if (label !== null && label.trim()) await op('renameNode', n.id, label.trim());
  return true;
}

function renderShare() {
  const project = current();
  $('share').hidden = !project;
  if (!project) return;
  const admin = project.role === 'admin';
  $('members').replaceChildren(...state.members.map((m) => {
    const li = document.createElement('li');
    li.dataset.user = m.userId;
    const who = Object.assign(document.createElement('span'), { className: 'who', textContent: m.userId === state.user ? `${m.userId} (you)` : m.userId });
    if (m.pending) who.append(Object.assign(document.createElement('span'), { className: 'dot', title: 'not synced yet' }));
    const role = Object.assign(document.createElement('span'), { className: 'role', textContent: m.role });
    li.append(who, role);
    if (admin && m.userId !== state.user) {
      const remove = Object.assign(document.createElement('button'), { type: 'button', className: 'link danger', textContent: 'Remove', title: `Remove ${m.userId}` });
      remove.dataset.testid = 'remove-member';
      remove.onclick = () => op('removeMember', project.id, m.userId);
      li.append(remove);
    }
    return li;
  }));
  $('add-member').hidden = !admin;
  $('leave').hidden = admin;
  $('share-note').textContent = admin ? 'Add a user (or change a member\'s role) by user id.'
    : `You can ${project.role === 'read' ? 'read' : 'edit'} this project; its admins manage members.`;
}

function notice(kind, data) {
  state.notices.push({ kind, data });
  const text = kind === 'rejected'
    ? `Change to ${data.table} ${JSON.stringify(data.pk)} was refused (${data.reason}): ${data.message}`
    : `Conflict on ${data.table} ${JSON.stringify(data.pk)}: the server's version was kept (${data.reason}).`;
  toast(text);
}

function toast(text) {
  const el = Object.assign(document.createElement('div'), { className: 'toast', textContent: text });
  $('toasts').append(el);
  setTimeout(() => el.remove(), 6000);
}

// ------------------------------------------------------------- actions

function show(signedIn) {
  $('sign-in').hidden = signedIn;
  $('app').hidden = !signedIn;
  $('sync').hidden = !signedIn;
  $('who').hidden = !signedIn;
}

async function signIn(user) {
  const res = await fetch(`/dev/token?user=${encodeURIComponent(user)}`, { cache: 'no-store' });
  if (!res.ok) {
    const body = await res.json().catch(() => null);
    throw new Error(res.status === 404
      ? 'this server has no development sign-in (/dev/token); configure your own auth'
      : body?.error?.message ?? `sign-in failed (${res.status})`);
  }
  localStorage.setItem(USER_KEY, user);
  begin(user);
}

function begin(user) {
  state.user = user;
  $('user').textContent = user;
  show(true);
  startWorker(user);
}

$('sign-in-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  $('sign-in-error').textContent = '';
  try {
    await signIn($('user-name').value.trim());
  } catch (err) {
    $('sign-in-error').textContent = err.message;
  }
});

$('sign-out').addEventListener('click', () => {
  localStorage.removeItem(USER_KEY);
  location.hash = '';
  location.reload();
});

$('sync-now').addEventListener('click', async () => {
  const btn = $('sync-now');
  btn.disabled = true;
  try {
    await call('syncNow');
  } catch (e) {
    toast(`Sync failed: ${e.message}`);
  } finally {
    btn.disabled = false;
  }
});

$('new-project').addEventListener('submit', async (e) => {
  e.preventDefault();
  const name = $('project-name').value.trim();
  if (!name) return;
  $('project-name').value = '';
  const id = await op('addProject', name);
  selectProject(id);
});

$('new-node').addEventListener('submit', async (e) => {
  e.preventDefault();
  const label = $('node-label').value.trim();
  if (!label || !state.projectId) return;
  $('node-label').value = '';
  const [x, y] = freeSlot();
  await op('addNode', state.projectId, label, x, y);
});

// The first grid slot no node (shown, or being added) takes.
function freeSlot() {
  const taken = new Set(state.board.nodes.map((n) => `${n.x},${n.y}`));
  for (let i = 0; ; i++) {
    const x = 40 + (i % 5) * 150;
    const y = 40 + Math.floor(i / 5) * 90;
    const key = `${x},${y}`;
    if (taken.has(key) || placing.has(key)) continue;
    placing.add(key);
    return [x, y];
  }
}

// The inspector (edgesync/inspector) behind the Debug toggle.
let unmountInspector = null;
$('debug-toggle').addEventListener('click', () => {
  const open = !unmountInspector;
  $('debug-panel').hidden = !open;
  $('debug-toggle').setAttribute('aria-pressed', String(open));
  if (open) unmountInspector = mountInspector($('debug-panel'), syncView);
  else {
    unmountInspector();
    unmountInspector = null;
  }
});

$('connect').addEventListener('click', () => {
  state.connecting = !state.connecting;
  renderBoard();
});

$('attach-image').addEventListener('change', async (e) => {
  const file = e.target.files?.[0];
  e.target.value = '';
  if (!file || !state.selected) return;
  try {
    await call('attach', { node: state.selected, file });
  } catch (err) {
    toast(`Cannot attach the image: ${err.message}`);
  }
});

$('delete').addEventListener('click', async () => {
  if (!state.selected) return;
  const id = state.selected;
  state.selected = null;
  await op('deleteNode', id);
});

$('delete-project').addEventListener('click', async () => {
  if (!state.projectId || !confirm('Delete this project and its nodes?')) return;
  const id = state.projectId;
  state.projectId = null;
  dropped.add(id);
  await op('deleteProject', id);
});

$('add-member').addEventListener('submit', async (e) => {
  e.preventDefault();
  const userId = $('member-user').value.trim();
  if (!userId || !state.projectId) return;
  if (userId === state.user) {
    toast('You are a member already.');
    return;
  }
  $('member-user').value = '';
  await op('setMember', state.projectId, userId, $('member-role').value);
});

// Leaving deletes your own membership row; the server's answer then removes
// the project's rows from this device.
$('leave').addEventListener('click', async () => {
  const project = current();
  if (!project || !confirm(`Leave ${project.name}?`)) return;
  dropped.add(project.id);
  state.projectId = null;
  await op('removeMember', project.id, state.user);
});

// For the end-to-end tests and the curious: the page's view and the worker.
window.demo = {
  state, op, refresh,
  syncNow: () => call('syncNow'),
  pendingCount: () => call('pendingCount'),
  isPending: (table, pk) => call('isPending', { table, pk }),
  imageDigest: (node) => call('imageDigest', { node }),
  stats: () => call('stats'),
  inspect: () => syncView.inspect(),
};

if ('serviceWorker' in navigator && !new URLSearchParams(location.search).has('nosw')) {
  navigator.serviceWorker.register('sw.js').catch((e) => console.warn('service worker:', e.message));
}

const saved = localStorage.getItem(USER_KEY);
if (saved) begin(saved);
else show(false);
