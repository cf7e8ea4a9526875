// `edgesync/server`: the node host, the environment-neutral handler, auth and
// configuration helpers.
import { serverCore } from '../wasm/node.mjs';

export { startServer } from '../node/server.mjs';
export {
  createHandler, openServer, applyDdl, errorBody, defaultLimits, POSTGRES_OPTIONS,
} from './handler.mjs';
export { loadConfig, ConfigError } from './config.mjs';
export { createMediaRoute } from './media/handler.mjs';
export { sweepMedia } from './media/sweep.mjs';
export { fsMediaStorage } from '../node/media-fs.mjs';
export { s3MediaStorage } from '../node/media-s3.mjs';
export { multipartMediaStorage } from './media/multipart.mjs';
export { s3ObjectStore } from './media/s3.mjs';
export { createVerifier, signDevToken, AuthError } from './auth.mjs';

// The protocol's facts as the core states them (the process-wide server
// core, which startServer uses too): never restated here.
const facts = (await serverCore()).protocol();
/** The protocol version the core speaks. */
export const PROTOCOL = facts.version;
/** The limits a server applies when its configuration sets none. */
export const DEFAULT_LIMITS = facts.limits.defaults;
