// The deterministic simulation of the real system: real client cores on real
// SQLite, the real server core behind the real handler, a real PostgreSQL 15,
// driven by a seeded scheduler on virtual time (see world.mjs for how a seed
// stays one exact run).
//
//   const env = await createEnv();        // PostgreSQL + cores, once
//   const r = await runSeed(env, 1234);   // {ok, problems, stats, digest, …}
//   await env.close();
//
// A seed: 3 users × 1–3 devices, a workload of writes (owned rows, and
// projects shared through memberships and roles) while faults fire,
// then the faults heal, every device syncs until nothing moves, and the
// checker compares every device with PostgreSQL and the committed log with
// the policies (checker.mjs).
import { readFile } from 'node:fs/promises';
import sqlite3InitModule from '@sqlite.org/sqlite-wasm';
import { loadCore } from '../../hosts/wasm/core.mjs';
import createServerModule from '../../dist/edgesync_server.mjs';
import { loadClientCore } from '../../hosts/client/index.mjs';
import { Prng } from './prng.mjs';
import { World, SimCrash, EPOCH, statementKind } from './world.mjs';
import { SimPostgres } from './db.mjs';
import { SimServer } from './server.mjs';
import { Device } from './device.mjs';
import { Workload } from './workload.mjs';
import { faultPlan, deviceSkew } from './faults.mjs';
import { loadPolicies } from './policies.mjs';
import { check, serverRows } from './checker.mjs';
import { createHash } from 'node:crypto';

const SCHEMA_URL = new URL('./schema.json', import.meta.url);
// The server side runs the server module, as the node host and workerd do.
const CORE_URL = new URL('../../dist/edgesync_server.wasm', import.meta.url);

/** What outlives seeds: PostgreSQL (one cluster), the compiled cores, SQLite. */
export async function createEnv() {
  const schema = JSON.parse(await readFile(SCHEMA_URL, 'utf8'));
  const sqlite3 = await sqlite3InitModule({ print: () => {}, printErr: () => {} });
  const serverModule = await WebAssembly.compile(await readFile(CORE_URL));
  const core = await loadCore(serverModule, createServerModule);
  const normalized = core.call('schema.validate', schema);
  const pgDdl = core.call('schema.pg_ddl', schema);
  const clientCore = memoizeDdl(await loadClientCore());
  const db = await SimPostgres.start();
  try {
    await db.prepare(pgDdl, normalized.tables.map((t) => t.serverName));
  } catch (e) {
    await db.stop();
    throw e;
  }
  const policies = loadPolicies(core);
  // The access rules, from the core's one rule table (the oracle's source).
  const access = core.call('schema.access', {});
  return {
    schema, normalized, sqlite3, serverModule, clientCore, db, policies, access, limits: {}, devicePool: [],
    maxSkew: core.protocol().limits.defaults.maxClockSkewMs,
    close: () => db.stop(),
  };
}

/**
 * The client core as createSync sees it, except that the SQLite DDL of a
 * schema is generated once (every device of every seed asks for the same).
 */
function memoizeDdl(core) {
  const memo = new Map();
  const wrapped = Object.create(core);
  wrapped.call = (op, input) => {
    if (op !== 'schema.sqlite_ddl') return core.call(op, input);
    const key = JSON.stringify(input);
    if (!memo.has(key)) memo.set(key, core.call(op, input));
    return memo.get(key);
  };
  return wrapped;
}

/** The shape of one seed: users, devices, client tunables, workload size. */
function seedShape(rng) {
  const users = 3;
  const perUser = Array.from({ length: users }, () => rng.range(1, 3));
  const config = {
    debounceMs: rng.pick([50, 300, 1000]),
    maxDebounceMs: 3000,
    periodicMs: rng.pick([5000, 20000]),
    backoffBaseMs: 200,
    backoffMaxMs: 4000,
    requestTimeoutMs: rng.pick([2500, 8000]),
    maxBatchChanges: rng.pick([1000, 1000, 3, 1]),
    pageSize: rng.pick([500, 500, 2]),
  };
  return { users, perUser, config, writes: rng.range(4, 14), shared: rng.range(8, 24) };
}

