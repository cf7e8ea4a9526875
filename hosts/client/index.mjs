// `edgesync/client`: keeps an app's SQLite WASM database in sync.
//
//   const sync = createSync({ db, sqlite3, url, getToken, schema });
//   sync.on('status', (s) => render(s));     // idle | syncing | offline | error | signed_out
//   await sync.start();
//
// The sync client is in sync.mjs (the public API), events.mjs, loop.mjs (the
// loop around the WASM client core and its effects), leader.mjs, tabs.mjs and
// account.mjs (signed-out use, claim, signOut());
// status.mjs has the status label and SyncError.
export { createSync } from './sync.mjs';
export { SyncError, statusLabel } from './status.mjs';
export { retryAfterMs } from './loop.mjs';
export { loadClientCore } from './core.mjs';
export { registerClock } from './sqlite.mjs';
export { EdgesyncError } from '../wasm/core-base.mjs';
