// The checks after the faults have healed and every device has synced until
// quiet. Ground truth is PostgreSQL (the rows) and the server-side log of what
// committed (every batch the real handler committed, with its results — the
// simulation sees them even when the response was then lost).
//
// 1. every device's synced tables equal exactly the server's rows its user may
//    read (no missing row, no row of another user or of a scope the user is
//    not (or no longer) a member of, no residue of a rejected change)
// 2. outboxes are empty and no device is stuck in error
// 3. every committed change got a policy-correct outcome: the table's loser
//    outcome or applied; `rejected/forbidden` exactly when the row belongs to
//    another user (owned tables) or when the access rule (`schema.access`)
//    refuses it given the membership at commit time (shared tables, see
//    access.mjs); never `conflict/race`
// 4. no acknowledged write lost: the final row is the applied write with the
//    highest version (client-wins, server-wins, reject-stale, lww), and on lww
//    tables that is also the committed write with the highest (clamped) HLC
// 5. base-version policies apply a change only on top of the version it was
//    based on
// 6. each batch committed at most once; no 500s
// 7. every committed outcome reaches the app that wrote it exactly once
//    (acked / conflict / rejected), lost responses notwithstanding
// 8. the conflict/rejected events the apps saw are policy-correct
import { allowedOutcomes, outcomeOf } from './policies.mjs';
import { AccessModel, MembershipTimeline } from './access.mjs';
import { hlcFloor } from '../harness/sync-http.mjs';

const canon = (v) => {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return `[${v.map(canon).join(',')}]`;
  if (typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canon(v[k])}`).join(',')}}`;
  return JSON.stringify(v);
};

/** A column value in one comparable form, from SQLite, PostgreSQL or the wire. */
function norm(col, v, from) {
  if (v === null || v === undefined) return 'null';
  switch (col.type) {
    case 'boolean': return String(v === true || v === 1 || v === 't' || v === 'true');
    case 'integer': return String(Number(v));
    case 'real': return String(Number(v));
    case 'json':
      if (from === 'sqlite') {
        try { return canon(JSON.parse(v)); } catch { return `!${v}`; }
      }
      return canon(v);
    default: return String(v);
  }
}

const keyOf = (table, row) => JSON.stringify(table.primaryKey.map((n) => row[n]));

/** Reads the server's rows of every table (client names, tombstones included). */
export async function serverRows(admin, schema) {
  const out = {};
  for (const t of schema.tables) {
    // An alias no column can shadow (to_jsonb(x) of a table with a column x is that column).
    const rows = await admin.unsafe(`SELECT to_jsonb(es_sim_row)::text AS r FROM "${t.serverName}" es_sim_row`);
    const map = new Map();
    for (const { r } of rows) {
      const s = JSON.parse(r);
      const row = {};
      for (const c of t.columns) row[c.name] = s[c.serverName];
      map.set(keyOf(t, row), {
        row, owner: s[t.columns.find((c) => c.name === t.owner).serverName], deleted: s._es_deleted,
        version: Number(s._es_version), hlc: s._es_hlc, origin: s._es_origin,
      });
    }
    out[t.name] = map;
  }
  return out;
}

function rowDiff(table, a, aFrom, b, bFrom, skipOwner = false) {
  const diffs = [];
  for (const c of table.columns) {
    if (skipOwner && c.name === table.owner) continue;
    const x = norm(c, a[c.name], aFrom);
    const y = norm(c, b[c.name], bFrom);
    if (x !== y) diffs.push(`${c.name}: ${x} vs ${y}`);
  }
  return diffs;
}

const pad15 = (n) => String(n).padStart(15, '0');

/** The stamp the server stored: a clock too far ahead is clamped to server time + skew. */
export function effectiveHlc(hlc, serverNow, maxSkew) {
  const ms = Number(hlc.slice(0, 15));
  const limit = serverNow + maxSkew;
  return ms > limit ? pad15(limit) + hlc.slice(15) : hlc;
}


/**
 * Runs every check. Returns a list of problems `{kind, detail}` (empty: the
 * seed passed).
 */