/**
 * Runs one seed. Returns `{seed, ok, problems, stats, digest, elapsedMs,
 * plan, shape, trace}`. `verbose` prints the trace as it happens.
 */
export async function runSeed(env, seed, { verbose = false, log = console.log, maxSteps = 4000 } = {}) {
  const t0 = performance.now();
  const rng = new Prng(seed);
  const world = new World(env, { seed, rng, verbose, log });
  const plan = faultPlan(rng.fork('plan'));
  const frng = rng.fork('faults');
  const shape = seedShape(rng.fork('shape'));
  const users = Array.from({ length: shape.users }, (_, u) => `u${u + 1}`);
  const workload = new Workload(env.normalized, rng.fork('workload'), { writes: shape.writes, shared: shape.shared, users });
  const ctx = { world, plan, frng, workload, env, healing: false, serverDownUntil: 0, incarnation: 1 };
  await env.db.reset();
  world.note(`seed ${seed}: ${shape.users} users (${shape.perUser.join('+')} devices), ${shape.writes} writes + ${shape.shared} shared, faults ${plan.level}, config ${JSON.stringify(shape.config)}`);
  const problems = [];
  try {
    world.server = await new SimServer(world, 1).boot();
    for (let u = 0; u < shape.users; u++) {
      for (let d = 0; d < shape.perUser[u]; d++) {
        const device = new Device(world, {
          user: `u${u + 1}`, index: d + 1, skew: deviceSkew(frng, plan), config: shape.config, rng: rng.fork(`device-${u}-${d}`),
        });
        world.devices.push(device);
        if (device.skew) world.note(`${device.name} clock skew ${device.skew} ms`);
        await device.open();
        await world.settle();
      }
    }
    // The workload, with faults.
    let steps = 0;
    while (!workload.done && steps++ < maxSteps) await step(ctx, 'work');
    // Heal, then sync until quiet.
    const quiet = await heal(ctx);
    if (!quiet) problems.push({ kind: 'not-quiet', detail: `the devices did not settle after healing: ${world.devices.filter((d) => d.busy()).map((d) => `${d.name} ${d.sync.status.state} pending ${d.sync.status.pending} ${d.sync.status.lastError?.code ?? ''}`).join(', ')}` });
    problems.push(...await check(world, { schema: env.normalized, rules: env.policies.rules, access: env.access, maxSkew: env.maxSkew }));
    await noteFinalState(world, env);
  } catch (e) {
    problems.push({ kind: 'sim-error', detail: String(e?.stack ?? e) });
  } finally {
    await shutdown(ctx);
  }
  for (const d of world.devices) world.note(`${d.name}: ${d.events.rejected.length} rejected, ${d.events.conflict.length} conflicts`);
  world.note(`result: ${problems.length ? `${problems.length} problems` : 'ok'}`);
  return {
    seed, ok: problems.length === 0, problems, plan, shape, digest: world.digest(),
    stats: { ...world.stats, writes: workload.count, virtualMs: world.now - EPOCH },
    elapsedMs: performance.now() - t0, trace: world.trace,
  };
}

/** Puts digests of the final server rows and device tables in the trace. */
async function noteFinalState(world, env) {
  const server = await serverRows(env.db.admin, env.normalized);
  const h = createHash('sha256');
  for (const [t, rows] of Object.entries(server)) {
    for (const [k, r] of [...rows].sort((a, b) => (a[0] < b[0] ? -1 : 1))) h.update(`${t} ${k} ${r.deleted} ${r.version} ${r.hlc} ${JSON.stringify(r.row)}\n`);
  }
  world.note(`final server rows ${h.digest('hex').slice(0, 16)}`);
  for (const d of world.devices) {
    const dh = createHash('sha256');
    for (const t of env.normalized.tables) dh.update(`${t.name} ${JSON.stringify(d.db.selectArrays(`SELECT * FROM "${t.name}" ORDER BY 1, 2`))}\n`);
    world.note(`final ${d.name} rows ${dh.digest('hex').slice(0, 16)}`);
  }
}

