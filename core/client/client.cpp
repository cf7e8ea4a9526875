// The client state machine. docs/client.md has the transition table; the
// short version:
//
// clang-format off
//   phase          | on                           | does                          | next
//   ---------------+------------------------------+-------------------------------+------------------
//   loading        | sql_done(load)               | read id, seq, cursor, seal    | saving_id / idle
//   saving_id      | sql_done                     | (client id persisted)         | idle + round
//   idle           | a trigger (see below)        | sealed batch? send : read     | requesting / reading
//   reading        | sql_done(read)               | compact, cut, seal            | sealing / requesting
//   sealing        | sql_done                     | send (keepalive on a flush)   | requesting
//   requesting     | 200                          | one apply transaction         | applying
//   requesting     | 400 at batch.changes[i]      | drop those changes            | dropping
//   requesting     | 401 (first)                  | refresh_token                 | awaiting_token
//   requesting     | 409 schema / 403 client id   | stop                          | stopped
//   requesting     | 413                          | halve limits (or drop one)    | idle + round
//   requesting     | other / network / timeout    | back off                      | idle
//   awaiting_token | token_refreshed              | resend the same body          | requesting
//   applying       | sql_done                     | events; hasMore → again       | idle (+ round)
//   dropping       | sql_done                     | rejected events               | idle + round
// clang-format on
//
// Triggers of a round: load, debounce after local_change, periodic, retry
// after backoff, online, visible, sync_now, hidden (a keepalive flush),
// hasMore / outbox left over. A trigger during a round sets `again`; there
// is never more than one request in flight.
//
// The in-flight batch is *sealed* before it is sent: its seq, body and the
// outbox ids of every change are persisted in sync_state. Until a response
// acknowledges it, every retry (after a lost response, a timeout, a 5xx, a
// reload) sends exactly that batch again with the same seq, so the server's
// dedupe by seq returns the original results and nothing is applied twice.
// A seq is only replaced after the server provably did not apply it (400,
// 413), and only advances on an acknowledgement.
//
// This file is the state machine: rounds, timers and the transition on
// every event. The engine's state is declared in client_engine.h; the work
// of each step (its SQL and what it reads back) is in client_steps.cpp.
#include "client/client.h"

#include <algorithm>

#include "client/client_engine.h"
#include "protocol/hlc.h"
#include "sql/client_sqlite.h"

namespace edgesync::client {

namespace {

bool is_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
           (c >= 'A' && c <= 'F');
  });
}

const char* op_name(row_op op) {
  return op == row_op::remove ? "delete" : "upsert";
}

}  // namespace

// ---------------------------------------------------------------------------

std::string client_id_from_seed(std::string_view seed) {
  std::string hex;
  if (seed.size() >= 16 && is_hex(seed.substr(0, 16))) {
    hex = std::string(seed.substr(0, 16));
    for (auto& c : hex)
      if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  } else {
    std::uint64_t s = detail::fnv1a(seed);
    std::uint64_t v = detail::next_random(s);
    const char* digits = "0123456789abcdef";
    for (int i = 15; i >= 0; --i) hex += digits[(v >> (i * 4)) & 15];
  }
  return "c_" + hex;
}

const char* to_string(sync_state s) {
  switch (s) {
    case sync_state::idle:
      return "idle";
    case sync_state::syncing:
      return "syncing";
    case sync_state::offline:
      return "offline";
    case sync_state::error:
      return "error";
  }
  return "error";
}

// ---------------------------------------------------------------------------

engine::impl::impl(open_options o)
    : schema_(std::move(o.schema)),
      cfg_(std::move(o.config)),
      seed_(std::move(o.seed)),
      proposed_id_(std::move(o.client_id)) {
  rng_ = detail::fnv1a(seed_) ^ 0x5eed5eed5eed5eedull;
  now_ = o.now_ms;
  host_offline_ = !o.online;
  max_changes_ = std::max<std::size_t>(1, cfg_.max_batch_changes);
  max_bytes_ = std::max<std::size_t>(1, cfg_.max_batch_bytes);
  begin_load();
  finish_step();
}

void engine::impl::emit_sql(std::string purpose, bool tx,
                            std::vector<effects::statement> stmts) {
  io_ = next_io_++;
  out_.emplace_back(
      effects::run_sql{io_, std::move(purpose), tx, std::move(stmts)});
}

void engine::impl::emit_events(std::vector<effect>& events) {
  for (auto& e : events) out_.push_back(std::move(e));
  events.clear();
}

