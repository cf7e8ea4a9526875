// Loads the browser build of the core (dist/edgesync_client.{mjs,wasm}: the
// client and schema operations, size-optimized). Works in browsers, workers
// and node; bundlers pull in only this glue, never the full server core.
import createClientModule from '../../dist/edgesync_client.mjs';
import { loadCoreWith } from '../wasm/core-base.mjs';

const DEFAULT_WASM = new URL('../../dist/edgesync_client.wasm', import.meta.url);
const cache = new Map();

/**
 * Instantiates the client core. `wasm` is a URL (string or URL: streamed in
 * browsers, read from disk for `file:` URLs under node), bytes, a compiled
 * WebAssembly.Module or a Response. Without it, the wasm next to this package
 * (`dist/edgesync_client.wasm`) is used — bundled apps pass the URL they
 * copied it to. Instances are cached per URL.
 */
export function loadClientCore(wasm = DEFAULT_WASM) {
  const key = typeof wasm === 'string' || wasm instanceof URL ? String(wasm) : null;
  if (key && cache.has(key)) return cache.get(key);
  const loading = (async () => loadCoreWith(createClientModule, await resolveWasm(wasm)))();
  if (key) {
    cache.set(key, loading);
    loading.catch(() => cache.delete(key));
  }
  return loading;
}

/** Forgets a cached instance (after a WebAssembly.RuntimeError). */
export function forgetClientCore(wasm = DEFAULT_WASM) {
  cache.delete(String(wasm));
}

async function resolveWasm(wasm) {
  let url = null;
  if (typeof wasm === 'string') {
    try { url = new URL(wasm, globalThis.location?.href); } catch { url = null; }
  } else if (wasm instanceof URL) {
    url = wasm;
  }
  if (url?.protocol === 'file:') {
    // Node: read the bytes. The specifier is not a literal so that bundlers
    // targeting browsers leave it alone (this branch never runs there).
    const fsName = 'node:fs/promises';
    const { readFile } = await import(/* @vite-ignore */ fsName);
    return readFile(url);
  }
  return url ?? wasm;
}
