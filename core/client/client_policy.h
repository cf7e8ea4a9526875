// The status and error policy of the client core, as pure functions: what
// the UI is shown, how long to back off, and what a non-200 answer means.
// No state of their own; the engine (client.cpp) keeps the facts they read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/client.h"

namespace edgesync::client::detail {

/// splitmix64: a tiny deterministic generator seeded from host randomness.
std::uint64_t next_random(std::uint64_t& state);

/// FNV-1a of `s` (seeds from text).
std::uint64_t fnv1a(std::string_view s);

/// How the last round ended, when it failed.
enum class fail_kind { none, network, error };

/// The retry delay after the `failures`-th failure in a row:
/// min(backoff_max, backoff_base · 2^(n−1)), half fixed and half drawn from
/// `rng` ("equal jitter": clients that failed together do not retry
/// together, and the delay still grows); at least `retry_after` when the
/// server sent one.
std::int64_t backoff_delay(int failures, const config& cfg, std::uint64_t& rng,
                           std::optional<std::int64_t> retry_after);

/// What the engine knows that the status is made of.
struct status_facts {
  bool stopped = false;  ///< sync stopped for good (schema, client id)
  bool busy = false;     ///< a round (or the load) is under way
  bool host_offline = false;
  fail_kind last_fail = fail_kind::none;
  std::int64_t pending = 0;
  std::optional<std::int64_t> last_synced_at;
  std::optional<failure> last_error;
  std::optional<std::int64_t> retry_at;  ///< set while backing off
  std::string client_id;
};

/// The status the UI sees: stopped → error; a round → syncing; offline
/// (host or network failure) → offline; another failure → error; else idle.
status make_status(const status_facts& f);

/// The error body of a non-200 answer ({protocol, error: {code, message,
/// path, errors: [{code, path, message}…]}}); missing parts stay empty.
struct error_body {
  std::string code, message, path;
  struct entry {
    std::string code, path, message;
  };
  std::vector<entry> errors;  ///< `errors`, or the one error with its path
  std::optional<std::int64_t> server_schema_version;
};

/// Reads an error body (anything else gives an empty one).
error_body parse_error_body(std::string_view body);

/// What the request in flight was (the inputs of judge_http).
struct request_facts {
  std::size_t batch_changes = 0;  ///< changes of the batch sent; 0: a pull
  bool has_cursor = false;        ///< the request carried a cursor
  bool refreshed = false;  ///< a token was already refreshed in this round
  std::int64_t schema_version = 0;
};

/// What to do with a non-200 answer.
struct http_verdict {
  enum class action {
    retry_later,     ///< back off (error status), then send the same batch
    drop_invalid,    ///< drop `drops` (a 400 into changes), send the rest
    restart_pull,    ///< forget the cursor (a 400 at it), pull from the start
    refresh_token,   ///< a 401: get a fresh token, then send again
    stop,            ///< sync cannot go on (schema version, client id)
    shrink,          ///< a 413: halve the limits and cut a smaller batch
    drop_too_large,  ///< a 413 for a batch of one change: refuse it
  };
  action what = action::retry_later;
  std::string code, message;
  /// drop_invalid: the changes refused, by index in the batch, with why.
  struct refused {
    std::size_t index = 0;
    std::string code, message, path;
  };
  std::vector<refused> drops;
};

/// The policy for a non-200 answer `status` with `body`. A 4xx changed
/// nothing on the server, so the batch's changes may be dropped or cut.
http_verdict judge_http(int status, std::string_view body,
                        const request_facts& f);

}  // namespace edgesync::client::detail
