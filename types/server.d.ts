import type { Core, ErrorBody } from './core.js';

/** The protocol version, from the core (`core.protocol().version`). */
export const PROTOCOL: number;

/** Limits of docs/protocol.md; `maxBodyBytes` is enforced by the host, the rest by the core. */
export interface Limits {
  maxBodyBytes?: number;
  maxChanges?: number;
  maxPageSize?: number;
  defaultPageSize?: number;
  maxClockSkewMs?: number;
}
/** The default limits, from the core (`core.protocol().limits.defaults`). */
export const DEFAULT_LIMITS: Readonly<Required<Limits>>;
/** The default limits the given core applies. */
export function defaultLimits(core: Core): Readonly<Required<Limits>>;

/** postgres.js options every host must use for the pool given to createHandler. */
export const POSTGRES_OPTIONS: Readonly<Record<string, unknown>>;

export interface VerifierOptions {
  /** HMAC secret (at least 32 bytes); HS256 by default. */
  secret?: string | Uint8Array;
  /** JWKS endpoint; RS256, ES256 and EdDSA by default. */
  jwksUrl?: string | URL;
  /** A static JWKS document instead of a URL. */
  jwks?: { keys: object[] };
  /** Explicit algorithm allowlist. */
  algorithms?: string[];
  issuer?: string | string[];
  audience?: string | string[];
  /** Leeway for exp/nbf in seconds (default 5). */
  clockToleranceSec?: number;
  /** Refuse tokens without exp (default true). */
  requireExp?: boolean;
  /** The clock exp/nbf are checked against, in ms (default: the wall clock). */
  now?: () => number;
  /** Accepted `role` claims (default ["authenticated"]); any other role is refused, a token without one passes. */
  roles?: string[];
}

export interface Verifier {
  /** Verifies an Authorization header value; throws AuthError. */
  verify(authorization: string | null | undefined): Promise<{ userId: string; claims: Record<string, unknown> }>;
  algorithms: string[];
}

/** `code` is "unauthorized" (401) or "unavailable" (JWKS unreachable: 503). */
export class AuthError extends Error {
  constructor(message: string, options?: { code?: 'unauthorized' | 'unavailable'; cause?: unknown });
  code: 'unauthorized' | 'unavailable';
}

export function createVerifier(options: VerifierOptions): Verifier;

/** Signs an HS256 token for local development only. */
export function signDevToken(secret: string | Uint8Array, options: {
  sub: string; ttlSec?: number; audience?: string; issuer?: string | string[]; claims?: Record<string, unknown>;
}): Promise<string>;

/** Opens the server core: the handle, the schema version and idempotent PostgreSQL DDL. */
export function openServer(core: Core, schema: object, limits?: Limits):
  { handle: number; schemaVersion: number; pgDdl: string; limits: Required<Limits> };

/** Runs the DDL in one transaction under an advisory lock. */
export function applyDdl(sql: unknown, pgDdl: string): Promise<void>;

/** The protocol error body for an error the host answers itself, built by the
 * core last opened (openServer); throws before any core is opened. */
export function errorBody(code: string, message: string, path?: string): ErrorBody;

export interface HandlerOptions {
  core: Core;
  handle: number;
  /** A postgres.js client created with POSTGRES_OPTIONS. */
  sql: unknown;
  verifier: Verifier;
  limits?: Limits;
  schemaVersion: number;
  /** Allowed CORS origin(s); default "*". */
  corsOrigin?: string | string[];
  /** Other routes; return null to fall through to 404. */
  fallback?: (request: Request, url: URL) => Promise<Response | null | undefined>;
  logger?: { error(...args: unknown[]): void };
  healthTimeoutMs?: number;
  /**
   * After a WebAssembly.RuntimeError the instance may be corrupt: the handler
   * answers 500 and swaps in the fresh instance this returns.
   */
  reloadCore?: () => Promise<{ core: Core; handle: number }>;
  /** The server clock in ms handed to the core (clamps client clocks, serverTime); default Date.now. */
  now?: () => number;
  /**
   * Called (not awaited) after a /sync request whose transaction committed
   * writes, with a poke payload in the NOTIFY format (`{"u":[users]}`): how a
   * host without LISTEN (workerd) pokes its live connections.
   */
  onCommit?: (payload: string) => void | Promise<unknown>;
}

/** POST /sync, GET /healthz, CORS preflight: web-standard Request in, Response out (node and workerd). */
export function createHandler(options: HandlerOptions): (request: Request) => Promise<Response>;

