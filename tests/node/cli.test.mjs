// The `edgesync` command as a user runs it (a child process in a fresh
// folder): one-line errors, a short `validate`, the code generators, `serve`
// on the embedded PGlite with `--dev` and a push/pull with a token from
// `dev-token`, the fail-closed cases, and a `dev-token` token against workerd
// (`wrangler dev` with the secret from .dev.vars) and PostgreSQL 15.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startPostgres } from '../harness/postgres.mjs';
import { startWranglerDev } from '../harness/wrangler.mjs';
import { postSync, hlc, serverCoreAvailable } from '../harness/sync-http.mjs';
import { createVerifier } from '../../hosts/server/auth.mjs';

const cli = fileURLToPath(new URL('../../tools/cli/edgesync.mjs', import.meta.url));
const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
const golden = fileURLToPath(new URL('../golden/', import.meta.url));
const hasServerCore = await serverCoreAvailable();

const todos = {
  version: 1,
  tables: [{ name: 'todos', primaryKey: 'id', owner: 'ownerId', conflict: 'lww-field',
    columns: [{ name: 'id', type: 'text' }, { name: 'ownerId', type: 'text' },
      { name: 'title', type: 'text' }, { name: 'done', type: 'boolean' }] }],
};

// The environment without this machine's edgesync settings.
const cleanEnv = (extra = {}) => ({
  ...Object.fromEntries(Object.entries(process.env)
    .filter(([k]) => !k.startsWith('EDGESYNC_') && !['DATABASE_URL', 'PORT', 'HOST'].includes(k))),
  ...extra,
});

/** Runs `edgesync …args` in `cwd` to its end; resolves { code, stdout, stderr }. */
function edgesync(args, { cwd, env = {}, timeoutMs = 30000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

/** Asserts a failure that printed exactly one line on stderr (no stack) and nothing on stdout. */
function oneLineError(r, code, pattern) {
  assert.equal(r.code, code, `exit ${r.code}: ${r.stdout}${r.stderr}`);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line:\n${r.stderr}`);
  assert.match(lines[0], /^edgesync: /);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at |node:internal|ENOENT|Error:/);
}

/** Starts `edgesync serve …args`; resolves once it printed its last banner line. */
async function serve(args, { cwd, env = {}, timeoutMs = 50000 }) {
  const child = spawn(process.execPath, [cli, 'serve', ...args], { cwd, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  const deadline = Date.now() + timeoutMs;
  while (!out.includes('stop with Ctrl-C')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`edgesync serve did not become ready:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
      const r = await exited;
      clearTimeout(timer);
      return r;
    },
  };
}

