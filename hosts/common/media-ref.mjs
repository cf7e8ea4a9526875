// The one statement of what a blob_ref column holds for an uploaded file and
// where its bytes live. The reference is the file's content hash, so a device
// computes it offline, before any upload; knowing it opens nothing (a download
// also needs the row to name it and a verified upload for that very row).

/** A file reference as a blob_ref column holds it: `sha256:<64 lowercase hex>`. */
export const MEDIA_REF = /^sha256:[0-9a-f]{64}$/;
/** A storage object key: `o/<64 lowercase hex>` (content-addressed, path-safe). */
export const OBJECT_KEY = /^o\/[0-9a-f]{64}$/;

/** The reference of a file whose SHA-256 is `sha256` (64 lowercase hex digits). */
export const mediaRef = (sha256) => `sha256:${sha256}`;

/** The storage key of reference `ref` (checked against MEDIA_REF first). */
export function objectKey(ref) {
  if (!MEDIA_REF.test(ref)) throw new TypeError('not a media reference');
  return `o/${ref.slice(7)}`;
}

/** The reference of `bytes` (ArrayBuffer or view), with WebCrypto. */
export async function mediaRefOf(bytes) {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return mediaRef(Array.from(d, (b) => b.toString(16).padStart(2, '0')).join(''));
}
