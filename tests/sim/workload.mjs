// The workload: what the apps on the devices write. Inserts, updates and
// deletes over a small key space per table that every device of every user
// shares — so a user's devices edit the same rows, and users collide on keys
// (the second owner must be refused `forbidden` and rolled back). Writes go
// through plain SQL on the app's database, exactly as an app would write:
// the triggers record them.
//
// Shared data (the `project` scope): users create projects, admins add
// members with random roles, change roles and remove members, members leave,
// and everyone writes the rows of projects they know of — and now and then
// of one they do not, or in a way their role does not allow: the server must
// refuse exactly those (the checker asks `schema.access`), and the device
// must roll them back.

/** Primary keys each table draws from (in primary-key column order). */
export const KEYS = {
  docs: [['a'], ['b'], ['c'], ['d']],
  boardCards: [['x', 1], ['x', 2], ['y', 1]],
  tasks: [['t1'], ['t2'], ['t3']],
  prefs: [['ui', 'theme'], ['ui', 'lang'], ['net', 'mode']],
  ledger: [[1], [2], [3]],
};

/** Project ids every user draws from (two users may create the same one). */
export const PROJECTS = ['p1', 'p2', 'p3'];
/** Per project, the keys of each scoped table (the key names its project). */
const SCOPED_KEYS = { nodes: ['n1', 'n2'], comments: ['c1', 'c2'] };
const ROLES = ['read', 'write', 'admin'];

const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'kappa', 'omega'];

/** A JSON value: nested, with keys in an arbitrary order, sometimes null. */
function jsonValue(rng, tag) {
  switch (rng.int(5)) {
    case 0: return null;
    case 1: return { tag, n: rng.int(50), list: [rng.int(9), rng.pick(WORDS), true] };
    case 2: return [tag, { z: rng.int(9), a: [null, 1.5] }];
    case 3: return { b: { c: { d: tag } }, a: rng.pick(WORDS) };
    default: return `${tag}-${rng.pick(WORDS)}`;
  }
}

function columnValue(rng, col, tag) {
  if (col.nullable !== false && rng.chance(0.1)) return null;
  switch (col.type) {
    case 'text': return `${tag}.${rng.pick(WORDS)}`;
    case 'integer': return rng.int(1000);
    case 'real': return rng.int(4000) / 8 - 100; // exact in binary
    case 'boolean': return rng.chance(0.5) ? 1 : 0;
    case 'json': return jsonValue(rng, tag);
    default: return tag;
  }
}

const sqlValue = (col, v) => (col.type === 'json' && v !== null ? JSON.stringify(v) : v);
const q = (n) => `"${n}"`;

/** Generates and performs the writes of one seed. */
export class Workload {
  constructor(schema, rng, { writes, shared = 0, users = [] }) {
    this.schema = schema;
    this.rng = rng;
    this.srng = rng.fork('shared');
    this.remaining = writes;
    this.sharedRemaining = shared;
    this.users = users;
    this.count = 0;
    this.log = []; // every write: {n, device, table, pk, op}
    this.owned = schema.tables.filter((t) => t.access === 'owner' || t.access === undefined);
    this.byName = new Map(schema.tables.map((t) => [t.name, t]));
  }

  get done() {
    return this.remaining <= 0 && this.sharedRemaining <= 0;
  }

  /** One write (sometimes a short burst on one key) by `device`. */
  write(device) {
    const { rng } = this;
    const table = rng.pick(this.owned);
    const pk = rng.pick(KEYS[table.name]);
    const burst = rng.chance(0.25) ? rng.range(2, 3) : 1;
    const ops = [];
    const inTx = burst > 1 && rng.chance(0.5);
    if (inTx) device.db.exec('BEGIN');
    try {
      for (let i = 0; i < burst; i++) ops.push(this.one(device, table, pk));
      if (inTx) device.db.exec('COMMIT');
    } catch (e) {
      if (inTx) device.db.exec('ROLLBACK');
      throw e;
    }
    this.remaining--;
    return { table: table.name, pk, ops };
  }

  one(device, table, pk, rng = this.rng) {
    const tag = `w${++this.count}`;
    const pkCols = table.primaryKey.map((n) => table.columns.find((c) => c.name === n));
    const where = pkCols.map((c) => `${q(c.name)} = ?`).join(' AND ');
    const exists = device.db.selectValue(`SELECT count(*) FROM ${q(table.name)} WHERE ${where}`, pk) > 0;
    let op;
    if (!exists) op = 'insert';
    else op = rng.chance(0.35) ? 'delete' : 'update';
    const scopeCol = table.scope?.column;
    const others = table.columns.filter((c) => !table.primaryKey.includes(c.name) && c.name !== table.owner && c.name !== scopeCol);
    if (op === 'insert') {
      const scope = scopeCol ? [table.columns.find((c) => c.name === scopeCol)] : [];
      const cols = [...pkCols, table.columns.find((c) => c.name === table.owner), ...scope, ...others];
      const vals = [...pk, device.user, ...(scopeCol ? [pk[0].split('.')[0]] : []), ...others.map((c) => sqlValue(c, columnValue(rng, c, tag)))];
      device.db.exec({
        sql: `INSERT INTO ${q(table.name)} (${cols.map((c) => q(c.name)).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`,
        bind: vals,
      });
    } else if (op === 'update') {
      // A random non-empty subset of the columns (lww-field merges per column).
      let set = others.filter(() => rng.chance(0.5));
      if (!set.length) set = [rng.pick(others)];
      device.db.exec({
        sql: `UPDATE ${q(table.name)} SET ${set.map((c) => `${q(c.name)} = ?`).join(', ')} WHERE ${where}`,
        bind: [...set.map((c) => sqlValue(c, columnValue(rng, c, tag))), ...pk],
      });
    } else {
      device.db.exec({ sql: `DELETE FROM ${q(table.name)} WHERE ${where}`, bind: pk });
    }
    this.log.push({ n: this.count, device: device.name, table: table.name, pk, op });
    return `${op} ${tag}`;
  }