export interface ServerOptions {
  databaseUrl: string;
  /** Default 8787; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 10; use 1 for PGlite. */
  poolSize?: number;
  limits?: Limits;
  auth: VerifierOptions | Verifier;
  schema: object;
  /** Serve this folder at / (.wasm as application/wasm, .mjs as text/javascript). */
  staticDir?: string;
  corsOrigin?: string | string[];
  /** Apply the core's idempotent DDL at startup (default true). */
  applyDdl?: boolean;
  /** DEVELOPMENT ONLY: enables GET /dev/token?user=… signed with this secret. */
  devTokenSecret?: string;
  core?: Core;
  logger?: { error(...args: unknown[]): void };
  postgresOptions?: Record<string, unknown>;
  /** Live pokes at GET /live (default true); false: no /live, clients poll. */
  live?: boolean | LiveOptions;
  /** The media endpoints at /media/… (docs/protocol.md, "Media"); default false (off). */
  media?: false | MediaOptions;
}

/** The node host's media endpoints: files in `dir` (filesystem backend) or a ready `storage`. */
export interface MediaOptions {
  dir?: string;
  storage?: MediaStorage;
  /** Signs download URLs (>= 32 characters); default random per process. */
  secret?: string;
  /** Lifetime of a signed download URL in seconds (default 300). */
  urlTtlSec?: number;
  /** Bytes each user may hold: stored objects plus unfinished uploads (default: no quota). */
  quotaBytes?: number;
  /** The lifecycle sweep runs this often, in seconds (default 3600; 0: never, call `media.sweep()`). */
  sweepIntervalSec?: number;
  /** A file no row names any more is deleted this long after the sweep noticed (default 86400). */
  graceSec?: number;
  /** Unfinished uploads are dropped after this long (default 86400). */
  stagedMaxAgeSec?: number;
}

/** What one lifecycle sweep did. */
export interface MediaSweepStats {
  /** Records found no longer named by their row / named again. */
  marked: number;
  unmarked: number;
  /** Records deleted after the grace period, objects deleted, their bytes. */
  records: number;
  objects: number;
  bytes: number;
  /** Unfinished uploads dropped. */
  staged: number;
  /** Steps that failed (logged; the next sweep retries them). */
  errors: number;
}

/** One lifecycle sweep (docs/protocol.md, "Lifecycle"); environment-neutral, safe to run from several hosts at once. */
export function sweepMedia(options: {
  sql: unknown; storage: MediaStorage;
  /** The core's media plan (`core.call('schema.media_sql', schema)`). */
  plan: { columns: { table: string; column: string; orphanSql: string; expireSql: string }[] };
  graceSec?: number; stagedMaxAgeSec?: number;
  /** The sweep's clock in ms (default Date.now()). */
  now?: number;
  logger?: { error(...args: unknown[]): void };
}): Promise<MediaSweepStats>;

/**
 * Where media bytes live (docs/server.md, "Media files"): the filesystem
 * backend (fsMediaStorage); an S3 or R2 backend implements the same methods.
 * `id` is an upload id (32 hex digits), `key` an object key
 * (`o/<64 hex>`, hosts/common/media-ref.mjs).
 */
export interface MediaStorage {
  /** Bytes staged so far for an upload (0 when none). */
  stagedSize(id: string): Promise<number>;
  /** Appends a body at `offset`, never past `limit` bytes in all; a broken body keeps what arrived. */
  appendPart(id: string, offset: number, body: ReadableStream<Uint8Array> | null, limit: number):
    Promise<{ size: number } | { tooLarge: true }>;
  /** SHA-256 (hex) of the staged bytes and their first `headBytes` bytes. */
  inspect(id: string, headBytes: number): Promise<{ sha256: string; head: Uint8Array }>;
  /** Makes the staged bytes the object `key`. */
  commit(id: string, key: string): Promise<void>;
  /** Drops an upload's staged bytes. */
  discard(id: string): Promise<void>;
  /** Deletes object `key`; nothing when it is not there (the lifecycle sweep calls it). */
  delete(key: string): Promise<void>;
  /** The byte size of object `key`, or null. */
  size(key: string): Promise<number | null>;
  /** Object `key` as a stream, or null. */
  get(key: string): Promise<{ body: ReadableStream<Uint8Array>; size: number } | null>;
}

/** The filesystem MediaStorage rooted at `root` (created when missing). */
export function fsMediaStorage(root: string): Promise<MediaStorage>;

/** Where an S3-compatible MediaStorage keeps its objects (path-style requests, SigV4 via aws4fetch). */
export interface S3MediaOptions {
  /** The service endpoint, e.g. `https://s3.eu-central-1.amazonaws.com`, `https://<account>.r2.cloudflarestorage.com`. */
  endpoint: string;
  bucket: string;
  /** Default `us-east-1` (`auto` for R2's S3 API). */
  region?: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Prepended to every key (default none). */
  prefix?: string;
  /** Retries of a 5xx / throttled request, with backoff (default 3). */
  retries?: number;
}

