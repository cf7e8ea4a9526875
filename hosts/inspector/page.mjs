// The inspector page of the node host's development mode
// (/_edgesync/inspector?db=<dbName>, hosts/node/inspector.mjs). It joins the
// app's tabs on the same origin as a follower that never leads — it takes
// the sync's Web Lock never, so it never opens the database — and shows what
// the app's leading tab reports through inspect().
import { createSync } from '../client/index.mjs';
import { mountInspector } from './index.mjs';

/** Web Locks that hand this page every lock but the sync's own `edgesync:<db>` (asked: "taken"; queued: never). */
function followerLocks(locks, name) {
  return {
    request(lockName, opts, cb) {
      if (typeof opts === 'function') return locks.request(lockName, opts);
      if (lockName !== name) return locks.request(lockName, opts, cb);
      if (opts?.ifAvailable) return Promise.resolve(cb(null));
      return new Promise((_resolve, reject) => {
        opts?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
      });
    },
  };
}

const $ = (id) => document.getElementById(id);
const dbName = new URLSearchParams(location.search).get('db');
$('db').value = dbName ?? '';
if (dbName) {
  const sync = createSync({
    db: () => { throw new Error('the inspector page never opens the database'); },
    dbName,
    url: '',
    schema: {},
    getToken: () => null,
    wasmUrl: new URL('../../dist/edgesync_client.wasm', import.meta.url),
    wire: false,
    live: false,
    tabs: { locks: followerLocks(navigator.locks, `edgesync:${dbName}`) },
  });
  await sync.start();
  $('note').textContent = `Following the tab of this origin that syncs "${dbName}" (open the app in another tab).`;
  mountInspector($('panel'), sync);
}
