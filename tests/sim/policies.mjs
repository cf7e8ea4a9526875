// The oracle's view of the conflict policies, in one place. The core is
// getting a single source of truth for each policy's rule (the control op
// `schema.policies`); when the loaded core has it, the oracle reads it from
// there, else it uses the same table written down here.
//
// A rule: `accept` — when a change of the row's owner wins
//   'newer_hlc'    its HLC is newer than the row's (perField: per column)
//   'base_version' the row's version equals the change's baseVersion
//   'always'
// `loser` — what a change that does not win is answered: 'conflict',
// 'rejected' or null (never loses); `reason` the reason that goes with it.

export const FALLBACK_POLICIES = Object.freeze({
  lww: { accept: 'newer_hlc', perField: false, loser: 'conflict', reason: 'older' },
  // Columns merge; only a delete, or an upsert against a newer tombstone, can lose.
  'lww-field': { accept: 'newer_hlc', perField: true, loser: 'conflict', reason: 'older' },
  'server-wins': { accept: 'base_version', perField: false, loser: 'conflict', reason: 'stale' },
  'client-wins': { accept: 'always', perField: false, loser: null, reason: null },
  'reject-stale': { accept: 'base_version', perField: false, loser: 'rejected', reason: 'stale' },
});

/** The policy rules: from the core's `schema.policies` when it has one. */
export function loadPolicies(core) {
  try {
    const p = core.call('schema.policies', {});
    if (p && typeof p === 'object' && p.lww) {
      const out = {};
      for (const [name, rule] of Object.entries(FALLBACK_POLICIES)) {
        const r = p[name] ?? {};
        out[name] = { ...rule, ...r };
        // lww-field: a delete or a stale upsert onto a tombstone still loses.
        if (out[name].perField && !out[name].loser) Object.assign(out[name], { loser: rule.loser, reason: rule.reason });
      }
      return { rules: out, source: 'core' };
    }
  } catch { /* not in this core yet */ }
  return { rules: FALLBACK_POLICIES, source: 'fallback' };
}

/**
 * The answers a committed change may get: `applied`, the policy's loser
 * outcome, and `rejected/forbidden` only (and always) when the row belongs to
 * another user. `conflict/race` is never policy-correct.
 */
export function allowedOutcomes(rule, { foreign }) {
  if (foreign) return new Set(['rejected/forbidden']);
  const ok = new Set(['applied']);
  if (rule.loser) ok.add(`${rule.loser}/${rule.reason}`);
  return ok;
}

/** The outcome string of a result: `applied`, `conflict/older`, … */
export const outcomeOf = (r) => (r.status === 'applied' ? 'applied' : `${r.status}/${r.reason ?? ''}`);
