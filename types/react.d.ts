// `edgesync/react`: React hooks over a sync client (edgesync/client).
import type { Sync, SyncStatus, SqlParams, Row } from './client.js';

/** What useQuery() returns. */
export interface QueryState<R> {
  /** The last rows; undefined before the first run. */
  data: R[] | undefined;
  /** The last failure (a SyncError); null after a successful run. */
  error: Error | null;
  /** True until the first run (or a new query's first run) is done. */
  loading: boolean;
}

/** A live query (sync.watch): re-renders with new rows after each commit that changed a table it reads; `sql` null: idle. */
export function useQuery<R extends Row = Row>(sync: Sync | null | undefined, sql: string | null, params?: SqlParams): QueryState<R>;

/** The sync client's status, re-rendering on every change. */
export function useSyncStatus(sync: Sync): SyncStatus;

/** True while the row (`pk`: a value, or values in key order) has unacknowledged local changes; undefined until known. */
export function usePending(sync: Sync | null | undefined, table: string, pk: unknown | unknown[]): boolean | undefined;
