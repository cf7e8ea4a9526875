// The object-store adapter (./multipart.mjs, ObjectStore) for any
// S3-compatible service — AWS S3, Cloudflare R2's S3 API, MinIO, s3rver —
// signed with aws4fetch (SigV4 over fetch; environment-neutral). Path-style
// URLs: `<endpoint>/<bucket>/<key>`. Bodies are sent as UNSIGNED-PAYLOAD
// (aws4fetch's S3 default), so a part is not hashed a second time to sign it.
import { AwsClient } from 'aws4fetch';

const xmlText = (xml, tag) => xml.match(new RegExp(`<${tag}>([^<]*)</${tag}>`))?.[1];
const unescapeXml = (s) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"')
  .replace(/&apos;/g, "'").replace(/&amp;/g, '&');

/** An S3 request that failed: the HTTP status and the service's error code. */
export class S3Error extends Error {
  constructor(op, status, code, message) {
    super(`S3 ${op}: ${status} ${code ?? ''} ${message ?? ''}`.trim());
    Object.assign(this, { name: 'S3Error', status, code });
  }
}

/**
 * An ObjectStore on an S3-compatible bucket.
 * @param {object} o
 * @param {string} o.endpoint e.g. https://s3.eu-central-1.amazonaws.com, https://<account>.r2.cloudflarestorage.com
 * @param {string} o.bucket
 * @param {string} [o.region='us-east-1'] ('auto' for R2)
 * @param {string} o.accessKeyId
 * @param {string} o.secretAccessKey
 * @param {string} [o.prefix=''] prepended to every key (e.g. "edgesync/")
 * @param {number} [o.retries=3] retries of a 5xx / throttled request, with backoff (aws4fetch)
 */
export function s3ObjectStore({ endpoint, bucket, region = 'us-east-1', accessKeyId, secretAccessKey, prefix = '', retries = 3 }) {
  const client = new AwsClient({ accessKeyId, secretAccessKey, region, service: 's3', retries });
  const base = `${endpoint.replace(/\/+$/, '')}/${encodeURIComponent(bucket)}`;
  const url = (key, query = '') => `${base}/${(prefix + key).split('/').map(encodeURIComponent).join('/')}${query}`;

  async function send(op, target, init, ok = [200]) {
    const res = await client.fetch(target, init);
    if (ok.includes(res.status)) return res;
    const text = await res.text().catch(() => '');
    throw new S3Error(op, res.status, xmlText(text, 'Code'), xmlText(text, 'Message'));
  }
  // CompleteMultipartUpload and CopyObject may fail with a 200 and an <Error> body.
  async function sendXml(op, target, init) {
    const text = await (await send(op, target, init)).text();
    if (/<Error>/.test(text)) throw new S3Error(op, 200, xmlText(text, 'Code'), xmlText(text, 'Message'));
    return text;
  }

  return {
    /** Byte size of `key`, or null. */
    async head(key) {
      const res = await send('HeadObject', url(key), { method: 'HEAD' }, [200, 404]);
      return res.status === 404 ? null : Number(res.headers.get('content-length'));
    },
    /** {body, size} of `key` streamed, or null. */
    async get(key) {
      const res = await send('GetObject', url(key), { method: 'GET' }, [200, 404]);
      if (res.status === 404) { await res.body?.cancel(); return null; }
      return { body: res.body, size: Number(res.headers.get('content-length')) };
    },
    /** Stores `bytes` at `key`. */
    async put(key, bytes) {
      await (await send('PutObject', url(key), { method: 'PUT', body: bytes })).arrayBuffer();
    },
    /** Deletes `key` (absent is fine). */
    async delete(key) {
      await (await send('DeleteObject', url(key), { method: 'DELETE' }, [200, 204, 404])).arrayBuffer();
    },
    /** The keys under `p` (without the store's prefix). */
    async list(p) {
      const keys = [];
      let token = null;
      do {
        const q = new URLSearchParams({ 'list-type': '2', prefix: prefix + p });
        if (token) q.set('continuation-token', token);
        const text = await sendXml('ListObjectsV2', `${base}?${q}`, { method: 'GET' });
        for (const m of text.matchAll(/<Key>([^<]*)<\/Key>/g)) keys.push(unescapeXml(m[1]).slice(prefix.length));
        token = /<IsTruncated>true<\/IsTruncated>/.test(text) ? unescapeXml(xmlText(text, 'NextContinuationToken') ?? '') : null;
      } while (token);
      return keys;
    },
    /** Server-side copy of `from` to `to` (CopyObject, up to 5 GiB). */
    async copy(from, to) {
      await sendXml('CopyObject', url(to), {
        method: 'PUT', headers: { 'x-amz-copy-source': `/${bucket}/${(prefix + from).split('/').map(encodeURIComponent).join('/')}` },
      });
    },
    /** Starts a multipart upload to `key`: its upload id. */
    async createMultipart(key) {
      const id = xmlText(await sendXml('CreateMultipartUpload', url(key, '?uploads'), { method: 'POST' }), 'UploadId');
      if (!id) throw new S3Error('CreateMultipartUpload', 200, 'NoUploadId', 'no UploadId in the answer');
      return unescapeXml(id);
    },
    /** Uploads part `n` (1-based): its ETag. */
    async uploadPart(key, uploadId, n, bytes) {
      const q = `?partNumber=${n}&uploadId=${encodeURIComponent(uploadId)}`;
      const res = await send('UploadPart', url(key, q), { method: 'PUT', body: bytes });
      await res.arrayBuffer();
      const etag = res.headers.get('etag');
      if (!etag) throw new S3Error('UploadPart', res.status, 'NoETag', 'no ETag in the answer');
      return etag;
    },
    /** Assembles the parts [{n, etag}] into the object `key`. */
    async completeMultipart(key, uploadId, parts) {
      const body = `<CompleteMultipartUpload>${parts.map((p) =>
        `<Part><PartNumber>${p.n}</PartNumber><ETag>${p.etag.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</ETag></Part>`).join('')}</CompleteMultipartUpload>`;
      await sendXml('CompleteMultipartUpload', url(key, `?uploadId=${encodeURIComponent(uploadId)}`), {
        method: 'POST', body, headers: { 'content-type': 'application/xml' },
      });
    },
    /**
     * Aborts a multipart upload (one already gone is fine): true, or false
     * when the service does not implement the call (s3rver answers 405).
     */
    async abortMultipart(key, uploadId) {
      const res = await send('AbortMultipartUpload', url(key, `?uploadId=${encodeURIComponent(uploadId)}`), { method: 'DELETE' },
        [200, 204, 404, 405, 501]);
      await res.arrayBuffer();
      return res.status !== 405 && res.status !== 501;
    },
  };
}
