// `edgesync/client`: keeps an app's SQLite WASM database in sync.
import type { Core, WasmSource } from './core.js';

export { EdgesyncError } from './core.js';

/** The minimal oo1.DB surface the client uses (the official SQLite WASM build's `sqlite3.oo1.DB`). */
export interface Oo1Database {
  readonly filename: string;
  // Bound values are `any`: an oo1.DB binds SQLite values only, and its own
  // parameter types must fit these.
  exec(sql: string): unknown;
  exec(options: { sql: string; bind?: readonly any[] }): unknown;
  prepare(sql: string): {
    bind(values: readonly any[]): unknown;
    step(): boolean;
    get(index: number): unknown;
    reset(alsoClearBinds?: boolean): unknown;
    finalize(): unknown;
  };
  selectValue(sql: string, bind?: readonly any[]): unknown;
  /** registerClock() defines edgesync_now_ms() with it. */
  createFunction(name: string, fn: () => number, options: { arity: number; innocuous?: boolean }): unknown;
  isOpen(): boolean;
}

/** The last failure: `code` is a protocol error code, `network`, `timeout`, `http_<status>`, … */
export interface SyncFailure {
  code: string;
  /** What happened and what happens next. */
  message: string;
  /** HTTP status, null when no answer arrived. */
  status: number | null;
  /** When (host ms). */
  at: number;
}

export type SyncState = 'idle' | 'syncing' | 'offline' | 'error' | 'signed_out' | 'stopped';
export type SyncRole = 'leader' | 'follower' | 'single';

export interface SyncStatus {
  /**
   * idle (nothing under way), syncing, offline, error (backing off or stopped;
   * `lastError.code` client_id_conflict: another user's token, call signOut()),
   * signed_out (getToken() gave no token: changes stay queued, nothing is
   * sent; `lastError.code` signed_out), stopped (before start / after stop).
   */
  state: SyncState;
  /** Outbox rows, as of the core's last look. */
  pending: number;
  /** End of the last successful round (host ms). */
  lastSyncedAt: number | null;
  /** Cleared by the next successful round. */
  lastError: SyncFailure | null;
  /** Set while backing off after a failure. */
  nextRetryAt: number | null;
  /** This database's client id (`c_<16 hex>`), '' until loaded. */
  clientId: string;
  /** Which tab syncs: this one (leader/single) or another (follower). */
  role: SyncRole | null;
  /** True while the syncing tab holds an authenticated /live connection (pokes arrive); false: periodic sync only. */
  live: boolean;
}

/** A change the server (or validation) refused for good; it left the queue. */
export interface RejectedEvent {
  table: string;
  /** Primary key values in key order. */
  pk: unknown[];
  op: 'upsert' | 'delete';
  /** The outbox ids it covered. */
  ids: number[];
  /** forbidden (another user's row), stale (reject-stale table), invalid (validation), too_large. */
  reason: 'forbidden' | 'stale' | 'invalid' | 'too_large' | string;
  code: string;
  message: string;
  /** The error path for `invalid`, e.g. `batch.changes[3].row.x`. */
  path: string | null;
  /**
   * With `restored`: the server's row the local row was rolled back to (null
   * with `deleted`: the row was removed — the server has none the user may
   * see). Without: the server's copy when it sent one.
   */
  row: Record<string, unknown> | null;
  deleted: boolean;
  version: number | null;
  /** True when no later local edit of the row is pending, so the local row now is the server's. */
  restored: boolean;
  /**
   * Set when the refusal was of an attached file, not of a row change
   * (`reason` = the server's code, `path` = the column, `ids` empty): the
   * column went back to its previous value (`restored`), a local write that syncs.
   */
  file?: { ref: string; column: string; size: number; mime: string };
}

/** The server resolved a conflict in favour of (part of) its row, applied locally. */
export interface ConflictEvent {
  table: string;
  pk: unknown[];
  op: 'upsert' | 'delete';
  ids: number[];
  /** older (lww), stale (server-wins), race. */
  reason: string;
  row: Record<string, unknown> | null;
  deleted: boolean;
  version: number | null;
  /** As in RejectedEvent: the local row now is `row` (or gone when `deleted`). */
  restored: boolean;
}

