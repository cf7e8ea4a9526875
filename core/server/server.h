// The server core: validates a sync request against the shared schema,
// turns it into the one statement of its transaction, and builds the response
// from that statement's answer. Sans-I/O: the host runs the statement and
// feeds the answer back (docs/architecture.md, "The server core").
//
// A request is one database round trip: the statement calls the schema's
// generated request function (sql/pg_sync_function.h), which claims the
// client id, merges every change under its table's policy, records the batch
// and reads the pull page in one transaction.
//
// clang-format off
//   state   | on input                  | emits                              | next
//   --------+---------------------------+------------------------------------+--------
//   (begin) | invalid body              | error response, no statement       | done
//   (begin) | valid body                | the request function's call        | called
//   called  | other user's client id    | 403 (the function wrote nothing)   | done
//   called  | results and pull page     | 200 response                       | done
//   called  | a stream's page, more     | 200 frame (`more`), kept open      | open
//   open    | next()                    | the call for the next page         | called
//   open    | abort()                   | nothing                            | done
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
#include "sql/pg_sync_function.h"

namespace edgesync {

/// One SQL statement to run, atomic on its own (the host opens no
/// transaction around it); it returns one row, one text column `j`.
struct statement {
  /// The text, or empty when it is segment `sql_segment` (a large text:
  /// the request's values are inlined).
  std::string sql;
  std::size_t sql_segment = 0;
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
  /// When done with a frame of a stream that has more to send: the request
  /// stays open; next() produces the statement of its next frame, abort()
  /// ends it.
  bool more = false;
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
  /// Feeds the `j` result of the statement begin() emitted.
  step_output step(std::int64_t state,
                   const std::vector<std::string_view>& results,
                   std::int64_t now_ms);
  /// The statement of the next frame of a stream whose last frame said
  /// `more` (docs/protocol.md, "Streamed pulls").
  step_output next(std::int64_t state, std::int64_t now_ms);
  /// Forgets a request (the host hit a database error, or ends a stream).
  void abort(std::int64_t state);

  /// The DDL of the request functions (after the schema's own DDL).
  const std::string& functions_ddl() const { return functions_.ddl; }
  /// The request function's name.
  const std::string& functions_name() const { return functions_.name; }
  /// The schema served.
  const edgesync::schema& schema() const { return schema_; }
  /// The id of the request the last begin() started.
  std::int64_t last_state() const { return next_state_ - 1; }
  /// Number of requests in flight (for tests and leak checks).
  std::size_t in_flight() const { return states_.size(); }

 private:
  struct request_state;
  step_output fail(std::int64_t id, int status, const std::vector<error>& errs);
  step_output finish(std::int64_t id, request_state& st, std::string_view j);
  step_output call(const request_state& st) const;

  edgesync::schema schema_;
  server_limits limits_;
  // The request functions depend only on the schema: generated once.
  sql::sync_functions functions_;
  std::int64_t next_state_ = 1;
  std::map<std::int64_t, std::unique_ptr<request_state>> states_;
};

}  // namespace edgesync
