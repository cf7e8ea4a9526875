// The server's per-table PostgreSQL statements, built once per schema: the
// set-based merge of each table (policy rules applied in SQL), its key locks
// and the pull page. They run inside the generated request functions
// (pg_sync_function.h), which add the claim, the results, the batch record
// and the conflict log.
#pragma once

#include <string>

#include "schema/schema.h"

/// SQL builders (exposed for tests); all identifiers come from the schema.
namespace edgesync::sql {

/// Upserts for one table: $1 input JSON, $2 user, $3 client.
std::string upsert(const schema& s, const table& t);
/// Deletes (tombstones) for one table: $1 input JSON, $2 user, $3 client.
std::string remove(const schema& s, const table& t);
/// Locks the caller's rows of one table in key order: $1 upserts, $2 user,
/// $3 deletes (the inputs of the two merge statements).
std::string lock_keys(const schema& s, const table& t);
/// One page of the rows the user may read: $1 user, $2 xid, $3 version,
/// $4 client, $5 page size + 1, $6 the cursor's row (see pull_cursor).
std::string pull(const edgesync::schema& s);

}  // namespace edgesync::sql
