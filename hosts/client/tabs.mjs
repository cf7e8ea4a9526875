// Tab leadership and cross-tab forwarding (mixed into Sync, see sync.mjs).
//
// Several tabs on one database: only the tab holding the Web Lock
// `edgesync:<dbName>` runs the core (the leader); the others follow its status
// over a BroadcastChannel of the same name and forward their local-change
// notifications, sync-now requests, outbox queries and database requests
// (db.mjs) to it. When the leader goes away the next tab takes over, and the
// followers send it what the previous one never answered. Every tab also holds
// its own lock `edgesync:<dbName>:tab:<id>` while it runs: the leader learns
// from it that a tab with an open transaction went away. Without Web Locks
// (node) it just runs.
import { SyncError, STOPPED } from './status.mjs';
import { rowIsPending, outboxCount, outboxIds } from './sqlite.mjs';
import { defaultRandomHex } from './leader.mjs';

const RPC_TIMEOUT_MS = 15000;

function isMemoryName(name) {
  return !name || name === ':memory:' || name.startsWith('file::memory:');
}

/** Leader election over Web Locks, and the BroadcastChannel protocol between tabs. */
export class SyncTabs {
  _tabsSupport() {
    const t = this._o.tabs;
    if (t === false) return null;
    const locks = t?.locks ?? globalThis.navigator?.locks;
    const Channel = t?.BroadcastChannel ?? globalThis.BroadcastChannel;
    const name = t?.name ?? this._dbName;
    if (!locks?.request || !Channel || isMemoryName(name)) return null;
    return { locks, Channel, name: `edgesync:${name}` };
  }

  async _elect({ locks, Channel, name }) {
    this._tab = defaultRandomHex(this._o.random).slice(0, 12);
    this._tabsInfo = { locks, name };
    // This tab's own lock, held until stop() (or until the tab goes away).
    await new Promise((held) => {
      locks.request(`${name}:tab:${this._tab}`, () => new Promise((release) => {
        this._releaseTabLock = release;
        held();
      })).catch(() => held());
    });
    this._channel = new Channel(name);
    this._channel.onmessage = (e) => this._onMessage(e.data);
    const gen = this._gen;
    // Leads while holding the lock; the lock is released by stop() (or when
    // the tab goes away).
    const lead = async (first, onReady) => {
      if (gen !== this._gen) {
        onReady?.(null); // stopped meanwhile
        return;
      }
      try {
        await this._lead('leader');
      } catch (e) {
        if (first) {
          onReady(e);
          return;
        }
        // Could not open the database or the core: let another tab try.
        this._emit('error', e);
        this._setStatus({ ...STOPPED, state: 'error', lastError: { code: 'start_failed', message: String(e?.message ?? e), status: null, at: this._now() } });
        this._timers.set(() => { if (gen === this._gen) this._queueForLock(locks, name, lead); }, 1000);
        return;
      }
      onReady?.(null);
      await new Promise((resolve) => { this._releaseLock = resolve; });
    };
    const outcome = await new Promise((resolve) => {
      locks.request(name, { ifAvailable: true }, (lock) => {
        if (!lock) {
          resolve({ won: false });
          return null;
        }
        return lead(true, (err) => resolve({ won: true, err }));
      }).catch((err) => resolve({ won: false, err }));
    });
    if (outcome.err) throw outcome.err;
    if (outcome.won) return;
    // Another tab leads: follow it, and queue for the lock.
    this._role = 'follower';
    this._emit('role', 'follower');
    this._setStatus({ ...STOPPED, state: 'syncing' });
    this._post({ t: 'hello' });
    if (this._db) {
      this._installSchema(this._db);
      this._hook(this._db);
    }
    this._queueForLock(locks, name, lead);
  }

  _queueForLock(locks, name, lead) {
    this._lockAbort = new AbortController();
    locks.request(name, { signal: this._lockAbort.signal }, () => lead(false, null))
      .catch(() => { /* aborted by stop() */ });
  }

  _post(msg) {
    if (!this._channel) return;
    try {
      this._channel.postMessage({ ...msg, from: this._tab });
    } catch { /* closed */ }
  }

  // Calls `gone` once the tab `tab` has gone away (its tab lock is free);
  // returns the function that stops watching.
  _watchTab(tab, gone) {
    if (!this._tabsInfo || tab === this._tab) return () => {};
    const ctrl = new AbortController();
    this._tabsInfo.locks.request(`${this._tabsInfo.name}:tab:${tab}`, { signal: ctrl.signal }, () => {
      if (!ctrl.signal.aborted) gone();
    }).catch(() => { /* stopped watching */ });
    return () => ctrl.abort();
  }

  _nextId() {
    return `${this._tab ?? 'local'}:${++this._seq}`;
  }

