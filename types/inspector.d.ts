// `edgesync/inspector`: an embeddable plain-DOM panel over a sync client.
import type { Sync, SyncInspection } from './client.js';

/** Options of mountInspector(). */
export interface InspectorOptions {
  /** Outbox rows shown (default 50). */
  outboxLimit?: number;
  /** At most one refresh per this many ms (default 250). */
  minIntervalMs?: number;
}

/** Mounts the inspector (status, client id, cursor, outbox, last rounds, conflicts, rejections) into `element`; refreshes on the client's events; returns the unmount function. */
export function mountInspector(element: Element, sync: Sync<any>, options?: InspectorOptions): () => void;

/** Renders one inspection (sync.inspect()) as a detached element. */
export function renderInspection(info: SyncInspection): HTMLElement;
