// Short-lived download URLs (docs/protocol.md, "Media"): an HMAC-SHA256 over
// the object key, its MIME type and an expiry, with WebCrypto so node and
// workerd sign alike. The URL carries no user and no row: whoever holds it
// may fetch that one object until it expires, like an S3 presigned URL.

const enc = new TextEncoder();
const b64url = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

/**
 * Creates a signer from a secret (a string of at least 32 characters).
 * @param {string} secret
 * @returns {Promise<{sign(key: string, mime: string, expiresAtSec: number): Promise<string>, verify(key: string, mime: string, expiresAtSec: number, sig: string, nowSec: number): Promise<boolean>}>}
 */
export async function createSigner(secret) {
  if (typeof secret !== 'string' || secret.length < 32) {
    throw new TypeError('the media signing secret must be a string of at least 32 characters');
  }
  const cryptoKey = await crypto.subtle.importKey('raw', enc.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false,
    ['sign', 'verify']);
  const message = (key, mime, exp) => enc.encode(`edgesync-media-v1\n${key}\n${mime}\n${exp}`);
  return {
    /** The signature of (key, mime, expiry), base64url. */
    async sign(key, mime, expiresAtSec) {
      return b64url(new Uint8Array(await crypto.subtle.sign('HMAC', cryptoKey, message(key, mime, expiresAtSec))));
    },
    /** True when `sig` signs (key, mime, expiry) and the expiry has not passed. */
    async verify(key, mime, expiresAtSec, sig, nowSec) {
      if (!Number.isSafeInteger(expiresAtSec) || expiresAtSec < nowSec) return false;
      if (typeof sig !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(sig)) return false;
      const raw = Uint8Array.from(atob(sig.replace(/-/g, '+').replace(/_/g, '/') + '='), (c) => c.charCodeAt(0));
      // crypto.subtle.verify compares in constant time.
      return crypto.subtle.verify('HMAC', cryptoKey, raw, message(key, mime, expiresAtSec));
    },
  };
}
