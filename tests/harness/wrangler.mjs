// Runs the worker in workerd through `wrangler dev` (offline, no metrics) on a
// free port, with the Hyperdrive binding pointed at a local database.
//
// wrangler runs workerd as its child: left behind, a workerd spins a CPU. So
// wrangler starts in a process group of its own and every way out ends the
// whole group — SIGTERM first (wrangler then removes its .wrangler/tmp
// bundles), SIGKILL for what is left after a few seconds: stop(), wrangler
// exiting by itself, this process exiting or taking SIGINT/SIGTERM/SIGHUP,
// and — for a SIGKILL, which runs no code here — a watchdog shell that ends
// the group once this process's end of its stdin pipe closes.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './postgres.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));

// Process groups (wrangler's pid) still running, ended on the way out.
const groups = new Set();
const killGroup = (pid, signal) => { try { process.kill(-pid, signal); } catch { /* gone */ } };
const groupAlive = (pid) => { try { process.kill(-pid, 0); return true; } catch { return false; } };
/** Milliseconds the group has after SIGTERM before SIGKILL. */
const TERM_GRACE_MS = 5000;

// SIGTERM to the group, SIGKILL to what is left after TERM_GRACE_MS;
// resolves once the group is gone.
async function endGroup(pid) {
  killGroup(pid, 'SIGTERM');
  const deadline = Date.now() + TERM_GRACE_MS;
  while (groupAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  killGroup(pid, 'SIGKILL');
  while (groupAlive(pid) && Date.now() < deadline + 2000) await new Promise((r) => setTimeout(r, 50));
}

let hooked = false;
// On the way out only SIGTERM can be sent (no time to wait): each group's
// watchdog, whose stdin then closes, sends the SIGKILL.
function hookExit() {
  if (hooked) return;
  hooked = true;
  process.once('exit', () => { for (const pid of groups) killGroup(pid, 'SIGTERM'); });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, () => {
      for (const pid of groups) killGroup(pid, 'SIGTERM');
      groups.clear();
      // Ours was the only listener: die of the signal as without it.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

/**
 * Starts `wrangler dev`. `vars` become `--var KEY:VALUE` (secrets included);
 * `schemaPath`: another schema than demo/schema.json (a copy of wrangler.toml
 * with that alias, in the run's temp folder, is the config).
 * `testScheduled`: pass `--test-scheduled` (GET /__scheduled?cron=… runs the
 * worker's `scheduled` handler). Resolves once GET /healthz answers (any
 * status) — or rejects with the log. Returns { url, stop(), log(), persist, pid }.
 */
export async function startWranglerDev({ databaseUrl, vars = {}, schemaPath, testScheduled = false, timeoutMs = 45000 } = {}) {
  const port = await freePort();
  const inspectorPort = await freePort();
  // Durable Object storage (the live hub's alarm) and the R2 bucket per run, not in .wrangler/.
  const persist = mkdtempSync(join(tmpdir(), 'edgesync-wrangler-'));
  const args = ['dev', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspectorPort),
    '--show-interactive-dev-session=false', '--log-level', 'info', '--persist-to', persist];
  if (testScheduled) args.push('--test-scheduled');
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
  hookExit();
  groups.add(child.pid);
  // Ends the group (and removes the run's folder) when this process is gone,
  // however it went: its stdin then reads end-of-file. Unref'd, so it keeps
  // nothing here alive; killed by a normal stop. (The folder name is
  // mkdtemp's: no shell metacharacters.)
  const watchdog = spawn('sh', ['-c', `cat >/dev/null; kill -TERM -${child.pid} 2>/dev/null; ` +
    `i=0; while [ $i -lt 50 ] && kill -0 -${child.pid} 2>/dev/null; do sleep 0.1; i=$((i+1)); done; ` +
    `kill -KILL -${child.pid} 2>/dev/null; rm -rf '${persist}'`], {
    detached: true, stdio: ['pipe', 'ignore', 'ignore'],
  });
  watchdog.on('error', () => {});
  watchdog.unref();
  watchdog.stdin.on('error', () => {});
  watchdog.stdin.unref?.();
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  let exited = false;
  const exit = new Promise((r) => child.once('exit', (code) => { exited = true; r(code); }));
  // Ends the whole group once (stop(), or wrangler exiting by itself: workerd
  // may outlive it), then the watchdog.
  let ending = null;
  const end = () => {
    ending ??= (async () => {
      await endGroup(child.pid);
      await exit;
      groups.delete(child.pid);
      try { process.kill(-watchdog.pid, 'SIGKILL'); } catch { /* gone */ }
    })();
    return ending;
  };
  child.once('exit', () => { end(); });

  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await end();
    rmSync(persist, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`wrangler dev exited early:\n${output}`);
    }
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
  return { url, stop, log: () => output, persist, pid: child.pid };
}
