// The oracle's view of who may read and write shared rows. The rules come
// from the core's one rule table (`schema.access`, core/schema/access.h);
// this file only knows the order of roles and how to replay membership.
//
// Membership at commit time. A batch commits in one transaction whose
// statements each see what had committed when they started (READ
// COMMITTED). The scheduler permits one statement per step, every step
// advances virtual time, and the world settles between steps, so a
// statement permitted at time t sees exactly the batches that finished
// before t. A batch's statements run between its BEGIN (beganAt) and its end
// (doneAt): the membership it was judged by is one of the states "every
// other batch done before t" for t in [beganAt, doneAt], plus its own
// earlier statements (merges go in schema table order, upserts before
// deletes; a change merged again after a `race` sees the whole batch). The
// checker asks: an applied change was allowed in at least one of those
// states, a refused (`forbidden`) one was refused in at least one.

/** Roles from least to most; each grants what the ones before it do. */
export const ROLE_ORDER = ['read', 'write', 'admin'];
const rank = (r) => ROLE_ORDER.indexOf(r);

/** One membership state: scope key -> (user -> role), and the root rows that exist. */
class State {
  constructor(from) {
    this.members = new Map();
    this.roots = new Set(from?.roots ?? []);
    if (from) for (const [k, m] of from.members) this.members.set(k, new Map(m));
  }

  role(scope, user) {
    return this.members.get(scope)?.get(user) ?? null;
  }

  apply(effect) {
    if (effect.kind === 'root') {
      this.roots.add(effect.scope);
      return;
    }
    if (!this.members.has(effect.scope)) this.members.set(effect.scope, new Map());
    if (effect.role === null) this.members.get(effect.scope).delete(effect.user);
    else this.members.get(effect.scope).set(effect.user, effect.role);
  }

  liveMembers(scope) {
    return this.members.get(scope)?.size ?? 0;
  }
}

/** The access model of a normalized schema and the `schema.access` rules. */
export class AccessModel {
  constructor(schema, rules) {
    this.schema = schema;
    this.rules = rules;
    this.tables = new Map(schema.tables.map((t, i) => [t.name, { ...t, index: i }]));
    this.scopes = new Map((schema.scopes ?? []).map((s) => [s.name, s]));
  }

  kind(table) {
    return this.tables.get(table)?.access ?? 'owner';
  }

  isShared(table) {
    return this.kind(table) !== 'owner';
  }

  scopeDef(table) {
    const t = this.tables.get(table);
    return t?.scope ? this.scopes.get(t.scope.name) : null;
  }

  /** The scope key of a row of a shared table (root: its key). */
  scopeOf(table, row) {
    const t = this.tables.get(table);
    const col = t.scope?.column ?? t.primaryKey[0];
    return row?.[col] ?? null;
  }

  /** The user a membership row names. */
  memberUser(table, row) {
    return row?.[this.scopeDef(table).members.user] ?? null;
  }

  /** Whether `user` may pull server row `row` of `table`, given the final `state`. */
  mayRead(table, row, owner, user, state) {
    const kind = this.kind(table);
    if (kind === 'owner') return owner === user;
    const r = state.role(this.scopeOf(table, row), user);
    if (r !== null && rank(r) >= rank(this.rules[kind].read)) return true;
    return kind === 'members' && this.memberUser(table, row) === user;
  }

  /**
   * Whether `user` may make change `op` ('upsert' | 'delete') to a row of
   * shared `table` in `scope` (row: the change's row, for the leave rule).
   */
  mayWrite(table, op, row, scope, user, state) {
    const kind = this.kind(table);
    const rule = this.rules[kind];
    const need = op === 'delete' ? rule.delete : rule.write;
    const r = state.role(scope, user);
    if (r !== null && rank(r) >= rank(need)) return true;
    if (op === 'delete' && rule.mayLeave && this.memberUser(table, row) === user) return true;
    // A root row of a scope nobody belongs to creates it (not once the root row exists).
    if (op !== 'delete' && rule.createsScope && !state.roots.has(scope) && state.liveMembers(scope) === 0) return true;
    return false;
  }

