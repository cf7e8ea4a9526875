// A simulated device: the app's own in-memory database on the official SQLite
// WASM build and the real client (`createSync`: the JS host around the WASM
// client core). Everything it would take from the environment is injected:
// its clock (virtual time plus this device's skew — also the clock the
// triggers stamp HLCs with, through edgesync_now_ms()), its timers, its
// randomness, its network (the world's), its tokens.
import { createSync } from '../../hosts/client/index.mjs';
import { mintToken } from './server.mjs';

/** Virtual lifetime of a token. Long seeds see tokens expire by themselves. */
export const TOKEN_TTL_MS = 90_000;

export class Device {
  constructor(world, { user, index, skew, config, rng }) {
    this.world = world;
    this.user = user;
    this.index = index;
    this.name = `${user}.d${index}`;
    this.clientId = `c_sim_${user}_d${index}`;
    this.skew = skew;
    this.config = config;
    this.rng = rng;
    this.online = true;
    this.reqSeq = 0;
    this.token = null;
    this.events = { acked: [], rejected: [], conflict: [], changes: [], error: [] };
    this.lastStatus = null;
  }

  now() {
    return this.world.now + this.skew;
  }

  async open() {
    const { world } = this;
    const s3 = world.env.sqlite3;
    // A database of an earlier seed, emptied (see close()), or a new one.
    this.db = world.env.devicePool.pop() ?? new s3.oo1.DB(':memory:', 'c');
    const random = () => this.rng.next();
    this.sync = createSync({
      db: this.db, sqlite3: s3, url: 'http://sim.test', schema: world.env.schema,
      core: world.env.clientCore, config: this.config, clientId: this.clientId,
      now: () => this.now(), random, fetch: world.fetchFor(this), timers: world.timersFor(this),
      getToken: (o) => world.track(this.getToken(o)), tabs: false, wire: false,
    });
    this.sync.on('status', (s) => {
      const prev = this.lastStatus;
      this.lastStatus = s;
      if (!prev || prev.state !== s.state || (s.lastError && s.lastError !== prev.lastError)) {
        world.note(`${this.name} status ${s.state} pending ${s.pending}${s.lastError ? ` (${s.lastError.code})` : ''}`);
      }
    });
    // `acked` exists since the per-write acknowledgement (older hosts: absent).
    const known = ['acked', 'rejected', 'conflict', 'changes', 'error'];
    for (const kind of known) {
      try { this.sync.on(kind, () => {}); } catch { continue; }
      this.sync.on(kind, (e) => {
        this.events[kind].push(e);
        if (kind === 'changes') world.note(`${this.name} changes ${e.rows} in ${e.tables?.join(',')}`);
        else if (kind === 'error') world.note(`${this.name} error ${e?.message ?? e}`);
        else if (kind === 'acked') world.note(`${this.name} acked ${e.table} ${JSON.stringify(e.pk)} ${e.op} v${e.version}`);
        else world.note(`${this.name} ${kind} ${e.table} ${JSON.stringify(e.pk)} ${e.op} ${e.reason}`);
      });
    }
    await world.track(this.sync.start());
    return this;
  }

  async getToken({ refresh } = {}) {
    if (!refresh && this.token) return this.token;
    const t = await mintToken(this.user, this.world.now, this.world.now + TOKEN_TTL_MS);
    this.world.note(`${this.name} got a fresh token`);
    this.token = t;
    return t;
  }

  /** Token expiry: the cached token is replaced by one that has expired. */
  expireToken() {
    const { world } = this;
    world.track(mintToken(this.user, world.now - TOKEN_TTL_MS - 10_000, world.now - 10_000).then((t) => { this.token = t; }));
  }

  setOnline(online) {
    this.online = online;
    this.sync.setOnline(online);
  }

  /** Rows of a synced table, as SQLite holds them. */
  rows(table) {
    return this.db.selectObjects(`SELECT * FROM "${table}"`);
  }

  outboxCount() {
    return Number(this.db.selectValue('SELECT count(*) FROM sync_outbox'));
  }

  busy() {
    const s = this.sync.status;
    return s.state !== 'idle' || s.pending > 0 || this.outboxCount() > 0;
  }

  /**
   * Stops the client and gives the database back to the pool, emptied: every
   * table's rows go (AUTOINCREMENT counters too), so the next createSync on
   * it installs the schema into exactly what a new database would hold — at a
   * fraction of the cost of creating the tables again.
   */
  async close() {
    try { await this.sync.stop(); } catch { /* closing */ }
    try {
      const tables = this.db.selectValues("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name LIKE 'sync_%', name");
      this.db.exec('BEGIN');
      for (const t of tables) this.db.exec(`DELETE FROM "${t.replace(/"/g, '""')}"`);
      if (this.db.selectValue("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_sequence'")) this.db.exec('DELETE FROM sqlite_sequence');
      this.db.exec('COMMIT');
      this.world.env.devicePool.push(this.db);
    } catch {
      try { this.db.close(); } catch { /* closed */ }
    }
  }
}
