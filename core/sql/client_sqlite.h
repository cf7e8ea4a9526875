// The SQL the client core asks the host to run. Every statement is
// set-based: a batch of rows arrives as one JSON parameter unpacked with
// json_each, never as one statement per row. Queries the core reads from
// return one JSON document in one cell, so the host hands it over as a raw
// segment without building rows in JS.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "schema/schema.h"

namespace edgesync::client::detail {

/// One query: {"state": {key: value…}, "clock": {ms, ctr, node}, "pending": n,
/// "sqlite": sqlite_version()}.
std::string load_sql();

/// One query, ?1 = row limit: {"pending": n, "rows": [[id, tbl, pk, op,
/// row, changed, hlc, base_version], …]} oldest first; `pk` stays text.
std::string read_outbox_sql();

/// Upserts one sync_state entry: ?1 = key, ?2 = value.
std::string set_state_sql();

/// Upserts one sync_state entry: ?1 = key, ?2 = a segment (its text).
std::string set_state_segment_sql();

/// Sets sync_clock.node = ?1 (the client id) so trigger stamps carry it.
std::string set_node_sql();

/// Forgets the sealed in-flight batch.
std::string clear_inflight_sql();

/// Deletes outbox rows whose ids are in the JSON array ?1.
std::string delete_outbox_ids_sql();

/// Gives the keys of the outbox rows whose ids are in ?1 that have no
/// sync_base row the base "no row" (at their sync_rows version): run before
/// deleting those rows.
std::string implicit_bases_sql();

/// Records this client's own acknowledged writes: ?1 = [[tbl, pk, version]…]
/// into sync_rows (never lowering a version).
std::string record_own_versions_sql();

/// Re-bases outbox rows still pending for rows this batch wrote: they were
/// made on top of the acknowledged write, so its version is their base.
/// ?1 = [[tbl, pk, version]…]; run after the acknowledged ids are deleted.
std::string rebase_outbox_sql();

/// Inserts the apply guard row (triggers record nothing while it exists).
std::string guard_on_sql();
/// Deletes the apply guard row.
std::string guard_off_sql();
/// One query: the number of outbox rows.
std::string pending_count_sql();

/// The statements returning the local database to a fresh, never-synced one
/// (the host's signOut()): every synced table's rows, the outbox, sync_base,
/// sync_rows and sync_state (but the schema version) go and the clock's node
/// is cleared. Run them under the apply guard (no trigger records the
/// deletes), in one transaction; the next client.open makes a new client id.
std::vector<std::string> reset_sql(const schema& s);

/// The statements giving rows written before anyone signed in (owner '') to
/// the user ?1 the server just accepted for this client id: the server set
/// the same owner from the token, so they run under the apply guard (nothing
/// to queue), in one transaction.
std::vector<std::string> claim_sql(const schema& s);

/// The statements applying the server's rows of one table. A row whose key
/// is pending (outbox entries or a sync_base row) is not written to the
/// table: it goes to sync_base (`base`), which reconcile_sql writes once the
/// key's queue ends. Rows older than the version sync_rows holds are
/// skipped.
struct table_apply_sql {
  std::string upsert;  ///< INSERT … SELECT … FROM json_each ON CONFLICT
  std::string remove;  ///< DELETE … WHERE key IN (SELECT … FROM json_each)
  std::string record;  ///< versions of the applied rows into sync_rows
  std::string base;    ///< rows of pending keys into sync_base
};

/// The statements over the pulled rows of table `t`: ?1 is a JSON array of
/// rows as the answer reader writes them (pulled_table: [version, deleted
/// 0/1, column values in schema order]), one document for every statement.
/// `jsonb` uses jsonb_each (SQLite >= 3.45: the document is converted once,
/// reading a position then parses nothing). Without `has_deletes` the upsert
/// does not test `deleted`.
table_apply_sql pulled_sql(const table& t, bool jsonb, bool has_deletes);

/// Records the versions of pulled rows in sync_rows for keys not pending:
/// ?1 = [[version, key value…], …] (key values in key order; a tenth of the
/// rows' bytes).
std::string pulled_record_sql(const table& t, bool jsonb);

/// Sets sync_base from the server's answers to this client's own changes:
/// ?1 = [[tbl, pk text, version, row object or null], …] (null: the server
/// has no row the user may see). Replaces what was there.
std::string base_results_sql();

/// Reconciliation of the keys whose queue ended (a sync_base row, no outbox
/// entry): the local row becomes the server's (`restore`) or goes away
/// (`remove`). Run under the apply guard.
struct table_reconcile_sql {
  std::string restore;  ///< INSERT … SELECT … FROM sync_base ON CONFLICT
  std::string remove;   ///< DELETE … WHERE key IN (SELECT … FROM sync_base)
  /// SELECT of one JSON item per reconciled key (see reconciled_rows_sql).
  std::string listing;
};

/// The reconciliation statements of table `t`.
table_reconcile_sql reconcile_sql(const table& t);

/// sync_rows takes the versions of the reconciled keys.
std::string reconcile_versions_sql();

/// One query: [[tbl, pk, version, row, changed (0|1)], …] of the keys
/// about to be reconciled (run it before their statements); `changed`: the
/// local row differs from the server's.
std::string reconciled_rows_sql(const std::vector<table_reconcile_sql>& tables);

/// Drops the sync_base rows of keys without outbox entries (after the
/// reconciliation wrote them).
std::string drop_ended_bases_sql();

/// The rows of one scope leaving this device (the user's membership
/// ended): ?1 = the scope key as JSON text. Rows without queued changes go
/// with their versions and sync_base rows (a later backfill brings them
/// again; a key whose queue ended in this same answer goes too); queued ones
/// stay until the server refuses them (then reconciliation removes them).
/// Run under the apply guard, in this order.
struct table_purge_sql {
  std::string forget;      ///< DELETE the rows' sync_rows versions
  std::string drop_bases;  ///< DELETE the sync_base rows of ended keys
  std::string remove;      ///< DELETE the rows
};

/// The purge statements of scoped table `t` (any access kind but owner).
table_purge_sql purge_scope_sql(const table& t);

/// True when `version` (sqlite_version()) is at least 3.45 (jsonb_each).
bool sqlite_has_jsonb(std::string_view version);

}  // namespace edgesync::client::detail
