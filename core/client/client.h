// The client core: a sans-I/O sync state machine. The host (browser JS, or
// the GoogleTest harness) feeds it events and carries out the effects it
// returns; the core itself never touches SQLite, the network, a clock or a
// random source. Time arrives as `now` on every event, randomness as the
// `seed` given at open.
//
// Control operations (framed: one JSON metadata line, then raw segments; see
// common/frame.h). Every answer is a frame whose meta is
// {"ok":true,…} or {"ok":false,"errors":[{code,path,message}]}.
//
// clang-format off
//   op             | input meta (+ segments)                  | answer meta (+ segments)
//   ---------------+------------------------------------------+--------------------------
//   client.open    | {schema, config?, seed, clientId?,       | {ok, client, effects}
//                  |  online?, now}                           |  + segments
//   client.handle  | {client, type, now, …event fields}       | {ok, effects} + segments
//                  |  + segments of sql_done / http_response  |
//   client.status  | {client}                                 | {ok, status}
//   client.close   | {client}                                 | {ok}
//
// Events (host -> core; every event carries `now`, the host's ms clock):
//
//   type            | fields           | segments                | when
//   ----------------+------------------+-------------------------+--------------------------
//   sql_done        | id               | one per `out` statement | a sql effect committed
//   sql_failed      | id, message      |                         | it failed (rolled back)
//   http_response   | id, status,      | [body]                  | any HTTP status arrived
//                   |  retryAfterMs?   |                         |  (a stream: its end, no body)
//   http_chunk      | id               | [bytes]                 | part of a streamed 200 body
//   http_failed     | id, message      |                         | network error / aborted
//   tick            |                  |                         | the timer fired
//   local_change    |                  |                         | the app wrote synced tables
//   online, offline |                  |                         | connectivity changed
//   visible, hidden |                  |                         | page shown / hidden (flush)
//   sync_now        |                  |                         | the user asked to sync
//   token_refreshed |                  |                         | a fresh token is in place
//   token_failed    | message          |                         | no token could be had
//
// Effects (core -> host, in order; the host performs them one after the
// other and reports sql/http completions with the effect's `id`):
//
//   type           | fields                              | host does
//   ---------------+-------------------------------------+------------------------------------
//   sql            | id, purpose, tx, statements[{sql,   | runs the statements back to back
//                  |  params, out}]                      |  (BEGIN…COMMIT when tx); answers
//                  |                                     |  sql_done + the first column of the
//                  |                                     |  first row of each `out` statement
//   http           | id, method, path, body{seg},        | fetch(base + path) with the bearer
//                  |  keepalive, contentType, stream     |  token; answers http_response or
//                  |                                     |  http_failed; when `stream` and the
//                  |                                     |  status is 200, the body goes as
//                  |                                     |  http_chunk events as it arrives,
//                  |                                     |  then http_response without a body
//   abort_http     | id                                  | aborts that request (timeout)
//   timer          | at (ms or null)                     | one timer: replaces the last; at
//                  |                                     |  `at` sends tick; null cancels
//   refresh_token  |                                     | gets a fresh token; answers
//                  |                                     |  token_refreshed / token_failed
//   status         | status{state, pending, lastSyncedAt,| shows it (idle|syncing|offline|
//                  |  lastError, nextRetryAt, clientId}  |  error)
//   acked          | table, pk, op, version, ids         | tells the app: the server applied
//                  |                                     |  this change
//   rejected       | table, pk, op, ids, reason, code,   | tells the app: refused for good;
//                  |  message, path, row, deleted,       |  the row was rolled back when
//                  |  version, restored                  |  `restored`
//   conflict       | table, pk, op, ids, reason, row,    | tells the app: the server's
//                  |  deleted, version, restored         |  resolution kept (part of) its row
//   changes        | tables, rows                        | tells the app which tables may
//                  |                                     |  have changed (refresh the UI)
//   progress       | received, applied, total            | tells the app how far a catch-up
//                  |                                     |  pull is (rows; total: estimate)
// clang-format on
//
// SQL parameters are JSON numbers, strings, null, or {"seg": k}: the text
// of output segment k (large JSON documents and request bodies travel as
// raw segments, never escaped). The host must run a sql effect's statements
// with nothing else on the connection in between: while the apply guard row
// exists, triggers do not record app writes.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "client/client_compact.h"
#include "common/json_util.h"
#include "common/result.h"
#include "protocol/protocol.h"
#include "schema/schema.h"

