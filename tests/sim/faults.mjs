// The fault model: how often each fault fires in one seed. A seed first picks
// a level (some seeds run with no faults at all: convergence must not depend
// on them), then per-fault probabilities around it.

/** Every fault the simulation injects, with what it means. */
export const FAULTS = {
  reset: 'connection reset before the request reaches the server',
  http5xxBefore: 'a 502/503 from in front of the server (nothing ran)',
  dupConcurrent: 'the request is delivered twice at once (two concurrent transactions)',
  drop: 'the response is lost after the server committed',
  http5xxAfter: 'the server committed but the client gets a 502',
  dupSequential: 'the request is delivered again after it was answered',
  crash: 'the server process dies mid-transaction (rollback) and restarts on a fresh core',
  offline: 'a device goes offline (and later back online)',
  tokenExpiry: 'a device\'s token expires',
  lateAbort: 'a request the client aborted still reaches the server',
};

const LEVELS = {
  none: 0,
  light: 0.5,
  heavy: 1.5,
};

/** The per-seed fault probabilities (per opportunity). */
export function faultPlan(rng) {
  const level = rng.weighted([[15, 'none'], [45, 'light'], [40, 'heavy']]);
  const k = LEVELS[level];
  const p = (base) => (k === 0 ? 0 : Math.min(0.9, base * k * (0.5 + rng.next())));
  return {
    level,
    reset: p(0.06),
    http5xxBefore: p(0.04),
    dupConcurrent: p(0.1),
    drop: p(0.12),
    http5xxAfter: p(0.03),
    dupSequential: p(0.1),
    crash: p(0.006),
    offline: p(0.01),
    tokenExpiry: p(0.006),
    lateAbort: p(0.4),
    // Clock skew is per device, fixed for the seed.
    skewedDevices: k === 0 ? 0 : p(0.3),
  };
}

/** A device's clock offset: mostly small, sometimes a day either way. */
export function deviceSkew(rng, plan) {
  if (rng.chance(plan.skewedDevices)) return (rng.chance(0.5) ? 1 : -1) * (86_400_000 + rng.int(3_600_000));
  return rng.int(4001) - 2000;
}
