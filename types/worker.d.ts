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
  /** "false" skips applying the schema's DDL on the first request of an isolate. */
  EDGESYNC_APPLY_DDL?: string;
}

/**
 * The module worker: POST /sync, GET /healthz, CORS. The schema is bundled
 * from the `edgesync:schema` module alias of the wrangler config.
 */
declare const worker: {
  fetch(request: Request, env: Env, ctx: { waitUntil(promise: Promise<unknown>): void }): Promise<Response>;
};
export default worker;