void engine::impl::finish_step() {
  if (in<phases::idle>()) check_due();
  update_status();
  rearm();
}

void engine::impl::update_status() {
  status s = detail::make_status(
      {in<phases::stopped>(), busy(), host_offline_, last_fail_, pending_,
       last_synced_at_, last_error_, timers_[deadline::retry], client_id_});
  if (status_sent_ && s == status_) return;
  status_ = s;
  status_sent_ = true;
  out_.emplace_back(effects::status_changed{s});
}

// The deadline the host's timer should fire at; nullopt with `keep` when
// a short local step runs (the timer is re-armed after it).
std::optional<std::int64_t> engine::impl::wanted_timer(bool& keep) const {
  keep = false;
  if (in<phases::requesting>()) return timers_.earliest({deadline::request});
  if (in<phases::idle>()) {
    if (host_offline_) return std::nullopt;
    // While backing off only the retry counts.
    if (timers_[deadline::retry]) return timers_[deadline::retry];
    return timers_.earliest({deadline::debounce, deadline::periodic});
  }
  keep = !in<phases::stopped>();
  return std::nullopt;
}

void engine::impl::rearm() {
  bool keep = false;
  std::optional<std::int64_t> want = wanted_timer(keep);
  if (keep) return;
  if (armed_known_ && want == armed_) return;
  armed_ = want;
  armed_known_ = true;
  out_.emplace_back(effects::set_timer{want});
}

// Starts a round if a timer-driven trigger is due.
void engine::impl::check_due() {
  if (!in<phases::idle>() || host_offline_) return;
  if (auto retry = timers_[deadline::retry]) {
    if (now_ >= *retry) start_round(false);
    return;
  }
  bool due = false;
  if (auto d = timers_[deadline::debounce]; d && now_ >= *d) {
    if (dirty_ || pending_ > 0) due = true;
    timers_[deadline::debounce].reset();
    debounce_first_.reset();
  }
  if (auto p = timers_[deadline::periodic]; p && now_ >= *p) due = true;
  if (due) start_round(false);
}

void engine::impl::start_round(bool flush) {
  if (in<phases::stopped>()) return;
  if (busy()) {
    round_.again = true;
    // A hide before the request leaves still makes it a keepalive flush.
    if (flush && (in<phases::reading>() || in<phases::sealing>() ||
                  in<phases::loading>() || in<phases::saving_id>()))
      round_.flush = true;
    return;
  }
  timers_[deadline::retry].reset();
  timers_[deadline::debounce].reset();
  debounce_first_.reset();
  timers_[deadline::periodic] = now_ + cfg_.periodic_ms;
  round_ = round_state{};
  round_.flush = flush;
  if (!loaded_) {
    begin_load();
  } else if (sealed_) {
    // Re-sending a sealed batch without looking at the outbox: whatever
    // is queued behind it goes out right after the acknowledgement.
    round_.more_outbox = true;
    send_request();
  } else {
    begin_read();
  }
}

void engine::impl::end_round_ok(bool has_more) {
  enter(phases::idle{});
  catching_up_ = has_more;
  if (!has_more) progress_ = catch_up{};
  failures_ = 0;
  last_fail_ = fail_kind::none;
  last_error_.reset();
  timers_[deadline::retry].reset();
  last_synced_at_ = now_;
  timers_[deadline::periodic] = now_ + cfg_.periodic_ms;
  bool go = round_.again || has_more || (round_.more_outbox && pending_ > 0);
  round_.flush = false;
  if (go && !host_offline_) start_round(false);
}

void engine::impl::fail(fail_kind kind, std::string code, std::string message,
                        int http_status,
                        std::optional<std::int64_t> retry_after) {
  close_stream();
  enter(phases::idle{});
  io_ = 0;
  ++failures_;
  last_fail_ = kind;
  std::int64_t delay =
      detail::backoff_delay(failures_, cfg_, rng_, retry_after);
  timers_[deadline::retry] = now_ + delay;
  timers_[deadline::periodic] = now_ + cfg_.periodic_ms;
  message += "; retrying in " + std::to_string(delay) + " ms";
  last_error_ = failure{std::move(code), std::move(message), http_status, now_};
  round_.again = false;
  round_.flush = false;
}

void engine::impl::stop(std::string code, std::string message,
                        int http_status) {
  close_stream();
  enter(phases::stopped{});
  io_ = 0;
  timers_[deadline::retry].reset();
  last_fail_ = fail_kind::error;
  last_error_ = failure{std::move(code), std::move(message), http_status, now_};
}