let dir;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'edgesync-cli-'));
  writeFileSync(join(dir, 'schema.json'), JSON.stringify(todos));
  writeFileSync(join(dir, 'broken.json'), '{"version": 1, "tables": [');
  writeFileSync(join(dir, 'invalid.json'), JSON.stringify({ version: 1, tables: [{ name: 'x' }] }));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('commands, help and errors', () => {
  test('no command prints the commands (exit 2); an unknown one is one line', async () => {
    const r = await edgesync([], { cwd: dir });
    assert.equal(r.code, 2);
    for (const c of ['validate', 'sqlite-ddl', 'pg-ddl', 'sqlite-migration', 'pg-migration', 'serve', 'dev-token']) {
      assert.match(r.stdout, new RegExp(`^  ${c} `, 'm'));
    }
    oneLineError(await edgesync(['frobnicate'], { cwd: dir }), 2, /unknown command "frobnicate"; commands: validate,/);
    const h = await edgesync(['serve', '--help'], { cwd: dir });
    assert.equal(h.code, 0);
    assert.match(h.stdout, /usage: edgesync serve --schema SCHEMA\.json/);
  });

  test('validate: one line on success, --json for the normalized schema', async () => {
    const r = await edgesync(['validate', 'schema.json'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'schema.json: valid schema v1, 1 table (todos)\n');
    const demo = await edgesync(['validate', fileURLToPath(new URL('../../demo/schema.json', import.meta.url))], { cwd: dir });
    assert.match(demo.stdout, /valid schema v1, 4 tables \(projects, projectMembers, workflowNodes, workflowEdges\); scopes: project\n$/);
    const json = JSON.parse((await edgesync(['validate', '--json', 'schema.json'], { cwd: dir })).stdout);
    assert.equal(json.tables[0].columns.find((c) => c.name === 'ownerId').serverName, 'owner_id');
  });

  test('a missing, malformed or invalid schema file: one line per problem, nonzero exit', async () => {
    for (const cmd of ['validate', 'pg-ddl', 'sqlite-ddl']) {
      oneLineError(await edgesync([cmd, 'nope.json'], { cwd: dir }), 1, /schema file nope\.json does not exist$/);
    }
    oneLineError(await edgesync(['pg-migration', 'schema.json', 'nope.json'], { cwd: dir }), 1, /nope\.json does not exist/);
    oneLineError(await edgesync(['validate', 'broken.json'], { cwd: dir }), 1, /schema file broken\.json is not valid JSON/);
    oneLineError(await edgesync(['validate', '.'], { cwd: dir }), 1, /is a folder/);
    const bad = await edgesync(['validate', 'invalid.json'], { cwd: dir });
    assert.equal(bad.code, 1);
    const lines = bad.stderr.trimEnd().split('\n');
    assert.ok(lines.length >= 2 && lines.every((l) => /^edgesync: error\[invalid_schema\] tables\[0\]\./.test(l)), bad.stderr);
    oneLineError(await edgesync(['validate'], { cwd: dir }), 2, /usage: edgesync validate SCHEMA\.json/);
    oneLineError(await edgesync(['validate', '--frob', 'schema.json'], { cwd: dir }), 2, /Unknown option '--frob'; usage:/);
  });

  test('the generators print what the core generates (the golden files)', async () => {
    const r = await edgesync(['pg-migration', join(fixtures, 'schema.v1.json'), join(fixtures, 'schema.v2.json')], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, readFileSync(join(golden, 'v1-v2.pg.sql'), 'utf8'));
    const ddl = await edgesync(['sqlite-ddl', join(fixtures, 'schema.v1.json')], { cwd: dir });
    assert.equal(ddl.stdout, readFileSync(join(golden, 'v1.sqlite.sql'), 'utf8'));
  });
});

describe('dev-token', () => {
  test('without a development secret: one line saying how to get one; never the environment\'s secret', async () => {
    const env = { EDGESYNC_JWT_SECRET: 'a-real-production-secret-0123456789abcdef' };
    oneLineError(await edgesync(['dev-token', '--user', 'alice'], { cwd: dir, env }), 1,
      /no development secret in .*dev-jwt-secret or .*\.dev\.vars \(EDGESYNC_JWT_SECRET in the environment is never used.*edgesync serve --dev/);
  });

  test('bad options', async () => {
    oneLineError(await edgesync(['dev-token'], { cwd: dir }), 2, /--user is required/);
    oneLineError(await edgesync(['dev-token', '--user', 'a b'], { cwd: dir }), 2, /--user must be 1-128 characters/);
    oneLineError(await edgesync(['dev-token', '--user', 'a', '--ttl', '0'], { cwd: dir }), 2, /--ttl must be/);
  });

  test('a short secret is refused, like the server would', async () => {
    const d = mkdtempSync(join(tmpdir(), 'edgesync-cli-short-'));
    try {
      writeFileSync(join(d, '.dev.vars'), 'EDGESYNC_JWT_SECRET=short\n');
      oneLineError(await edgesync(['dev-token', '--user', 'alice'], { cwd: d }), 1, /shorter than 32 characters/);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('edgesync serve (embedded PGlite, --dev) and a dev-token', { skip: !hasServerCore && 'the server core is not in the WASM build yet' }, () => {
  let app, url;
  before(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    app = await serve(['--schema', './schema.json', '--port', String(port), '--dev'], { cwd: dir });
  }, { timeout: 60000 });
  after(() => app?.stop(), { timeout: 30000 });

  test('the banner names the schema, PGlite in ./.data and how to get a token', () => {
    const out = app.output();
    assert.match(out, /schema v1 from .*schema\.json: todos/);
    assert.ok(out.includes(`embedded PGlite`) && out.includes(join(dir, '.data', 'pglite')), out);
    assert.match(out, /token: npx edgesync dev-token --user alice/);
    assert.ok(existsSync(join(dir, '.data', 'dev-jwt-secret')));
  });

  test('a dev-token token pushes a row; another device of the user pulls it; another user does not', async () => {
    const tok = async (user) => {
      const r = await edgesync(['dev-token', '--user', user], { cwd: dir });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/, 'only the token on stdout');
      return r.stdout.trim();
    };
    const alice = await tok('alice');
    const phone = 'c_cli_phone_0001';
    const push = await postSync(url, alice, {
      protocol: 1, clientId: phone, schemaVersion: 1, cursor: null,
      batch: { seq: 1, changes: [{ id: 1, table: 'todos', op: 'upsert', row: { id: 't1', title: 'from the CLI', done: false },
        hlc: hlc(phone), baseVersion: null }] },
    });
    assert.equal(push.status, 200, JSON.stringify(push.body));
    assert.deepEqual(push.body.results.map((r) => r.status), ['applied']);
    const pull = await postSync(url, alice, { protocol: 1, clientId: 'c_cli_laptop_001', schemaVersion: 1, cursor: null });
    assert.equal(pull.status, 200, JSON.stringify(pull.body));
    const row = pull.body.changes.find((c) => c.table === 'todos' && c.row.id === 't1')?.row;
    assert.deepEqual(row && { title: row.title, ownerId: row.ownerId }, { title: 'from the CLI', ownerId: 'alice' });
    const bob = await postSync(url, await tok('bob'), { protocol: 1, clientId: 'c_cli_bob_00001', schemaVersion: 1, cursor: null });
    assert.equal(bob.status, 200);
    assert.equal(bob.body.changes.length, 0);
    const forged = await postSync(url, `${alice.slice(0, -4)}AAAA`, { protocol: 1, clientId: phone, schemaVersion: 1 });
    assert.equal(forged.status, 401);
  });

  test('SIGTERM stops it cleanly', async () => {
    const { code } = await app.stop();
    assert.equal(code, 0, app.output());
    assert.match(app.output(), /stopped/);
  });
});

describe('edgesync serve fails closed, in one line', { skip: !hasServerCore && 'the server core is not in the WASM build yet' }, () => {
  test('without --dev and without a token check', async () => {
    oneLineError(await edgesync(['serve', '--schema', 'schema.json'], { cwd: dir }), 2,
      /no token check is configured: set EDGESYNC_JWT_SECRET .* or EDGESYNC_JWKS_URL, or pass --dev/);
  });
  test('--dev on an address other machines reach', async () => {
    oneLineError(await edgesync(['serve', '--schema', 'schema.json', '--dev', '--host', '0.0.0.0'], { cwd: dir }), 2,
      /HOST=0\.0\.0\.0 is reachable from other machines/);
  });
  test('--dev beside a configured secret', async () => {
    oneLineError(await edgesync(['serve', '--schema', 'schema.json', '--dev'],
      { cwd: dir, env: { EDGESYNC_JWT_SECRET: 'a-configured-secret-0123456789abcdef' } }), 2, /--dev generates its own development secret/);
  });
  test('a missing schema file, a missing --schema, a bad port', async () => {
    oneLineError(await edgesync(['serve', '--schema', 'missing.json', '--dev'], { cwd: dir }), 1, /schema file .*missing\.json does not exist$/);
    oneLineError(await edgesync(['serve', '--dev'], { cwd: dir }), 2, /--schema is required/);
    oneLineError(await edgesync(['serve', '--schema', 'schema.json', '--dev', '--port', 'http'], { cwd: dir }), 2, /PORT must be an integer/);
  });
});

describe('a dev-token token against workerd (wrangler dev, .dev.vars secret) and PostgreSQL', { skip: !hasServerCore && 'the server core is not in the WASM build yet' }, () => {
  let pg, worker, d;
  const secret = 'edgesync-cli-wrangler-dev-secret-0123456789';
  before(async () => {
    d = mkdtempSync(join(tmpdir(), 'edgesync-cli-wd-'));
    writeFileSync(join(d, '.dev.vars'), `# wrangler dev's local secrets\nEDGESYNC_JWT_SECRET="${secret}"\n`);
    pg = await startPostgres();
    // wrangler.toml's [vars] set EDGESYNC_JWT_AUDIENCE = "authenticated", as dev tokens carry.
    worker = await startWranglerDev({ databaseUrl: pg.url, vars: { EDGESYNC_JWT_SECRET: secret } });
  }, { timeout: 90000 });
  after(async () => {
    await worker?.stop();
    await pg?.stop();
    rmSync(d, { recursive: true, force: true });
  }, { timeout: 30000 });

  test('the token is signed with the .dev.vars secret and syncs through the worker', async () => {
    const r = await edgesync(['dev-token', '--user', 'wanda'], { cwd: d });
    assert.equal(r.code, 0, r.stderr);
    const t = r.stdout.trim();
    const { userId } = await createVerifier({ secret, audience: 'authenticated' }).verify(`Bearer ${t}`);
    assert.equal(userId, 'wanda');
    const client = 'c_cli_wanda_0001';
    const push = await postSync(worker.url, t, {
      protocol: 1, clientId: client, schemaVersion: 1, cursor: null,
      batch: { seq: 1, changes: [{ id: 1, table: 'projects', op: 'upsert', row: { id: 'p-cli-wd', name: 'W', updatedAt: null },
        hlc: hlc(client), baseVersion: null }] },
    });
    assert.equal(push.status, 200, `${JSON.stringify(push.body)}\n${worker.log().slice(-2000)}`);
    assert.deepEqual(push.body.results.map((x) => x.status), ['applied']);
  });
});