/**
 * An S3-compatible MediaStorage (docs/server.md, "Media files"): uploads are
 * multipart uploads, their bookkeeping a manifest object in the bucket.
 */
export function s3MediaStorage(options: S3MediaOptions): MediaStorage;

/** The object store a multipart MediaStorage runs on (S3 via s3ObjectStore, an R2 binding in the worker). */
export interface ObjectStore {
  head(key: string): Promise<number | null>;
  get(key: string): Promise<{ body: ReadableStream<Uint8Array>; size: number } | null>;
  put(key: string, bytes: Uint8Array): Promise<void>;
  delete(key: string): Promise<void>;
  list(prefix: string): Promise<string[]>;
  copy(from: string, to: string): Promise<void>;
  createMultipart(key: string): Promise<string>;
  uploadPart(key: string, uploadId: string, partNumber: number, bytes: Uint8Array): Promise<string>;
  completeMultipart(key: string, uploadId: string, parts: { n: number; etag: string }[]): Promise<void>;
  /** False when the service cannot abort (the parts are then assembled and deleted). */
  abortMultipart(key: string, uploadId: string): Promise<boolean>;
}

/** The ObjectStore of an S3-compatible bucket. */
export function s3ObjectStore(options: S3MediaOptions): ObjectStore;

/** A MediaStorage over any ObjectStore with an incremental SHA-256 (hex digest). */
export function multipartMediaStorage(options: {
  store: ObjectStore;
  sha256: () => { update(bytes: Uint8Array): unknown; digest(): Promise<string> };
  partSize?: number;
}): MediaStorage;

/** The media endpoints as a route for any host: a Response for /media/…, null otherwise. */
export function createMediaRoute(options: {
  core: Core; schema: object; sql: unknown; verifier: Verifier; storage: MediaStorage; secret: string;
  urlTtlSec?: number; quotaBytes?: number | null; corsOrigin?: string | string[]; now?: () => number; logger?: { error(...args: unknown[]): void };
}): Promise<(request: Request, url: URL) => Promise<Response | null>>;

/** The node host's live endpoint (docs/protocol.md, "Live pokes"; docs/server.md). */
export interface LiveOptions {
  /** The LISTEN connection: direct or session mode, never pgbouncer transaction mode (default: databaseUrl). */
  databaseUrl?: string;
  /** 'pool': a single-session database (embedded PGlite) whose pool session listens. Default 'connection'. */
  listen?: 'connection' | 'pool';
  /** Open live connections per host (default 20000); more are closed with 4503. */
  maxConnections?: number;
  /** The deadline of the first (auth) message (default 10000). */
  authTimeoutMs?: number;
  /** Largest client message (default 4096). */
  maxMessageBytes?: number;
}

export interface RunningServer {
  url: string;
  port: number;
  schemaVersion: number;
  /** The postgres.js pool. */
  sql: unknown;
  /** The live side, or null without live pokes. */
  live: { hub: { stats(): { connections: number; users: number; ready: number; pokes: number } } } | null;
  /** The media side: runs the lifecycle sweep now (`now`: its clock in ms); null without media endpoints. */
  media: { sweep(options?: { now?: number }): Promise<MediaSweepStats> } | null;
  /** Stops accepting, finishes requests in flight, ends the pool. */
  close(options?: { timeoutMs?: number }): Promise<void>;
}

/** Starts the node host (node:http + postgres.js pool). */
export function startServer(options: ServerOptions): Promise<RunningServer>;

export interface Config {
  databaseUrl?: string;
  port: number;
  host: string;
  poolSize: number;
  auth?: VerifierOptions;
  schemaPath: string;
  staticDir?: string;
  corsOrigin: string | string[];
  applyDdl: boolean;
  /** EDGESYNC_DEV: development tokens also with DATABASE_URL (main job only). */
  dev: boolean;
  limits: Limits;
  /** EDGESYNC_LIVE (default true), LIVE_DATABASE_URL, EDGESYNC_LIVE_MAX_CONNECTIONS. */
  live: { enabled: boolean; databaseUrl?: string; maxConnections?: number };
  /** EDGESYNC_MEDIA (default true), EDGESYNC_MEDIA_SECRET, EDGESYNC_MEDIA_QUOTA_BYTES, EDGESYNC_MEDIA_GRACE_SEC,
   * EDGESYNC_MEDIA_SWEEP_INTERVAL_SEC, EDGESYNC_MEDIA_S3_*. */
  media: { enabled: boolean; secret?: string; quotaBytes?: number; graceSec?: number; sweepIntervalSec?: number;
    s3?: S3MediaOptions };
}
export class ConfigError extends Error {}
/** Reads DATABASE_URL, PORT, HOST, POOL_SIZE and EDGESYNC_* variables. */
export function loadConfig(env?: Record<string, string | undefined>): Config;
