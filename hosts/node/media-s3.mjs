// The node host's S3-compatible MediaStorage: the environment-neutral
// multipart storage (../server/media/multipart.mjs) on an aws4fetch S3
// adapter (../server/media/s3.mjs), hashing with node:crypto.
import { createHash } from 'node:crypto';
import { multipartMediaStorage } from '../server/media/multipart.mjs';
import { s3ObjectStore } from '../server/media/s3.mjs';

/**
 * A MediaStorage in an S3-compatible bucket (docs/server.md, "Media files").
 * @param {{endpoint: string, bucket: string, region?: string, accessKeyId: string, secretAccessKey: string,
 *   prefix?: string}} options
 */
export function s3MediaStorage(options) {
  return multipartMediaStorage({
    store: s3ObjectStore(options),
    sha256: () => {
      const h = createHash('sha256');
      return { update: (b) => { h.update(b); }, digest: async () => h.digest('hex') };
    },
  });
}
