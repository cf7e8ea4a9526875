// The server side of the simulation: the real WASM server core behind the
// real request handler (the one the node host and workerd share), called
// directly with web-standard Requests, on the simulation's PostgreSQL through
// the gated postgres.js client, with a real jose verifier on virtual time.
// A crash drops the instance; a fresh core and handler take its place.
import { SignJWT } from 'jose';
import { loadCore } from '../../hosts/wasm/core.mjs';
import createServerModule from '../../dist/edgesync_server.mjs';
import { createHandler, openServer } from '../../hosts/server/handler.mjs';
import { createVerifier } from '../../hosts/server/auth.mjs';
import { gatedSql } from './db.mjs';

export const SECRET = 'edgesync-sim-secret-0123456789abcdef';
export const AUDIENCE = 'authenticated';
const encoder = new TextEncoder();

/** An HS256 token for `user` valid from `iatMs` to `expMs` (virtual ms). */
export function mintToken(user, iatMs, expMs) {
  return new SignJWT({ sub: user, role: 'authenticated', aud: AUDIENCE,
    iat: Math.floor(iatMs / 1000), exp: Math.floor(expMs / 1000) })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(encoder.encode(SECRET));
}

/** One server process: a core instance, its opened schema, the handler. */
export class SimServer {
  constructor(world, incarnation) {
    this.world = world;
    this.incarnation = incarnation;
    this.name = `server#${incarnation}`;
  }

  async boot() {
    const { env, world } = this;
    const core = await loadCore(env.serverModule, createServerModule);
    const opened = openServer(core, env.schema, env.limits);
    const verifier = createVerifier({ secret: SECRET, audience: AUDIENCE, now: () => world.now });
    const logger = {
      error: (...a) => world.serverLog.push({ exec: world.execStore.getStore()?.name ?? null, text: a.map(String).join(' ') }),
      warn: () => {},
      log: () => {},
      info: () => {},
    };
    this.limits = opened.limits;
    this.handler = createHandler({
      core, handle: opened.handle, sql: gatedSql(env.db.sql, () => world.execStore.getStore()),
      verifier, limits: opened.limits, schemaVersion: opened.schemaVersion, logger, now: () => world.now,
    });
    return this;
  }

  get env() { return this.world.env; }
}
