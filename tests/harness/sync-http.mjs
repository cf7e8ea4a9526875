// Small HTTP helpers for the sync endpoint tests (node host, workerd, pgbouncer).
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { nodeCore } from '../../hosts/wasm/node.mjs';

export const TEST_SECRET = 'edgesync-test-secret-0123456789abcdef';
const enc = new TextEncoder();

/** An HS256 token; `over` replaces or (with undefined) removes claims. */
export async function token(sub, over = {}, secret = TEST_SECRET) {
  const now = Math.floor(Date.now() / 1000);
  const claims = { sub, aud: 'authenticated', role: 'authenticated', iat: now, exp: now + 600, ...over };
  for (const k of Object.keys(claims)) if (claims[k] === undefined) delete claims[k];
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(enc.encode(secret));
}

/** POST /sync; returns { status, headers, body (parsed JSON or text) }. */
export async function postSync(base, tok, body, headers = {}) {
  const res = await fetch(`${base}/sync`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(tok ? { authorization: `Bearer ${tok}` } : {}), ...headers },
    body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed = text;
  try { parsed = JSON.parse(text); } catch { /* keep text */ }
  return { status: res.status, headers: res.headers, body: parsed };
}

/** Asserts a protocol error body with `code`. */
export function assertError(r, status, code) {
  assert.equal(r.status, status, `expected ${status} ${code}, got ${r.status} ${JSON.stringify(r.body)}`);
  assert.equal(r.body.protocol, 1);
  assert.equal(r.body.error.code, code);
  assert.equal(typeof r.body.error.message, 'string');
}

/** An HLC stamp `MMMMMMMMMMMMMMM:CCCCC:node`. */
export function hlc(clientId, ms = Date.now(), counter = 0) {
  return `${String(ms).padStart(15, '0')}:${String(counter).padStart(5, '0')}:${clientId}`;
}

/**
 * The smallest stamp of `h`'s tick: `h` with an empty node. The creator
 * trigger stamps a new scope's admin membership so: below the root row and
 * every client stamp of the same tick, above every earlier tick, so a later
 * change by the creator always wins over it.
 */
export function hlcFloor(h) {
  return h.slice(0, 22);
}

/** True once the real server core (`server.open`) is in the WASM build. */
export async function serverCoreAvailable() {
  const core = await nodeCore();
  try {
    core.call('server.open', { schema: { version: 1, tables: [] }, limits: {} });
  } catch (e) {
    if (e.code === 'invalid_request' && e.path === 'op') return false; // unknown operation
  }
  return true;
}

/**
 * A push from one client and a pull from another of the same user, against
 * the demo schema; a second user sees nothing. Returns the push response.
 */
