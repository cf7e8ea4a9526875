// The server core: validates a sync request against the shared schema, plans
// the set-based SQL of its transaction, and builds the response from the
// query results. Sans-I/O: the host runs the statements and feeds the results
// back (see docs/architecture.md, "Driving the server core").
//
// A request runs as a small table-driven state machine:
//
// clang-format off
//   state   | on input                  | emits                              | next
//   --------+---------------------------+------------------------------------+--------
//   (begin) | invalid body              | error response, no statements      | done
//   (begin) | valid body                | claim client id                    | claimed
//   claimed | other user's client id    | 403, rollback                      | done
//   claimed | duplicate batch / none    | pull (+ nothing else)              | pulled
//   claimed | new batch                 | one merge per table and op         | merged
//   merged  | some changes raced        | merge those again (fresh snapshot) | merged
//   merged  | every change resolved     | bookkeeping, conflict log, pull    | pulled
//   pulled  | pull page                 | 200 response, commit               | done
// clang-format on
//
// Who wins a merge is each policy's rule (edgesync/policy.h), applied in SQL.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/json_util.h"
#include "common/result.h"
#include "protocol/protocol.h"
#include "schema/schema.h"

namespace edgesync {

/// Configurable limits; every one is enforced before any SQL runs.
struct server_limits {
  // Defaults and bounds: protocol/protocol.h.
  std::size_t max_body_bytes = limit_max_body_bytes.default_value;
  std::size_t max_changes = limit_max_changes.default_value;
  int max_page_size = limit_max_page_size.default_value;
  int default_page_size = limit_default_page_size.default_value;
  std::int64_t max_clock_skew_ms = limit_max_clock_skew_ms.default_value;
};

/// Parses limits from JSON (camelCase keys; missing keys keep defaults).
result<server_limits> parse_limits(const json& j);

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
  /// `"xid:version"`.
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
};

/// An HTTP-level outcome of validation: status + error list.
struct request_error {
  int status = 400;
  std::vector<error> errors;
  std::optional<std::int64_t> server_schema_version;  ///< for 409
};

/// Validates a request body; on failure says which status to answer with.
std::variant<sync_request, request_error> validate_request(
    const schema& s, const server_limits& limits, std::string_view body,
    std::int64_t now_ms);

/// One SQL statement to run; every statement returns one row, one text
/// column `j`. A param is text, SQL NULL, or a raw frame segment.
struct statement {
  std::string sql;
  /// Each param: a JSON string, null, or {"seg": k}.
  json params = json::array();
};

/// What the host does next.
struct step_output {
  bool done = false;
  int status = 200;
  bool rollback = false;
  std::vector<statement> statements;
  std::vector<std::string> segments;  ///< referenced by params, or the body
};

/// A server: the schema, the limits and the in-flight requests.
class server {
 public:
  server(edgesync::schema s, server_limits limits);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Starts a request for an authenticated user.
  step_output begin(std::string_view user_id, std::string_view body,
                    std::int64_t now_ms);
  /// Feeds the `j` results of the previous step's statements.
  step_output step(std::int64_t state,
                   const std::vector<std::string_view>& results,
                   std::int64_t now_ms);
  /// Forgets a request (the host hit a database error).
  void abort(std::int64_t state);

  /// The schema served.
  const edgesync::schema& schema() const { return schema_; }
  /// The id of the request the last begin() started.
  std::int64_t last_state() const { return next_state_ - 1; }
  /// Number of requests in flight (for tests and leak checks).
  std::size_t in_flight() const { return states_.size(); }

 private:
  struct request_state;
  step_output fail(std::int64_t id, int status, const std::vector<error>& errs);
  step_output after_claim(std::int64_t id, request_state& st,
                          std::string_view j);
  step_output after_merge(std::int64_t id, request_state& st,
                          const std::vector<std::string_view>& results);
  step_output after_pull(std::int64_t id, request_state& st,
                         std::string_view j);
  void add_pull(request_state& st, step_output& out) const;
  void add_merge(request_state& st, step_output& out, std::size_t group,
                 std::string input) const;

  edgesync::schema schema_;
  server_limits limits_;
  // The statements depend only on the schema: built once, not per request.
  struct statements {
    std::string claim, record_batch, log_conflicts, pull;
    std::vector<std::string> upsert, remove, lock_keys;  // per table
  } sql_;
  std::int64_t next_state_ = 1;
  std::map<std::int64_t, std::unique_ptr<request_state>> states_;
};

/// SQL builders (exposed for tests); all identifiers come from the schema.
namespace sql {
/// Claims (or re-reads) the client id: params $1 client, $2 user, $3 seq.
std::string claim();
/// Upserts for one table: $1 input JSON, $2 user, $3 client.
std::string upsert(const table& t);
/// Deletes (tombstones) for one table: $1 input JSON, $2 user, $3 client.
std::string remove(const table& t);
/// Locks the caller's rows of one table in key order: $1 upserts, $2 user,
/// $3 deletes (the inputs of the two merge statements).
std::string lock_keys(const table& t);
/// Records the applied batch: $1 client, $2 seq, $3 results JSON.
std::string record_batch();
/// Appends to the conflict log: $1 entries JSON, $2 user, $3 client.
std::string log_conflicts();
/// One page of the user's changes: $1 user, $2 xid, $3 version, $4 client,
/// $5 page size + 1.
std::string pull(const edgesync::schema& s);
}  // namespace sql

}  // namespace edgesync