namespace edgesync::client {

/// Tunables; parse_config reads them from camelCase JSON keys.
struct config {
  // clang-format off
  std::int64_t debounce_ms = 1000;          ///< push this long after the last write
  std::int64_t max_debounce_ms = 10000;     ///< …but no later than this after the first
  std::int64_t periodic_ms = 30000;         ///< pull (and push) at least this often
  std::int64_t backoff_base_ms = 1000;      ///< first retry delay after a failure
  std::int64_t backoff_max_ms = 60000;      ///< retry delays never exceed this
  std::int64_t request_timeout_ms = 30000;  ///< abort a request after this
  std::size_t max_batch_changes = 1000;     ///< outbox rows read per batch
  std::size_t max_batch_bytes = 1u << 20;   ///< request body size aim
  std::size_t keepalive_max_bytes = 60000;  ///< browsers cap keepalive at 64 KiB
  int page_size = 500;                      ///< pull page size asked for
  bool stream = false;                      ///< catch up with streamed pulls
  std::string path = "/sync";               ///< the endpoint, relative to base
  // clang-format on
};

/// Reads a config object (null = defaults); errors name `config.<key>`.
result<config> parse_config(const json& j);

/// What the UI shows.
enum class sync_state { idle, syncing, offline, error };

/// "idle", "syncing", "offline" or "error".
const char* to_string(sync_state s);

/// The last failure, cleared by the next successful round.
struct failure {
  std::string code;     ///< an error code, `network` or `http_<status>`
  std::string message;  ///< says what happened and what happens next
  int http_status = 0;  ///< 0 when no HTTP answer arrived
  std::int64_t at_ms = 0;
  bool operator==(const failure&) const = default;
};

/// The status model reported with every change.
struct status {
  sync_state state = sync_state::syncing;
  std::int64_t pending = 0;  ///< outbox rows, as of the core's last look
  std::optional<std::int64_t> last_synced_at;  ///< end of last good round
  std::optional<failure> last_error;
  std::optional<std::int64_t> next_retry_at;  ///< set while backing off
  std::string client_id;
  bool operator==(const status&) const = default;
};

/// Events: what happened outside the core.
namespace events {
/// A sql effect committed; `values` holds, per statement marked `out`, the
/// text of the first column of its first row (empty when none).
struct sql_done {
  std::uint64_t id = 0;
  std::vector<std::string> values;
};
/// A sql effect failed; the host rolled its transaction back.
struct sql_failed {
  std::uint64_t id = 0;
  std::string message;
};
/// An HTTP answer arrived (any status). Events are handled synchronously:
/// the texts they view need to live only until handle() returns.
struct http_response {
  std::uint64_t id = 0;
  int status = 0;
  std::string_view body;
  /// The Retry-After header in ms, when sent: the next retry waits at least
  /// this long (the server knows when it will be back).
  std::optional<std::int64_t> retry_after_ms;
};
/// Part of the body of a streamed 200 answer, as it arrived.
struct http_chunk {
  std::uint64_t id = 0;
  std::string_view bytes;
};
/// The request never got an answer (network down, CORS, aborted).
struct http_failed {
  std::uint64_t id = 0;
  std::string message;
};
/// The timer the core asked for fired (early or late ticks are fine).
struct tick {};
/// The app wrote to synced tables (the triggers filled the outbox).
struct local_change {};
/// Connectivity changed (navigator.onLine / online+offline events).
struct connectivity {
  bool online = true;
};
/// The page became visible, or hidden (pagehide/visibilitychange): flush.
struct visibility {
  bool visible = true;
};
/// The user pressed "sync now": sync immediately, even while backing off.
struct sync_now {};
/// The host holds a fresh token (asked for, or after a new sign-in).
struct token_refreshed {};
/// The host could not get a token.
struct token_failed {
  std::string message;
};
}  // namespace events

/// Any event.
using event =
    std::variant<events::sql_done, events::sql_failed, events::http_response,
                 events::http_chunk, events::http_failed, events::tick,
                 events::local_change, events::connectivity, events::visibility,
                 events::sync_now, events::token_refreshed,
                 events::token_failed>;

/// Effects: what the host must do (or tell the app).
namespace effects {
/// A SQL parameter passed as a raw segment rather than an inline string.
/// Copies share the bytes: a pulled page (megabytes) is bound by several
/// statements and may be a view into the answer it came in, never copied.
struct raw_text {
  std::shared_ptr<const std::string> owner;  ///< keeps `text` alive
  std::string_view text;                     ///< the bytes sent
  /// Owns `s`.
  explicit raw_text(std::string s)
      : owner(std::make_shared<const std::string>(std::move(s))),
        text(*owner) {}
  /// A view into bytes `o` owns.
  raw_text(std::shared_ptr<const std::string> o, std::string_view v)
      : owner(std::move(o)), text(v) {}
};
/// A SQL parameter: null, integer, real, text, or text sent as a segment.
using param =
    std::variant<std::nullptr_t, std::int64_t, double, std::string, raw_text>;
/// One statement; `out` asks for its first column of its first row.
struct statement {
  std::string sql;
  std::vector<param> params;
  bool out = false;
};
/// Run statements, in one transaction when `tx`; answer sql_done/failed.
struct run_sql {
  std::uint64_t id = 0;
  std::string purpose;  ///< load, save_id, read, seal, apply, drop (debugging)
  bool tx = true;
  std::vector<statement> statements;
};
/// Send one POST; answer http_response/http_failed with this id.
struct send_http {
  std::uint64_t id = 0;
  std::string method = "POST";
  std::string path;
  std::string body;
  bool keepalive = false;  ///< set on a hide flush: must outlive the page
  /// A streamed pull: a 200 body arrives as http_chunk events.
  bool stream = false;
};
/// Abort request `id` (it timed out; the core already gave up on it).
struct abort_http {
  std::uint64_t id = 0;
};
/// Arm the one timer at `at_ms` (replacing any other); nullopt cancels.
struct set_timer {
  std::optional<std::int64_t> at_ms;
};
/// Get a fresh token, then answer token_refreshed or token_failed.
struct refresh_token {};
/// The status changed.
struct status_changed {
  client::status status;
};
/// A change the server (or validation) refused for good; it left the
/// queue. When no later local change of the row is pending (`restored`),
/// the local row was rolled back to the server's row as last known —
/// `row`, or removed when `deleted` (the server has no row the user may
/// see) — at `version`. Otherwise `row`/`deleted`/`version` are the
/// server's copy when it sent one, and the row is reconciled when its
/// queue ends.
struct rejected {
  std::string table;
  json pk;                        ///< primary key values, in key order
  std::string op;                 ///< upsert or delete
  std::vector<std::int64_t> ids;  ///< the outbox ids it covered
  std::string reason;             ///< forbidden, stale, invalid, too_large
  std::string code;               ///< error code for invalid/too_large
  std::string message;
  std::string path;      ///< the error path for invalid
  json row;              ///< the restored row / the server's copy
  bool deleted = false;  ///< …is no row (removed locally when restored)
  std::optional<std::int64_t> version;
  bool restored = false;  ///< the local row is now the server's
};
/// The server resolved a conflict in favour of (part of) its row, which is
/// applied locally unless newer local edits are pending (`restored` as in
/// rejected).
struct conflict {
  std::string table;
  json pk;
  std::string op;
  std::vector<std::int64_t> ids;
  std::string reason;  ///< older, stale or race
  json row;
  bool deleted = false;
  std::optional<std::int64_t> version;
  bool restored = false;
};
/// The server applied a change of this client: it is durable on the server
/// at `version` (null for a delete of a row the server never had).
struct acked {
  std::string table;
  json pk;         ///< primary key values, in key order
  std::string op;  ///< upsert or delete
  std::optional<std::int64_t> version;
  std::vector<std::int64_t> ids;  ///< the outbox ids it covered
};
/// Rows were written locally from the server: refresh these tables.
struct changes_applied {
  std::vector<std::string> tables;
  std::int64_t rows = 0;  ///< rows offered (some may have been skipped)
  /// Scopes the user left or was removed from: (scope name, key as JSON
  /// text); their rows left this device.
  std::vector<std::pair<std::string, std::string>> revoked;
};
/// How far a catch-up (pulls until the server has no more) has come.
struct progress {
  std::int64_t received = 0;  ///< rows received in frames so far
  std::int64_t applied = 0;   ///< …of which committed locally
  /// The server's estimate of the catch-up's rows, when it sent one.
  std::optional<std::int64_t> total;
};
}  // namespace effects

/// Any effect.
using effect =
    std::variant<effects::run_sql, effects::send_http, effects::abort_http,
                 effects::set_timer, effects::refresh_token,
                 effects::status_changed, effects::rejected, effects::conflict,
                 effects::acked, effects::changes_applied, effects::progress>;

/// What the host passes to open a client.
struct open_options {
  edgesync::schema schema;
  client::config config;
  std::string seed;  ///< host randomness (hex); client id and jitter
  std::optional<std::string> client_id;  ///< used on first start if valid
  bool online = true;
  std::int64_t now_ms = 0;
};

/// The client state machine. Not thread-safe; one per local database.
class engine {
 public:
  /// Starts loading the persisted state (the first effect is a query).
  explicit engine(open_options options);
  ~engine();
  engine(engine&&) noexcept;
  engine& operator=(engine&&) noexcept;

