// Node entry: loads the WASM core from the package's dist folder.
import { readFile } from 'node:fs/promises';
import { loadCore } from './core.mjs';

export { Core, EdgesyncError } from './core.mjs';

let shared;

/** The process-wide core instance (loaded once, from dist/edgesync_core.wasm). */
export function nodeCore() {
  shared ??= readFile(new URL('../../dist/edgesync_core.wasm', import.meta.url)).then(loadCore);
  return shared;
}

/** A new, independent core instance (e.g. to replace one that trapped). */
export async function loadFreshCore() {
  return loadCore(await readFile(new URL('../../dist/edgesync_core.wasm', import.meta.url)));
}
