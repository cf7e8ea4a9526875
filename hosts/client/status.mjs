// The status a sync client reports, its label for a UI, and the error
// syncNow()/whenSynced() reject with (see sync.mjs).

/**
 * A sync failure surfaced by syncNow() or whenSynced(): `code`, `status`
 * (HTTP) and `at`; for a refused change also `reason` and `rejected` (the
 * rejected event).
 */
export class SyncError extends Error {
  constructor(failure, fallback = 'sync failed') {
    super(failure?.message || fallback);
    this.name = 'SyncError';
    this.code = failure?.code ?? 'sync_failed';
    this.status = failure?.status ?? null;
    this.at = failure?.at ?? null;
    if (failure?.reason !== undefined) this.reason = failure.reason;
    if (failure?.rejected !== undefined) this.rejected = failure.rejected;
  }
}

export const STOPPED = Object.freeze({
  state: 'stopped', pending: 0, lastSyncedAt: null, lastError: null, nextRetryAt: null, clientId: '', role: null,
  live: false,
});

/**
 * What the UI shows for a status: "Synced", "Saving", "Offline", "Error" or
 * "Signed out" (no token: changes stay on the device); "Stopped" before start().
 */
export function statusLabel(s) {
  if (!s || s.state === 'stopped') return 'Stopped';
  if (s.state === 'error') return 'Error';
  if (s.state === 'signed_out') return 'Signed out';
  if (s.state === 'offline') return 'Offline';
  if (s.state === 'syncing' || s.pending > 0) return 'Saving';
  return 'Synced';
}
