// SQL generated from the shared schema, for SQLite (client) and PostgreSQL
// (server). Output is deterministic: the same schema gives the same bytes on
// every build, which the golden tests hold the native and WASM builds to.
#pragma once

#include <string>

#include "common/result.h"
#include "schema/schema.h"

namespace edgesync {

/// Names of the client-side bookkeeping tables (fixed; not user-definable).
namespace sqlite_names {
inline constexpr const char* outbox = "sync_outbox";
inline constexpr const char* state = "sync_state";
inline constexpr const char* clock = "sync_clock";
inline constexpr const char* guard = "sync_apply_guard";
inline constexpr const char* rows = "sync_rows";
/// The server's last known row for every key with local changes pending.
inline constexpr const char* base = "sync_base";
}  // namespace sqlite_names

/// Names of the server-side bookkeeping objects.
namespace pg_names {
inline constexpr const char* clients = "edgesync_clients";
inline constexpr const char* schema = "edgesync_schema";
inline constexpr const char* conflicts = "edgesync_conflicts";
inline constexpr const char* version_seq = "edgesync_version_seq";
/// Appended to a table's server name to name its pull index; the schema
/// rules keep the result within PostgreSQL's 63-byte identifiers.
inline constexpr const char* pull_index_suffix = "__es_pull";
/// Appended to a table's server name to name its direct-write trigger and
/// trigger function (shorter than pull_index_suffix, so within 63 bytes).
inline constexpr const char* direct_write_suffix = "__es_dw";
/// The indexes of a scoped table's pull: (scope, xid, version) for rows
/// written since the cursor, (scope, version) for a backfill's pages.
inline constexpr const char* scope_index_suffix = "__es_sx";
inline constexpr const char* scope_version_index_suffix = "__es_sv";
/// A membership table's index by member (the pull starts there).
inline constexpr const char* member_index_suffix = "__es_mu";
/// The trigger making a scope's creator its admin (on the root table).
inline constexpr const char* creator_suffix = "__es_ca";
}  // namespace pg_names

/// SQLite DDL: app tables, outbox, clock, guard and triggers. Idempotent.
std::string sqlite_ddl(const schema& s);

/// PostgreSQL DDL: server tables with sync columns, indexes, bookkeeping.
/// Idempotent; records the schema version in edgesync_schema.
std::string pg_ddl(const schema& s);

/// Additive SQLite migration from `from` to `to` (new tables, new nullable
/// columns); refuses destructive changes with destructive_migration.
result<std::string> sqlite_migration(const schema& from, const schema& to);

/// Additive PostgreSQL migration from `from` to `to`, same rules.
result<std::string> pg_migration(const schema& from, const schema& to);

/// The SQL type of a column in SQLite.
const char* sqlite_type(column_type t);
/// The SQL type of a column in PostgreSQL.
const char* pg_type(column_type t);

/// The SQL function (no arguments, an integer of Unix ms) the triggers read
/// the HLC's physical clock from. Every host that opens a synced SQLite
/// database registers it (`createSync` from its `now` option), so a clock the
/// host controls - a virtual one in tests - stamps local writes.
inline constexpr const char* sqlite_now_function = "edgesync_now_ms";

/// A SQLite expression yielding the current Unix time in milliseconds.
inline constexpr const char* sqlite_now_ms = "edgesync_now_ms()";

}  // namespace edgesync
