// Shared data: scopes and roles (docs/protocol.md, "Scopes and roles"),
// end to end — the real client core on the official SQLite WASM build, the
// real node host and server core, a real PostgreSQL 15. A project is a
// scope: its creator becomes admin, admins add members with a role, members
// pull the project's rows (a backfill on joining, however old the rows),
// writers write them, readers are refused and rolled back, and a removed
// member's devices drop the project.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, openClient, tokenFor } from '../harness/client.mjs';
import { postSync, assertError, hlc } from '../harness/sync-http.mjs';
import { SHARED_SCHEMA } from '../harness/shared-schema.mjs';

const clients = [];
after(async () => { for (const c of clients) await c.close().catch(() => {}); });

describe('scopes and roles', () => {
  let stack;
  const client = async (user, opts) => {
    const c = await openClient(stack.url, SHARED_SCHEMA, user, opts);
    clients.push(c);
    return c;
  };
  const sync = (...cs) => Promise.all(cs.map((c) => c.sync.syncNow()));
  before(async () => { stack = await startStack(SHARED_SCHEMA); }, { timeout: 60000 });
  after(() => stack?.stop(), { timeout: 30000 });

  test('the creator of a project becomes its admin; members see it, others do not', async () => {
    const alice = await client('alice');
    const carol = await client('carol');
    alice.db.exec(`INSERT INTO projects (id, ownerId, name) VALUES ('p1', 'alice', 'Launch')`);
    alice.db.exec(`INSERT INTO nodes (id, projectId, ownerId, label) VALUES ('n1', 'p1', 'alice', 'Start')`);
    alice.db.exec(`INSERT INTO notes (id, ownerId, body) VALUES ('a-note', 'alice', 'private')`);
    await sync(alice);
    const [m] = await stack.sql`select role, added_by, _es_origin from project_members where project_id = 'p1' and user_id = 'alice'`;
    // Origin '': derived from the endpoint's insert (stamped with its clock), no client's own write.
    assert.deepEqual({ ...m }, { role: 'admin', added_by: 'alice', _es_origin: '' });
    await sync(alice, carol);
    assert.deepEqual(alice.rows('SELECT projectId, userId, role FROM projectMembers'),
      [{ projectId: 'p1', userId: 'alice', role: 'admin' }], 'the creator\'s device learns its role');
    for (const t of ['projects', 'projectMembers', 'nodes', 'notes'])
      assert.deepEqual(carol.rows(`SELECT * FROM ${t}`), [], `carol sees no ${t}`);
  });

  test('joining delivers the whole project however old its rows (a backfill that pages)', async () => {
    const alice = await client('alice');
    await sync(alice);
    for (let i = 0; i < 30; i++) alice.db.exec(`INSERT INTO nodes (id, projectId, ownerId, label) VALUES ('b${i}', 'p1', 'alice', 'old ${i}')`);
    await sync(alice);
    // Bob has synced long since: his cursor is past every row of p1.
    const bob = await client('bob', { config: { pageSize: 7 } });
    bob.db.exec(`INSERT INTO notes (id, ownerId, body) VALUES ('b-note', 'bob', 'mine')`);
    await sync(bob);
    assert.equal(bob.rows('SELECT count(*) AS n FROM nodes')[0].n, 0);
    alice.db.exec(`INSERT INTO projectMembers (projectId, userId, role, addedBy) VALUES ('p1', 'bob', 'write', 'alice')`);
    await sync(alice);
    await sync(bob);
    assert.equal(bob.rows('SELECT count(*) AS n FROM nodes')[0].n, 31, 'every node of p1: n1 and the 30 old ones');
    assert.deepEqual(bob.rows('SELECT id, name FROM projects'), [{ id: 'p1', name: 'Launch' }]);
    assert.deepEqual(bob.rows('SELECT userId, role FROM projectMembers ORDER BY userId'),
      [{ userId: 'alice', role: 'admin' }, { userId: 'bob', role: 'write' }]);
    assert.deepEqual(bob.rows('SELECT id FROM notes'), [{ id: 'b-note' }], 'never alice\'s own rows');
  });

  test('a writer\'s edits reach the other members; a reader\'s are refused and rolled back', async () => {
    const alice = await client('alice');
    const bob = await client('bob');
    const dave = await client('dave');
    alice.db.exec(`INSERT INTO projectMembers (projectId, userId, role, addedBy) VALUES ('p1', 'dave', 'read', 'alice')`);
    await sync(alice);
    await sync(bob, dave);
    bob.db.exec(`UPDATE nodes SET label = 'Start (bob)' WHERE id = 'n1'`);
    await sync(bob);
    await sync(alice, dave);
    assert.deepEqual(alice.rows(`SELECT label FROM nodes WHERE id = 'n1'`), [{ label: 'Start (bob)' }]);
    assert.deepEqual(dave.rows(`SELECT label FROM nodes WHERE id = 'n1'`), [{ label: 'Start (bob)' }]);
    const rejected = [];
    dave.sync.on('rejected', (e) => rejected.push(e));
    dave.db.exec(`UPDATE nodes SET label = 'Start (dave)' WHERE id = 'n1'`);
    dave.db.exec(`INSERT INTO nodes (id, projectId, ownerId, label) VALUES ('d1', 'p1', 'dave', 'by a reader')`);
    await sync(dave);
    assert.deepEqual(rejected.map((e) => [e.pk, e.reason]).sort(), [[['d1'], 'forbidden'], [['n1'], 'forbidden']]);
    assert.deepEqual(dave.rows(`SELECT id, label FROM nodes WHERE id IN ('n1', 'd1')`), [{ id: 'n1', label: 'Start (bob)' }],
      'the edit is rolled back to the server\'s row, the insert removed');
    const [srv] = await stack.sql`select label from nodes where id = 'n1'`;
    assert.equal(srv.label, 'Start (bob)');
    assert.equal((await stack.sql`select count(*)::int as n from nodes where id = 'd1'`)[0].n, 0);
    // Membership changes take admin: a writer cannot make himself admin.
    bob.db.exec(`UPDATE projectMembers SET role = 'admin' WHERE projectId = 'p1' AND userId = 'bob'`);
    await sync(bob);
    assert.deepEqual(bob.rows(`SELECT role FROM projectMembers WHERE userId = 'bob'`), [{ role: 'write' }]);
  });

  test('a non-member can neither read nor write a project, nor take its key', async () => {
    const eve = await client('eve');
    const rejected = [];
    eve.sync.on('rejected', (e) => rejected.push(e));
    eve.db.exec(`INSERT INTO nodes (id, projectId, ownerId, label) VALUES ('e1', 'p1', 'eve', 'intruder')`);
    eve.db.exec(`INSERT INTO nodes (id, projectId, ownerId, label) VALUES ('n1', 'p-eve', 'eve', 'steal the key')`);
    eve.db.exec(`INSERT INTO projects (id, ownerId, name) VALUES ('p1', 'eve', 'hijack')`);
    eve.db.exec(`INSERT INTO projectMembers (projectId, userId, role, addedBy) VALUES ('p1', 'eve', 'admin', 'eve')`);
    await eve.sync.syncNow();
    assert.equal(rejected.length, 4, JSON.stringify(rejected));
    for (const e of rejected) {
      assert.equal(e.reason, 'forbidden');
      assert.equal(e.row ?? null, null, 'a refusal carries no row content');
    }
    for (const t of ['projects', 'projectMembers', 'nodes']) assert.deepEqual(eve.rows(`SELECT * FROM ${t}`), [], t);
    const [p] = await stack.sql`select name from projects where id = 'p1'`;
    assert.equal(p.name, 'Launch');
    assert.equal((await stack.sql`select count(*)::int as n from project_members where user_id = 'eve'`)[0].n, 0);
  });

  test('removal: the member\'s devices drop the project, pending edits are refused and rolled back', async () => {
    const alice = await client('alice');
    const bob = await client('bob');
    await sync(alice, bob);
    assert.ok(bob.rows('SELECT count(*) AS n FROM nodes')[0].n > 0);
    bob.sync.setOnline(false);
    bob.db.exec(`UPDATE nodes SET label = 'offline edit' WHERE id = 'b1'`);
    alice.db.exec(`DELETE FROM projectMembers WHERE projectId = 'p1' AND userId = 'bob'`);
    await sync(alice);
    const rejected = [];
    const revoked = [];
    bob.sync.on('rejected', (e) => rejected.push(e));
    bob.sync.on('changes', (e) => revoked.push(...e.revoked));
    bob.sync.setOnline(true);
    await bob.sync.syncNow();
    await bob.sync.syncNow();
    assert.deepEqual(rejected.map((e) => [e.pk, e.reason]), [[['b1'], 'forbidden']]);
    assert.deepEqual(revoked, [{ scope: 'project', key: 'p1' }], 'the app is told which project left');
    for (const t of ['projects', 'projectMembers', 'nodes'])
      assert.deepEqual(bob.rows(`SELECT * FROM ${t}`), [], `bob's device holds no ${t} of p1`);
    assert.deepEqual(bob.rows('SELECT id FROM notes'), [{ id: 'b-note' }], 'his own rows stay');
    // Added again: the backfill brings everything back.
    alice.db.exec(`INSERT INTO projectMembers (projectId, userId, role, addedBy) VALUES ('p1', 'bob', 'read', 'alice')`);
    await sync(alice);
    await bob.sync.syncNow();
    assert.equal(bob.rows('SELECT count(*) AS n FROM nodes')[0].n, 31);
    assert.deepEqual(bob.rows(`SELECT label FROM nodes WHERE id = 'b1'`), [{ label: 'old 1' }]);
  });

  test('a member may leave; the last word on the root row takes admin', async () => {
    const alice = await client('alice');
    const dave = await client('dave');
    await sync(alice, dave);
    const rejected = [];
    dave.sync.on('rejected', (e) => rejected.push(e));
    dave.db.exec(`DELETE FROM projects WHERE id = 'p1'`);
    await dave.sync.syncNow();
    assert.deepEqual(rejected.map((e) => e.reason), ['forbidden']);
    assert.deepEqual(dave.rows('SELECT id FROM projects'), [{ id: 'p1' }], 'restored');
    dave.db.exec(`DELETE FROM projectMembers WHERE projectId = 'p1' AND userId = 'dave'`);
    await dave.sync.syncNow();
    await dave.sync.syncNow();
    for (const t of ['projects', 'projectMembers', 'nodes']) assert.deepEqual(dave.rows(`SELECT * FROM ${t}`), [], t);
    await alice.sync.syncNow();
    assert.deepEqual(alice.rows(`SELECT userId FROM projectMembers ORDER BY userId`), [{ userId: 'alice' }, { userId: 'bob' }], 'dave is gone');
  });

  test('the app\'s backend shares and revokes with direct SQL; devices follow', async () => {
    const carol = await client('carol');
    await stack.sql`insert into projects (id, owner_id, name) values ('p9', 'alice', 'From the backend')`;
    const [admin] = await stack.sql`select role from project_members where project_id = 'p9' and user_id = 'alice'`;
    assert.equal(admin.role, 'admin', 'the root row\'s owner became admin');
    await stack.sql`insert into nodes (id, project_id, owner_id, label) values ('n9', 'p9', 'alice', 'backend node')`;
    await stack.sql`insert into project_members (project_id, user_id, role, added_by) values ('p9', 'carol', 'read', 'alice')`;
    await carol.sync.syncNow();
    assert.deepEqual(carol.rows(`SELECT id FROM nodes WHERE projectId = 'p9'`), [{ id: 'n9' }]);
    await assert.rejects(stack.sql`update nodes set project_id = 'p1' where id = 'n9'`, /primary key, owner or scope/);
    await stack.sql`delete from project_members where project_id = 'p9' and user_id = 'carol'`;
    await carol.sync.syncNow();
    assert.deepEqual(carol.rows(`SELECT id FROM projects WHERE id = 'p9'`), []);
    assert.deepEqual(carol.rows(`SELECT id FROM nodes WHERE projectId = 'p9'`), []);
  });

  test('bad scope and membership input gets a 4xx with a path and changes nothing', async () => {
    const tok = await tokenFor('alice');
    const before = await stack.sql`select count(*)::int as n from project_members`;
    const change = (row) => ({
      protocol: 1, clientId: 'bad-scope-client', schemaVersion: 1,
      batch: { seq: 1, changes: [{ id: 1, table: 'projectMembers', op: 'upsert', hlc: hlc('bad-scope-client'), row }] },
    });
    let r = await postSync(stack.url, tok, change({ projectId: 'p1', userId: 'zed', role: 'owner' }));
    assertError(r, 400, 'value_out_of_range');
    assert.equal(r.body.error.path, 'batch.changes[0].row.role');
    r = await postSync(stack.url, tok, change({ projectId: 'p1', userId: 'zed' }));
    assertError(r, 400, 'type_mismatch');
    assert.equal(r.body.error.path, 'batch.changes[0].row.role');
    r = await postSync(stack.url, tok, change({ projectId: null, userId: 'zed', role: 'read' }));
    assertError(r, 400, 'missing_primary_key');
    r = await postSync(stack.url, tok, { protocol: 1, clientId: 'bad-scope-client', schemaVersion: 1, cursor: '1:2:x' });
    assertError(r, 400, 'invalid_request');
    assert.equal(r.body.error.path, 'cursor');
    const after = await stack.sql`select count(*)::int as n from project_members`;
    assert.equal(after[0].n, before[0].n);
  });
});
