// Signed-out use and claiming local data, end to end: clients on the official
// SQLite WASM build, the real node host, PostgreSQL 15. Rows written before
// anyone signed in stay queued without a single request, and go out at the
// first sign-in, owned by that user (the server sets the owner from the
// token); a previous user's rows are never sent under the next user (the
// client refuses, the server refuses: client_id_conflict), and signOut()
// gives the next user a clean database and a new client id.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startStack, openClient, waitFor, tokenFor } from '../harness/client.mjs';
import { statusLabel, SyncError } from '../../hosts/client/index.mjs';
import { tokenSubject } from '../../hosts/client/account.mjs';

const schema = JSON.parse(readFileSync(new URL('../../demo/schema.json', import.meta.url), 'utf8'));

let stack;
before(async () => { stack = await startStack(schema); }, { timeout: 60000 });
after(() => stack?.stop(), { timeout: 30000 });

const clients = [];
after(async () => { for (const c of clients) await c.close().catch(() => {}); });

/**
 * A device whose signed-in user the test switches (`device.user = 'alice'`,
 * null: signed out). `requests` records the user of every request sent.
 */
async function device({ user = null, ...opts } = {}) {
  const requests = [];
  const d = { user, requests };
  const c = await openClient(stack.url, schema, null, {
    getToken: async () => (d.user ? tokenFor(d.user) : null),
    fetch: (url, init) => {
      requests.push(tokenSubject(init.headers.authorization.slice('Bearer '.length)));
      return fetch(url, init);
    },
    ...opts,
  });
  clients.push(c);
  return Object.assign(d, c, { user });
}

// A project written by the app. Signed out it knows no owner: the owner
// column is NOT NULL, so it writes '' (the server sets the owner anyway).
const project = (d, id, name) => d.db.exec({
  sql: 'INSERT INTO projects (id, ownerId, name) VALUES (?, ?, ?)', bind: [id, d.user ?? '', name],
});
const ids = (d) => d.rows('SELECT id FROM projects ORDER BY id').map((r) => r.id);
const serverRows = async (prefix) => (await stack.sql`
  select id, owner_id from projects where id like ${`${prefix}%`} order by id`).map((r) => ({ ...r }));

describe('signed out', () => {
  test('writes stay local and queued; no request is made; the status says signed out', async () => {
    const d = await device();
    project(d, 'so-1', 'Offline first');
    project(d, 'so-2', 'Still offline');
    await waitFor(() => d.sync.status.state === 'signed_out', { what: 'signed_out' });
    // Several retries (backoff 50..400 ms) ask getToken() again, quietly.
    await new Promise((r) => setTimeout(r, 900));
    assert.deepEqual(d.requests, [], 'nothing was sent');
    assert.deepEqual(d.events.error, [], 'no error events');
    const first = d.events.status.findIndex((s) => s.state === 'signed_out');
    const later = d.events.status.slice(first).map((s) => s.state);
    assert.deepEqual([...new Set(later)], ['signed_out'], 'no flapping through error or syncing');
    const st = d.sync.status;
    assert.equal(statusLabel(st), 'Signed out');
    assert.equal(st.lastError.code, 'signed_out');
    assert.match(st.lastError.message, /not signed in/);
    assert.equal(st.pending, 2);
    assert.equal(await d.sync.pendingCount(), 2);
    assert.deepEqual(ids(d), ['so-1', 'so-2']);
    await assert.rejects(d.sync.syncNow(), (e) => e instanceof SyncError && e.code === 'signed_out');
    assert.deepEqual(d.requests, []);
    assert.deepEqual(await serverRows('so-'), []);
  });
});