  _onMessage(msg) {
    if (!msg || typeof msg !== 'object' || !this._running) return;
    if (msg.t === 'tables') {
      // Another tab's commit changed these tables.
      this._invalidate(msg.tables);
      return;
    }
    if (this._role === 'leader') {
      this._serve(msg);
      return;
    }
    if (this._role !== 'follower') return;
    switch (msg.t) {
      case 'status':
        this._setStatus(msg.status);
        break;
      case 'event':
        this._emit(msg.name, msg.data);
        break;
      case 'leader':
        // A new leader: send it what the previous one never answered, and
        // read the watched queries again (writes may have happened between).
        for (const r of this._requests.values()) {
          r.arm?.();
          this._post(r.msg);
        }
        this._post({ t: 'hello' });
        this._rerunWatches();
        break;
      case 'rpc_accepted': {
        // A leader took the request: it answers unless it goes away (then
        // the next leader gets it again), so no timeout any more.
        const r = msg.to === this._tab ? this._requests.get(msg.id) : null;
        if (r) this._timers.clear(r.timer);
        break;
      }
      case 'sync_now_ack': {
        const r = msg.to === this._tab ? this._requests.get(msg.id) : null;
        if (r) {
          this._requests.delete(msg.id);
          r.onAck(msg.status);
        }
        break;
      }
      case 'rpc_result': {
        const r = msg.to === this._tab ? this._requests.get(msg.id) : null;
        if (r) {
          this._requests.delete(msg.id);
          this._timers.clear(r.timer);
          if (msg.ok) r.resolve(msg.value);
          else r.reject(new SyncError({ code: msg.code || 'rpc_failed', message: msg.error }));
        }
        break;
      }
      default:
        break;
    }
  }

  // The leader's side of the tab protocol.
  _serve(msg) {
    switch (msg.t) {
      case 'hello':
        this._post({ t: 'status', status: this._status });
        break;
      case 'local_change':
        this._dispatch({ type: 'local_change' });
        break;
      case 'token_refreshed':
        this.tokenRefreshed();
        break;
      case 'sync_now':
        this._dispatch({ type: 'sync_now' }, [], () => {
          this._post({ t: 'sync_now_ack', id: msg.id, to: msg.from, status: this._status });
        });
        break;
      case 'rpc': {
        this._post({ t: 'rpc_accepted', id: msg.id, to: msg.from });
        const reply = (r) => this._post({ t: 'rpc_result', id: msg.id, to: msg.from, ...r });
        // signOut() answers once the reset is done; database work when its turn comes.
        Promise.resolve().then(() => this._runQuery(msg.m, msg.a, msg.from, msg.id)).then(
          (value) => reply({ ok: true, value }),
          (e) => reply({ ok: false, error: String(e?.message ?? e), code: e?.code }));
        break;
      }
      default:
        break;
    }
  }

  _requestSyncNow(onAck) {
    if (this._handle !== null) {
      this._dispatch({ type: 'sync_now' }, [], () => onAck(this._status));
      return;
    }
    if (this._role === 'follower') {
      const id = `${this._tab}:${++this._seq}`;
      const msg = { t: 'sync_now', id };
      this._requests.set(id, { msg, onAck });
      this._post(msg);
      return;
    }
    onAck(this._status);
  }

  _runQuery(method, args, from = this._tab, id = null) {
    if (!this._db) throw new Error('no database in this tab');
    if (method.startsWith('db.')) return this._runDb(method, args, from, id);
    if (method === 'isPending') return rowIsPending(this._db, args[0], args[1]);
    if (method === 'pendingCount') return outboxCount(this._db);
    if (method === 'outboxIds') return outboxIds(this._db, args[0], args[1], args[2]);
    if (method === 'signOut') return this._resetLocalData();
    if (method === 'inspect') return this._inspectLocal(args[0]);
    throw new Error(`unknown query ${method}`);
  }

  async _query(method, args) {
    if (this._started) await this._started;
    if (this._db) return this._runQuery(method, args);
    if (this._role !== 'follower') throw new SyncError({ code: 'not_started', message: 'call start() first' });
    return this._rpc(method, args);
  }

  // Runs `method` in the leading tab. Fails with code no_leader when no
  // leader took it within RPC_TIMEOUT_MS (then it did not run: a leader
  // answers rpc_accepted before running anything).
  _rpc(method, args, id = this._nextId()) {
    return new Promise((resolve, reject) => {
      const msg = { t: 'rpc', id, m: method, a: args };
      const r = { msg, resolve, reject, timer: null };
      r.arm = () => {
        this._timers.clear(r.timer);
        r.timer = this._timers.set(() => {
          this._requests.delete(id);
          reject(new SyncError({ code: 'no_leader', message: `no tab holding the database took the request within ${RPC_TIMEOUT_MS} ms (it was not run); try again` }));
        }, RPC_TIMEOUT_MS);
      };
      r.arm();
      this._requests.set(id, r);
      this._post(msg);
    });
  }
}
