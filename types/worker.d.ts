/** Bindings and variables the sync worker reads (see wrangler.toml). */
export interface Env {
  /** Hyperdrive binding to PostgreSQL. */
  HYPERDRIVE: { connectionString: string };
  /** HS256 secret (a `wrangler secret`), at least 32 bytes. */
  EDGESYNC_JWT_SECRET?: string;
  /** JWKS URL for RS256/ES256/EdDSA tokens. */
  EDGESYNC_JWKS_URL?: string;
  EDGESYNC_JWT_ISSUER?: string;
  EDGESYNC_JWT_AUDIENCE?: string;
  /** Comma-separated allowlist. */
  EDGESYNC_JWT_ALGORITHMS?: string;
  EDGESYNC_CORS_ORIGIN?: string;
  EDGESYNC_MAX_BODY_BYTES?: string;
  EDGESYNC_MAX_CHANGES?: string;
  EDGESYNC_MAX_PAGE_SIZE?: string;
  EDGESYNC_DEFAULT_PAGE_SIZE?: string;
  EDGESYNC_MAX_CLOCK_SKEW_MS?: string;
  /** The live hub Durable Object (class LiveHub); without it GET /live answers 404 and clients poll. */
  LIVE_HUB?: DurableObjectNamespaceLike;
  /** "false": no GET /live (clients poll). */
  EDGESYNC_LIVE?: string;
  /** Live connections per hub (default 20000; more are closed with 4503). */
  EDGESYNC_LIVE_MAX_CONNECTIONS?: string;
  /** Time a live connection has to send its auth message (default 10000 ms). */
  EDGESYNC_LIVE_AUTH_TIMEOUT_MS?: string;
  /** "false" skips applying the schema's DDL on the first request of an isolate. */
  EDGESYNC_APPLY_DDL?: string;
  /** The R2 bucket of media files (/media/…; docs/protocol.md "Media"); without it there are no media endpoints. */
  MEDIA?: unknown;
  /** "false": no /media/ even with the MEDIA binding. */
  EDGESYNC_MEDIA?: string;
  /** Signs download links (a `wrangler secret`, 32+ characters); required with MEDIA, else /media/ answers 503 media_not_configured. */
  EDGESYNC_MEDIA_SECRET?: string;
  /** Bytes each user may store (files + unfinished uploads); unset: no quota. */
  EDGESYNC_MEDIA_QUOTA_BYTES?: string;
  /** A file no row names any more leaves R2 this long after the cron sweep noticed (default 86400). */
  EDGESYNC_MEDIA_GRACE_SEC?: string;
}

/** The part of a Cron Trigger's controller the worker reads. */
export interface ScheduledControllerLike {
  /** The cron expression that fired. */
  cron: string;
  /** When it was due (ms). */
  scheduledTime: number;
}

/** The part of a Durable Object namespace binding the worker uses. */
export interface DurableObjectNamespaceLike {
  idFromName(name: string): unknown;
  get(id: unknown): { fetch(input: Request | string, init?: RequestInit): Promise<Response> };
}

/**
 * The live hub: a Durable Object holding the /live WebSockets (hibernatable)
 * and poking them on the worker's commits. Export it from the worker's entry
 * and bind it as LIVE_HUB (see wrangler.toml).
 */
export declare class LiveHub {
  constructor(ctx: unknown, env: Env);
  fetch(request: Request): Promise<Response>;
}

/**
 * The module worker: POST /sync, GET /healthz, GET /live (WebSocket), /media/…, CORS; the media sweep on a cron. The schema is bundled
 * from the `edgesync:schema` module alias of the wrangler config.
 */
declare const worker: {
  fetch(request: Request, env: Env, ctx: { waitUntil(promise: Promise<unknown>): void }): Promise<Response>;
  /** The Cron Trigger (wrangler.toml [triggers]): one media lifecycle sweep; rejects when it could not do all of its work. */
  scheduled(controller: ScheduledControllerLike, env: Env, ctx: { waitUntil(promise: Promise<unknown>): void }): Promise<void>;
};
export default worker;
