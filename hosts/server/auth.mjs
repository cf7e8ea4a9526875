// Bearer-token verification for the sync endpoint, with `jose` (WebCrypto:
// the same code runs in node, workerd and browsers).
//
// The user id comes only from a verified token's `sub`. Keys and algorithms
// are explicit: an HMAC secret verifies HS256/384/512 tokens only, a JWKS
// verifies asymmetric tokens only (RS256, ES256, EdDSA, …), so an HS256 token
// signed with a public key ("algorithm confusion") and `alg: none` fail.
import {
  jwtVerify, createRemoteJWKSet, createLocalJWKSet, SignJWT, errors as jose,
} from 'jose';

const HMAC = new Set(['HS256', 'HS384', 'HS512']);
const ASYMMETRIC = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519']);
/** The `role` claims of an ordinary signed-in user. Supabase puts
 * "authenticated" in user tokens and other roles (anon, service_role, custom
 * ones) in project keys and privileged tokens, so every other role is refused
 * (fail closed). A token without `role` is accepted: most identity providers
 * do not set one. */
export const DEFAULT_USER_ROLES = Object.freeze(['authenticated']);
const MIN_SECRET_BYTES = 32;
const MAX_SUB_LENGTH = 512;

/** A token (or server-side key) problem. `code` is `unauthorized` (the
 * caller's token is refused: 401) or `unavailable` (the JWKS cannot be
 * fetched: 503). */
export class AuthError extends Error {
  constructor(message, { code = 'unauthorized', cause } = {}) {
    super(message, cause ? { cause } : undefined);
    this.name = 'AuthError';
    this.code = code;
  }
}

const encoder = new TextEncoder();

/**
 * Creates a verifier. Give `secret` (HS256 by default), `jwksUrl` (or a local
 * `jwks` document; RS256, ES256 and EdDSA by default), or both.
 *
 * @param {object} o
 * @param {string|Uint8Array} [o.secret] HMAC secret (at least 32 bytes)
 * @param {string|URL} [o.jwksUrl] JWKS endpoint, e.g. `https://<project>.supabase.co/auth/v1/.well-known/jwks.json`
 * @param {{keys: object[]}} [o.jwks] a static JWKS document
 * @param {string[]} [o.algorithms] the allowlist
 * @param {string|string[]} [o.issuer] required `iss`
 * @param {string|string[]} [o.audience] required `aud`
 * @param {number} [o.clockToleranceSec=5] leeway for `exp`/`nbf`
 * @param {boolean} [o.requireExp=true] refuse tokens without `exp`
 * @param {() => number} [o.now] the clock `exp`/`nbf` are checked against, in
 *   ms (default: jose's, the wall clock); a simulation passes a virtual one
 * @param {string[]} [o.roles=DEFAULT_USER_ROLES] the `role` claims accepted
 *   (a token without `role` is always accepted)
 * @returns {{ verify(authorization: string|null|undefined): Promise<{userId: string, claims: object}>,
 *             algorithms: string[] }}
 */
export function createVerifier({
  secret, jwksUrl, jwks, algorithms, issuer, audience, clockToleranceSec = 5, requireExp = true,
  roles = DEFAULT_USER_ROLES, now,
} = {}) {
  if (jwksUrl && jwks) throw new TypeError('createVerifier: give jwksUrl or jwks, not both');
  const hasSecret = secret !== undefined && secret !== null && secret !== '';
  const hasJwks = Boolean(jwksUrl || jwks);
  if (!hasSecret && !hasJwks) {
    throw new TypeError('createVerifier: configure a JWT secret (EDGESYNC_JWT_SECRET) or a JWKS URL (EDGESYNC_JWKS_URL)');
  }
  let secretKey;
  if (hasSecret) {
    secretKey = typeof secret === 'string' ? encoder.encode(secret) : secret;
    if (!(secretKey instanceof Uint8Array)) throw new TypeError('createVerifier: secret must be a string or bytes');
    if (secretKey.length < MIN_SECRET_BYTES) {
      throw new TypeError(`createVerifier: the JWT secret must be at least ${MIN_SECRET_BYTES} bytes`);
    }
  }
  if (!Array.isArray(roles) || roles.length === 0 || !roles.every((r) => typeof r === 'string' && r !== '')) {
    throw new TypeError('createVerifier: roles must be a non-empty array of role names (EDGESYNC_JWT_ROLES)');
  }
  const userRoles = new Set(roles);
  const algs = algorithms?.length ? [...algorithms]
    : [...(hasSecret ? ['HS256'] : []), ...(hasJwks ? ['RS256', 'ES256', 'EdDSA'] : [])];
  for (const alg of algs) {
    if (HMAC.has(alg)) {
      if (!hasSecret) throw new TypeError(`createVerifier: algorithm ${alg} needs a secret`);
    } else if (ASYMMETRIC.has(alg)) {
      if (!hasJwks) throw new TypeError(`createVerifier: algorithm ${alg} needs a JWKS`);
    } else {
      throw new TypeError(`createVerifier: algorithm ${JSON.stringify(alg)} is not supported`);
    }
  }
  const keySet = jwksUrl ? createRemoteJWKSet(new URL(jwksUrl), { timeoutDuration: 5000 })
    : jwks ? createLocalJWKSet(jwks) : null;

  // Given raw bytes, jose imports them into a CryptoKey on every verify
  // (~0.15 ms of the host's thread per request in node --cpu-prof): the
  // secret is imported once per HMAC algorithm instead.
  const hmacKeys = new Map();
  const hmacKey = (alg) => {
    let key = hmacKeys.get(alg);
    if (!key) {
      key = crypto.subtle.importKey('raw', secretKey, { name: 'HMAC', hash: `SHA-${alg.slice(2)}` }, false, ['verify']);
      hmacKeys.set(alg, key);
    }
    return key;
  };
  // The key depends on the token's header, but HMAC algorithms only ever get
  // the secret and asymmetric ones only the key set (jose also checks `alg`
  // against `algs` before calling this).
  const getKey = (header, token) => {
    if (HMAC.has(header.alg)) {
      if (!secretKey) throw new jose.JOSEAlgNotAllowed('"alg" (Algorithm) Header Parameter value not allowed');
      return hmacKey(header.alg);
    }
    if (!keySet) throw new jose.JOSEAlgNotAllowed('"alg" (Algorithm) Header Parameter value not allowed');
    return keySet(header, token);
  };
  const options = {
    algorithms: algs,
    clockTolerance: clockToleranceSec,
    ...(issuer !== undefined && issuer !== '' ? { issuer } : {}),
    ...(audience !== undefined && audience !== '' ? { audience } : {}),
    ...(requireExp ? { requiredClaims: ['exp'] } : {}),
  };

  async function verify(authorization) {
    const token = bearerToken(authorization);
    let payload;
    try {
      ({ payload } = await jwtVerify(token, getKey, now ? { ...options, currentDate: new Date(now()) } : options));
    } catch (e) {
      throw explain(e);
    }
    const { sub, role } = payload;
    if (typeof sub !== 'string' || sub.length === 0) {
      throw new AuthError('the token has no subject ("sub" must be a non-empty string: the user id)');
    }
    if (sub.length > MAX_SUB_LENGTH) throw new AuthError(`the token's "sub" is longer than ${MAX_SUB_LENGTH} characters`);
    // The user id is stored as PostgreSQL text, which holds neither.
    if (sub.includes('\u0000') || (typeof sub.isWellFormed === 'function' && !sub.isWellFormed())) {
      throw new AuthError('the token\'s "sub" contains a NUL character or a lone surrogate');
    }
    if (role !== undefined && !(typeof role === 'string' && userRoles.has(role))) {
      throw new AuthError(`a token with role ${JSON.stringify(role)} is not a signed-in user's token ` +
        `(accepted roles: ${[...userRoles].join(', ')}); send the user's access token`);
    }
    return { userId: sub, claims: payload };
  }
  return { verify, algorithms: algs };
}

