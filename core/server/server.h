// The server core: validates a sync request against the shared schema, plans
// the set-based SQL of its transaction, and builds the response from the
// query results. Sans-I/O: the host runs the statements and feeds the results
// back (docs/architecture.md, "The server core").
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
// Who wins a merge is each policy's rule (schema/policy.h), applied in SQL.
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
#include "schema/schema.h"
#include "server/errors.h"
#include "server/limits.h"
#include "server/validate.h"

namespace edgesync {

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
  /// When done: whose devices should pull now, as the NOTIFY payload
  /// ({"u":[…]} or {"all":true}; "" when the request wrote nothing), for a
  /// host that cannot LISTEN (docs/protocol.md, "Live pokes").
  std::string poke;
};

/// A server: the schema, the limits and the in-flight requests.
class server {
 public:
  /// A server of schema `s`; its statements are built here, once.
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

}  // namespace edgesync
