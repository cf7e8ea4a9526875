// edgesync serve --schema FILE: the node sync server for an app's schema —
// the same host as `npm start` (hosts/node/host.mjs), with paths relative to
// the current folder, an embedded PGlite in the data folder unless
// DATABASE_URL is set, and development tokens only with --dev (on loopback).
import { resolve } from 'node:path';
import { parseCommand, CliError } from './cli-error.mjs';

/** One line for the help. */
export const summary = 'run the sync server for a schema (embedded PGlite, or DATABASE_URL; --dev: development tokens)';
/** The command line. */
export const usage = 'edgesync serve --schema SCHEMA.json [--port 8787] [--host 127.0.0.1] [--data-dir .data] [--static DIR] [--dev]';

/** Runs the command (until SIGINT/SIGTERM). */
export async function run(args) {
  const { values } = parseCommand(args, {
    usage,
    options: {
      schema: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' },
      'data-dir': { type: 'string' }, static: { type: 'string' }, dev: { type: 'boolean' },
    },
  });
  const schema = values.schema ?? process.env.EDGESYNC_SCHEMA;
  if (!schema) throw new CliError(`--schema is required: the app's schema JSON file; usage: ${usage}`, 2);
  // The options are the host's variables (hosts/server/config.mjs checks them).
  const env = {
    ...process.env,
    EDGESYNC_SCHEMA: resolve(schema),
    ...(values.port !== undefined ? { PORT: values.port } : {}),
    ...(values.host !== undefined ? { HOST: values.host } : {}),
    ...(values['data-dir'] !== undefined ? { EDGESYNC_DATA_DIR: values['data-dir'] } : {}),
    ...(values.static !== undefined ? { EDGESYNC_STATIC_DIR: values.static } : {}),
    ...(values.dev ? { EDGESYNC_DEV: '1' } : {}),
  };
  const dataDir = values['data-dir'] ? ` --data-dir ${values['data-dir']}` : '';
  const { runHost } = await import('../../hosts/node/host.mjs');
  await runHost({
    env, baseDir: process.cwd(), devOnlyWhenAsked: true,
    tokenHint: `npx edgesync dev-token --user alice${dataDir}`,
  });
}
