// The client engine's state (internal to the engine): its phases, named
// deadlines and round facts, and engine::impl, whose members are defined in
// client.cpp (the state machine: rounds, timers, transitions on every event)
// and client_steps.cpp (the work of each step: load, read and seal, apply,
// drop — the SQL it emits and what it reads back).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <initializer_list>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "client/client.h"
#include "client/client_apply.h"
#include "client/client_batch.h"
#include "client/client_policy.h"
#include "client/client_response.h"

namespace edgesync::client {

// The phases of the engine, each with the data only it needs.
namespace phases {
/// Reading sync_state (the first step; again after a failed load).
struct loading {};
/// Persisting a newly chosen client id.
struct saving_id {};
/// Nothing under way; timers decide when the next round starts.
struct idle {};
/// Reading the outbox.
struct reading {};
/// Persisting the batch about to be sent (and dropping unsendable rows).
struct sealing {
  std::optional<detail::sealed_batch> batch;  ///< none: only a pull
  std::vector<effect> events;                 ///< rejected, once committed
};
/// The request is in flight (its deadline is in the timer table).
struct requesting {};
/// A 401: waiting for the host's fresh token.
struct awaiting_token {};
/// The apply transaction runs.
struct applying {
  json cursor;                 ///< the cursor it persists
  bool older_seq = false;      ///< the batch was not acknowledged (probe)
  bool has_more = false;       ///< another page is ready
  std::int64_t next_seq = 0;   ///< the seq it persists (with a batch)
  std::vector<effect> events;  ///< for the app, once committed
};
/// The drop transaction runs (changes the server refused unapplied).
struct dropping {
  std::vector<effect> events;
};
/// Sync stopped for good (schema version, client id).
struct stopped {};
}  // namespace phases

using phase = std::variant<phases::loading, phases::saving_id, phases::idle,
                           phases::reading, phases::sealing, phases::requesting,
                           phases::awaiting_token, phases::applying,
                           phases::dropping, phases::stopped>;

// The named deadlines of the engine. The host keeps one timer, armed at the
// earliest deadline that applies in the current phase (impl::wanted_timer).
enum class deadline : std::size_t {
  request,   ///< the request in flight gives up
  retry,     ///< the next try after a failure
  debounce,  ///< a push after local writes pause
  periodic,  ///< the periodic sync
  count
};

struct timer_table {
  std::array<std::optional<std::int64_t>,
             static_cast<std::size_t>(deadline::count)>
      at;
  std::optional<std::int64_t>& operator[](deadline d) {
    return at[static_cast<std::size_t>(d)];
  }
  const std::optional<std::int64_t>& operator[](deadline d) const {
    return at[static_cast<std::size_t>(d)];
  }
  /// The earliest of the given deadlines that are set.
  std::optional<std::int64_t> earliest(
      std::initializer_list<deadline> which) const {
    std::optional<std::int64_t> out;
    for (deadline d : which)
      if ((*this)[d] && (!out || *(*this)[d] < *out)) out = (*this)[d];
    return out;
  }
};

// Facts of the round under way (reset when a round starts).
struct round_state {
  bool flush = false;        ///< a hide flush: send with keepalive
  bool again = false;        ///< a trigger arrived during the round
  bool refreshed = false;    ///< a token was refreshed in this round
  bool more_outbox = false;  ///< the outbox holds more than this batch
  std::string body;          ///< the request body (resent unchanged)
  bool stream = false;       ///< …asks for a streamed pull
};

// A streamed pull's body as it arrives (docs/protocol.md, "Streamed
// pulls"): newline-delimited frames, each one page answer, applied one after
// the other while the rest is still downloading.
struct stream_state {
  std::uint64_t id = 0;  ///< its http effect (0: no stream under way)
  std::string buf;       ///< bytes after the last whole frame
  /// Whole frames not applied yet, with their row counts.
  std::deque<std::pair<std::string, std::int64_t>> frames;
  std::int64_t applying_rows = 0;  ///< rows of the frame being applied
  bool ended = false;              ///< the body ended (or broke)
  bool broken = false;             ///< …the connection broke
  std::string failure;             ///< why it broke
  std::int64_t frames_seen = 0, applied_frames = 0;
  bool has_more = false;  ///< hasMore of the last applied frame
};

// How far a catch-up (rounds until the server has no more) has come.
struct catch_up {
  std::int64_t received = 0, applied = 0;
  std::optional<std::int64_t> total;
};

struct engine::impl {
  using sealed_batch = detail::sealed_batch;
  using sealed_change = detail::sealed_change;
  using fail_kind = detail::fail_kind;