/** The server applied a local change (one per change sent). */
export interface AckedEvent {
  table: string;
  /** Primary key values in key order. */
  pk: unknown[];
  op: 'upsert' | 'delete';
  /** The row's server version; null for a delete of a row the server never had. */
  version: number | null;
  /** The outbox ids it covered. */
  ids: number[];
}

/** Rows were written locally from the server: refresh these tables. */
export interface ChangesEvent {
  tables: string[];
  rows: number;
  /** Scopes the user left or was removed from; their rows left this device. */
  revoked: { scope: string; key: string | number }[];
}

/**
 * How far a catch-up pull (a fresh device, or one far behind) has come:
 * rows received in streamed frames and rows committed locally, counted over
 * the rounds until the server has no more; `total` is the server's estimate
 * when it sent one (null otherwise).
 */
export interface ProgressEvent {
  received: number;
  applied: number;
  total: number | null;
}

/** Where an attached file's upload is: queued, being sent, stored on the server, refused for good; cancelled when the row no longer names it. */
export type FileState = 'pending' | 'uploading' | 'synced' | 'error' | 'cancelled';

/** A refusal of a file (the server's error code, e.g. too_large, quota_exceeded, unsupported_media_type, forbidden). */
export interface FileError {
  code: string;
  status: number | null;
  message: string;
  path: string | null;
}

/** An attached file's upload (the `file` event; fileStatus()). */
export interface FileEvent {
  /** `sha256:<64 hex>`: what the blob_ref column holds. */
  ref: string;
  table: string;
  /** Primary key values in key order. */
  pk: unknown[];
  column: string;
  status: FileState;
  /** Bytes the server holds (progress while `uploading`). */
  sent: number;
  size: number;
  mime: string;
  /** With status `error`: why (the column was rolled back to its previous value). */
  error: FileError | null;
}

/** fileStatus(): the upload of a reference, or a file only downloaded here (table/pk/column null). */
export interface FileStatus extends Omit<FileEvent, 'table' | 'pk' | 'column'> {
  table: string | null;
  pk: unknown[] | null;
  column: string | null;
  /** The bytes are on this device (attached here or downloaded). */
  local: boolean;
}

/**
 * Where a client keeps file bytes (default: OPFS in browsers, `mediaDir`
 * under node, else memory): one entry per content hash (64 hex digits).
 */
export interface MediaStore {
  put(hex: string, data: Uint8Array | Blob): Promise<void>;
  get(hex: string): Promise<Blob | null>;
  delete(hex: string): Promise<void>;
  clear(): Promise<void>;
}

/** Files of blob_ref columns (see attach(), file()). */
export interface MediaOptions {
  /** `table.column` names whose files are downloaded after each sync round, not only on file(). */
  eager?: string[];
  /** Upload part size in bytes (default: the server's `partSize`, 8 MiB; never above it). */
  partSize?: number;
}

export interface SyncEvents {
  status: SyncStatus;
  acked: AckedEvent;
  rejected: RejectedEvent;
  conflict: ConflictEvent;
  changes: ChangesEvent;
  progress: ProgressEvent;
  role: SyncRole;
  /** An attached file's upload went on: pending → uploading (per part) → synced | error. Every tab. */
  file: FileEvent;
  /**
   * Background problems (a core crash and restart, a failed takeover) and a
   * token of another user than the one the database synced as (a SyncError
   * with code client_id_conflict: call signOut()).
   */
  error: Error;
}

/** Client core tunables (see core/client/client.h). */
export interface SyncConfig {
  debounceMs?: number;
  maxDebounceMs?: number;
  periodicMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  requestTimeoutMs?: number;
  maxBatchChanges?: number;
  maxBatchBytes?: number;
  keepaliveMaxBytes?: number;
  pageSize?: number;
  /** Catch up with streamed pulls (pages applied while the rest downloads; default true in this client). */
  stream?: boolean;
  /** The endpoint, relative to `url` (default "/sync"). */
  path?: string;
}

