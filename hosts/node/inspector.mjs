// DEVELOPMENT ONLY (with development tokens): the inspector page at
// /_edgesync/inspector?db=<dbName>, and the few package files it loads under
// /_edgesync/pkg/. The page follows the app's tabs over BroadcastChannel, so
// it sees the sync only when this host also serves the app (same origin:
// `edgesync serve --static DIR --dev`); from another origin, embed
// `edgesync/inspector` in a page of the app instead.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { isLoopbackHost } from '../server/config.mjs';

const packageRoot = fileURLToPath(new URL('../../', import.meta.url));
/** Package files the page may load: the browser client (and the shared modules it imports) and the inspector. */
const ALLOWED = /^(hosts\/client\/[a-z-]+\.mjs|hosts\/common\/[a-z-]+\.mjs|hosts\/inspector\/[a-z-]+\.mjs|hosts\/wasm\/core-base\.mjs|dist\/edgesync_client\.(mjs|wasm))$/;

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>edgesync inspector</title>
  <style>body{font:14px system-ui,sans-serif;margin:1rem;color:#1d2433}form{margin:0 0 .6rem}#panel{height:calc(100vh - 7rem)}</style>
</head>
<body>
  <h1 style="font-size:1.1rem">edgesync inspector <small style="font-weight:400;color:#6b7480">development mode</small></h1>
  <form><label>dbName <input id="db" name="db" placeholder="the dbName your app passes to createSync" size="40"></label> <button>Inspect</button></form>
  <p id="note" style="color:#6b7480">Give the <code>dbName</code> of the app served by this host (same origin).</p>
  <div id="panel"></div>
  <script type="module" src="/_edgesync/pkg/hosts/inspector/page.mjs"></script>
</body>
</html>
`;

/** The route: the page and its allowlisted files, for loopback hosts only (like /dev/token). */
export function inspectorRoute() {
  return async (request, url) => {
    if (request.method !== 'GET' || !url.pathname.startsWith('/_edgesync/')) return null;
    if (!isLoopbackHost(url.hostname)) return new Response('the inspector is only served to localhost\n', { status: 403 });
    const headers = { 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' };
    if (url.pathname === '/_edgesync/inspector') {
      return new Response(PAGE, { headers: { ...headers, 'content-type': 'text/html; charset=utf-8' } });
    }
    const rel = url.pathname.slice('/_edgesync/pkg/'.length);
    if (!url.pathname.startsWith('/_edgesync/pkg/') || !ALLOWED.test(rel)) return null;
    try {
      const data = await readFile(packageRoot + rel);
      const type = rel.endsWith('.wasm') ? 'application/wasm' : 'text/javascript; charset=utf-8';
      return new Response(data, { headers: { ...headers, 'content-type': type } });
    } catch {
      return null;
    }
  };
}
