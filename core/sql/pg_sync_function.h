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

}  // namespace edgesync::sql