export async function check(world, { schema, rules, access, maxSkew }) {
  const problems = [];
  const add = (kind, detail) => problems.push({ kind, detail });
  const tables = new Map(schema.tables.map((t) => [t.name, t]));
  const server = await serverRows(world.env.db.admin, schema);
  const model = new AccessModel(schema, access);
  const finalMembers = model.finalState(server);
  const readable = (t, s, user) => !s.deleted && model.mayRead(t.name, s.row, s.owner, user, finalMembers);

  // --- 1, 2: devices against the server
  for (const d of world.devices) {
    const outbox = d.outboxCount();
    if (outbox) add('outbox-not-empty', `${d.name}: ${outbox} outbox rows left: ${JSON.stringify(d.db.selectObjects('SELECT tbl, pk, op FROM sync_outbox'))}`);
    const st = d.sync.status;
    if (st.state === 'error') add('stuck-in-error', `${d.name}: ${st.lastError?.code}: ${st.lastError?.message}`);
    const rejectedKeys = new Set(d.events.rejected.map((e) => `${e.table} ${JSON.stringify(e.pk)}`));
    for (const t of schema.tables) {
      const srv = server[t.name];
      const local = new Map(d.rows(t.name).map((r) => [keyOf(t, r), r]));
      for (const [k, s] of srv) {
        if (!readable(t, s, d.user)) continue;
        const mine = local.get(k);
        if (!mine) {
          add('device-missing-row', `${d.name} lacks ${t.name} ${k} (server v${s.version}, written by ${s.origin})`);
          continue;
        }
        const diff = rowDiff(t, mine, 'sqlite', s.row, 'pg');
        if (diff.length) {
          const tag = rejectedKeys.has(`${t.name} ${k}`) ? 'rejected-residue' : 'device-row-differs';
          add(tag, `${d.name} ${t.name} ${k} differs from the server (v${s.version} by ${s.origin}): ${diff.join('; ')}`);
        }
      }
      for (const [k] of local) {
        const s = srv.get(k);
        if (s && readable(t, s, d.user)) continue;
        const rejected = rejectedKeys.has(`${t.name} ${k}`);
        if (s && !s.deleted && model.isShared(t.name)) add(rejected ? 'rejected-residue' : 'unreadable-row-on-device', `${d.name} holds ${t.name} ${k} of scope ${model.scopeOf(t.name, s.row)}, which ${d.user} may not read${rejected ? ' (its change was rejected)' : ''}`);
        else if (s && s.owner !== d.user && !model.isShared(t.name)) add(rejected ? 'rejected-residue' : 'foreign-row-on-device', `${d.name} holds ${t.name} ${k}, which belongs to ${s.owner}${rejected ? ' (its change was rejected)' : ''}`);
        else if (s) add(rejected ? 'rejected-residue' : 'device-extra-row', `${d.name} holds ${t.name} ${k}, deleted on the server (v${s.version})`);
        else add(rejected ? 'rejected-residue' : 'device-extra-row', `${d.name} holds ${t.name} ${k}, which the server never had`);
      }
    }
  }

  // --- 3..6: the committed log
  const seqs = new Map();
  const perKey = new Map(); // "table key" -> [{user, change, result, hlc, order}]
  let order = 0;
  for (const c of [...world.committed].sort((a, b) => Number(a.exec.slice(1)) - Number(b.exec.slice(1)))) {
    const id = `${c.device.clientId}#${c.request.batch.seq}`;
    if (seqs.has(id)) add('applied-twice', `batch ${id} committed twice (${seqs.get(id)} and ${c.exec})`);
    seqs.set(id, c.exec);
    c.changes.forEach((ch, i) => {
      const t = tables.get(ch.table);
      const r = c.results[i];
      const k = `${ch.table} ${keyOf(t, ch.row)}`;
      if (!perKey.has(k)) perKey.set(k, []);
      perKey.get(k).push({ user: c.device.user, device: c.device.name, exec: c.exec, change: ch, result: r,
        hlc: effectiveHlc(ch.hlc, c.serverNow, maxSkew), order: order++, batch: c });
    });
  }
  const timeline = new MembershipTimeline(model, world.committed);
  // 3, shared tables: the policy decides among allowed changes; `forbidden`
  // exactly when the access rule refused the change in the membership its
  // batch was judged by (some state of the window, access.mjs).
  const checkAccess = (e, outcome) => {
    const { change: ch, batch: c } = e;
    const t = tables.get(ch.table);
    const noop = ch.op === 'delete' && outcome === 'applied' && (e.result.version === null || e.result.version === undefined);
    if (noop) return; // a delete that found no row writes nothing and needs no role
    const rule = rules[t.conflict];
    if (outcome !== 'rejected/forbidden' && !allowedOutcomes(rule, { foreign: false }).has(outcome)) {
      add(outcome === 'conflict/race' ? 'race-outcome' : 'policy-outcome', `${ch.table} ${keyOf(t, ch.row)}: ${ch.op} by ${e.device} (${e.exec}) answered ${outcome}; the ${t.conflict} policy allows ${[...allowedOutcomes(rule, { foreign: false })].join(', ')} or rejected/forbidden`);
      return;
    }
    // A delete carries only the key: its scope is the stored row's.
    const scope = model.scopeOf(ch.table, ch.op === 'delete' && model.kind(ch.table) === 'scoped' ? server[ch.table].get(keyOf(t, ch.row))?.row : ch.row);
    const states = timeline.statesFor(c, ch.table, ch.op);
    const verdicts = states.map((st) => model.mayWrite(ch.table, ch.op, ch.row, scope, e.user, st));
    const roles = [...new Set(states.map((st) => st.role(scope, e.user) ?? 'none'))].join('/');
    if (outcome === 'rejected/forbidden' && !verdicts.includes(false)) {
      add('access-forbidden-but-allowed', `${ch.table} ${keyOf(t, ch.row)} (scope ${scope}): ${ch.op} by ${e.device} (${e.exec}) answered forbidden, but ${e.user} (role ${roles} during the batch) was allowed in every membership state of its window`);
    } else if (outcome !== 'rejected/forbidden' && !verdicts.includes(true)) {
      add('access-allowed-but-refusable', `${ch.table} ${keyOf(t, ch.row)} (scope ${scope}): ${ch.op} by ${e.device} (${e.exec}) answered ${outcome}, but ${e.user} (role ${roles} during the batch) lacked the needed role in every membership state of its window`);
    }
  };
  // The creator of a scope becomes its admin by a trigger in the root
  // insert's transaction: a write of the membership row the log does not
  // show, stamped with the root row's tick and an empty node (hlcFloor).
  for (const [k, list] of perKey) {
    const tname = k.slice(0, k.indexOf(' '));
    if (model.kind(tname) !== 'root') continue;
    for (const e of list) {
      const scope = model.scopeOf(tname, e.change.row);
      if (e.change.op !== 'upsert' || e.result.status !== 'applied' || timeline.created.get(`${scope}`) !== Number(e.result.version)) continue;
      const mt = schema.tables.find((x) => x.access === 'members' && x.scope?.name === tables.get(tname).scope?.name);
      const def = model.scopeDef(mt.name).members;
      const row = { [def.scope]: scope, [def.user]: e.user, [def.role]: 'admin', [mt.owner]: e.user };
      const mk = `${mt.name} ${keyOf(mt, row)}`;
      if (!perKey.has(mk)) perKey.set(mk, []);
      perKey.get(mk).push({ user: e.user, device: `${e.device} (creator trigger)`, exec: e.exec, change: { op: 'upsert', row }, hlc: hlcFloor(e.hlc), order: e.order,
        result: { status: 'applied', version: e.result.version }, synthetic: true });
    }
  }
  for (const [k, list] of perKey) {
    const tname = k.slice(0, k.indexOf(' '));
    const key = k.slice(k.indexOf(' ') + 1);
    const t = tables.get(tname);
    const rule = rules[t.conflict];
    const s = server[tname].get(key);
    const owner = s?.owner ?? null;
    const shared = model.isShared(tname);
    for (const e of list) {
      const outcome = outcomeOf(e.result);
      if (shared) {
        if (!e.synthetic) checkAccess(e, outcome);
        continue;
      }
      const foreign = owner !== null && e.user !== owner;
      // A delete that found no row (its owner had not written it yet, or not
      // committed) is applied without writing anything: version null.
      const noop = e.change.op === 'delete' && outcome === 'applied' && (e.result.version === null || e.result.version === undefined);
      if (!(foreign && noop) && !allowedOutcomes(rule, { foreign }).has(outcome)) {
        const why = outcome === 'conflict/race' ? 'race-outcome'
          : foreign ? 'cross-user-not-forbidden'
            : outcome === 'rejected/forbidden' ? 'own-row-forbidden' : 'policy-outcome';
        add(why, `${tname} ${key}: ${e.change.op} by ${e.device} (${e.exec}) answered ${outcome}; the ${t.conflict} policy${foreign ? ` (row owned by ${owner})` : ''} allows ${[...allowedOutcomes(rule, { foreign })].join(', ')}`);
      }
    }
    if (!s) continue;
    // Shared rows: every change the access rule let through competes.
    // A delete of a key the server did not have (applied, version null) wrote
    // nothing: on a shared table it leaves no tombstone (docs/protocol.md,
    // limits), so it does not compete.
    const own = shared
      ? list.filter((e) => outcomeOf(e.result) !== 'rejected/forbidden' && !(e.change.op === 'delete' && e.result.status === 'applied' && (e.result.version === null || e.result.version === undefined)))
      : list.filter((e) => e.user === owner);
    if (rule.perField) {
      // lww-field: replaying the written changes in version order with the
      // per-column rule must give the server's row.
      const msg = replayFields(t, own, s);
      if (msg) add('lww-field-merge', `${tname} ${key}: ${msg}`);
      continue;
    }
    // 4: the final row is the applied write with the highest version.
    const applied = own.filter((e) => e.result.status === 'applied' && e.result.version !== null && e.result.version !== undefined);
    if (applied.length) {
      const last = applied.reduce((a, b) => (Number(b.result.version) > Number(a.result.version) ? b : a));
      const lostMsg = expectState(t, s, last);
      if (lostMsg) add('acked-write-lost', `${tname} ${key}: the last applied write (${last.change.op} by ${last.device}, ${last.exec}, v${last.result.version}) is not the server's row: ${lostMsg}`);
    }
    if (rule.accept === 'newer_hlc') {
      // lww: the committed write with the newest (clamped) stamp decides.
      const newest = own.reduce((a, b) => (b.hlc > a.hlc ? b : a), own[0]);
      if (newest) {
        const msg = expectState(t, s, newest);
        if (msg) add('lww-not-newest', `${tname} ${key}: the newest write (${newest.change.op} by ${newest.device}, ${newest.exec}, hlc ${newest.hlc}, answered ${outcomeOf(newest.result)}) is not the server's row: ${msg}`);
      }
    }
    if (rule.accept === 'base_version') {
      // 5: every version was written on top of the one before. Several
      // answers can name one version: its writer, and deletes that found
      // the row already deleted by it (answered `applied` without a write),
      // so a version needs one answer based on the previous version.
      const versions = [...new Set(applied.map((e) => Number(e.result.version)))].sort((a, b) => a - b);
      for (let i = 1; i < versions.length; i++) {
        const group = applied.filter((e) => Number(e.result.version) === versions[i]);
        const writer = group.find((e) => e.change.baseVersion !== null && e.change.baseVersion !== undefined
          && Number(e.change.baseVersion) === versions[i - 1]);
        if (!writer) {
          const cur = group[0];
          const prev = applied.find((e) => Number(e.result.version) === versions[i - 1]);
          add('stale-write-applied', `${tname} ${key}: ${cur.change.op} by ${cur.device} (${cur.exec}) applied as v${cur.result.version} on base ${cur.change.baseVersion}, but v${prev.result.version} (${prev.device}) was there`);
        }
      }
    }
  }

  // --- 6: server errors
  for (const e of world.serverErrors) {
    add(/40P01|deadlock/i.test(e.log) ? 'deadlock' : 'server-error', `${e.exec} answered ${e.status}: ${e.message} ${e.log}`);
  }

  // --- 7: every committed outcome reaches its app exactly once: an `acked`
  // (applied), `conflict` or `rejected` event naming the same row and version,
  // even when the response that carried it was lost (the retry answers it).
  const pkOf = (t, row) => JSON.stringify(t.primaryKey.map((n) => row[n]));
  for (const d of world.devices) {
    const expected = new Map();
    const bump = (m, k) => m.set(k, (m.get(k) ?? 0) + 1);
    for (const c of world.committed) {
      if (c.device !== d) continue;
      c.changes.forEach((ch, i) => {
        const r = c.results[i];
        const t = tables.get(ch.table);
        bump(expected, `${r.status} ${ch.table} ${pkOf(t, ch.row)}${r.status === 'applied' ? ` v${r.version ?? null}` : ''}`);
      });
    }
    const seen = new Map();
    for (const e of d.events.acked ?? []) bump(seen, `applied ${e.table} ${JSON.stringify(e.pk)} v${e.version ?? null}`);
    for (const e of d.events.conflict) bump(seen, `conflict ${e.table} ${JSON.stringify(e.pk)}`);
    for (const e of d.events.rejected) if (e.reason === 'forbidden' || e.reason === 'stale') bump(seen, `rejected ${e.table} ${JSON.stringify(e.pk)}`);
    for (const [k, n] of expected) {
      const m = seen.get(k) ?? 0;
      if (m < n) add('outcome-not-reported', `${d.name}: the server answered ${k} ${n}×, the app was told ${m}×`);
    }
    for (const [k, m] of seen) {
      const n = expected.get(k) ?? 0;
      if (m > n) add('outcome-reported-wrongly', `${d.name}: the app was told ${k} ${m}×, the server answered it ${n}×`);
    }
  }

  // --- 8: events the apps saw
  for (const d of world.devices) {
    for (const e of d.events.conflict) {
      const rule = rules[tables.get(e.table)?.conflict];
      if (!rule || rule.loser !== 'conflict' || e.reason !== rule.reason) {
        add(e.reason === 'race' ? 'race-outcome' : 'event-policy', `${d.name} got conflict/${e.reason} on ${e.table} ${JSON.stringify(e.pk)}; the ${tables.get(e.table)?.conflict} policy answers ${rule?.loser ?? 'nothing'}/${rule?.reason ?? ''}`);
      }
    }
    for (const e of d.events.rejected) {
      const rule = rules[tables.get(e.table)?.conflict];
      const ok = e.reason === 'forbidden' || (rule?.loser === 'rejected' && e.reason === rule.reason);
      if (!ok) add('event-policy', `${d.name} got rejected/${e.reason} on ${e.table} ${JSON.stringify(e.pk)} (${e.code ?? ''} ${e.message ?? ''})`);
    }
  }
  return problems;
}

