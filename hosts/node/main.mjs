// The main job (`npm start`): the sync server on http://127.0.0.1:8787 for
// the demo's schema (EDGESYNC_SCHEMA to change it), serving the built demo
// at /. Relative paths resolve against the repository; without a token check
// and with the embedded PGlite (or EDGESYNC_DEV=1) it serves development
// tokens on loopback. See host.mjs (the process) and ../server/config.mjs
// (every variable).
import { fileURLToPath } from 'node:url';
import { runHost } from './host.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
await runHost({
  env: process.env, baseDir: root, defaultStaticDir: `${root}demo/dist`,
  tokenHint: 'npx edgesync dev-token --user alice',
});
