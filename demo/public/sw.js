// The demo's service worker: keeps the app shell available offline. Network
// first (a rebuilt demo is picked up at once), the cache when offline. Sync
// and token requests are never touched.
const CACHE = 'edgesync-demo-v1';
const SHELL = ['./', 'index.html', 'style.css', 'app.js', 'worker.js', 'sqlite3.wasm', 'edgesync_client.wasm', 'manifest.webmanifest', 'icon.svg'];

self.addEventListener('install', (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});
self.addEventListener('activate', (e) => {
  e.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});
self.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== 'GET' || url.origin !== self.location.origin) return;
  // Files (private, per user) and upload offsets are never cached either.
  if (url.pathname === '/sync' || url.pathname.startsWith('/media/') || url.pathname.startsWith('/dev/') || url.pathname === '/healthz') return;
  e.respondWith(fetch(e.request).then((res) => {
    if (res.ok) {
      const copy = res.clone();
      caches.open(CACHE).then((c) => c.put(e.request, copy));
    }
    return res;
  }).catch(() => caches.match(e.request, { ignoreSearch: true }).then((r) => r ?? Response.error())));
});