// ------------------------------------------------------------- the steps

/** The actions possible now, each with a weight and a stable name. */
function actions(ctx, phase) {
  const { world, plan, workload } = ctx;
  const out = [];
  const work = phase === 'work';
  if (work && !workload.done) {
    for (const d of world.devices) {
      if (workload.remaining > 0) out.push([3 / world.devices.length, `write ${d.name}`, () => write(ctx, d)]);
      if (workload.sharedRemaining > 0) out.push([3 / world.devices.length, `share ${d.name}`, () => write(ctx, d, true)]);
    }
  }
  for (const req of world.net) out.push([4, `deliver ${req.id}`, () => deliver(ctx, req)]);
  const gated = world.liveExecs().filter((e) => e.state === 'gated');
  let allowed = gated.filter((e) => mayPermit(world, e));
  // Safety valve: should the rule below ever leave nothing to run, run anyway.
  if (!allowed.length && gated.length) {
    allowed = gated;
    world.note('permit: no statement can run without queueing behind a blocked one');
  }
  for (const e of allowed) out.push([4, `permit ${e.name}`, () => permit(ctx, e)]);
  for (const e of world.execs) {
    if (e.done && e.primary && !e.delivered && !e.req.settled) out.push([4, `respond ${e.name}`, () => respond(ctx, e)]);
  }
  if (work) {
    out.push([1.5, 'advance', () => advanceRandom(ctx)]);
    if (plan.crash) out.push([plan.crash * 20, 'crash', () => crash(ctx)]);
    for (const d of world.devices) {
      if (d.online && plan.offline) out.push([plan.offline * 4, `offline ${d.name}`, () => setOnline(ctx, d, false)]);
      if (!d.online) out.push([0.5, `online ${d.name}`, () => setOnline(ctx, d, true)]);
      if (plan.tokenExpiry) out.push([plan.tokenExpiry * 4, `expire ${d.name}`, () => expire(ctx, d)]);
    }
  }
  return out;
}

/**
 * Whether exec `y`'s next statement may go to PostgreSQL now. Not when it
 * would queue for a row lock behind a statement already blocked on it: when
 * the holder's transaction ends, PostgreSQL wakes every waiter at once and
 * which of them takes the row first is a race between processes — the one
 * thing a seed could not replay. The holder itself always may run.
 */
function mayPermit(world, y) {
  const next = y.queue[0];
  if (next.kind === 'begin') return true;
  const keys = y.lockKeys(next.text);
  if (!keys.length) return true;
  const byPid = new Map(world.liveExecs().filter((e) => e.pid !== null).map((e) => [e.pid, e]));
  for (const w of world.liveExecs()) {
    if (w === y || !w.current?.blocked) continue;
    if ((w.current.blockers ?? []).some((pid) => byPid.get(pid) === y)) continue;
    const wk = w.lockKeys(w.current.text);
    if (keys.some((k) => wk.includes(k))) return false;
  }
  return true;
}

async function step(ctx, phase, list = actions(ctx, phase)) {
  const { world } = ctx;
  if (process.env.SIM_DEBUG) world.note(`candidates ${list.map((a) => a[1]).join(' | ')} ${world.liveExecs().map((e) => `${e.name}:${e.state}`).join(' ')}`);
  const pick = world.sched.weighted(list.map((a) => [a[0], a]));
  if (!pick) return false;
  world.stats.steps++;
  if (pick[1] !== 'advance') await world.advance(1);
  await pick[2]();
  await world.settle();
  world.prune();
  return true;
}

async function write(ctx, d, shared = false) {
  const { world, workload } = ctx;
  const w = shared ? workload.shared(d) : workload.write(d);
  world.stats.writes++;
  world.note(`${d.name} writes ${w.table} ${JSON.stringify(w.pk)}: ${w.ops.join(', ')}`);
}

