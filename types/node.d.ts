import type { Core } from './core.js';
export { Core, EdgesyncError } from './core.js';
/** The process-wide core instance, loaded once from the package's dist folder. */
export function nodeCore(): Promise<Core>;
/** A new, independent core instance (e.g. to replace one that trapped). */
export function loadFreshCore(): Promise<Core>;
