// The per-request half of the sync function (pg_sync_function.h): the one
// statement that calls it with a validated request. Runs for every request,
// so the server module compiles it for speed.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "schema/schema.h"
#include "server/validate.h"

namespace edgesync::sql {

/// A change group's kind: which merge helper of the sync function runs it
/// (`_m<kind>`), for a table index and an operation.
inline std::size_t change_kind(std::size_t table, change_op op) {
  return table * 2 + (op == change_op::remove ? 1 : 0);
}

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
