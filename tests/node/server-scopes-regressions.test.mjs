// Shared data bugs the simulation found (tests/sim, FINDINGS.md), each as a
// named regression. Real node host, real server core, PostgreSQL 15.
//
// 1. The creator of a scope becomes its admin in the root insert's
//    transaction (a generated trigger). That membership row was stamped with
//    the server's wall clock, so a creator whose device clock runs behind the
//    server's could not leave or change the role they had just got: their
//    change was older than a write they never made and lost
//    (`conflict/older`). The row is now stamped just before the root row's
//    clock (the creator's change: any later change of theirs wins, even in
//    the same batch), and the creator's device still pulls it.
// 2. A shared row keeps its creator in the owner column, whoever writes it
//    later; a member's write that sent another owner (an insert of a key that
//    already existed) was answered `applied` without the stored row, and the
//    writer's device kept its own owner value for good (pulls leave out a
//    client's own writes).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, tokenFor, openClient } from '../harness/client.mjs';
import { postSync, hlc, hlcFloor } from '../harness/sync-http.mjs';
import { SHARED_SCHEMA } from '../harness/shared-schema.mjs';

let stack;
before(async () => { stack = await startStack(SHARED_SCHEMA); }, { timeout: 60000 });
after(() => stack?.stop(), { timeout: 30000 });

test('a creator whose clock runs behind the server may leave the scope it just created', async () => {
  const tok = await tokenFor('alice');
  const client = 'c_creator_clock_behind';
  const behind = Date.now() - 60_000; // within the allowed skew, behind the server
  const rootHlc = hlc(client, behind);
  const create = await postSync(stack.url, tok, {
    protocol: 1, clientId: client, schemaVersion: 1, cursor: null,
    batch: { seq: 1, changes: [{ id: 1, table: 'projects', op: 'upsert', hlc: rootHlc, row: { id: 'pc1', ownerId: 'alice', name: 'Clock' } }] },
  });
  assert.equal(create.status, 200, JSON.stringify(create.body));
  assert.equal(create.body.results[0].status, 'applied');
  const [m] = await stack.sql`select role, _es_hlc as hlc, _es_origin as origin from project_members where project_id = 'pc1' and user_id = 'alice'`;
  assert.equal(m.role, 'admin');
  assert.equal(m.hlc, hlcFloor(rootHlc), 'the membership is stamped with the root row\'s tick (empty node), not with the server\'s wall clock');
  // The creator's own device pulls its membership (it never wrote that row).
  const pull = await postSync(stack.url, tok, { protocol: 1, clientId: client, schemaVersion: 1, cursor: null });
  assert.equal(pull.status, 200, JSON.stringify(pull.body));
  const pulled = pull.body.changes.find((c) => c.table === 'projectMembers' && c.row.projectId === 'pc1');
  assert.ok(pulled, `the creator's device pulls its admin membership: ${JSON.stringify(pull.body.changes)}`);
  assert.equal(pulled.row.role, 'admin');

  const leave = await postSync(stack.url, tok, {
    protocol: 1, clientId: client, schemaVersion: 1,
    batch: { seq: 2, changes: [{ id: 2, table: 'projectMembers', op: 'delete', hlc: hlc(client, behind + 1000), row: { projectId: 'pc1', userId: 'alice' } }] },
  });
  assert.equal(leave.status, 200, JSON.stringify(leave.body));
  assert.equal(leave.body.results[0].status, 'applied', JSON.stringify(leave.body.results[0]));
  const [after] = await stack.sql`select _es_deleted as deleted from project_members where project_id = 'pc1' and user_id = 'alice'`;
  assert.equal(after.deleted, true);
});

test('a backend\'s own root insert still makes its owner admin, stamped by the server', async () => {
  await stack.sql`insert into projects (id, owner_id, name) values ('pc2', 'bob', 'Direct')`;
  const [m] = await stack.sql`select role, _es_hlc as hlc, _es_origin as origin from project_members where project_id = 'pc2' and user_id = 'bob'`;
  assert.equal(m.role, 'admin');
  assert.equal(m.origin, null);
  assert.match(m.hlc, /:server$/);
});

test('a member\'s write of an existing shared row keeps its creator, and the writer\'s device learns it', async () => {
  const alice = await openClient(stack.url, SHARED_SCHEMA, 'alice');
  const bob = await openClient(stack.url, SHARED_SCHEMA, 'bob');
  try {
    alice.db.exec(`INSERT INTO projects (id, ownerId, name) VALUES ('po1', 'alice', 'Owned by alice')`);
    await alice.sync.syncNow();
    alice.db.exec(`INSERT INTO projectMembers (projectId, userId, role, addedBy) VALUES ('po1', 'bob', 'write', 'alice')`);
    await alice.sync.syncNow();
    // Bob's device has not pulled po1 yet: it inserts the same key.
    bob.db.exec(`INSERT INTO projects (id, ownerId, name) VALUES ('po1', 'bob', 'Renamed by bob')`);
    await bob.sync.syncNow();
    await bob.sync.syncNow();
    assert.deepEqual(bob.events.acked.filter((e) => e.table === 'projects').map((e) => e.pk), [['po1']]);
    const [srv] = await stack.sql`select owner_id, name from projects where id = 'po1'`;
    assert.deepEqual({ ...srv }, { owner_id: 'alice', name: 'Renamed by bob' });
    assert.deepEqual(bob.rows(`SELECT ownerId, name FROM projects WHERE id = 'po1'`), [{ ownerId: 'alice', name: 'Renamed by bob' }],
      'the writer\'s device holds the stored row');
  } finally {
    await alice.close();
    await bob.close();
  }
});
