// Host configuration from environment variables. Environment-neutral: node
// passes process.env, the worker passes its `env` (vars and secrets).
//
//   DATABASE_URL              postgres://… (node; unset: the main job starts an embedded PGlite)
//   PORT, HOST                node listen address (default 8787, 127.0.0.1)
//   POOL_SIZE                 node connection pool size (default 10)
//   EDGESYNC_JWT_SECRET       HS256 secret (≥ 32 bytes), e.g. Supabase's legacy JWT secret
//   EDGESYNC_JWKS_URL         JWKS URL for RS256/ES256/EdDSA tokens
//   EDGESYNC_JWT_ISSUER       required `iss` (comma-separated list allowed)
//   EDGESYNC_JWT_AUDIENCE     required `aud` (comma-separated list allowed), e.g. "authenticated"
//   EDGESYNC_JWT_ALGORITHMS   allowlist, comma-separated (default HS256 for a secret, RS256,ES256,EdDSA for a JWKS)
//   EDGESYNC_JWT_ROLES        accepted `role` claims, comma-separated (default "authenticated"; tokens without a role pass)
//   EDGESYNC_DEV              main job: "1" serves development tokens (/dev/token) even with DATABASE_URL — loopback only
//   EDGESYNC_SCHEMA           schema JSON path (node; default demo/schema.json)
//   EDGESYNC_MAX_BODY_BYTES, EDGESYNC_MAX_CHANGES, EDGESYNC_MAX_PAGE_SIZE,
//   EDGESYNC_DEFAULT_PAGE_SIZE, EDGESYNC_MAX_CLOCK_SKEW_MS
//                             the limits; unset: the core's defaults
//                             (core.protocol().limits, docs/protocol.md)
//   EDGESYNC_CORS_ORIGIN      allowed origin(s), comma-separated, default "*"
//   EDGESYNC_STATIC_DIR       node: serve this folder at / (default demo/dist when it exists)
//   EDGESYNC_APPLY_DDL        "false" to skip creating/updating tables at startup
//   EDGESYNC_DATA_DIR         main job: where PGlite (pglite/) and the dev secret live (default .data)
//   EDGESYNC_LIVE             "false" turns off live pokes (GET /live); clients poll
//   LIVE_DATABASE_URL         node: the LISTEN connection for live pokes, direct or session mode
//                             (default DATABASE_URL; pgbouncer transaction mode drops notifications)
//   EDGESYNC_LIVE_MAX_CONNECTIONS  live connections per node host / workerd hub (default 20000)
//   EDGESYNC_LIVE_AUTH_TIMEOUT_MS  time a live connection has for its auth message (default 10000)
//   EDGESYNC_MEDIA            node: "false" turns off the media endpoints (/media/…; default on, files in
//                             <data dir>/media)
//   EDGESYNC_MEDIA_S3_URL     node: keep media files in an S3-compatible bucket instead of the data folder:
//                             the service endpoint (https://s3.<region>.amazonaws.com,
//                             https://<account>.r2.cloudflarestorage.com, http://127.0.0.1:9000 …)
//   EDGESYNC_MEDIA_S3_BUCKET, EDGESYNC_MEDIA_S3_REGION (default us-east-1; "auto" for R2),
//   EDGESYNC_MEDIA_S3_ACCESS_KEY_ID, EDGESYNC_MEDIA_S3_SECRET_ACCESS_KEY,
//   EDGESYNC_MEDIA_S3_PREFIX  the bucket, its region, the keys, and a key prefix (default none)
//   EDGESYNC_MEDIA_SECRET     signs download URLs (>= 32 characters); unset: random per process (links
//                             die on restart; set it when several hosts serve one store)
//   EDGESYNC_MEDIA_QUOTA_BYTES  bytes each user may store (files + unfinished uploads); unset: no quota
//   EDGESYNC_MEDIA_GRACE_SEC  a file no row names any more is deleted after this (default 86400)
//   EDGESYNC_MEDIA_SWEEP_INTERVAL_SEC  node: how often the media sweep runs (default 3600; 0: never)

/** A configuration problem, with the variable's name in the message. */
export class ConfigError extends Error {
  constructor(message) { super(message); this.name = 'ConfigError'; }
}

