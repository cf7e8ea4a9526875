// `edgesync schema from-drizzle`: the users' tables (seeds 000, 003, 004),
// written as Drizzle schema files, become shared schemas the core accepts,
// whose server names are Drizzle's own SQL names; one of them then syncs
// between two devices through the node host on PostgreSQL. Bad input gets
// one-line errors.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { getTableConfig as pgConfig } from 'drizzle-orm/pg-core';
import { getTableConfig as sqliteConfig } from 'drizzle-orm/sqlite-core';
import { toSnakeCase } from 'drizzle-orm/casing';
import { nodeCore } from '../../hosts/wasm/node.mjs';
import { validateSchema, sqliteDdl } from '../../hosts/wasm/schema.mjs';
import { schemaFromDrizzle } from '../../tools/schema/from-drizzle.mjs';
import { loadModule } from '../../tools/schema/load-module.mjs';
import { startStack, openClient, waitFor } from '../harness/client.mjs';
import { openSqlite } from '../harness/sqlite.mjs';

const fixtures = new URL('../fixtures/drizzle/', import.meta.url);
const fixture = (name) => fileURLToPath(new URL(name, fixtures));
const cli = fileURLToPath(new URL('../../tools/cli/edgesync.mjs', import.meta.url));
const core = await nodeCore();
const convert = (name, opts) => schemaFromDrizzle(fixture(name), { core, ...opts });
const table = (schema, name) => schema.tables.find((t) => t.name === name);
const column = (t, name) => t.columns.find((c) => c.name === name);

/** Runs the CLI; returns { status, stdout, stderr }. */
function run(...args) {
  return spawnSync(process.execPath, [cli, 'schema', 'from-drizzle', ...args], { encoding: 'utf8' });
}

describe('the seeds\' Drizzle tables convert to schemas the core accepts', () => {
  test('seed 000: workflows with JSONB state; the Better Auth table is left out', async () => {
    const s = await convert('workflows.ts');
    assert.equal(s.version, 3); // from syncSchema()
    assert.deepEqual(s.tables.map((t) => t.name), ['workflow']);
    const w = table(s, 'workflow');
    assert.equal(w.owner, 'userId');
    assert.equal(w.conflict, 'lww-field');
    assert.equal(w.primaryKey, 'id');
    assert.deepEqual(column(w, 'state'), { name: 'state', type: 'json', nullable: false });
    assert.deepEqual(column(w, 'lastSynced'), { name: 'lastSynced', type: 'timestamp' });
    assert.equal(column(w, 'createdAt').type, 'timestamp');
  });

  test('seeds 003/004: projects shared with members, nodes/edges and one workflow per project', async () => {
    const s = await convert('projects.ts');
    assert.deepEqual(s.scopes, [{
      name: 'project', description: 'A project and everything in it', root: 'projects',
      members: { table: 'projectMembers', scope: 'projectId', user: 'userId', role: 'role' },
    }]);
    // Root, then members, then the scoped tables in the order synced() ran.
    assert.deepEqual(s.tables.map((t) => t.name), ['projects', 'projectMembers', 'workflowEdges', 'workflowNodes', 'projectWorkflows']);
    assert.deepEqual(table(s, 'projectMembers').primaryKey, ['projectId', 'userId']);
    assert.deepEqual(table(s, 'workflowNodes').scope, { name: 'project', column: 'projectId' });
    assert.equal(table(s, 'projectWorkflows').serverName, 'workflows'); // export name differs from the SQL name
    assert.equal(column(table(s, 'projects'), 'id').type, 'text'); // uuid
    assert.equal(column(table(s, 'projects'), 'revision').type, 'integer'); // bigint
    assert.equal(column(table(s, 'workflowNodes'), 'x').type, 'real'); // double precision
    assert.equal(column(table(s, 'projectWorkflows'), 'nodes').type, 'json');
  });

  test('seed 003: media assets, enum as text, the file key as blob_ref, casing snake_case, a tsconfig path alias', async () => {
    const s = await convert('media.ts', { casing: 'snake_case' });
    const m = table(s, 'mediaAssets');
    assert.equal(m.conflict, 'server-wins');
    assert.deepEqual(column(m, 'url'), { name: 'url', type: 'blob_ref', nullable: false });
    assert.deepEqual(column(m, 'fileType'), { name: 'fileType', type: 'text', nullable: false });
    assert.equal(column(m, 'searchText'), undefined); // exclude
    assert.equal(column(m, 'width').nullable, undefined);
    // Without --casing, Drizzle's SQL names are the keys themselves.
    const plain = await convert('media.ts');
    assert.equal(column(table(plain, 'mediaAssets'), 'fileName').serverName, 'fileName');
  });

  test('sqlite-core tables: text json mode, integer boolean mode', async () => {
    const n = table(await convert('notes-sqlite.ts'), 'notes');
    assert.deepEqual(n.columns.map((c) => `${c.name}:${c.type}`),
      ['id:text', 'ownerId:text', 'body:text', 'tags:json', 'pinned:boolean', 'rank:real', 'views:integer']);
  });

  test('every server name the core derives is Drizzle\'s own SQL name', async () => {
    const cases = [['workflows.ts'], ['projects.ts'], ['media.ts'], ['media.ts', { casing: 'snake_case' }], ['notes-sqlite.ts']];
    for (const [file, opts] of cases) {
      const normalized = validateSchema(core, await convert(file, opts));
      const ns = await loadModule(fixture(file));
      for (const t of normalized.tables) {
        const drizzleTable = ns[t.name]; // the fixtures' client names are their export names
        const config = t.name === 'notes' ? sqliteConfig(drizzleTable) : pgConfig(drizzleTable);
        assert.equal(t.serverName, config.name, `${file}: table ${t.name}`);
        for (const c of t.columns) {
          const col = drizzleTable[Symbol.for('drizzle:Columns')][c.name];
          const sqlName = col.keyAsName && opts?.casing ? toSnakeCase(col.name) : col.name;
          assert.equal(c.serverName, sqlName, `${file}: ${t.name}.${c.name}`);
        }
      }
    }
  });

  test('the CLI prints the schema; -o writes it', () => {
    const r = run(fixture('projects.ts'));
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).tables.length, 5);
    assert.match(r.stdout, /\{ "name": "id", "type": "text" \}/); // one column per line
    const out = join(mkdtempSync(join(tmpdir(), 'es-drizzle-')), 'schema.json');
    const w = run(fixture('projects.ts'), '-o', out);
    assert.equal(w.status, 0, w.stderr);
    assert.equal(w.stdout, '');
    assert.equal(readFileSync(out, 'utf8'), r.stdout);
  });
});