/** `DB`: the app's own database type (e.g. sqlite-wasm's `Database` or `OpfsSAHPoolDatabase`), kept by `sync.db`. */
export interface CreateSyncOptions<DB extends Oo1Database = Oo1Database> {
  /** The app's database (an oo1.DB), or a function opening it — then only the leading tab opens it (OPFS SAH-pool). */
  db: DB | (() => DB | Promise<DB>);
  /**
   * The sqlite3 namespace: enables automatic local-change detection and
   * watch()'s table tracking (hooks on the connection, SQLite's authorizer).
   * Without it every API write re-runs every watcher.
   */
  sqlite3?: { capi: any };
  /** The sync server's base URL ("" or a relative URL: this origin). */
  url: string;
  /** Returns the signed-in user's access token; `refresh: true` after the server refused the last one. Null: signed out (writes stay queued, nothing is sent). */
  getToken: (o: { refresh: boolean }) => string | null | undefined | Promise<string | null | undefined>;
  /** The shared schema document (the one the server uses). */
  schema: object;
  /** A loaded core (client or full build). */
  core?: Core | Promise<Core>;
  /** Where edgesync_client.wasm is served (bundled apps copy it); default: next to the package. */
  wasmUrl?: WasmSource;
  config?: SyncConfig;
  /** Host clock in ms (default Date.now); also the clock of the triggers' HLC (edgesync_now_ms()). */
  now?: () => number;
  /** The host's timers (default setTimeout/clearTimeout): a simulation drives them from a virtual clock. */
  timers?: { set(fn: () => void, ms: number): unknown; clear(id: unknown): void };
  /** Randomness in [0, 1) for the client id and jitter seed (default crypto.getRandomValues). */
  random?: () => number;
  /** A fetch implementation (default globalThis.fetch). */
  fetch?: typeof fetch;
  /** Used on first start if valid (8–64 of [A-Za-z0-9_-]); otherwise generated. Not after signOut() (a new one is generated). */
  clientId?: string;
  /** The name tabs coordinate on (lock and channel `edgesync:<dbName>`); default db.filename. */
  dbName?: string;
  /** Multi-tab coordination; false: every instance syncs on its own. Injectable for tests. */
  tabs?: false | { locks?: { request(name: string, ...args: any[]): Promise<any> }; BroadcastChannel?: new (name: string) => any; name?: string };
  /** Listen to online/offline (and visibilitychange/pagehide in a page). Default true. */
  wire?: boolean;
  /** Auto-detect local writes when `sqlite3` is given. Default true. */
  autoNotify?: boolean;
  /**
   * Live pokes (docs/protocol.md, "Live pokes"): while leading, online and visible, hold a WebSocket to
   * `<url>/live` and sync at once when the server pokes. Default true; a server without /live is polled
   * (`periodicMs`) as before. `url` overrides the endpoint; `WebSocket` the implementation.
   */
  live?: boolean | { url?: string; WebSocket?: new (url: string) => any };
  /** The WebSocket implementation for `live` (default globalThis.WebSocket). */
  WebSocket?: new (url: string) => any;
  /**
   * Logs each finished sync round as one line: true logs with console.debug,
   * a function is the logger. Default: on when localStorage.edgesync_debug is '1'.
   */
  debug?: boolean | ((line: string, round: SyncRound) => void);
  /** Files of blob_ref columns: eager columns, upload part size. */
  media?: MediaOptions;
  /** Under node: the folder attached and downloaded files are kept in (default: memory). */
  mediaDir?: string;
  /** Where file bytes are kept, replacing the default (OPFS in browsers, `mediaDir`, memory). */
  mediaStore?: MediaStore;
}