function bearerToken(authorization) {
  if (authorization === undefined || authorization === null || authorization === '') {
    throw new AuthError('missing Authorization header: send "Authorization: Bearer <access token>"');
  }
  const m = /^Bearer[ ]+([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)[ ]*$/i.exec(authorization);
  if (!m) {
    throw new AuthError(/^Bearer\b/i.test(authorization)
      ? 'malformed token: expected a JWT (three base64url parts separated by dots)'
      : 'the Authorization header must use the Bearer scheme: "Authorization: Bearer <access token>"');
  }
  return m[1];
}

/** Turns a jose error into an AuthError with a specific message. */
function explain(e) {
  if (e instanceof AuthError) return e;
  if (e instanceof jose.JWTExpired) return new AuthError('token expired: refresh the session and retry', { cause: e });
  if (e instanceof jose.JWTClaimValidationFailed) {
    if (e.reason === 'missing') {
      const what = { aud: 'audience', iss: 'issuer', exp: 'expiry', sub: 'subject' }[e.claim];
      return new AuthError(`the token has no ${what ? `${what} ` : ''}("${e.claim}" is required)`, { cause: e });
    }
    const messages = {
      aud: 'wrong audience: the token was not issued for this service',
      iss: 'wrong issuer: the token comes from an identity provider this service does not trust',
      nbf: 'token not yet valid ("nbf" is in the future)',
      iat: 'token issued in the future ("iat")',
    };
    return new AuthError(messages[e.claim] ?? `invalid "${e.claim}" claim: ${e.reason}`, { cause: e });
  }
  if (e instanceof jose.JOSEAlgNotAllowed) return new AuthError('algorithm not allowed', { cause: e });
  if (e instanceof jose.JWSSignatureVerificationFailed) return new AuthError('bad signature', { cause: e });
  if (e instanceof jose.JWKSNoMatchingKey) return new AuthError('no key in the JWKS matches the token ("kid"/"alg")', { cause: e });
  if (e instanceof jose.JWKSMultipleMatchingKeys) return new AuthError('ambiguous key: several JWKS keys match the token', { cause: e });
  if (e instanceof jose.JWSInvalid || e instanceof jose.JWTInvalid) return new AuthError('malformed token', { cause: e });
  if (e instanceof jose.JOSENotSupported) return new AuthError('unsupported token type or algorithm', { cause: e });
  if (e instanceof TypeError && /key/i.test(e.message)) {
    // e.g. a key of the wrong type for the algorithm.
    return new AuthError('bad signature: the key does not fit the token\'s algorithm', { cause: e });
  }
  // The JWKS could not be fetched or parsed: a server-side problem.
  return new AuthError('cannot check tokens right now (the JWKS is unreachable); retry later',
    { code: 'unavailable', cause: e });
}

/** The user ids development tokens are signed for (GET /dev/token, `edgesync dev-token`). */
export const DEV_USER_PATTERN = /^[A-Za-z0-9_.@-]{1,128}$/;

/**
 * Signs an HS256 token for local development (`GET /dev/token`). Never used
 * with a real secret.
 */
export async function signDevToken(secret, { sub, ttlSec = 3600, audience, issuer, claims = {} } = {}) {
  let jwt = new SignJWT({ role: 'authenticated', ...claims }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub).setIssuedAt().setExpirationTime(`${ttlSec}s`);
  if (audience) jwt = jwt.setAudience(audience);
  if (issuer) jwt = jwt.setIssuer(issuer);
  return jwt.sign(typeof secret === 'string' ? encoder.encode(secret) : secret);
}