describe('bad input: one line per error, with a code and what to do', () => {
  const cases = [
    ['missing file', 'bad/nope.ts', 'file_not_found', /no such file/],
    ['unsupported type', 'bad/numeric.ts', 'unsupported_column_type', /tables\.invoices\.columns\.amount: Drizzle type numeric\(12, 2\) .* doublePrecision\(\)/],
    ['no table marked', 'bad/unannotated.ts', 'missing_annotation', /none of the 1 Drizzle tables exported is marked with synced\(\)/],
    ['no owner', 'bad/no-owner.ts', 'missing_annotation', /tables\.notes\.owner: synced\(\) needs owner/],
    ['scope without members', 'bad/no-scope-members.ts', 'missing_annotation', /scope "team" has no membership table/],
    ['does not compile', 'bad/syntax.ts', 'load_failed', /syntax\.ts:3:\d+: cannot compile the schema module/],
  ];
  for (const [what, file, code, message] of cases) {
    test(what, () => {
      const r = run(fixture(file));
      assert.equal(r.status, 1);
      assert.equal(r.stdout, '');
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.ok(lines[0].startsWith(`error[${code}] `), lines[0]);
      assert.match(lines[0], message);
    });
  }

  test('a core validation error names the Drizzle table', async () => {
    await assert.rejects(convert('projects.ts', { version: 0 }), { code: 'invalid_schema', path: 'version' });
  });

  test('an output file that cannot be written', () => {
    const r = run(fixture('notes-sqlite.ts'), '-o', '/nonexistent-dir/schema.json');
    assert.equal(r.status, 1);
    assert.equal(r.stderr, 'error[write_failed] /nonexistent-dir/schema.json: cannot write the schema (ENOENT)\n');
  });

  test('usage errors exit 2', () => {
    assert.equal(run().status, 2);
    assert.equal(run(fixture('projects.ts'), '--schema-version', 'x').status, 2);
    assert.equal(run(fixture('projects.ts'), '--bogus').status, 2);
  });

  test('no compiled module is left next to the schema', () => {
    assert.deepEqual(readdirSync(fixtures).filter((f) => f.includes('.edgesync-')), []);
    assert.deepEqual(readdirSync(new URL('bad/', fixtures)).filter((f) => f.includes('.edgesync-')), []);
  });
});

