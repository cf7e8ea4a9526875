// One sync request, one database round trip: the whole request (claim of the
// client id, idempotency check, every merge with its policy, the `race`
// re-merges, results, conflict log, batch record, pull page) runs inside a
// PL/pgSQL function generated from the schema and installed by the server's
// idempotent DDL. The host calls it once, outside any explicit transaction:
// the call is its own transaction, and a pooler in transaction mode needs no
// session state. Plans are cached inside the functions, per connection.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "schema/schema.h"
#include "server/validate.h"

namespace edgesync::sql {

/// The generated functions of a schema: their DDL and the name of the entry
/// point. Names carry a hash of the generated text, so hosts of two schema
/// versions (a rolling deploy) each call their own functions.
struct sync_functions {
  std::string ddl;   ///< CREATE OR REPLACE FUNCTION … (idempotent)
  std::string name;  ///< the entry point, e.g. edgesync_sync_0123456789abcdef
};

/// Generates the request functions of schema `s`.
sync_functions sync_function(const schema& s);

/// The server's whole idempotent DDL: the schema's tables, indexes and
/// triggers (pg_ddl), then its request functions.
std::string server_ddl(const schema& s);

/// The additive migration (pg_migration), then the request functions of `to`.
result<std::string> server_migration(const schema& from, const schema& to);

/// The one statement of a validated request: `SELECT <name>(…) AS j`, with
/// every parameter inlined as a literal (an unparameterized statement is one
/// round trip with postgres.js and any pooler; no Parse/Describe first).
std::string sync_call(const std::string& name, const sync_request& req,
                      const std::string& user_id);

/// A PostgreSQL string literal that means `text` whatever
/// standard_conforming_strings says: E'…' with `\` and `'` escaped.
std::string pg_string(std::string_view text);

/// The first line of the function's answer when the client id belongs to
/// another user: nothing was written.
inline constexpr const char* sync_client_conflict = "{\"conflict\":true}";

}  // namespace edgesync::sql
