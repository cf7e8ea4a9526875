// Node entry: loads the WASM core from the package's dist folder — the full
// core (every operation: CLI, tests, node clients) or the server module (the
// sync server's operations only, as workerd runs it).
import { readFile } from 'node:fs/promises';
import { loadCore } from './core.mjs';
import createServerModule from '../../dist/edgesync_server.mjs';

export { Core, EdgesyncError } from './core.mjs';

const FULL = new URL('../../dist/edgesync_core.wasm', import.meta.url);
const SERVER = new URL('../../dist/edgesync_server.wasm', import.meta.url);
let shared;
let sharedServer;

/** The process-wide full core instance (loaded once, from dist/edgesync_core.wasm). */
export function nodeCore() {
  shared ??= readFile(FULL).then((b) => loadCore(b));
  return shared;
}

/** The process-wide server core instance (dist/edgesync_server.wasm: what the sync server runs). */
export function serverCore() {
  sharedServer ??= readFile(SERVER).then((b) => loadCore(b, createServerModule));
  return sharedServer;
}

/** A new, independent server core instance (to replace one that trapped). */
export async function loadFreshServerCore() {
  return loadCore(await readFile(SERVER), createServerModule);
}

/** A new, independent full core instance (e.g. to replace one that trapped). */
export async function loadFreshCore() {
  return loadCore(await readFile(FULL));
}
