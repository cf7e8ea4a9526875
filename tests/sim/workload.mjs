// The workload: what the apps on the devices write. Inserts, updates and
// deletes over a small key space per table that every device of every user
// shares — so a user's devices edit the same rows, and users collide on keys
// (the second owner must be refused `forbidden` and rolled back). Writes go
// through plain SQL on the app's database, exactly as an app would write:
// the triggers record them.

/** Primary keys each table draws from (in primary-key column order). */
export const KEYS = {
  docs: [['a'], ['b'], ['c'], ['d']],
  boardCards: [['x', 1], ['x', 2], ['y', 1]],
  tasks: [['t1'], ['t2'], ['t3']],
  prefs: [['ui', 'theme'], ['ui', 'lang'], ['net', 'mode']],
  ledger: [[1], [2], [3]],
};

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
  constructor(schema, rng, { writes }) {
    this.schema = schema;
    this.rng = rng;
    this.remaining = writes;
    this.count = 0;
    this.log = []; // every write: {n, device, table, pk, op}
  }

  get done() {
    return this.remaining <= 0;
  }

  /** One write (sometimes a short burst on one key) by `device`. */
  write(device) {
    const { rng } = this;
    const table = rng.pick(this.schema.tables);
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

  one(device, table, pk) {
    const { rng } = this;
    const tag = `w${++this.count}`;
    const pkCols = table.primaryKey.map((n) => table.columns.find((c) => c.name === n));
    const where = pkCols.map((c) => `${q(c.name)} = ?`).join(' AND ');
    const exists = device.db.selectValue(`SELECT count(*) FROM ${q(table.name)} WHERE ${where}`, pk) > 0;
    let op;
    if (!exists) op = 'insert';
    else op = rng.chance(0.35) ? 'delete' : 'update';
    const others = table.columns.filter((c) => !table.primaryKey.includes(c.name) && c.name !== table.owner);
    if (op === 'insert') {
      const cols = [...pkCols, table.columns.find((c) => c.name === table.owner), ...others];
      const vals = [...pk, device.user, ...others.map((c) => sqlValue(c, columnValue(rng, c, tag)))];
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
}
