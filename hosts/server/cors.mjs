// The cross-origin rule of every endpoint the hosts serve (/sync, /healthz,
// /media/…), stated once. Bearer tokens, no cookies: no Allow-Credentials.

/**
 * The CORS headers for `request` under `corsOrigin` ('*', one origin or a
 * list); `expose` names the response headers clients may read.
 */
export function corsHeaders(corsOrigin, request, expose) {
  const origins = Array.isArray(corsOrigin) ? corsOrigin : [corsOrigin];
  const exposed = { 'access-control-expose-headers': expose };
  if (origins.includes('*')) return { 'access-control-allow-origin': '*', ...exposed };
  const origin = request.headers.get('origin');
  if (origin && origins.includes(origin)) return { 'access-control-allow-origin': origin, vary: 'Origin', ...exposed };
  return { vary: 'Origin' };
}