  /** The final membership state: the server's live membership rows. */
  finalState(server) {
    const st = new State();
    for (const t of this.schema.tables) {
      if (t.access === 'root') for (const [, s] of server[t.name]) st.roots.add(this.scopeOf(t.name, s.row));
      if (t.access !== 'members') continue;
      const def = this.scopeDef(t.name);
      for (const [, s] of server[t.name]) {
        if (!s.deleted) st.apply({ kind: 'member', scope: s.row[def.members.scope], user: s.row[def.members.user], role: s.row[def.members.role] });
      }
    }
    return st;
  }

  /**
   * The membership effects of one committed batch, in the order its merge
   * statements run: (table index, upserts before deletes). Each effect is
   * tagged with that position. `created` maps root keys to the version of
   * their first write (the insert whose trigger made its writer admin).
   */
  effectsOf(c, created) {
    const out = [];
    c.changes.forEach((ch, i) => {
      const r = c.results[i];
      const kind = this.kind(ch.table);
      if (kind !== 'root' && kind !== 'members') return;
      if (r.status !== 'applied' || r.version === null || r.version === undefined) return;
      const pos = this.position(ch.table, ch.op);
      if (kind === 'root') {
        const scope = this.scopeOf(ch.table, ch.row);
        if (ch.op === 'upsert' && created.get(`${scope}`) === Number(r.version)) {
          out.push({ pos, kind: 'root', scope });
          out.push({ pos, kind: 'member', scope, user: c.device.user, role: 'admin' });
        }
        return;
      }
      const def = this.scopeDef(ch.table).members;
      out.push({ pos, kind: 'member', scope: ch.row[def.scope], user: ch.row[def.user], role: ch.op === 'delete' ? null : ch.row[def.role] });
    });
    return out.sort((a, b) => a.pos - b.pos);
  }

  /** A merge statement's place in a batch: schema table order, upserts first. */
  position(table, op) {
    return this.tables.get(table).index * 2 + (op === 'delete' ? 1 : 0);
  }
}

/**
 * Replays the committed log: `statesFor(c, table, op)` gives the membership
 * states a change of committed batch `c` may have been judged by.
 */
export class MembershipTimeline {
  constructor(model, committed) {
    this.model = model;
    // The first write of each root key: the insert (a sync write always).
    this.created = new Map();
    for (const c of committed) {
      c.changes.forEach((ch, i) => {
        const r = c.results[i];
        if (model.kind(ch.table) !== 'root' || ch.op !== 'upsert' || r.status !== 'applied' || r.version === null || r.version === undefined) return;
        const k = `${model.scopeOf(ch.table, ch.row)}`;
        if (!this.created.has(k) || Number(r.version) < this.created.get(k)) this.created.set(k, Number(r.version));
      });
    }
    this.commits = committed.map((c) => ({ c, effects: model.effectsOf(c, this.created) }))
      .sort((a, b) => a.c.doneAt - b.c.doneAt || Number(a.c.exec.slice(1)) - Number(b.c.exec.slice(1)));
    this.memo = new Map();
  }

  /** The states other batches left at each t in [beganAt, doneAt] (without `c`). */
  windowStates(c) {
    if (this.memo.has(c)) return this.memo.get(c);
    const st = new State();
    let i = 0;
    const others = this.commits.filter((x) => x.c !== c);
    for (; i < others.length && others[i].c.doneAt < c.beganAt; i++) for (const e of others[i].effects) st.apply(e);
    const out = [new State(st)];
    while (i < others.length && others[i].c.doneAt < c.doneAt) {
      const at = others[i].c.doneAt;
      for (; i < others.length && others[i].c.doneAt === at; i++) for (const e of others[i].effects) st.apply(e);
      out.push(new State(st));
    }
    this.memo.set(c, out);
    return out;
  }

  /** Every state a change to `table` by `op` in batch `c` may have been judged by. */
  statesFor(c, table, op) {
    const own = this.commits.find((x) => x.c === c)?.effects ?? [];
    const pos = this.model.position(table, op);
    const before = own.filter((e) => e.pos < pos);
    const out = [];
    for (const base of this.windowStates(c)) {
      const a = new State(base);
      for (const e of before) a.apply(e);
      out.push(a);
      // Merged again after a `race`: the whole first pass is visible.
      const b = new State(a);
      for (const e of own) if (e.pos >= pos) b.apply(e);
      out.push(b);
    }
    return out;
  }
}
