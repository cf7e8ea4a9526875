// The node host of the idle-connection benchmark (bench/live.mjs), in its own
// process so its RSS is its own: answers {t:'rss'} with its RSS and the
// number of authenticated live connections.
import { readFileSync } from 'node:fs';
import { startServer } from '../hosts/node/server.mjs';

// The demo board's tables, owner-only as before sharing: results stay comparable across runs.
const schema = JSON.parse(readFileSync(new URL('../tests/fixtures/schema.demo-owner.json', import.meta.url), 'utf8'));
const srv = await startServer({
  databaseUrl: process.env.BENCH_DATABASE_URL, port: 0, poolSize: 2, schema, applyDdl: false,
  auth: { secret: process.env.BENCH_SECRET, audience: 'authenticated' },
  logger: { error: () => {}, warn: () => {}, log: () => {} },
});
process.on('message', (msg) => {
  if (msg?.t !== 'rss') return;
  globalThis.gc?.();
  process.send({ rss: process.memoryUsage().rss, ready: srv.live.hub.stats().ready });
});
process.on('SIGTERM', async () => { await srv.close({ timeoutMs: 1000 }); process.exit(0); });
process.send({ url: srv.url });
