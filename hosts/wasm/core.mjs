// The WASM core behind one small, environment-neutral API. Hosts hand it the
// compiled module (workerd), the bytes (node) or a URL (browsers); documents
// cross the boundary as UTF-8 JSON, one call per operation.
import createCoreModule from '../../dist/edgesync_core.mjs';
import { loadCoreWith } from './core-base.mjs';

export { Core, EdgesyncError, loadCoreWith } from './core-base.mjs';

/**
 * Instantiates the core. `wasm` is a WebAssembly.Module (workerd), bytes
 * (ArrayBuffer/Uint8Array, node), or a URL/Response to stream (browsers).
 * `createModule` picks the Emscripten glue: the full core by default, or
 * e.g. the default export of `dist/edgesync_client.mjs` for the browser build.
 */
export function loadCore(wasm, createModule = createCoreModule) {
  return loadCoreWith(createModule, wasm);
}
