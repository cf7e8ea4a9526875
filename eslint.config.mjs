// ESLint flat config: @eslint/js recommended over every JS folder, with the
// globals of the environment each folder runs in. scripts/lint.sh runs it
// (and npm test runs that).
import js from '@eslint/js';
import globals from 'globals';

const node = { ...globals.node };
// Code loaded by node and by workerd/browsers alike: only what both provide.
const shared = { ...globals['shared-node-browser'] };

export default [
  { ignores: ['**/node_modules/', 'build/', 'dist/', 'demo/dist/', 'tests/fixtures/', 'tests/golden/'] },
  js.configs.recommended,
  { languageOptions: { ecmaVersion: 2024, sourceType: 'module' } },
  // Node programs: the node host, the CLI, tests, benchmarks, build scripts.
  { files: ['eslint.config.mjs', 'hosts/node/**', 'hosts/wasm/node.mjs', 'tools/**', 'tests/**',
    'bench/**', 'demo/build.mjs', 'fuzz/*.mjs'],
  languageOptions: { globals: node } },
  // Environment-neutral: the WASM loaders and the server handler (node and workerd).
  { files: ['hosts/wasm/core.mjs', 'hosts/wasm/core-base.mjs', 'hosts/wasm/schema.mjs', 'hosts/server/**', 'hosts/common/**'],
    languageOptions: { globals: shared } },
  // The browser client runs in pages and (dedicated) workers.
  { files: ['hosts/client/**', 'hosts/inspector/**', 'demo/src/**'],
    languageOptions: { globals: { ...globals.browser, ...globals.worker } } },
  // The workerd host: a module worker.
  { files: ['hosts/workerd/**'], languageOptions: { globals: { ...globals.worker,
    // workerd's own (WebSocket pairs; hibernation auto-responses of Durable Objects).
    WebSocketPair: 'readonly', WebSocketRequestResponsePair: 'readonly' } } },
  // The browser tests drive a page: functions passed to page.evaluate run there.
  { files: ['tests/browser/**'], languageOptions: { globals: { ...node, ...globals.browser } } },
  { files: ['demo/public/sw.js'], languageOptions: { sourceType: 'script', globals: { ...globals.serviceworker } } },
];