  // ------------------------------------------------------- shared data

  /** One write to shared data by `device`: a membership change or a row of a project. */
  shared(device) {
    const rng = this.srng;
    this.sharedRemaining--;
    const known = device.db.selectValues('SELECT id FROM projects ORDER BY id');
    const members = (p) => device.db.selectObjects('SELECT userId, role FROM projectMembers WHERE projectId = ? ORDER BY userId', [p]);
    const kind = rng.weighted([[2, 'create'], [1, 'rename'], [0.3, 'drop'], [2.5, 'add'], [1.5, 'role'], [1, 'remove'], [1, 'leave'], [8, 'row']]);
    const unknown = PROJECTS.filter((p) => !known.includes(p));
    // Mostly projects the device holds; sometimes one it does not (a
    // non-member's write, or a device whose pull is behind).
    const pickProject = () => (known.length && rng.chance(0.85) ? rng.pick(known) : rng.pick(PROJECTS));
    const tag = `w${++this.count}`;
    const done = (table, pk, op) => {
      this.log.push({ n: this.count, device: device.name, table, pk, op });
      return { table, pk, ops: [`${op} ${tag}`] };
    };
    if (kind === 'create' && unknown.length) {
      const p = rng.pick(unknown);
      device.db.exec({ sql: 'INSERT INTO projects (id, ownerId, name) VALUES (?, ?, ?)', bind: [p, device.user, `${tag}.${rng.pick(WORDS)}`] });
      return done('projects', [p], 'insert');
    }
    if ((kind === 'rename' || kind === 'drop') && known.length) {
      const p = rng.pick(known);
      if (kind === 'rename') device.db.exec({ sql: 'UPDATE projects SET name = ? WHERE id = ?', bind: [`${tag}.${rng.pick(WORDS)}`, p] });
      else device.db.exec({ sql: 'DELETE FROM projects WHERE id = ?', bind: [p] });
      return done('projects', [p], kind === 'rename' ? 'update' : 'delete');
    }
    if (kind === 'add' || kind === 'role' || kind === 'remove' || kind === 'leave') {
      const p = pickProject();
      const list = members(p);
      const has = (u) => list.some((m) => m.userId === u);
      if (kind === 'leave' && has(device.user)) {
        device.db.exec({ sql: 'DELETE FROM projectMembers WHERE projectId = ? AND userId = ?', bind: [p, device.user] });
        return done('projectMembers', [p, device.user], 'leave');
      }
      const others = list.filter((m) => m.userId !== device.user);
      if (kind === 'remove' && others.length) {
        const u = rng.pick(others).userId;
        device.db.exec({ sql: 'DELETE FROM projectMembers WHERE projectId = ? AND userId = ?', bind: [p, u] });
        return done('projectMembers', [p, u], 'delete');
      }
      // A role change, sometimes of one's own role (promoting oneself is refused).
      if (kind === 'role' && list.length) {
        const m = rng.chance(0.2) ? list.find((x) => x.userId === device.user) ?? rng.pick(list) : rng.pick(list);
        const role = rng.pick(ROLES.filter((r) => r !== m.role));
        device.db.exec({ sql: 'UPDATE projectMembers SET role = ? WHERE projectId = ? AND userId = ?', bind: [role, p, m.userId] });
        return done('projectMembers', [p, m.userId], `role ${role}`);
      }
      const candidates = this.users.filter((u) => !has(u));
      if (candidates.length) {
        const u = rng.pick(candidates);
        const role = rng.pick(ROLES);
        device.db.exec({ sql: 'INSERT INTO projectMembers (projectId, userId, role, addedBy) VALUES (?, ?, ?, ?)', bind: [p, u, role, device.user] });
        return done('projectMembers', [p, u], `add ${role}`);
      }
    }
    // A row of a project: insert, update (a random subset of columns) or delete.
    this.count--;
    const table = this.byName.get(rng.pick(Object.keys(SCOPED_KEYS)));
    const p = pickProject();
    const pk = [`${p}.${rng.pick(SCOPED_KEYS[table.name])}`];
    const ops = [this.one(device, table, pk, rng)];
    return { table: table.name, pk, ops };
  }
}
