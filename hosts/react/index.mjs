// `edgesync/react`: React hooks over a sync client (edgesync/client).
//
//   const { data, error, loading } = useQuery(sync, 'SELECT * FROM todos WHERE done = ?', [0]);
//   const status = useSyncStatus(sync);            // re-renders on every status
//   const pending = usePending(sync, 'todos', id); // true while the row is not acknowledged
//
// Each hook is a thin subscription: useQuery is sync.watch() (re-runs when a
// table the query reads changes, in any tab or from a pull), useSyncStatus
// the 'status' event, usePending a watch on the row's outbox entries.
import { useEffect, useState, useSyncExternalStore } from 'react';

const EMPTY = Object.freeze({ data: undefined, error: null, loading: true });

/** The params as a stable key (a new array of the same values each render re-subscribes nothing). */
function paramsKey(params) {
  return JSON.stringify(params ?? null, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
}

/**
 * The rows of a live query: `{ data, error, loading }`; `data` is the last
 * rows (undefined before the first run), `error` the last failure (cleared
 * by the next run). Re-runs when a table it reads changes; `sql` null: idle.
 */
export function useQuery(sync, sql, params) {
  const key = paramsKey(params);
  const [state, setState] = useState(EMPTY);
  useEffect(() => {
    if (!sync || !sql) {
      setState(EMPTY);
      return undefined;
    }
    let live = true;
    setState((s) => (s.loading ? s : { ...s, loading: true }));
    const off = sync.watch(sql, JSON.parse(key), (rows) => {
      if (live) setState({ data: rows, error: null, loading: false });
    }, {
      onError: (error) => { if (live) setState((s) => ({ data: s.data, error, loading: false })); },
    });
    return () => {
      live = false;
      off();
    };
  }, [sync, sql, key]);
  return state;
}

/** The sync client's status (SyncStatus), re-rendering on each change. */
export function useSyncStatus(sync) {
  return useSyncExternalStore(
    (onChange) => sync.on('status', onChange),
    () => sync.status,
    () => sync.status,
  );
}

/**
 * True while the row (`pk`: a value, or values in key order) has local
 * changes the server has not acknowledged; undefined until known.
 */
export function usePending(sync, table, pk) {
  const values = Array.isArray(pk) ? pk : [pk];
  const marks = values.map(() => '?').join(', ');
  const { data } = useQuery(sync, table ? `SELECT EXISTS (SELECT 1 FROM sync_outbox WHERE tbl = ? AND pk = json_array(${marks})) AS pending` : null,
    [table, ...values]);
  return data === undefined ? undefined : Boolean(data[0]?.pending);
}