async function deliver(ctx, req) {
  const { world, frng, plan } = ctx;
  world.net.splice(world.net.indexOf(req), 1);
  if (!req.orphan && req.settled) {
    // The client gave up on it and the request never left (or was cancelled).
    world.note(`deliver ${req.id}: dropped (the client aborted it)`);
    return;
  }
  if (world.now < ctx.serverDownUntil) {
    world.note(`deliver ${req.id}: connection refused (the server is restarting)`);
    world.answer(req, { error: 'fetch failed: connect ECONNREFUSED' });
    return;
  }
  if (!ctx.healing && !req.orphan) {
    if (frng.chance(plan.reset)) {
      world.fault('reset', req.id);
      world.answer(req, { error: 'fetch failed: read ECONNRESET' });
      return;
    }
    if (frng.chance(plan.http5xxBefore)) {
      const status = frng.chance(0.5) ? 502 : 503;
      world.fault('http5xxBefore', `${req.id} answered ${status} by the proxy`);
      world.answer(req, { response: proxyError(status) });
      return;
    }
  }
  world.note(`deliver ${req.id}${req.orphan ? ' (a copy)' : ''}`);
  if (!ctx.healing && !req.orphan && frng.chance(plan.dupConcurrent)) {
    world.fault('dupConcurrent', `${req.id} delivered twice at once`);
    const primaryFirst = frng.chance(0.5);
    world.startExec(req, primaryFirst);
    world.startExec(req, !primaryFirst);
    return;
  }
  world.startExec(req, !req.orphan);
}

function proxyError(status) {
  const body = status === 503
    ? JSON.stringify({ protocol: 1, error: { code: 'unavailable', message: 'upstream overloaded' } })
    : '<html><body>502 Bad Gateway</body></html>';
  return { status, headers: { 'content-type': status === 503 ? 'application/json' : 'text/html' }, bytes: new TextEncoder().encode(body) };
}

async function permit(ctx, e) {
  const { world } = ctx;
  const entry = e.step();
  if (e.beganAt == null) {
    e.beganAt = world.now;
    // A pull sees only what committed below the oldest transaction still
    // open (the cursor's xmin rule): heal() trusts pulls that ran alone.
    e.ranAlone = !world.liveExecs().some((x) => x !== e && x.beganAt != null);
  }
  world.stats.statements++;
  world.note(`permit ${e.name} ${entry.kind === 'begin' ? 'BEGIN' : describeSql(entry.text)}`);
}

/** A short, stable name for a core statement (its kind and table). */
function describeSql(text) {
  const kind = statementKind(text);
  if (kind === 'upsert') return `upsert ${/INSERT INTO "([^"]+)"/.exec(text)?.[1] ?? ''}`;
  if (kind === 'delete') return `delete ${/UPDATE "([^"]+)"/.exec(text)?.[1] ?? ''}`;
  return kind;
}

async function respond(ctx, e) {
  const { world, frng, plan } = ctx;
  e.delivered = true;
  const { req } = e;
  if (!ctx.healing && frng.chance(plan.drop)) {
    world.fault('drop', `${e.name}'s ${e.response.status} to ${req.id} is lost`);
    world.answer(req, { error: 'fetch failed: socket hang up' });
  } else if (!ctx.healing && frng.chance(plan.http5xxAfter)) {
    world.fault('http5xxAfter', `${e.name}'s ${e.response.status} to ${req.id} becomes a 502`);
    world.answer(req, { response: proxyError(502) });
  } else {
    world.note(`respond ${e.name} ${e.response.status} to ${req.id}`);
    world.answer(req, { response: e.response });
    // What heal() needs to know that this device has seen every commit.
    if (e.response.status === 200 && e.body && e.body.hasMore === false && e.ranAlone) req.device.lastFullPullBegan = e.beganAt;
  }
  if (!ctx.healing && frng.chance(plan.dupSequential)) {
    world.fault('dupSequential', `${req.id} will be delivered again`);
    world.net.push({ ...req, id: `${req.id}+${req.copies}`, orphan: true, settled: true });
  }
}