  /// Feeds one event observed at host time `now_ms`.
  void handle(std::int64_t now_ms, const event& e);
  /// Takes the effects produced so far, in order.
  std::vector<effect> poll();

  /// The current status (also sent as status effects when it changes).
  const client::status& current_status() const;
  /// True while a round (load, read, request, apply…) is under way.
  bool busy() const;
  /// True when idle with nothing scheduled but the periodic sync.
  bool quiescent() const;
  /// The timer currently asked for.
  std::optional<std::int64_t> timer_at() const;
  /// The sequence number the next new batch will use.
  std::int64_t next_seq() const;
  /// The pull cursor (null before the first pull).
  const json& cursor() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Generates a client id `c_<16 hex>` from host randomness (a hex seed; any
/// other text is hashed).
std::string client_id_from_seed(std::string_view seed);

/// True for a protocol-valid client id (the rule: protocol/protocol.h).
using edgesync::is_valid_client_id;

/// Parses an event from frame metadata ({type, now, …}) and its segments.
result<std::pair<std::int64_t, event>> parse_event(
    const json& meta, const std::vector<std::string_view>& segments);

/// Encodes effects as the JSON text of the frame's "effects" array plus
/// segments (the large texts move into the segments, named {"seg":i}: pass
/// the effects as an rvalue).
std::pair<std::string, std::vector<effects::raw_text>> encode_effects(
    std::vector<effect> fx);

/// The JSON form of a status (the `status` effect's payload).
json status_json(const client::status& s);

}  // namespace edgesync::client
