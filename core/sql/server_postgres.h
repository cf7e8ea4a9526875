// The server's PostgreSQL statements, built once per schema: the claim of a
// client id, the set-based merge of each table (policy rules applied in SQL),
// the batch record, the conflict log and the pull page.
#pragma once

#include <string>

#include "schema/schema.h"

/// SQL builders (exposed for tests); all identifiers come from the schema.
namespace edgesync::sql {

/// Claims (or re-reads) the client id: params $1 client, $2 user, $3 seq.
std::string claim();
/// Upserts for one table: $1 input JSON, $2 user, $3 client.
std::string upsert(const schema& s, const table& t);
/// Deletes (tombstones) for one table: $1 input JSON, $2 user, $3 client.
std::string remove(const schema& s, const table& t);
/// Locks the caller's rows of one table in key order: $1 upserts, $2 user,
/// $3 deletes (the inputs of the two merge statements).
std::string lock_keys(const schema& s, const table& t);
/// Records the applied batch: $1 client, $2 seq, $3 results JSON.
std::string record_batch();
/// Appends to the conflict log: $1 entries JSON, $2 user, $3 client.
std::string log_conflicts();
/// One page of the rows the user may read: $1 user, $2 xid, $3 version,
/// $4 client, $5 page size + 1, $6 the cursor's row (see pull_cursor).
std::string pull(const edgesync::schema& s);

}  // namespace edgesync::sql