/** Why the server's row `s` is not the state change `e` wrote ('' when it is). */
function expectState(t, s, e) {
  if (e.change.op === 'delete') return s.deleted ? '' : `expected deleted, found live v${s.version} by ${s.origin}`;
  if (s.deleted) return `expected ${canon(e.change.row)}, found a tombstone v${s.version} by ${s.origin}`;
  const diff = rowDiff(t, e.change.row, 'wire', s.row, 'pg', true);
  return diff.length ? `${diff.join('; ')} (server v${s.version} by ${s.origin})` : '';
}

/**
 * lww-field: the state the written changes (applied, in version order) give
 * under the per-column rule — a change to a live row takes each column it
 * sets whose clock is older than its own; a change to an absent or deleted
 * row writes every column; a delete leaves a tombstone whose clock only
 * rises. '' when it matches the server's row `s`, else why not.
 */
function replayFields(t, own, s) {
  const written = own.filter((e) => e.result.status === 'applied' && e.result.version !== null && e.result.version !== undefined)
    .sort((a, b) => Number(a.result.version) - Number(b.result.version));
  if (!written.length) return '';
  const cols = t.columns.filter((c) => !t.primaryKey.includes(c.name) && c.name !== t.owner);
  let st = null;
  let lastVersion = null;
  for (const e of written) {
    if (Number(e.result.version) === lastVersion) continue; // answered with the row's version, nothing written
    lastVersion = Number(e.result.version);
    const h = e.hlc;
    if (e.change.op === 'delete') {
      st = st ? { ...st, deleted: true, hlc: st.hlc > h ? st.hlc : h } : { deleted: true, hlc: h, fh: {}, row: {} };
      continue;
    }
    if (!st || st.deleted) {
      st = { deleted: false, hlc: h, fh: Object.fromEntries(cols.map((c) => [c.name, h])), row: { ...e.change.row } };
      continue;
    }
    const changed = e.change.changed ?? null;
    for (const c of cols) {
      if (changed && !changed.includes(c.name)) continue;
      if (h > (st.fh[c.name] ?? st.hlc)) {
        st.row[c.name] = e.change.row[c.name];
        st.fh[c.name] = h;
      }
    }
    if (h > st.hlc) st.hlc = h;
  }
  if (st.deleted !== Boolean(s.deleted)) return `replaying the ${written.length} written changes gives ${st.deleted ? 'a tombstone' : 'a live row'}, the server has ${s.deleted ? 'a tombstone' : 'a live row'} (v${s.version})`;
  if (st.deleted) return '';
  const diffs = [];
  for (const c of cols) {
    const x = norm(c, st.row[c.name], 'wire');
    const y = norm(c, s.row[c.name], 'pg');
    if (x !== y) diffs.push(`${c.name}: ${x} (replayed) vs ${y} (server)`);
  }
  return diffs.length ? `per-column merge differs from the server (v${s.version}): ${diffs.join('; ')}` : '';
}