// Real PostgreSQL 15 (tests/harness/postgres.mjs): the host installs the
// generated DDL at startup; PGlite takes over a minute for it on a loaded machine.
describe('the projects schema is usable: SQLite DDL, PostgreSQL DDL, a sync round', () => {
  let schema, stack, alice, bob;
  before(async () => {
    schema = await convert('projects.ts');
    stack = await startStack(schema);
    alice = await openClient(stack.url, schema, 'alice', { WebSocket });
    bob = await openClient(stack.url, schema, 'bob', { WebSocket });
    // Closing a device whose live socket is still connecting raises an
    // uncaught ws error (hosts/client/live.mjs), so let both connect first.
    await waitFor(() => alice.sync.status.live && bob.sync.status.live, { what: 'both devices live' });
  }, { timeout: 60000 });
  after(async () => {
    await alice?.close();
    await bob?.close();
    await stack?.stop();
  }, { timeout: 30000 });

  test('the SQLite DDL installs and its triggers record local writes', async () => {
    const db = await openSqlite();
    try {
      db.exec(sqliteDdl(core, schema));
      db.exec(`INSERT INTO projects (id, userId, name, revision) VALUES ('p0', 'u1', 'Local', 1)`);
      db.exec(`INSERT INTO projectWorkflows (id, projectId, createdBy, nodes, edges) VALUES ('w0', 'p0', 'u1', '[]', '[]')`);
      assert.deepEqual(db.selectObjects('SELECT tbl, op FROM sync_outbox ORDER BY id').map((r) => `${r.tbl}:${r.op}`),
        ['projects:I', 'projectWorkflows:I']);
    } finally {
      db.close();
    }
  });

  test('PostgreSQL has Drizzle\'s table and column names', async () => {
    const rows = await stack.sql`SELECT table_name, column_name FROM information_schema.columns
      WHERE table_schema = 'public' AND column_name NOT LIKE '\\_es\\_%'`;
    const got = new Set(rows.map((r) => `${r.table_name}.${r.column_name}`));
    for (const want of ['projects.user_id', 'projects.deleted_at', 'project_members.added_by', 'workflow_nodes.owner_id', 'workflows.created_by', 'workflows.nodes']) {
      assert.ok(got.has(want), `${want} in ${[...got].join(', ')}`);
    }
  });

  test('Alice shares a project with Bob; its nodes and JSONB workflow reach his device', async () => {
    alice.db.exec(`INSERT INTO projects (id, userId, name, revision) VALUES ('p1', 'alice', 'Launch', 1)`);
    alice.db.exec(`INSERT INTO projectMembers (projectId, userId, role, addedBy) VALUES ('p1', 'bob', 'write', 'alice')`);
    alice.db.exec(`INSERT INTO workflowNodes (id, projectId, ownerId, label, x, y, data) VALUES ('n1', 'p1', 'alice', 'Start', 10.5, 20, '{"kind":"trigger"}')`);
    alice.db.exec(`INSERT INTO projectWorkflows (id, projectId, createdBy, nodes, edges) VALUES ('w1', 'p1', 'alice', '[{"id":"n1"}]', '[]')`);
    await alice.sync.syncNow();
    assert.deepEqual(alice.events.rejected, []);
    await waitFor(async () => {
      await bob.sync.syncNow();
      return bob.rows(`SELECT 1 FROM workflowNodes WHERE id = 'n1'`).length;
    }, { what: 'the node on Bob\'s device' });
    assert.deepEqual(bob.rows(`SELECT label, x, y, json_extract(data, '$.kind') AS kind FROM workflowNodes`), [{ label: 'Start', x: 10.5, y: 20, kind: 'trigger' }]);
    assert.deepEqual(JSON.parse(bob.rows(`SELECT nodes FROM projectWorkflows WHERE id = 'w1'`)[0].nodes), [{ id: 'n1' }]);
    const rows = await stack.sql`SELECT created_by, nodes FROM workflows WHERE id = 'w1'`;
    assert.deepEqual(rows.map((r) => ({ ...r })), [{ created_by: 'alice', nodes: [{ id: 'n1' }] }]);
  });
});
