// Who the local database syncs as (mixed into Sync, see sync.mjs): use while
// signed out, the claim at the first sign-in, a token of another user, and
// signOut()'s reset to a fresh local identity.
//
// The server binds a client id to the first user that syncs with it and sets
// every row's owner from the verified token, so rows written signed out are
// claimed by whoever signs in first: they simply go out with that user's
// token. What must never happen is a previous user's rows (or client id)
// going out under the next user: the server refuses that (403
// client_id_conflict); this part stops retrying, says to call signOut(), and
// refuses locally, without a request, a token whose user differs from the one
// this database synced as in this session.
import { SyncError } from './status.mjs';
import { runSqlEffect, outboxCount } from './sqlite.mjs';
import { loadClientCore } from './core.mjs';

const SIGNED_OUT_MESSAGE = 'not signed in (getToken() gave no token): local changes stay queued and are '
  + 'sent, as the user who signs in, once a token is available (call tokenRefreshed() after sign-in)';
const CONFLICT_MESSAGE = 'this database already synced as another user; call sync.signOut() to clear '
  + 'its local data (a fresh local identity) before syncing as this user';

/**
 * The `sub` (user id) of a JWT, read without verifying it (only to avoid
 * sending a request the server would refuse); null for an opaque token.
 */
export function tokenSubject(token) {
  const part = String(token).split('.')[1];
  if (!part) return null;
  try {
    const bin = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    const payload = JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))));
    return typeof payload?.sub === 'string' && payload.sub ? payload.sub : null;
  } catch {
    return null;
  }
}

/** Signed-out use, claim, user switches and signOut(). */
export class SyncAccount {
  /**
   * Whether a request may go out with `token`: null when it may, else the
   * error body the host answers the core with instead of sending it.
   * `user` is the token's subject.
   */
  _refuseToken(user) {
    if (!user) return null;
    if (this._signedOutUser && user === this._signedOutUser) {
      // The app still hands out the token of the user who signed out: the
      // fresh identity must not be bound to them. Treated as signed out.
      return 'signed_out';
    }
    if (this._syncedAs && user !== this._syncedAs) return 'client_id_conflict';
    return null;
  }

  _conflictBody(user) {
    return this._core.errorBody('client_id_conflict',
      `the token is for user "${user}" but this database synced as "${this._syncedAs}"; ${CONFLICT_MESSAGE}`);
  }

  // The status the app sees for the core's `s`: signed out instead of an
  // unauthorized error when getToken() simply had no token; a user switch
  // refused (by the server or locally) says what to do, once as an 'error'.
  _viewStatus(s) {
    const code = s.lastError?.code;
    if (this._signedOut && code === 'unauthorized' && (s.state === 'error' || s.state === 'syncing')) {
      const retry = s.nextRetryAt === null ? '' : '; getToken() is asked again at the next retry';
      return {
        ...s,
        state: 'signed_out',
        lastError: { ...s.lastError, code: 'signed_out', message: SIGNED_OUT_MESSAGE + retry, status: null },
      };
    }
    if (code === 'client_id_conflict' && s.state === 'error') {
      const message = s.lastError.message.includes('signOut()')
        ? s.lastError.message : `${CONFLICT_MESSAGE} (server: ${s.lastError.message})`;
      const view = { ...s, lastError: { ...s.lastError, message } };
      if (!this._conflictReported) {
        this._conflictReported = true;
        queueMicrotask(() => this._emit('error', new SyncError(view.lastError)));
      }
      return view;
    }
    return s;
  }

  /**
   * Gives the local rows written signed out (owner '') to `user`, whom the
   * server just accepted for this client id and made the owner of every row
   * it received. Under the apply guard: nothing is queued. Runs after the
   * answer was applied, since an acknowledged row is reconciled to the row
   * as sent (owner '' included); again after every answer while changes
   * made signed out may still be queued.
   */
  _claimLocalRows(user) {
    if (!this._db) return;
    const { meta } = this._core.callFramed('client.claim_sql', { schema: this._o.schema, user });
    const r = meta.ok ? runSqlEffect(this._db, meta, []) : { ok: false, message: JSON.stringify(meta.errors) };
    if (!r.ok) {
      this._emit('error', new SyncError({ code: 'sql_failed', message: `filling in the owner of rows written signed out failed: ${r.message}` }));
      return;
    }
    this._claimPending = outboxCount(this._db) > 0;
  }

  /**
   * Empties the local database for the next user (signOut()): synced tables,
   * outbox, sync state; a new client id when the core reopens. Runs on the
   * leading (or only) instance; a follower asks the leader.
   */
  async _resetLocalData() {
    const wasLeading = this._handle !== null;
    // The old engine's requests, timers and token refreshes are answered to
    // nobody (see _epoch in loop.mjs).
    this._epoch = (this._epoch ?? 0) + 1;
    this._timers.clear(this._timer);
    this._timer = null;
    for (const ctrl of this._inflight.values()) ctrl.abort();
    this._inflight.clear();
    if (this._handle !== null) {
      try { this._core.callFramed('client.close', { client: this._handle }); } catch { /* closing */ }
    }
    this._handle = null;
    this._inbox = [];
    this._fx = [];
    const signedOut = new SyncError({ code: 'signed_out', message: 'signOut() cleared the local data' });
    for (const w of this._waiters) w.reject(signedOut);
    for (const w of this._rowWaiters) w.reject(signedOut);
    this._core ??= await (this._o.core ?? loadClientCore(this._o.wasmUrl));
    const db = await this._openDb();
    this._installSchema(db); // before start() the tables may not exist yet
    const { meta } = this._core.callFramed('client.reset_sql', { schema: this._o.schema });
    if (!meta.ok) throw new SyncError({ code: 'invalid_request', message: JSON.stringify(meta.errors) });
    const r = runSqlEffect(db, meta, []);
    if (!r.ok) throw new SyncError({ code: 'sql_failed', message: `signOut() could not clear the local data: ${r.message}` });
    this._installMedia(db);
    await this._mediaClear(db); // the files go with the rows
    this._signedOutUser = this._syncedAs ?? this._signedOutUser ?? null;
    this._syncedAs = null;
    this._signedOut = false;
    this._freshToken = null;
    this._conflictReported = false;
    this._claimPending = false;
    this._freshIdentity = true; // the `clientId` option was the old identity
    if (wasLeading && this._running) this._openCore();
  }
}
