// Request validation: a sync request body checked against the schema and the
// limits in one pass, into the changes grouped per merge statement.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "schema/schema.h"
#include "server/errors.h"
#include "server/limits.h"

namespace edgesync {

/// A change operation.
enum class change_op { upsert, remove };

/// One validated change of a batch. Its values live in its group's input.
struct change {
  std::int64_t id = 0;    ///< the client's id for the change
  std::size_t table = 0;  ///< index into schema::tables
  change_op op = change_op::upsert;
  std::size_t group = 0;  ///< index into sync_request::groups
  std::size_t from = 0;   ///< its object's span in the group's input
  std::size_t to = 0;
};

/// The changes of one (table, op): the JSON array parameter of one merge
/// statement, written while validating — each change's values are the bytes
/// the client sent, next to bookkeeping keys (`_es_i` index, `_es_h` clamped
/// HLC, `_es_b` base version, `_es_c` changed columns).
struct change_group {
  std::size_t table = 0;
  change_op op = change_op::upsert;
  std::string input;                 ///< `[{…},{…}` (closed by the planner)
  std::vector<std::size_t> changes;  ///< indexes into sync_request::changes
};

/// A pull position: (transaction id, version), both as stored in PostgreSQL.
struct pull_cursor {
  std::uint64_t xid = 0;
  std::int64_t version = 0;
  /// Orders the rows a scope's backfill delivers at one grant position
  /// (xid, version): their own versions. Equal to `version` elsewhere.
  std::int64_t row = 0;
  /// `"xid:version"`, or `"xid:version:row"` when row differs.
  std::string to_string() const;
};

/// A validated request.
struct sync_request {
  std::string client_id;
  std::int64_t schema_version = 0;
  bool has_batch = false;
  std::int64_t seq = 0;
  std::vector<change> changes;
  std::vector<change_group> groups;  ///< sorted by (table, op)
  pull_cursor cursor;
  int page_size = 0;
  /// A pull-only request asking for its pages as a stream of frames (one
  /// response per page, `maxPageSize` rows each unless pageSize says).
  bool stream = false;
};

/// Validates a request body; on failure says which status to answer with.
std::variant<sync_request, request_error> validate_request(
    const schema& s, const server_limits& limits, std::string_view body,
    std::int64_t now_ms);

}  // namespace edgesync