export async function pushPullRoundTrip(base, { tag = 'rt', claims = {}, secret = TEST_SECRET } = {}) {
  const alice = await token(`alice-${tag}`, claims, secret);
  const bob = await token(`bob-${tag}`, claims, secret);
  const phone = `c_${tag}_phone_0001`;
  const laptop = `c_${tag}_laptop_0001`;
  const push = await postSync(base, alice, {
    protocol: 1, clientId: phone, schemaVersion: 1,
    batch: {
      seq: 1,
      changes: [
        { id: 1, table: 'projects', op: 'upsert', row: { id: `p-${tag}`, name: 'Alpha', updatedAt: '2026-11-22T08:00:00.000Z' },
          hlc: hlc(phone), baseVersion: null },
        { id: 2, table: 'workflowNodes', op: 'upsert',
          row: { id: `n-${tag}`, projectId: `p-${tag}`, label: 'Start', x: 10, y: 20.5, data: { k: [1, 'two'] } },
          hlc: hlc(phone, Date.now(), 1), baseVersion: null },
      ],
    },
    cursor: null,
  });
  assert.equal(push.status, 200, JSON.stringify(push.body));
  assert.deepEqual(push.body.ack, { seq: 1, duplicate: false });
  assert.deepEqual(push.body.results.map((r) => [r.id, r.status]), [[1, 'applied'], [2, 'applied']]);
  assert.ok(push.body.results.every((r) => Number.isInteger(r.version)));
  // No echoes: the pushing client does not get its own rows back.
  assert.equal(push.body.changes.filter((c) => c.row.id === `p-${tag}`).length, 0);

  const pull = await postSync(base, alice, { protocol: 1, clientId: laptop, schemaVersion: 1, cursor: null });
  assert.equal(pull.status, 200, JSON.stringify(pull.body));
  assert.equal(pull.body.ack, null);
  const project = pull.body.changes.find((c) => c.table === 'projects' && c.row.id === `p-${tag}`);
  assert.ok(project, `laptop pulls the project: ${JSON.stringify(pull.body.changes)}`);
  assert.equal(project.row.name, 'Alpha');
  const node = pull.body.changes.find((c) => c.table === 'workflowNodes' && c.row.id === `n-${tag}`);
  assert.ok(node);
  assert.deepEqual(node.row.data, { k: [1, 'two'] });
  assert.equal(typeof pull.body.cursor, 'string');

  const retry = await postSync(base, alice, {
    protocol: 1, clientId: phone, schemaVersion: 1,
    batch: { seq: 1, changes: [{ id: 1, table: 'projects', op: 'upsert', row: { id: `p-${tag}`, name: 'Alpha', updatedAt: null },
      hlc: hlc(phone), baseVersion: null }] },
  });
  assert.equal(retry.status, 200, JSON.stringify(retry.body));
  assert.equal(retry.body.ack.duplicate, true);

  const other = await postSync(base, bob, { protocol: 1, clientId: `c_${tag}_bob_00001`, schemaVersion: 1, cursor: null });
  assert.equal(other.status, 200, JSON.stringify(other.body));
  assert.equal(other.body.changes.length, 0, 'another user pulls none of alice\'s rows');
  return push;
}

/**
 * A streamed pull (docs/protocol.md, "Streamed pulls") of 12,000 rows written
 * directly to PostgreSQL: one NDJSON frame per page of `maxPageSize` (5,000)
 * rows, each frame's cursor the next one's start; every row exactly once.
 */
export async function streamedPull(base, sql, tag) {
  const user = `streamer-${tag}`;
  // The demo schema's nodes are rows of a project the user belongs to (its
  // creator: the backend insert stamps the membership).
  await sql.unsafe(`insert into projects (id, owner_id, name) values ('${tag}-sp', '${user}', 'Streamed')`);
  await sql.unsafe(`insert into workflow_nodes (id, project_id, owner_id, label)
    select '${tag}-s' || i, '${tag}-sp', '${user}', 'x' from generate_series(1, 12000) i`);
  const res = await fetch(`${base}/sync`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await token(user)}` },
    body: JSON.stringify({ protocol: 1, clientId: `c_${tag}_stream_01`, schemaVersion: 1, stream: true }),
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/x-ndjson');
  const text = await res.text();
  assert.ok(text.endsWith('\n'));
  const frames = text.slice(0, -1).split('\n').map((l) => JSON.parse(l));
  const shape = JSON.stringify(frames.map((f) => [f.rows, f.changes.length, f.hasMore, f.cursor]));
  assert.ok(frames.length >= 3, `${frames.length} frames: ${shape}`);
  for (const [i, f] of frames.entries()) {
    assert.equal(f.rows, f.changes.length);
    assert.equal(f.hasMore, i < frames.length - 1);
    if (i < frames.length - 1) assert.equal(f.rows, 5000, 'full pages of maxPageSize rows');
  }
  const nodes = frames.flatMap((f) => f.changes.filter((c) => c.table === 'workflowNodes').map((c) => c.row.id));
  assert.equal(nodes.length, 12000);
  assert.equal(new Set(nodes).size, 12000);
  // A batch cannot be streamed.
  const bad = await postSync(base, await token(user), { protocol: 1, clientId: `c_${tag}_stream_01`, schemaVersion: 1, stream: true,
    batch: { seq: 1, changes: [] } });
  assertError(bad, 400, 'invalid_request');
  assert.ok(bad.body.error.errors.some((e) => e.path === 'stream'));
}