describe('claim at the first sign-in', () => {
  test('tokenRefreshed(): the queued rows go out and the server makes them the user\'s; another device of hers gets them', async () => {
    const d = await device();
    project(d, 'cl-1', 'Made before sign-in');
    d.db.exec("INSERT INTO workflowNodes (id, projectId, ownerId, label) VALUES ('cl-n1', 'cl-1', '', 'Start')");
    await waitFor(() => d.sync.status.state === 'signed_out', { what: 'signed_out' });
    d.user = 'alice';
    d.sync.tokenRefreshed();
    await waitFor(() => d.sync.status.state === 'idle' && d.sync.status.pending === 0, { what: 'the claim' });
    assert.deepEqual(await serverRows('cl-'), [{ id: 'cl-1', owner_id: 'alice' }]);
    const [n] = await stack.sql`select owner_id, label from workflow_nodes where id = 'cl-n1'`;
    assert.deepEqual({ ...n }, { owner_id: 'alice', label: 'Start' });
    assert.deepEqual(new Set(d.requests), new Set(['alice']));
    assert.deepEqual(d.events.error, []);
    // The device now has the server's rows, owner included.
    assert.deepEqual(d.rows("SELECT ownerId FROM projects WHERE id = 'cl-1'"), [{ ownerId: 'alice' }]);

    const other = await device({ user: 'alice' });
    await other.sync.syncNow();
    assert.ok(ids(other).includes('cl-1'), JSON.stringify(ids(other)));
    assert.deepEqual(other.rows("SELECT label, ownerId FROM workflowNodes WHERE id = 'cl-n1'"), [{ label: 'Start', ownerId: 'alice' }]);
    // Bob, elsewhere, sees none of it.
    const bob = await device({ user: 'bob' });
    await bob.sync.syncNow();
    assert.deepEqual(ids(bob).filter((id) => id.startsWith('cl-')), []);
  });

  test('without tokenRefreshed(): the next getToken() that returns a token claims them', async () => {
    const d = await device();
    project(d, 'cn-1', 'Claimed on retry');
    await waitFor(() => d.sync.status.state === 'signed_out', { what: 'signed_out' });
    d.user = 'carol';
    await waitFor(() => d.sync.status.state === 'idle' && d.sync.status.pending === 0, { what: 'a retry with the token' });
    assert.deepEqual(await serverRows('cn-'), [{ id: 'cn-1', owner_id: 'carol' }]);
  });
});