void engine::impl::send_request() {
  round_.stream = wants_stream();
  round_.body = detail::request_body(client_id_, schema_.version,
                                     sealed_ ? &*sealed_ : nullptr, cursor_,
                                     cfg_.page_size, round_.stream);
  resend();
}

void engine::impl::resend() {
  enter(phases::requesting{});
  io_ = next_io_++;
  timers_[deadline::request] = now_ + cfg_.request_timeout_ms;
  bool keepalive =
      round_.flush && round_.body.size() <= cfg_.keepalive_max_bytes;
  stream_ = stream_state{};
  if (round_.stream) stream_.id = io_;
  out_.emplace_back(effects::send_http{io_, "POST", cfg_.path, round_.body,
                                       keepalive, round_.stream});
}

void engine::impl::on_http_failed(const std::string& message) {
  fail(fail_kind::network, "network",
       "no answer from the server (" + message + "); changes stay queued", 0);
}

void engine::impl::on_http_response(int status, std::string_view body,
                                    std::optional<std::int64_t> retry_after) {
  if (status == 200) {
    on_ok(body, retry_after);
    return;
  }
  using action = detail::http_verdict::action;
  detail::http_verdict v = detail::judge_http(
      status, body,
      {sealed_ ? sealed_->changes.size() : 0, !cursor_.is_null(),
       round_.refreshed, schema_.version});
  switch (v.what) {
    case action::drop_invalid: {
      std::vector<std::size_t> idx;
      std::vector<effect> evs;
      for (const auto& d : v.drops) {
        const sealed_change& c = sealed_->changes[d.index];
        idx.push_back(d.index);
        evs.emplace_back(effects::rejected{
            c.tbl, c.pk_values(), op_name(c.op), c.covers, "invalid", d.code,
            d.message, d.path, nullptr, false, std::nullopt});
      }
      drop_changes(idx, std::move(evs));
      return;
    }
    case action::restart_pull:
      cursor_ = nullptr;
      enter(phases::idle{});
      start_round(false);
      return;
    case action::refresh_token:
      round_.refreshed = true;
      enter(phases::awaiting_token{});
      io_ = 0;
      out_.emplace_back(effects::refresh_token{});
      return;
    case action::stop:
      stop(v.code, v.message, status);
      return;
    case action::shrink:
      max_changes_ = std::max<std::size_t>(1, sealed_->changes.size() / 2);
      max_bytes_ = std::max<std::size_t>(
          1024, std::min(max_bytes_, round_.body.size()) / 2);
      // Not applied (a 4xx changes nothing): the seq is free for a
      // smaller batch, which the next seal overwrites.
      sealed_.reset();
      enter(phases::idle{});
      start_round(false);
      return;
    case action::drop_too_large: {
      const sealed_change& c = sealed_->changes[0];
      drop_changes(
          {0}, {effects::rejected{c.tbl, c.pk_values(), op_name(c.op), c.covers,
                                  "too_large", "payload_too_large",
                                  "this change alone is larger than the server "
                                  "accepts",
                                  "", nullptr, false, std::nullopt}});
      return;
    }
    case action::retry_later:
      fail(fail_kind::error, v.code, v.message, status, retry_after);
      return;
  }
}

// The transition table for sql completions: what each phase does when
// its transaction or query committed. Completions for other phases are
// stale (none can arrive: the io id is checked first).
void engine::impl::done(phases::loading&, const std::vector<std::string>& v) {
  on_load(v.empty() ? std::string() : v[0]);
}

void engine::impl::done(phases::saving_id&, const std::vector<std::string>&) {
  after_loaded();
}

void engine::impl::done(phases::reading&, const std::vector<std::string>& v) {
  on_read(v.empty() ? std::string() : v[0]);
}

void engine::impl::done(phases::sealing& p, const std::vector<std::string>& v) {
  after_seal(p, v);
}

void engine::impl::done(phases::applying& p,
                        const std::vector<std::string>& v) {
  after_apply(p, v);
}

void engine::impl::done(phases::dropping& p,
                        const std::vector<std::string>& v) {
  after_drop(p, v);
}

void engine::impl::on_sql_failed(const std::string& message) {
  // The phase's pending events and batch go with it.
  if (in<phases::saving_id>()) loaded_ = false;
  fail(fail_kind::error, "sql_failed", "a local SQL step failed: " + message,
       0);
}

void engine::impl::on_local_change() {
  dirty_ = true;
  pending_ = std::max<std::int64_t>(pending_, 1);
  if (!debounce_first_) debounce_first_ = now_;
  timers_[deadline::debounce] = std::min(
      now_ + cfg_.debounce_ms, *debounce_first_ + cfg_.max_debounce_ms);
}