function str(env, name) {
  const v = env[name];
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

function int(env, name, { min = 1, max = Number.MAX_SAFE_INTEGER } = {}) {
  const v = str(env, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got ${JSON.stringify(v)}`);
  }
  return Number(v);
}

function list(env, name) {
  const v = str(env, name);
  if (v === undefined) return undefined;
  const items = v.split(',').map((s) => s.trim()).filter(Boolean);
  return items.length ? items : undefined;
}

const oneOrMany = (xs) => (xs === undefined ? undefined : xs.length === 1 ? xs[0] : xs);

function bool(env, name, dflt) {
  const v = str(env, name);
  if (v === undefined) return dflt;
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off)$/i.test(v)) return false;
  throw new ConfigError(`${name} must be true or false, got ${JSON.stringify(v)}`);
}

/**
 * Reads the configuration. `auth` is undefined when neither a secret nor a
 * JWKS URL is set (the main job then generates a dev secret).
 */
export function loadConfig(env = {}) {
  const secret = str(env, 'EDGESYNC_JWT_SECRET');
  const jwksUrl = str(env, 'EDGESYNC_JWKS_URL');
  const roles = list(env, 'EDGESYNC_JWT_ROLES');
  const auth = secret || jwksUrl ? {
    secret,
    jwksUrl,
    issuer: oneOrMany(list(env, 'EDGESYNC_JWT_ISSUER')),
    audience: oneOrMany(list(env, 'EDGESYNC_JWT_AUDIENCE')),
    algorithms: list(env, 'EDGESYNC_JWT_ALGORITHMS'),
    ...(roles ? { roles } : {}),
  } : undefined;
  if (!auth && ['EDGESYNC_JWT_ALGORITHMS', 'EDGESYNC_JWT_ISSUER', 'EDGESYNC_JWT_AUDIENCE', 'EDGESYNC_JWT_ROLES'].some((n) => str(env, n))) {
    throw new ConfigError('EDGESYNC_JWT_ALGORITHMS/ISSUER/AUDIENCE/ROLES are set but neither EDGESYNC_JWT_SECRET nor EDGESYNC_JWKS_URL is');
  }
  return {
    databaseUrl: str(env, 'DATABASE_URL'),
    port: int(env, 'PORT', { min: 0, max: 65535 }) ?? 8787,
    host: str(env, 'HOST') ?? '127.0.0.1',
    poolSize: int(env, 'POOL_SIZE', { max: 1000 }) ?? 10,
    auth,
    schemaPath: str(env, 'EDGESYNC_SCHEMA') ?? 'demo/schema.json',
    staticDir: str(env, 'EDGESYNC_STATIC_DIR'),
    corsOrigin: oneOrMany(list(env, 'EDGESYNC_CORS_ORIGIN')) ?? '*',
    applyDdl: bool(env, 'EDGESYNC_APPLY_DDL', true),
    dev: bool(env, 'EDGESYNC_DEV', false),
    limits: {
      maxBodyBytes: int(env, 'EDGESYNC_MAX_BODY_BYTES', { min: 1024 }),
      maxChanges: int(env, 'EDGESYNC_MAX_CHANGES'),
      maxPageSize: int(env, 'EDGESYNC_MAX_PAGE_SIZE'),
      defaultPageSize: int(env, 'EDGESYNC_DEFAULT_PAGE_SIZE'),
      maxClockSkewMs: int(env, 'EDGESYNC_MAX_CLOCK_SKEW_MS', { min: 0 }),
    },
    media: {
      enabled: bool(env, 'EDGESYNC_MEDIA', true),
      secret: mediaSecret(env),
      quotaBytes: int(env, 'EDGESYNC_MEDIA_QUOTA_BYTES'),
      graceSec: int(env, 'EDGESYNC_MEDIA_GRACE_SEC', { min: 0 }),
      sweepIntervalSec: int(env, 'EDGESYNC_MEDIA_SWEEP_INTERVAL_SEC', { min: 0 }),
      s3: mediaS3(env),
    },
    live: {
      enabled: bool(env, 'EDGESYNC_LIVE', true),
      databaseUrl: str(env, 'LIVE_DATABASE_URL'),
      maxConnections: int(env, 'EDGESYNC_LIVE_MAX_CONNECTIONS', { min: 1 }),
      authTimeoutMs: int(env, 'EDGESYNC_LIVE_AUTH_TIMEOUT_MS', { min: 100, max: 600_000 }),
    },
  };
}

function mediaS3(env) {
  const endpoint = str(env, 'EDGESYNC_MEDIA_S3_URL');
  if (endpoint === undefined) return undefined;
  if (!/^https?:\/\/[^/]+/.test(endpoint)) throw new ConfigError('EDGESYNC_MEDIA_S3_URL must be an http(s) URL');
  const need = (name) => {
    const v = str(env, name);
    if (v === undefined) throw new ConfigError(`${name} is required with EDGESYNC_MEDIA_S3_URL`);
    return v;
  };
  return {
    endpoint, bucket: need('EDGESYNC_MEDIA_S3_BUCKET'), region: str(env, 'EDGESYNC_MEDIA_S3_REGION') ?? 'us-east-1',
    accessKeyId: need('EDGESYNC_MEDIA_S3_ACCESS_KEY_ID'), secretAccessKey: need('EDGESYNC_MEDIA_S3_SECRET_ACCESS_KEY'),
    prefix: str(env, 'EDGESYNC_MEDIA_S3_PREFIX') ?? '',
  };
}

function mediaSecret(env) {
  const v = str(env, 'EDGESYNC_MEDIA_SECRET');
  if (v !== undefined && v.length < 32) throw new ConfigError('EDGESYNC_MEDIA_SECRET must have at least 32 characters');
  return v;
}

/** True for a host name or address only this machine can reach. */
export function isLoopbackHost(host) {
  const h = String(host).toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || /^::ffff:127(\.\d{1,3}){3}$/.test(h);
}

/**
 * Whether the main job serves development tokens (a generated secret and
 * GET /dev/token, which signs a token for any user). Only without a token
 * check (no EDGESYNC_JWT_SECRET / EDGESYNC_JWKS_URL), only with the embedded
 * PGlite or an explicit EDGESYNC_DEV=1, and never on an address other
 * machines can reach. Any other configuration without a token check is
 * refused (fail closed) with what to set.
 */
export function devTokensEnabled(cfg) {
  if (cfg.auth) return false;
  if (cfg.databaseUrl && !cfg.dev) {
    throw new ConfigError('DATABASE_URL is set but no token check is configured: set EDGESYNC_JWT_SECRET ' +
      '(HS256, e.g. Supabase\'s JWT secret) or EDGESYNC_JWKS_URL; for local development with this database ' +
      'and /dev/token, set EDGESYNC_DEV=1');
  }
  if (!isLoopbackHost(cfg.host)) {
    throw new ConfigError(`HOST=${cfg.host} is reachable from other machines, but without EDGESYNC_JWT_SECRET or ` +
      'EDGESYNC_JWKS_URL the server would hand out development tokens for any user (/dev/token); set one of ' +
      'them, or listen on HOST=127.0.0.1');
  }
  return true;
}