describe('a previous user\'s rows are never sent under a new user', () => {
  test('another user\'s token: refused without a request, reported once; signOut() gives the next user a clean start', async () => {
    const d = await device({ user: 'alice' });
    project(d, 'sw-a1', 'Alice synced');
    await d.sync.syncNow();
    const aliceId = d.sync.status.clientId;
    project(d, 'sw-a2', 'Alice pending');
    d.user = 'bob';
    await assert.rejects(d.sync.syncNow(), (e) => e instanceof SyncError && e.code === 'client_id_conflict');
    assert.equal(d.sync.status.state, 'error');
    assert.equal(d.sync.status.lastError.code, 'client_id_conflict');
    assert.match(d.sync.status.lastError.message, /signOut\(\)/);
    await waitFor(() => d.events.error.length > 0, { what: 'the error event' });
    assert.match(d.events.error[0].message, /signOut\(\)/);
    assert.equal(d.events.error[0].code, 'client_id_conflict');
    // It stops: no retries, no more errors.
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(d.events.error.length, 1);
    assert.ok(!d.requests.includes('bob'), `nothing sent under bob: ${JSON.stringify(d.requests)}`);
    assert.deepEqual(await serverRows('sw-'), [{ id: 'sw-a1', owner_id: 'alice' }]);

    await d.sync.signOut();
    assert.deepEqual(ids(d), [], 'alice\'s rows are gone from the device');
    assert.equal(await d.sync.pendingCount(), 0, 'and so are her queued changes');
    await d.sync.syncNow();
    assert.notEqual(d.sync.status.clientId, aliceId, 'a new client id');
    assert.equal(d.sync.status.state, 'idle');
    assert.deepEqual(ids(d), [], 'bob sees none of alice\'s rows');
    project(d, 'sw-b1', 'Bob');
    await d.sync.syncNow();
    assert.deepEqual(await serverRows('sw-'), [{ id: 'sw-a1', owner_id: 'alice' }, { id: 'sw-b1', owner_id: 'bob' }]);
    const [bound] = await stack.sql`select user_id from edgesync_clients where client_id = ${d.sync.status.clientId}`;
    assert.equal(bound.user_id, 'bob');
  });

  test('the server refuses too (a new session on the database): 403 client_id_conflict, nothing applied, no retries', async () => {
    const a = await device({ user: 'dave' });
    project(a, 'sv-1', 'Dave synced');
    await a.sync.syncNow();
    project(a, 'sv-2', 'Dave pending');
    await a.sync.stop();
    const b = await device({ user: 'erin', db: a.db });
    await assert.rejects(b.sync.syncNow(), (e) => e.code === 'client_id_conflict' && e.status === 403);
    assert.deepEqual(b.requests, ['erin'], 'one request, refused');
    await waitFor(() => b.events.error.length === 1, { what: 'the error event' });
    assert.match(b.events.error[0].message, /signOut\(\)/);
    assert.deepEqual(await serverRows('sv-'), [{ id: 'sv-1', owner_id: 'dave' }]);
    await new Promise((r) => setTimeout(r, 600));
    assert.deepEqual(b.requests, ['erin'], 'no retries');
    await b.sync.signOut();
    await b.sync.syncNow();
    assert.deepEqual(ids(b).filter((id) => id.startsWith('sv-')), []);
  });

  test('signOut() while the app still hands out the old token: the fresh identity stays signed out until tokenRefreshed()', async () => {
    const d = await device({ user: 'fay' });
    project(d, 'fo-1', 'Fay');
    await d.sync.syncNow();
    const before = d.requests.length;
    const oldId = d.sync.status.clientId;
    project(d, 'fo-2', 'not yet sent');
    await d.sync.signOut(); // the app signs out of its auth afterwards
    await waitFor(() => d.sync.status.state === 'signed_out', { what: 'signed_out' });
    assert.equal(d.requests.length, before, 'the old token was not used for the new identity');
    assert.deepEqual(ids(d), []);
    assert.deepEqual(await serverRows('fo-'), [{ id: 'fo-1', owner_id: 'fay' }], 'the unsent change was dropped');
    // Fay signs in again: her rows come back under a new client id.
    d.sync.tokenRefreshed();
    await waitFor(() => d.sync.status.state === 'idle' && ids(d).includes('fo-1'), { what: 'fay again' });
    assert.notEqual(d.sync.status.clientId, oldId);
  });

  test('signOut({ keepLocalData: true }) keeps rows and queue for the same user\'s next sign-in', async () => {
    const d = await device({ user: 'gus' });
    project(d, 'kl-1', 'Gus');
    await d.sync.syncNow();
    const id = d.sync.status.clientId;
    await d.sync.signOut({ keepLocalData: true });
    d.user = null;
    project(d, 'kl-2', 'Written signed out');
    await waitFor(() => d.sync.status.state === 'signed_out', { what: 'signed_out' });
    assert.deepEqual(ids(d), ['kl-1', 'kl-2']);
    d.user = 'gus';
    d.sync.tokenRefreshed();
    await waitFor(() => d.sync.status.state === 'idle' && d.sync.status.pending === 0, { what: 'gus again' });
    assert.equal(d.sync.status.clientId, id);
    assert.deepEqual(await serverRows('kl-'), [{ id: 'kl-1', owner_id: 'gus' }, { id: 'kl-2', owner_id: 'gus' }]);
  });

  test('signOut() before start() clears the database too', async () => {
    const d = await device({ user: 'hal' });
    project(d, 'bs-1', 'Hal');
    await d.sync.syncNow();
    await d.sync.stop();
    const again = await device({ user: 'ida', db: d.db, start: false });
    await again.sync.signOut();
    assert.deepEqual(ids(again), []);
    await again.sync.start();
    await again.sync.syncNow();
    assert.equal(again.sync.status.state, 'idle');
    assert.deepEqual(ids(again), []);
  });
});