void engine::impl::on_tick() {
  if (auto d = timers_[deadline::request];
      in<phases::requesting>() && d && now_ >= *d) {
    out_.emplace_back(effects::abort_http{io_});
    fail(fail_kind::network, "timeout",
         "no answer within " + std::to_string(cfg_.request_timeout_ms) +
             " ms; the batch will be sent again",
         0);
  }
  // Due timers are checked by finish_step(). The host's one timer has
  // fired: whatever is due next must be armed again, even when it is the
  // same deadline (an early tick).
  armed_known_ = false;
}

// True (and the id consumed) when `id` answers the outstanding effect.
bool engine::impl::answers(std::uint64_t id) {
  if (id == 0 || id != io_) return false;
  io_ = 0;
  return true;
}

void engine::impl::handle(std::int64_t now_ms, const event& e) {
  now_ = std::max(now_, now_ms);
  std::visit(
      [&](const auto& ev) {
        using T = std::decay_t<decltype(ev)>;
        if constexpr (std::is_same_v<T, events::sql_done>) {
          if (answers(ev.id))
            std::visit([&](auto& p) { done(p, ev.values); }, phase_);
        } else if constexpr (std::is_same_v<T, events::sql_failed>) {
          if (answers(ev.id)) on_sql_failed(ev.message);
        } else if constexpr (std::is_same_v<T, events::http_chunk>) {
          if (stream_.id != 0 && ev.id == stream_.id) on_chunk(ev.bytes);
        } else if constexpr (std::is_same_v<T, events::http_response>) {
          if (stream_.id != 0 && ev.id == stream_.id)
            on_stream_end(ev.status, ev.body, ev.retry_after_ms);
          else if (in<phases::requesting>() && answers(ev.id))
            on_http_response(ev.status, ev.body, ev.retry_after_ms);
        } else if constexpr (std::is_same_v<T, events::http_failed>) {
          if (stream_.id != 0 && ev.id == stream_.id)
            on_stream_broken(ev.message);
          else if (in<phases::requesting>() && answers(ev.id))
            on_http_failed(ev.message);
        } else if constexpr (std::is_same_v<T, events::tick>) {
          on_tick();
        } else if constexpr (std::is_same_v<T, events::local_change>) {
          on_local_change();
        } else if constexpr (std::is_same_v<T, events::connectivity>) {
          host_offline_ = !ev.online;
          if (ev.online) start_round(false);
        } else if constexpr (std::is_same_v<T, events::visibility>) {
          if (ev.visible) {
            if (!host_offline_) start_round(false);
          } else if (!host_offline_ && (dirty_ || pending_ > 0 || sealed_)) {
            start_round(true);
          }
        } else if constexpr (std::is_same_v<T, events::sync_now>) {
          start_round(false);
        } else if constexpr (std::is_same_v<T, events::token_refreshed>) {
          if (in<phases::awaiting_token>()) {
            resend();
          } else if (in<phases::idle>() && last_error_ &&
                     last_error_->code == "unauthorized") {
            start_round(false);
          }
        } else if constexpr (std::is_same_v<T, events::token_failed>) {
          if (in<phases::awaiting_token>())
            fail(fail_kind::error, "unauthorized",
                 "no fresh token (" + ev.message + ")", 401);
        }
      },
      e);
  finish_step();
}
// ---------------------------------------------------------------------------

engine::engine(open_options options)
    : impl_(std::make_unique<impl>(std::move(options))) {}
engine::~engine() = default;
engine::engine(engine&&) noexcept = default;
engine& engine::operator=(engine&&) noexcept = default;

void engine::handle(std::int64_t now_ms, const event& e) {
  impl_->handle(now_ms, e);
}

std::vector<effect> engine::poll() {
  std::vector<effect> out;
  out.swap(impl_->out_);
  return out;
}

const status& engine::current_status() const { return impl_->status_; }
bool engine::busy() const { return impl_->busy(); }
bool engine::quiescent() const {
  return impl_->in<phases::stopped>() ||
         (impl_->in<phases::idle>() && !impl_->timers_[deadline::retry] &&
          !impl_->timers_[deadline::debounce]);
}
std::optional<std::int64_t> engine::timer_at() const { return impl_->armed_; }
std::int64_t engine::next_seq() const { return impl_->next_seq_; }
const json& engine::cursor() const { return impl_->cursor_; }

}  // namespace edgesync::client
