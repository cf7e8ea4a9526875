// Typed usage of the public API, mirroring README.md's samples: compiled (not
// run) by `tsc -p tests/types` so the declarations in types/ stay usable.
import sqlite3InitModule from '@sqlite.org/sqlite-wasm';
import { createSync, statusLabel } from 'edgesync/client';
import schema from '../../demo/schema.json' with { type: 'json' };
// Beyond the README's sample: the rest of the public surface.
import {
  EdgesyncError, SyncError, loadClientCore, registerClock, retryAfterMs,
  type SyncRole, type SyncStatus, type WhenSyncedResult, type ExecResult,
} from 'edgesync/client';
import { useQuery, useSyncStatus, usePending, type QueryState } from 'edgesync/react';
import { mountInspector, renderInspection } from 'edgesync/inspector';
import { loadCore, type Core } from 'edgesync/core';
import { nodeCore, loadFreshCore } from 'edgesync/node';
import { validateSchema, sqliteDdl, pgDdl, sqliteMigration, pgMigration, type Schema } from 'edgesync/schema';
import {
  startServer, createHandler, openServer, applyDdl, errorBody, createVerifier, signDevToken, loadConfig,
  AuthError, ConfigError, DEFAULT_LIMITS, POSTGRES_OPTIONS, PROTOCOL, type Config,
} from 'edgesync/server';
import worker, { type Env } from 'edgesync/worker';

declare const auth: {
  accessToken(o: { refresh: boolean }): Promise<string | null>;
  signIn(): Promise<void>;
  signOut(): Promise<void>;
};
declare function show(label: string, pending: number): void;
declare function rerender(tables: string[]): void;
declare function toast(message: string): void;

// README step 3: start syncing in a dedicated worker with the OPFS SAH-pool VFS.
const sqlite3 = await sqlite3InitModule();
const sync = createSync({
  db: async () => new (await sqlite3.installOpfsSAHPoolVfs({ name: 'my-app' })).OpfsSAHPoolDb('/app.sqlite3'),
  dbName: 'app',
  sqlite3,
  url: 'https://sync.example.com',
  getToken: ({ refresh }) => auth.accessToken({ refresh }),
  schema,
  wasmUrl: '/edgesync_client.wasm',
  live: { url: 'wss://sync.example.com/live' },
});
sync.on('status', (s) => show(statusLabel(s), s.pending));
sync.on('changes', ({ tables }) => rerender(tables));
sync.on('rejected', (r) => toast(`${r.table} ${r.pk}: ${r.reason}`));
await sync.start();

// README step 4: write with plain SQL, then wait for the server.
declare const id: string;
declare const userId: string;
declare const title: string;
if (sync.db) {
  sync.db.exec({ sql: 'INSERT INTO todos (id, ownerId, title, done) VALUES (?, ?, ?, 0)', bind: [id, userId, title] });
}
const pending: boolean = await sync.isPending('todos', id);
const drained: SyncStatus = await sync.syncNow();
try {
  const done: WhenSyncedResult = await sync.whenSynced('todos', id, { timeoutMs: 10000 });
  console.log(done.status, done.version, pending, drained.lastSyncedAt);
} catch (e) {
  if (e instanceof SyncError) console.warn(e.reason, e.rejected?.restored);
}

// README step 5: status, roles, the other events, the page's hints.
const s: SyncStatus = sync.status;
const isLive: boolean = s.live;
const label: 'Synced' | 'Saving' | 'Offline' | 'Error' | 'Signed out' | 'Stopped' = statusLabel(s);
const off = sync.on('acked', (a) => console.log(a.table, a.pk, a.version, a.ids));
off();
sync.on('conflict', (c) => console.log(c.reason, c.row, c.deleted));
sync.on('role', (role: SyncRole) => console.log(role, label, isLive));
sync.on('error', (e) => console.error(e.message));
sync.setVisible(false);
sync.setOnline(true);
sync.notifyLocalChange();
sync.tokenRefreshed();
console.log(await sync.pendingCount(), retryAfterMs('120', Date.now()));
// Observability: inspect() and the embeddable inspector.
const seen = await sync.inspect({ outboxLimit: 10 });
const lastRound = seen.rounds.at(-1);
console.log(seen.cursor, seen.outbox[0]?.pk, lastRound?.results.applied, lastRound?.ms.total, seen.rejections[0]?.reason);
const unmount: () => void = mountInspector(document.body, sync, { minIntervalMs: 500 });
unmount();
document.body.append(renderInspection(seen));
createSync({ db: () => new sqlite3.oo1.DB(':memory:'), dbName: 'dbg', url: '', getToken: () => null, schema, debug: (line, round) => console.log(line, round.sent) });

// README "Signed-out use and claiming local data".
if (sync.db) {
  sync.db.exec({ sql: 'INSERT INTO todos (id, ownerId, title, done) VALUES (?, ?, ?, 0)', bind: [id, '', title] });
}
const signedOut: boolean = sync.status.state === 'signed_out';
await auth.signIn();
sync.tokenRefreshed();
await sync.signOut();
await sync.signOut({ keepLocalData: true });
await auth.signOut();
console.log(signedOut);
await sync.stop();

