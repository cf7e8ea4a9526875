import type { Core } from './core.js';
export { Core, EdgesyncError } from './core.js';
/** The process-wide core instance, loaded once from the package's dist folder. */
export function nodeCore(): Promise<Core>;
/** A new, independent full core instance (e.g. to replace one that trapped). */
export function loadFreshCore(): Promise<Core>;
/** The process-wide server core (dist/edgesync_server.wasm: the sync server's operations only, as workerd runs it). */
export function serverCore(): Promise<Core>;
/** A new, independent server core instance (the node host's replacement for one that trapped). */
export function loadFreshServerCore(): Promise<Core>;