async function advanceRandom(ctx) {
  const { world } = ctx;
  const next = world.nextTimer();
  let delta = world.sched.pick([5, 40, 200, 1000, 3000]);
  if (next && world.sched.chance(0.5)) delta = Math.max(1, next.at - world.now);
  world.note(`advance ${delta} ms`);
  await world.advance(delta);
}

async function crash(ctx) {
  const { world, frng } = ctx;
  const live = world.liveExecs();
  world.fault('crash', `${world.server.name} dies with ${live.length} requests in flight (${live.map((e) => `${e.name}:${e.state}`).join(', ')})`);
  for (const e of live) {
    e.crashed = true;
    const cur = e.current;
    e.abandon(new SimCrash());
    if (cur && e.pid !== null) world.track(world.env.db.cancel(e.pid));
  }
  world.lockEpoch++;
  // Every connection to the dead process breaks, answered or not.
  for (const e of world.execs) {
    if (e.primary && !e.req.settled && (!e.done || !e.delivered)) world.answer(e.req, { error: 'fetch failed: socket hang up' });
  }
  ctx.serverDownUntil = world.now + frng.range(0, 3000);
  ctx.incarnation++;
  world.server = await world.track(new SimServer(world, ctx.incarnation).boot());
}

async function setOnline(ctx, d, online) {
  if (online) ctx.world.note(`${d.name} back online`);
  else ctx.world.fault('offline', `${d.name} goes offline`);
  d.setOnline(online);
}

async function expire(ctx, d) {
  ctx.world.fault('tokenExpiry', `${d.name}'s token expires`);
  d.expireToken();
}

// --------------------------------------------------------------- healing

/**
 * Stops the faults, brings every device online, then asks every device to
 * sync, over and over, until one whole pass commits nothing and pulls
 * nothing. False when it never gets quiet.
 */
async function heal(ctx) {
  const { world } = ctx;
  ctx.healing = true;
  ctx.serverDownUntil = 0;
  world.note(`heal: faults off (${world.stats.execs} requests so far)`);
  for (const d of world.devices) if (!d.online) d.setOnline(true);
  await world.settle();
  // A device is up to date when its outbox is empty and its last complete
  // pull began after the last batch of any user committed (shared rows and
  // memberships concern other users too).
  const upToDate = (d) => !d.busy() && d.lastFullPullBegan != null && d.lastFullPullBegan > (world.lastCommitDone['*'] ?? -Infinity);
  for (let pass = 0; pass < 12; pass++) {
    // The first passes let the devices sync concurrently; later ones one
    // device at a time, so that every device gets a pull that ran alone.
    const group = world.devices.filter((d) => !upToDate(d));
    for (const batch of pass < 1 ? [group] : group.map((d) => [d])) {
      for (const d of batch) d.sync.syncNow().catch(() => {});
      await world.settle();
      if (!(await drain(ctx))) return false;
    }
    if (world.devices.every(upToDate)) {
      world.note(`heal: quiet after ${pass + 1} passes`);
      return true;
    }
  }
  return false;
}

/** Runs the network and the timers until no device has anything to do. */
async function drain(ctx) {
  const { world } = ctx;
  for (let i = 0; i < 1500; i++) {
    const list = actions(ctx, 'heal').filter((a) => a[1] !== 'advance');
    if (list.length) {
      await step(ctx, 'heal', list);
      continue;
    }
    if (world.devices.some((d) => d.busy())) {
      const next = world.nextTimer();
      if (!next) return false;
      await world.advance(Math.max(1, next.at - world.now));
      await world.settle();
      continue;
    }
    return true;
  }
  return false;
}

/** Ends the seed: no request left in PostgreSQL, every device closed. */
async function shutdown(ctx) {
  const { world } = ctx;
  try {
    // Let anything still in flight finish, then abort what waits for a permit.
    for (const e of world.liveExecs()) {
      e.crashed = true;
      const cur = e.current;
      e.abandon(new SimCrash());
      if (cur && e.pid !== null) world.track(world.env.db.cancel(e.pid));
    }
    await world.settle();
  } catch (e) {
    world.note(`shutdown: ${e.message}`);
  }
  for (const d of world.devices) await d.close();
  world.timers.clear();
}