/** One sync request and what came of it (the `debug` log, inspect().rounds). */
export interface SyncRound {
  /** Increasing per instance. */
  id: number;
  /** When the request started (ms, the `now` clock). */
  at: number;
  method: string;
  path: string;
  /** A streamed (catch-up) pull. */
  stream: boolean;
  /** Sent with keepalive (a flush as the page is hidden). */
  keepalive: boolean;
  /** Request body bytes. */
  bytesSent: number;
  /** Changes in the request's batch: exact with `debug` on, else the results' count (null when unanswered). */
  sent: number | null;
  /** HTTP status (null: no answer, see `error`). */
  status: number | null;
  /** Response body bytes. */
  bytesReceived: number;
  /** Results of the batch's changes by status. */
  results: { applied: number; conflict: number; rejected: number };
  /** Rows written locally from the server (pulled changes and the server's copies in results). */
  pulled: number;
  /** Time to the answer and to the end of its local apply, ms. */
  ms: { request: number; total: number };
  /** The round's failure (network, HTTP error), else null. */
  error: { code: string; message: string } | null;
}

/** What inspect() resolves with: the sync as the tab holding the database sees it. */
export interface SyncInspection {
  status: SyncStatus;
  /** The role of the tab that answered ('leader' or 'single'). */
  role: SyncRole | null;
  clientId: string;
  /** The pull cursor (null before the first pull). */
  cursor: string | null;
  /** Outbox rows (local changes not yet acknowledged). */
  pending: number;
  /** The first outbox rows, oldest first. */
  outbox: OutboxRow[];
  /** The last 20 rounds, oldest first (kept with `debug` off too). */
  rounds: SyncRound[];
  /** The last 20 conflict events, each with `at` (ms). */
  conflicts: Array<ConflictEvent & { at: number }>;
  /** The last 20 rejected events, each with `at` (ms). */
  rejections: Array<RejectedEvent & { at: number }>;
}

/** A queued local change (a row of sync_outbox). */
export interface OutboxRow {
  id: number;
  table: string;
  /** Primary key values in key order. */
  pk: unknown[];
  /** I (insert), U (update) or D (delete). */
  op: 'I' | 'U' | 'D';
  /** The row as written (for a delete: null or its key). */
  row: Record<string, unknown> | null;
  hlc: string;
  baseVersion: number | null;
  /** When it was written (ms). */
  createdAt: number;
}

/** A sync failure surfaced by syncNow() or whenSynced(). */
export class SyncError extends Error {
  constructor(
    failure?: Partial<SyncFailure> & { reason?: string; rejected?: RejectedEvent } | null,
    fallback?: string,
  );
  code: string;
  status: number | null;
  at: number | null;
  /** whenSynced(): why the server (or validation) refused the change. */
  reason?: 'forbidden' | 'stale' | 'invalid' | 'too_large' | string;
  /** whenSynced(): the rejected event of the refused change. */
  rejected?: RejectedEvent;
}

/** What whenSynced() resolves with. */
export interface WhenSyncedResult {
  table: string;
  /** Primary key values in key order. */
  pk: unknown[];
  /**
   * applied: the server applied the row's changes; conflict: it kept its own
   * row (now on the device too, see the conflict event); none: nothing was pending.
   */
  status: 'applied' | 'conflict' | 'none';
  /** The row's server version after the last answer (null for none, or a delete of a row the server never had). */
  version: number | null;
}

/** Values bound to `?`/`?N` (an array) or to `:name`/`$name`/`@name` (an object with the prefixed keys). */
export type SqlParams = readonly unknown[] | Readonly<Record<string, unknown>>;

/** A row of a query: column name → value (number, string, null, Uint8Array; bigint past 2^53). */
export type Row = Record<string, unknown>;

/** What exec() resolves with. */
export interface ExecResult {
  /** Rows the last statement inserted, updated or deleted. */
  changes: number;
  /** The rowid of the last insert on the connection. */
  lastInsertRowid: number;
}

/** A transaction in progress: its statements run in one SQLite transaction. */
export interface Transaction {
  /** Runs a read inside the transaction (sees its own writes). */
  query<R extends Row = Row>(sql: string, params?: SqlParams): Promise<R[]>;
  /** Runs a write inside the transaction. */
  exec(sql: string, params?: SqlParams): Promise<ExecResult>;
}

