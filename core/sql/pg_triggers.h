// PostgreSQL DDL that lets the app's own backend write synced tables
// directly: adopting a table that exists without sync columns, and the
// per-table trigger that stamps direct writes so devices pull them
// (docs/server.md, "Writing synced tables directly").
#pragma once

#include <string>

#include "schema/schema.h"

namespace edgesync {

/// Adds the sync columns to a table that already exists without them and
/// backfills existing rows (version, xid, server clock; not deleted). A
/// no-op on a table that has them. Must run before the pull index is made.
std::string pg_adopt_table(const table& t);

/// CREATE OR REPLACE of the table's direct-write trigger function and
/// creation of its trigger when missing: INSERT/UPDATE not made by the sync
/// endpoint get the sync columns stamped; a DELETE becomes a tombstone.
std::string pg_direct_write_trigger(const table& t);

}  // namespace edgesync