  // ---- configuration and identity
  edgesync::schema schema_;
  config cfg_;
  detail::apply_statements sql_{schema_};
  std::uint64_t rng_ = 0;
  std::string seed_;
  std::optional<std::string> proposed_id_;

  // ---- persisted state (mirrors sync_state)
  bool loaded_ = false;
  std::string client_id_;
  std::int64_t next_seq_ = 1;
  json cursor_ = nullptr;
  std::optional<sealed_batch> sealed_;

  // ---- the state machine
  phase phase_ = phases::loading{};
  round_state round_;
  std::uint64_t next_io_ = 1;
  std::uint64_t io_ = 0;         // the outstanding sql/http effect (0: none)
  std::size_t max_changes_ = 1;  // halved by 413s
  std::size_t max_bytes_ = 1;
  int dup_probe_ = 0;

  // ---- scheduling
  std::int64_t now_ = 0;
  timer_table timers_;
  std::optional<std::int64_t> debounce_first_;  // start of the debounce
  bool dirty_ = false;  // local writes since the last outbox read
  int failures_ = 0;    // in a row
  fail_kind last_fail_ = fail_kind::none;
  bool host_offline_ = false;
  std::optional<std::int64_t> armed_;  // what the host's timer is set to
  bool armed_known_ = false;

  // ---- status
  std::int64_t pending_ = 0;
  std::optional<std::int64_t> last_synced_at_;
  std::optional<failure> last_error_;
  status status_;
  bool status_sent_ = false;

  std::vector<effect> out_;

  // ---- streamed pulls (client_stream.cpp)
  stream_state stream_;
  catch_up progress_;
  // The last round ended with more to pull; also on open: a reload may
  // have cut a catch-up short.
  bool catching_up_ = true;

  explicit impl(open_options o);

  // ---------------------------------------------------------------- plumbing

  template <typename P>
  bool in() const {
    return std::holds_alternative<P>(phase_);
  }

  bool busy() const { return !in<phases::idle>() && !in<phases::stopped>(); }

  // Every transition goes through here.
  void enter(phase p) {
    phase_ = std::move(p);
    if (!in<phases::requesting>()) timers_[deadline::request].reset();
  }

  void emit_sql(std::string purpose, bool tx,
                std::vector<effects::statement> stmts);
  void emit_events(std::vector<effect>& events);
  void finish_step();
  void update_status();

  // ---------------------------------------- timers and rounds (client.cpp)

  std::optional<std::int64_t> wanted_timer(bool& keep) const;
  void rearm();
  void check_due();
  void start_round(bool flush);
  void end_round_ok(bool has_more);
  void fail(fail_kind kind, std::string code, std::string message,
            int http_status,
            std::optional<std::int64_t> retry_after = std::nullopt);
  void stop(std::string code, std::string message, int http_status);

  // ------------------------------------------------- steps (client_steps.cpp)

  void begin_load();
  void on_load(const std::string& text);
  void after_loaded();
  void begin_read();
  void on_read(const std::string& text);
  void after_seal(phases::sealing& p, const std::vector<std::string>& values);
  void drop_changes(const std::vector<std::size_t>& idx,
                    std::vector<effect> evs);
  void on_ok(std::string_view body, std::optional<std::int64_t> retry_after);
  void read_pending(const std::vector<std::string>& values);
  void after_apply(phases::applying& p, const std::vector<std::string>& values);
  void after_drop(phases::dropping& p, const std::vector<std::string>& values);

  // ----------------------------------- streamed pulls (client_stream.cpp)

  bool wants_stream() const;
  void on_chunk(std::string_view bytes);
  void on_stream_end(int status, std::string_view body,
                     std::optional<std::int64_t> retry_after);
  void on_stream_broken(const std::string& message);
  void next_frame();
  void after_frame(bool has_more);
  void close_stream();
  void emit_progress();

  // ------------------------------------------ request and events (client.cpp)

  void send_request();
  void resend();
  void on_http_failed(const std::string& message);
  void on_http_response(int status, std::string_view body,
                        std::optional<std::int64_t> retry_after);
  void done(phases::loading&, const std::vector<std::string>& v);
  void done(phases::saving_id&, const std::vector<std::string>&);
  void done(phases::reading&, const std::vector<std::string>& v);
  void done(phases::sealing& p, const std::vector<std::string>& v);
  void done(phases::applying& p, const std::vector<std::string>& v);
  void done(phases::dropping& p, const std::vector<std::string>& v);
  template <typename P>
  void done(P&, const std::vector<std::string>&) {}
  void on_sql_failed(const std::string& message);
  void on_local_change();
  void on_tick();
  bool answers(std::uint64_t id);
  void handle(std::int64_t now_ms, const event& e);
};

}  // namespace edgesync::client