/** Options of watch(). */
export interface WatchOptions {
  /** Called when a run fails (SyncError, code sql_error …); default: the 'error' event. */
  onError?: (error: Error) => void;
}

/** `DB`: the app's database type (see CreateSyncOptions). */
export interface Sync<DB extends Oo1Database = Oo1Database> {
  readonly status: SyncStatus;
  readonly role: SyncRole | null;
  /** The database in use (null in a follower that opens it lazily). */
  readonly db: DB | null;
  /** Installs the schema (idempotent), elects the leading tab, opens the core. */
  start(): Promise<Sync<DB>>;
  /**
   * Stops syncing and releases the tab lock; the database stays open (it is
   * the app's — with the SAH-pool VFS close it, or pause the pool, so that the
   * next tab can open it; closing the tab does that by itself).
   */
  stop(): Promise<void>;
  /**
   * Syncs now. Resolves with the status once a round that started after the
   * call completed with the outbox drained (state not syncing, lastSyncedAt ≥
   * the call, pending 0); asks again while rows keep arriving. Rejects with a
   * SyncError when a round fails after the call (offline, HTTP error, stopped).
   */
  syncNow(o?: { timeoutMs?: number }): Promise<SyncStatus>;
  /** Call after writing synced tables (automatic when `sqlite3` is given). */
  notifyLocalChange(): void;
  /** Page visibility, forwarded by the page when the client runs in a worker; hidden flushes (keepalive). */
  setVisible(visible: boolean): void;
  /** Connectivity, when the host knows better than navigator.onLine. */
  setOnline(online: boolean): void;
  /**
   * A fresh token is available (e.g. after signing in): a signed-out device
   * sends its queued changes now, claimed by that user. Also needed after
   * signOut() when the same user signs in again (until then their token counts as none).
   */
  tokenRefreshed(): void;
  /**
   * Signs the device out. Default: deletes the synced tables' rows, the
   * outbox (unsent changes are lost) and the sync state without queueing
   * anything, and makes a new client id, so the next user starts clean.
   * `keepLocalData: true` keeps everything for the same user's next sign-in
   * (another user's token is refused with client_id_conflict). Any tab.
   */
  signOut(o?: { keepLocalData?: boolean }): Promise<void>;
  /** True while the row has unacknowledged local changes. `pk`: a value, or values in key order. */
  isPending(table: string, pk: unknown | unknown[]): Promise<boolean>;
  /** Outbox rows (local changes not yet acknowledged). */
  pendingCount(): Promise<number>;
  /** Status, client id, cursor, the first `outboxLimit` (default 50) outbox rows, the last rounds, conflicts and rejections; read in the leading tab. */
  inspect(o?: { outboxLimit?: number }): Promise<SyncInspection>;
  /**
   * Resolves once every local change of the row made before the call has been
   * answered by the server (immediately when none is pending). Rejects with a
   * SyncError (`reason`, `code`, `rejected`) when one was refused, with code
   * `stopped` on stop(), or `timeout` after `timeoutMs`. Works in follower tabs.
   */
  whenSynced(table: string, pk: unknown | unknown[], o?: { timeoutMs?: number }): Promise<WhenSyncedResult>;
  /**
   * Runs a read where the database is (this tab when it leads, else the
   * leading tab) and resolves with its rows. Rejects with a SyncError: code
   * sql_error (SQLite refused it), bad_sql/bad_params, not_started, stopped,
   * no_leader (no tab took it within 15 s).
   */
  query<R extends Row = Row>(sql: string, params?: SqlParams): Promise<R[]>;
  /**
   * Runs a write where the database is; `params` bind the first statement.
   * Exactly once, also when the leading tab goes away meanwhile (the next one
   * answers from its record of applied requests). Tells the sync (local_change).
   */
  exec(sql: string, params?: SqlParams): Promise<ExecResult>;
  /**
   * Runs `fn(tx)` in one SQLite transaction in the leading tab and resolves
   * with fn's result after COMMIT; rolls back and rejects when fn throws.
   * Other API work waits meanwhile (in every tab): do not call sync.query/exec
   * inside fn (use tx). Rejects with code tx_lost when the leading tab went
   * away mid-transaction: nothing of it was applied, running it again is safe.
   */
  transaction<T>(fn: (tx: Transaction) => Promise<T> | T): Promise<T>;
  /**
   * A live query: calls `callback(rows)` now and after every commit that
   * changed a table the query reads (found with SQLite's authorizer; writes
   * in any tab, the app's own writes on `db`, pulled rows), once per commit.
   * Works in every tab; returns the unsubscribe function.
   */
  watch<R extends Row = Row>(sql: string, params: SqlParams | null | undefined, callback: (rows: R[]) => void, options?: WatchOptions): () => void;
  /** watch() without parameters. */
  watch<R extends Row = Row>(sql: string, callback: (rows: R[]) => void, options?: WatchOptions): () => void;
  /**
   * Attaches a file to a row's blob_ref column (one with `media` limits in
   * the schema): keeps the bytes on this device, sets the column to the
   * file's reference and queues the upload, in one transaction; the upload
   * runs in the background once the row's change is acknowledged. `mime`
   * defaults to the Blob's type (or the column's only type). Resolves with the
   * reference (`sha256:<hex>`). Rejects with a SyncError: too_large or
   * unsupported_media_type (the schema's limits), row_not_found, invalid_request.
   */
  attach(table: string, pk: unknown | unknown[], column: string, file: Blob | Uint8Array | ArrayBuffer, o?: { mime?: string }): Promise<string>;
  /**
   * The file a row's blob_ref column names (null when empty): the local copy,
   * else downloaded with the token and kept. Rejects with code not_uploaded
   * while its upload has not finished; with `wait` asks again (with backoff)
   * until it is there or `timeoutMs` passed.
   */
  file(table: string, pk: unknown | unknown[], column: string, o?: { wait?: boolean; timeoutMs?: number }): Promise<Blob | null>;
  /** file() as an object URL (for <img src>); call revoke() when done. Browsers. */
  fileUrl(table: string, pk: unknown | unknown[], column: string, o?: { wait?: boolean; timeoutMs?: number }): Promise<{ url: string; blob: Blob; revoke(): void } | null>;
  /** Where the upload of a reference is (null when this device does not know it). */
  fileStatus(ref: string): Promise<FileStatus | null>;
  /** Drops local file copies, least recently used first, down to `maxBytes` (default 0); never one still to upload. */
  evictFiles(o?: { maxBytes?: number }): Promise<{ evicted: number; bytes: number; keptBytes: number }>;
  /** Adds a listener; returns the unsubscribe function. */
  on<K extends keyof SyncEvents>(event: K, fn: (e: SyncEvents[K]) => void): () => void;
  /** Removes a listener. */
  off<K extends keyof SyncEvents>(event: K, fn: (e: SyncEvents[K]) => void): void;
}

export function createSync<DB extends Oo1Database = Oo1Database>(options: CreateSyncOptions<DB>): Sync<DB>;

/** "Synced", "Saving", "Offline", "Error", "Signed out" or "Stopped". */
export function statusLabel(status: SyncStatus | null | undefined): 'Synced' | 'Saving' | 'Offline' | 'Error' | 'Signed out' | 'Stopped';

/** A `Retry-After` header (delay-seconds or HTTP-date) in ms from `nowMs`; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null | undefined, nowMs: number): number | undefined;

/** Loads the size-optimized client core (cached per URL). */
export function loadClientCore(wasm?: WasmSource): Promise<Core>;

/**
 * Registers the SQL function edgesync_now_ms() (Unix ms from `now`, default
 * Date.now) on a database: the triggers of synced tables call it, so any
 * connection that writes them needs it. createSync registers it on its own db.
 */
export function registerClock(db: Oo1Database, now?: () => number): void;