// A second connection that writes synced tables needs the clock function
// (README step 4); under node any oo1.DB works, with the client core loaded
// explicitly and the host's clock and fetch injected.
const other = new sqlite3.oo1.DB(':memory:');
registerClock(other, () => Date.now());
const nodeSync = createSync({
  db: other,
  url: 'http://127.0.0.1:8787',
  getToken: async () => 'token',
  schema,
  core: loadClientCore(),
  now: () => Date.now(),
  fetch: (input, init) => fetch(input, init),
  tabs: false,
  config: { debounceMs: 50, pageSize: 500 },
});
await nodeSync.start();

// Code generation from JS (README "Code generation").
const core: Core = await nodeCore();
other.exec(sqliteDdl(core, schema as Schema));
const pg: string = pgDdl(core, schema as Schema);
const normalized: Schema = validateSchema(core, schema as Schema);
console.log(pg.length, normalized.tables.map((t) => t.name), sqliteMigration, pgMigration);
// A shared schema (README "Shared data: scopes and roles").
const shared: Schema = {
  version: 1,
  scopes: [{ name: 'project', root: 'projects', members: { table: 'projectMembers', scope: 'projectId', user: 'userId', role: 'role' } }],
  tables: [{
    name: 'nodes', primaryKey: 'id', owner: 'ownerId', scope: { name: 'project', column: 'projectId' },
    columns: [{ name: 'id', type: 'text' }, { name: 'projectId', type: 'text' }, { name: 'ownerId', type: 'text' }],
  }],
};
console.log(shared.scopes?.[0].members.role);
try {
  validateSchema(core, '{}');
} catch (e) {
  if (e instanceof EdgesyncError) console.log(e.code, e.path, e.errors.length);
}

// The node host (docs/server.md) and the handler parts.
declare const databaseUrl: string;
const srv = await startServer({
  databaseUrl, port: 8787, poolSize: 10, schema,
  auth: { jwksUrl: 'https://example.supabase.co/auth/v1/.well-known/jwks.json', audience: 'authenticated' },
  live: { databaseUrl: 'postgres://direct.example:5432/db', maxConnections: 10000 },
});
console.log(srv.url, srv.port, srv.schemaVersion, srv.live?.hub.stats().ready);
await srv.close({ timeoutMs: 1000 });
const cfg: Config = loadConfig({ DATABASE_URL: databaseUrl });
const verifier = createVerifier(cfg.auth ?? { secret: 'x'.repeat(32) });
const opened = openServer(core, schema, { ...DEFAULT_LIMITS, maxChanges: 100 });
const handler: (request: Request) => Promise<Response> = createHandler({
  core, handle: opened.handle, sql: null, verifier, schemaVersion: opened.schemaVersion, limits: opened.limits,
});
const body: { protocol: number } = errorBody('invalid_request', 'bad', 'batch');
console.log(handler, body, PROTOCOL, POSTGRES_OPTIONS, applyDdl, await signDevToken('x'.repeat(32), { sub: 'alice' }));
try {
  await verifier.verify('Bearer a.b.c');
} catch (e) {
  if (e instanceof AuthError) console.log(e.code);
  if (e instanceof ConfigError) console.log(e.message);
}

// The workerd entry.
declare const env: Env;
const response: Response = await worker.fetch(new Request('https://sync.example.com/healthz'), env, { waitUntil() {} });
console.log(response.status, loadCore, loadFreshCore);

// The database API in every tab, live queries and the React hooks.
interface Todo { id: string; title: string; done: number; [k: string]: unknown }
const todos: Todo[] = await sync.query<Todo>('SELECT id, title, done FROM todos WHERE done = ?', [0]);
const { changes }: ExecResult = await sync.exec('UPDATE todos SET done = 1 WHERE id = $id', { $id: todos[0]?.id });
const made: number = await sync.transaction(async (tx) => {
  await tx.exec('INSERT INTO todos (id, ownerId, title, done) VALUES (?, ?, ?, 0)', ['t2', 'u', 'Two']);
  return (await tx.query<{ n: number }>('SELECT count(*) AS n FROM todos'))[0].n;
});
const unwatch = sync.watch<Todo>('SELECT * FROM todos', [], (rows) => console.log(rows.length, changes, made), { onError: (e) => console.error(e) });
unwatch();
sync.watch('SELECT count(*) AS n FROM todos', (rows) => console.log(rows[0].n))();
const q: QueryState<Todo> = useQuery<Todo>(sync, 'SELECT * FROM todos WHERE done = ?', [0]);
const hookStatus: SyncStatus = useSyncStatus(sync);
const rowPending: boolean | undefined = usePending(sync, 'todos', 't2');
console.log(q.data?.[0]?.title, q.error?.message, q.loading, hookStatus.state, rowPending);
