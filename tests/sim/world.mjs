// The simulated world of one seed: virtual time and its timers, the network
// between the devices and the server, the requests the server is working on
// (execs), and the scheduler that picks, with the seed's PRNG, what happens
// next — a local write, a timer, a request delivered, one SQL statement of one
// request let through to PostgreSQL, a response delivered, a fault.
//
// Determinism: between two scheduler steps the world *settles* — every
// promise the world tracks has resolved, every client-side continuation has
// run, and every request in the server is either waiting for a permit from the
// scheduler, blocked on a PostgreSQL lock (checked with pg_blocking_pids,
// stable for longer than the deadlock timeout) or finished. Only then is the
// next action chosen, from a list sorted by stable names, never by arrival
// order. So a seed replays the same actions, the same statement interleaving
// and the same outcomes.
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';

/** Virtual time starts here (2026-01-01T00:00:00Z) in every seed. */
export const EPOCH = 1767225600000;
const BLOCK_STABLE_MS = 4; // > deadlock_timeout (1 ms): a lock cycle is broken before we trust a wait
const CLASSIFY_AFTER_MS = 8; // a statement still running after this is checked for a lock wait
const SETTLE_LIMIT_MS = 20000; // real ms one settle may take before the seed is declared stuck

const macrotask = () => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** What a core statement does: a whole sync request (or sql). */
export function statementKind(text) {
  if (/^SELECT edgesync_[0-9a-f]+_sync\(/.test(text)) return 'sync';
  if (/pg_snapshot_xmin/.test(text)) return 'pull';
  if (/INSERT INTO "edgesync_clients"/.test(text)) return 'claim';
  if (/edgesync_conflicts/.test(text)) return 'conflicts';
  if (/last_seq = \$2/.test(text)) return 'record';
  if (/"_es_deleted" = true/.test(text)) return 'delete';
  if (/jsonb_to_recordset/.test(text)) return 'upsert';
  return 'sql';
}

/** Thrown into the statements of a request when the server crashes. */
export class SimCrash extends Error {
  constructor() {
    super('simulated server crash');
    this.name = 'SimCrash';
  }
}

/** True when the wait-for graph (pid -> pids it waits for) has a cycle. */
function hasCycle(map) {
  const state = new Map();
  const visit = (p) => {
    if (state.get(p) === 1) return true;
    if (state.get(p) === 2) return false;
    state.set(p, 1);
    for (const q of map.get(p) ?? []) if (visit(q)) return true;
    state.set(p, 2);
    return false;
  };
  for (const p of map.keys()) if (visit(p)) return true;
  return false;
}

/** One run of the real handler for one copy of a request. */
export class Exec {
  constructor(world, req, primary) {
    this.world = world;
    this.id = ++world.execSeq;
    this.name = `e${this.id}`;
    this.req = req;
    this.primary = primary; // its response goes to the client (if the client still waits)
    this.queue = []; // waiting for a permit: {kind: 'begin'|'stmt', go, fail}
    this.current = null; // the statement in PostgreSQL now
    this.pid = null;
    this.done = false;
    this.crashed = false;
    this.response = null; // {status, headers, bytes}
    this.serverNow = world.now;
    this.stmts = 0;
    // The rows this request's statements lock: its client id (claim, record)
    // and the keys of its changes (merges).
    let body = null;
    try { body = req.body ? JSON.parse(new TextDecoder().decode(req.body)) : null; } catch { /* not JSON */ }
    this.clientKey = `client:${body?.clientId ?? ''}`;
    const tables = new Map(world.env.normalized.tables.map((t) => [t.name, t]));
    this.rowKeys = (body?.batch?.changes ?? []).map((c) => {
      const t = tables.get(c.table);
      return `row:${c.table}:${JSON.stringify(t ? t.primaryKey.map((k) => c.row?.[k]) : c.row)}`;
    });
  }

  /** The row locks a statement of this exec may wait for. */
  lockKeys(text) {
    const kind = statementKind(text);
    if (kind === 'sync') return [this.clientKey, ...this.rowKeys];
    if (kind === 'claim' || kind === 'record') return [this.clientKey];
    if (kind === 'upsert' || kind === 'delete' || kind === 'sql') return this.rowKeys;
    return [];
  }

  get state() {
    if (this.done) return 'done';
    if (this.current) return this.current.blocked ? 'blocked' : 'executing';
    if (this.queue.length) return 'gated';
    return 'running';
  }

  /** Waits for the scheduler's permit (used for BEGIN). */
  permit(kind) {
    if (this.crashed) return Promise.reject(new SimCrash());
    return new Promise((resolve, reject) => {
      this.queue.push({ kind, go: resolve, fail: reject });
      this.world.bump();
    });
  }

  /** Runs one statement once the scheduler permits it. */
  statement(text, run) {
    if (this.crashed) return Promise.reject(new SimCrash());
    return new Promise((resolve, reject) => {
      const entry = { kind: 'stmt', text, blocked: false, sig: null, sigAt: 0, fail: reject };
      entry.go = () => {
        this.current = entry;
        this.stmts++;
        let p;
        try {
          p = run();
        } catch (e) {
          this.current = null;
          reject(e);
          return;
        }
        Promise.resolve(p).then((v) => {
          this.current = null;
          this.world.bump();
          resolve(v);
        }, (e) => {
          this.current = null;
          this.world.bump();
          reject(e);
        });
      };
      this.queue.push(entry);
      this.world.bump();
    });
  }

  /** The scheduler's permit for the next waiting step. */
  step() {
    const e = this.queue.shift();
    e.go();
    return e;
  }

  /** Statements still queued after their transaction ended never run (PostgreSQL would refuse them). */
  abandon(err) {
    const q = this.queue;
    this.queue = [];
    for (const e of q) e.fail(err);
  }
}

/**
 * The world of one seed. `env` holds what outlives seeds (PostgreSQL, the
 * compiled cores); `opts` the seed's knobs.
 */
export class World {
  constructor(env, { seed, rng, verbose = false, log = console.log }) {
    this.env = env;
    this.seed = seed;
    this.rng = rng;
    this.sched = rng.fork('scheduler');
    this.verbose = verbose;
    this.log = log;
    this.now = EPOCH;
    this.timers = new Map(); // id -> {id, at, fn, owner}
    this.timerSeq = 0;
    this.tracked = new Set();
    this.execs = [];
    this.execSeq = 0;
    this.net = []; // requests in the network, not yet at the server
    this.devices = [];
    this.server = null;
    this.execStore = new AsyncLocalStorage();
    this.trace = [];
    this.deferred = [];
    this.hash = createHash('sha256');
    this.stats = { steps: 0, writes: 0, requests: 0, execs: 0, statements: 0, faults: 0, faultKinds: {} };
    this.committed = []; // server-side log: committed batches (see recordExec)
    this.lastCommitDone = {}; // user -> virtual time of the last batch committed
    this.responses = []; // every exec's outcome
    this.serverErrors = []; // 5xx answers not caused by an injected crash
    this.serverLog = []; // the handler's logger.error lines: {exec, text}
    this._changed = null;
    this._changedResolve = null;
    this.lockEpoch = 0; // bumped whenever a transaction may have ended
    this.verifiedEpoch = -1;
  }

  // ------------------------------------------------------------- tracing

  /** Adds a line to the trace (hashed; printed when verbose). */
  note(line) {
    const text = `[${String(this.now - EPOCH).padStart(7)}] ${line}`;
    this.hash.update(text + '\n');
    this.trace.push(text);
    if (this.trace.length > 4000) this.trace.shift();
    if (this.verbose) this.log(text);
  }

  deferNote(order, line) {
    this.deferred.push({ order, line });
  }

  flushNotes() {
    const d = this.deferred.sort((a, b) => a.order - b.order);
    this.deferred = [];
    for (const { line } of d) this.note(line);
  }

  fault(kind, line) {
    this.stats.faults++;
    this.stats.faultKinds[kind] = (this.stats.faultKinds[kind] ?? 0) + 1;
    this.note(`FAULT ${kind}: ${line}`);
  }

  // ------------------------------------------------------------ settling

  /** Wakes a settle() waiting for any change. */
  bump() {
    const r = this._changedResolve;
    this._changed = null;
    this._changedResolve = null;
    r?.();
  }

  changed() {
    if (!this._changed) this._changed = new Promise((resolve) => { this._changedResolve = resolve; });
    return this._changed;
  }

  /** Settle waits for `p` (host-side async work such as minting a token). */
  track(p) {
    const t = Promise.resolve(p).finally(() => { this.tracked.delete(t); this.bump(); });
    t.catch(() => {});
    this.tracked.add(t);
    return p;
  }

  /**
   * Returns once nothing moves by itself any more: every tracked promise has
   * settled, every client continuation has run, every exec waits for a permit,
   * is blocked on a lock (the same blockers for longer than the deadlock
   * timeout) or is done.
   */
  async settle() {
    await this.settleInner();
    this.flushNotes();
  }

  async settleInner() {
    const started = Date.now();
    for (;;) {
      await macrotask();
      if (Date.now() - started > SETTLE_LIMIT_MS) {
        const live = this.liveExecs();
        throw new Error(`the world did not settle: ${this.tracked.size} tracked; ${live.map((e) => `${e.name}:${e.state}${e.current ? ` ${e.current.text.slice(0, 60)}` : ''}`).join(', ')}`);
      }
      if (this.tracked.size) {
        await Promise.race([Promise.allSettled([...this.tracked]), sleep(50)]);
        continue;
      }
      const live = this.liveExecs();
      if (live.some((e) => e.state === 'running')) {
        // The handler is doing its own async work (token check, BEGIN, COMMIT).
        await Promise.race([this.changed(), sleep(5)]);
        continue;
      }
      const inPg = live.filter((e) => e.current);
      if (!inPg.length) return; // every exec waits for a permit or is done
      // Locks are released only when a transaction ends: statements known to
      // be blocked stay blocked until an exec finishes (or a crash cancels).
      if (inPg.every((e) => e.current.blocked) && this.lockEpoch === this.verifiedEpoch) return;
      // Most statements finish in a few ms: wait for that before asking
      // PostgreSQL whether one is blocked.
      if (inPg.some((e) => !e.current.blocked)) await Promise.race([this.changed(), sleep(CLASSIFY_AFTER_MS)]);
      if (this.liveExecs().some((e) => e.state === 'running')) continue;
      const epoch = this.lockEpoch;
      if (await this.classify()) {
        this.verifiedEpoch = epoch;
        return;
      }
    }
  }

  /**
   * Asks PostgreSQL which statements wait for a lock. True when every
   * statement in PostgreSQL has waited for the same blockers for longer than
   * the deadlock timeout (so a lock cycle would already have been broken).
   */
  async classify() {
    const inPg = this.liveExecs().filter((e) => e.current && e.pid !== null);
    if (!inPg.length) return false;
    if (this.liveExecs().some((e) => e.state === 'running')) return false;
    const map = await this.env.db.blockers(inPg.map((e) => e.pid));
    const t = performance.now();
    let stable = true;
    for (const e of inPg) {
      const cur = e.current;
      if (!cur) { stable = false; continue; }
      const b = map.get(e.pid) ?? [];
      if (!b.length) {
        cur.blocked = false;
        cur.sig = null;
        stable = false;
        continue;
      }
      cur.blockers = b;
      const sig = b.slice().sort((x, y) => x - y).join(',');
      if (sig !== cur.sig) {
        cur.sig = sig;
        cur.sigAt = t;
        cur.blocked = false;
        stable = false;
      } else if (t - cur.sigAt >= BLOCK_STABLE_MS) {
        cur.blocked = true;
      } else {
        stable = false;
      }
    }
    // A lock cycle is PostgreSQL's to break (deadlock_timeout): not stable yet.
    if (stable && hasCycle(map)) stable = false;
    if (!stable) await Promise.race([this.changed(), sleep(BLOCK_STABLE_MS)]);
    return stable && this.liveExecs().every((e) => e.state !== 'running' && (!e.current || e.current.blocked));
  }

  // ---------------------------------------------------------------- time

  /** Timer service handed to createSync (virtual time). */
  timersFor(owner) {
    return {
      set: (fn, ms) => {
        const id = ++this.timerSeq;
        this.timers.set(id, { id, at: this.now + Math.max(0, Number(ms) || 0), fn, owner });
        return id;
      },
      clear: (id) => { if (id !== null && id !== undefined) this.timers.delete(id); },
    };
  }

  nextTimer() {
    let best = null;
    for (const t of this.timers.values()) if (!best || t.at < best.at || (t.at === best.at && t.id < best.id)) best = t;
    return best;
  }

  /** Moves virtual time forward by `ms`, firing due timers in order. */
  async advance(ms) {
    const target = this.now + ms;
    for (;;) {
      const t = this.nextTimer();
      if (!t || t.at > target) break;
      this.timers.delete(t.id);
      this.now = Math.max(this.now, t.at);
      this.note(`timer ${t.owner.name}`);
      t.fn();
      await this.settle();
    }
    this.now = target;
  }

  // ------------------------------------------------------------- network

  /** The `fetch` a device's createSync uses. */
  fetchFor(device) {
    return (url, init = {}) => new Promise((resolve, reject) => {
      const req = {
        id: `${device.name}#${++device.reqSeq}`, device, url: String(url), method: init.method ?? 'POST',
        headers: { ...(init.headers ?? {}) }, body: init.body ? new Uint8Array(init.body) : null,
        resolve, reject, settled: false, clientGone: false, orphan: false, copies: 0,
      };
      this.stats.requests++;
      if (!device.online) {
        this.note(`${req.id} refused: ${device.name} is offline`);
        this.answer(req, { error: 'fetch failed: the device is offline' });
        return;
      }
      init.signal?.addEventListener('abort', () => {
        if (req.settled) return;
        req.clientGone = true;
        this.note(`${req.id} aborted by the client`);
        this.answer(req, { abort: true });
      });
      this.net.push(req);
      this.note(`${req.id} sent`);
      this.bump();
    });
  }

  /** Settles the client's fetch once: a Response, a network error or an abort. */
  answer(req, { response, error, abort }) {
    if (req.settled) return;
    req.settled = true;
    if (abort) {
      req.reject(new DOMException('The operation was aborted.', 'AbortError'));
    } else if (error) {
      req.reject(new TypeError(error));
    } else {
      req.resolve(new Response(response.bytes, { status: response.status, headers: response.headers }));
    }
  }

  /** Starts the real handler on one copy of `req`. */
  startExec(req, primary) {
    const exec = new Exec(this, req, primary);
    req.copies++;
    this.execs.push(exec);
    this.stats.execs++;
    const server = this.server;
    exec.server = server;
    const request = new Request(req.url, { method: req.method, headers: req.headers, body: req.body });
    const run = this.execStore.run(exec, () => server.handler(request));
    const finished = (async () => {
      let response;
      try {
        const res = await run;
        response = { status: res.status, headers: Object.fromEntries(res.headers), bytes: new Uint8Array(await res.arrayBuffer()) };
      } catch (e) {
        response = { status: 599, headers: {}, bytes: new TextEncoder().encode(String(e?.stack ?? e)) };
      }
      exec.abandon(new SimCrash());
      exec.response = response;
      exec.done = true;
      this.lockEpoch++; // its transaction is over: its locks are free
      this.recordExec(exec);
      this.bump();
    })();
    // Not tracked: the exec's own state says whether it can still move.
    finished.catch((e) => this.note(`${exec.name} host error ${e?.message ?? e}`));
    return exec;
  }

  /** The server-side log: what each exec answered, and what committed. */
  recordExec(exec) {
    const { response, req } = exec;
    let body = null;
    try { body = JSON.parse(new TextDecoder().decode(response.bytes)); } catch { /* not JSON */ }
    let request = null;
    try { request = req.body ? JSON.parse(new TextDecoder().decode(req.body)) : null; } catch { /* not JSON */ }
    // beganAt..doneAt: the virtual times of its BEGIN and of its end; a
    // statement permitted at time t sees exactly the commits done before t
    // (the world settles between steps, and every step advances time).
    const entry = { exec: exec.name, req: req.id, device: req.device, status: response.status, body, request, crashed: exec.crashed,
      serverNow: exec.serverNow, beganAt: exec.beganAt, doneAt: this.now };
    this.responses.push(entry);
    const n = request?.batch?.changes?.length ?? 0;
    const results = body?.results ? body.results.map((r) => `${r.status}${r.reason ? `/${r.reason}` : ''}`).join(',') : '';
    // Execs killed by a crash wind down in whatever order PostgreSQL rolls
    // them back: the crash itself is in the trace, their ends are not.
    // Execs that finish during the same settle may finish in any order: their
    // lines wait for the end of the settle and go in exec order.
    if (!exec.crashed) this.deferNote(exec.id, `${exec.name} (${req.id}${exec.primary ? '' : ' copy'}) answered ${response.status}`
      + `${body?.ack ? ` ack ${body.ack.seq}${body.ack.duplicate ? ' dup' : ''}` : ''}${n ? ` [${results}]` : ''}`
      + `${body?.changes?.length ? ` +${body.changes.length} pulled` : ''}${body?.error ? ` ${body.error.code}` : ''}`);
    exec.body = body;
    if (response.status === 200 && body?.ack && !body.ack.duplicate && !exec.crashed) {
      this.committed.push({ ...entry, changes: request.batch.changes, results: body.results });
      this.lastCommitDone[req.device.user] = this.now;
      this.lastCommitDone['*'] = this.now; // shared rows: any user's commit may concern every user
    }
    if (response.status >= 500 && !exec.crashed) {
      const log = this.serverLog.filter((l) => l.exec === exec.name).map((l) => l.text).join(' | ');
      this.serverErrors.push({ exec: exec.name, status: response.status, message: body?.error?.message ?? '', log });
    }
  }

  // -------------------------------------------------------------- helpers

  /** The live (not done) execs, oldest first. */
  liveExecs() {
    return this.execs.filter((e) => !e.done);
  }

  /** Forgets finished execs whose response is delivered or discarded. */
  prune() {
    this.execs = this.execs.filter((e) => !e.done || (e.primary && !e.delivered && !e.req.settled));
  }

  /** A digest of the run: the trace so far. */
  digest() {
    return this.hash.copy().digest('hex').slice(0, 16);
  }
}
