// `edgesync/server`: the node host, the environment-neutral handler, auth and
// configuration helpers.
export { startServer } from '../node/server.mjs';
export {
  createHandler, openServer, applyDdl, errorBody, DEFAULT_LIMITS, POSTGRES_OPTIONS, PROTOCOL,
} from './handler.mjs';
export { loadConfig, ConfigError } from './config.mjs';
export { createVerifier, signDevToken, AuthError } from './auth.mjs';
