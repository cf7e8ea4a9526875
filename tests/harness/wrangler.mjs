// Runs the worker in workerd through `wrangler dev` (offline, no metrics) on a
// free port, with the Hyperdrive binding pointed at a local database.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './postgres.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Starts `wrangler dev`. `vars` become `--var KEY:VALUE` (secrets included);
 * `schemaPath`: another schema than demo/schema.json (a copy of wrangler.toml
 * with that alias, in the run's temp folder, is the config).
 * Resolves once GET /healthz answers (any status) — or rejects with the log.
 * Returns { url, stop(), log() }.
 */
export async function startWranglerDev({ databaseUrl, vars = {}, schemaPath, timeoutMs = 45000 } = {}) {
  const port = await freePort();
  const inspectorPort = await freePort();
  // Durable Object storage (the live hub's alarm) and the R2 bucket per run, not in .wrangler/.
  const persist = mkdtempSync(join(tmpdir(), 'edgesync-wrangler-'));
  const args = ['dev', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspectorPort),
    '--show-interactive-dev-session=false', '--log-level', 'info', '--persist-to', persist];
  for (const [k, v] of Object.entries(vars)) args.push('--var', `${k}:${v}`);
  if (schemaPath) {
    // `--alias` does not override the config's [alias]: a copy of the config does.
    const toml = readFileSync(join(root, 'wrangler.toml'), 'utf8')
      .replace(/^main = "(.*)"$/m, (_, m) => `main = ${JSON.stringify(join(root, m))}`)
      .replace(/^"edgesync:schema" = ".*"$/m, `"edgesync:schema" = ${JSON.stringify(resolve(schemaPath))}`);
    writeFileSync(join(persist, 'wrangler.toml'), toml);
    args.push('--config', join(persist, 'wrangler.toml'));
  }
  const child = spawn(`${root}node_modules/.bin/wrangler`, args, {
    cwd: root,
    detached: true, // its own process group: stop() ends wrangler and workerd together
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: 'false',
      CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE: databaseUrl,
      CI: '1',
      NO_COLOR: '1',
      FORCE_COLOR: '0',
    },
  });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  let exited = false;
  const exit = new Promise((r) => child.once('exit', (code) => { exited = true; r(code); }));

  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (!exited) {
      try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ }
      const timer = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, 5000);
      await exit;
      clearTimeout(timer);
    }
    rmSync(persist, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) throw new Error(`wrangler dev exited early:\n${output}`);
    try {
      const r = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5000) });
      await r.arrayBuffer();
      break;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev did not answer on ${url} within ${timeoutMs} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { url, stop, log: () => output, persist };
}
