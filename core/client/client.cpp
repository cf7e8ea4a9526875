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
#include "client/client.h"

#include <algorithm>
#include <array>
#include <initializer_list>

#include "client/client_apply.h"
#include "client/client_batch.h"
#include "client/client_policy.h"
#include "client/client_response.h"
#include "sql/client_sqlite.h"
#include "protocol/hlc.h"

namespace edgesync::client {

namespace {

using detail::fail_kind;

// A member of an object, or null: never the asserting const operator[].
const json& at(const json& o, const char* key) {
  static const json null_value;
  if (!o.is_object()) return null_value;
  auto it = o.find(key);
  return it == o.end() ? null_value : *it;
}

bool is_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
           (c >= 'A' && c <= 'F');
  });
}

std::optional<std::int64_t> opt_int(const json& j) {
  if (j.is_number_integer()) return j.get<std::int64_t>();
  return std::nullopt;
}

const char* op_name(row_op op) {
  return op == row_op::remove ? "delete" : "upsert";
}

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
};

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

struct engine::impl {
  using sealed_batch = detail::sealed_batch;
  using sealed_change = detail::sealed_change;

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

  explicit impl(open_options o)
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
                std::vector<effects::statement> stmts) {
    io_ = next_io_++;
    out_.push_back(
        effects::run_sql{io_, std::move(purpose), tx, std::move(stmts)});
  }

  void emit_events(std::vector<effect>& events) {
    for (auto& e : events) out_.push_back(std::move(e));
    events.clear();
  }

  void finish_step() {
    if (in<phases::idle>()) check_due();
    update_status();
    rearm();
  }

  void update_status() {
    status s = detail::make_status(
        {in<phases::stopped>(), busy(), host_offline_, last_fail_, pending_,
         last_synced_at_, last_error_, timers_[deadline::retry], client_id_});
    if (status_sent_ && s == status_) return;
    status_ = s;
    status_sent_ = true;
    out_.push_back(effects::status_changed{s});
  }

  // ----------------------------------------------------------------- timers

  // The deadline the host's timer should fire at; nullopt with `keep` when
  // a short local step runs (the timer is re-armed after it).
  std::optional<std::int64_t> wanted_timer(bool& keep) const {
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

  void rearm() {
    bool keep = false;
    std::optional<std::int64_t> want = wanted_timer(keep);
    if (keep) return;
    if (armed_known_ && want == armed_) return;
    armed_ = want;
    armed_known_ = true;
    out_.push_back(effects::set_timer{want});
  }

  // Starts a round if a timer-driven trigger is due.
  void check_due() {
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

  // ------------------------------------------------------------------ rounds

  void start_round(bool flush) {
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

  void end_round_ok(bool has_more) {
    enter(phases::idle{});
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

  void fail(fail_kind kind, std::string code, std::string message,
            int http_status,
            std::optional<std::int64_t> retry_after = std::nullopt) {
    enter(phases::idle{});
    io_ = 0;
    ++failures_;
    last_fail_ = kind;
    std::int64_t delay =
        detail::backoff_delay(failures_, cfg_, rng_, retry_after);
    timers_[deadline::retry] = now_ + delay;
    timers_[deadline::periodic] = now_ + cfg_.periodic_ms;
    message += "; retrying in " + std::to_string(delay) + " ms";
    last_error_ =
        failure{std::move(code), std::move(message), http_status, now_};
    round_.again = false;
    round_.flush = false;
  }

  void stop(std::string code, std::string message, int http_status) {
    enter(phases::stopped{});
    io_ = 0;
    timers_[deadline::retry].reset();
    last_fail_ = fail_kind::error;
    last_error_ =
        failure{std::move(code), std::move(message), http_status, now_};
  }

  // -------------------------------------------------------------------- load

  void begin_load() {
    enter(phases::loading{});
    emit_sql("load", false, {{detail::load_sql(), {}, true}});
  }

  void on_load(const std::string& text) {
    auto doc = parse_json(text);
    if (!doc || !doc.value().is_object() ||
        !at(doc.value(), "state").is_object()) {
      fail(fail_kind::error, "sql_failed",
           "could not read sync_state; run the SQLite DDL (schema.sqlite_ddl) "
           "before opening the client",
           0);
      return;
    }
    const json& st = at(doc.value(), "state");
    const json& clock = at(doc.value(), "clock");
    bool save = false;
    if (at(st, "client_id").is_string() &&
        is_valid_client_id(at(st, "client_id").get_ref<const std::string&>())) {
      client_id_ = at(st, "client_id").get<std::string>();
    } else {
      client_id_ = proposed_id_ && is_valid_client_id(*proposed_id_)
                       ? *proposed_id_
                       : client_id_from_seed(seed_);
      save = true;
    }
    if (!clock.is_object() || !at(clock, "node").is_string() ||
        at(clock, "node").get_ref<const std::string&>() != client_id_)
      save = true;
    next_seq_ = 1;
    if (auto s = opt_int(at(st, "seq")); s && *s >= 1) next_seq_ = *s;
    cursor_ = at(st, "cursor").is_string() ? at(st, "cursor") : json(nullptr);
    if (auto p = opt_int(at(doc.value(), "pending"))) pending_ = *p;
    sealed_.reset();
    if (auto seq = opt_int(at(st, "inflight_seq"));
        seq && at(st, "inflight_batch").is_string() &&
        at(st, "inflight_meta").is_string()) {
      sealed_ = detail::restore_sealed(
          *seq, at(st, "inflight_batch").get<std::string>(),
          at(st, "inflight_meta").get_ref<const std::string&>());
    }
    sql_.set_jsonb(
        at(doc.value(), "sqlite").is_string() &&
        detail::sqlite_has_jsonb(
            at(doc.value(), "sqlite").get_ref<const std::string&>()));
    loaded_ = true;
    if (save) {
      enter(phases::saving_id{});
      emit_sql(
          "save_id", true,
          {{detail::set_state_sql(), {std::string("client_id"), client_id_}},
           {detail::set_node_sql(), {client_id_}},
           {detail::set_state_sql(), {std::string("seq"), next_seq_}}});
      return;
    }
    after_loaded();
  }

  void after_loaded() {
    enter(phases::idle{});
    // A hide during the load still flushes with keepalive.
    if (!host_offline_) start_round(round_.flush);
  }

  // ------------------------------------------------------------ read, seal

  void begin_read() {
    enter(phases::reading{});
    dirty_ = false;
    emit_sql("read", false,
             {{detail::read_outbox_sql(),
               {static_cast<std::int64_t>(max_changes_)},
               true}});
  }

  void on_read(const std::string& text) {
    detail::outbox_read read = detail::read_outbox(text, schema_);
    if (!read.error.empty()) {
      fail(fail_kind::error, "sql_failed", read.error, 0);
      return;
    }
    if (read.pending) pending_ = *read.pending;
    if (read.count >= max_changes_) round_.more_outbox = true;
    compaction c = compact_outbox(std::move(read.rows));
    std::size_t budget = max_bytes_;
    if (round_.flush)
      budget = std::min(budget, cfg_.keepalive_max_bytes > 400
                                    ? cfg_.keepalive_max_bytes - 400
                                    : cfg_.keepalive_max_bytes);
    detail::batch_plan plan =
        detail::build_batch(c.changes, schema_, client_id_, next_seq_, budget);
    if (plan.full) round_.more_outbox = true;

    phases::sealing next;
    std::vector<effects::statement> stmts;
    if (!plan.batch.changes.empty()) {
      stmts.push_back({detail::set_state_sql(),
                       {std::string("inflight_seq"), plan.batch.seq}});
      stmts.push_back({detail::set_state_sql(),
                       {std::string("inflight_batch"),
                        effects::raw_text{plan.batch.text}}});
      stmts.push_back({detail::set_state_sql(),
                       {std::string("inflight_meta"),
                        effects::raw_text{detail::seal_meta(plan.batch)}}});
      next.batch = std::move(plan.batch);
    }
    if (!read.bad.empty()) {
      // Unsendable outbox rows leave the queue; their rows go back to the
      // server's truth.
      std::string ids = "[";
      std::int64_t n = 0;
      for (auto& b : read.bad) {
        for (auto id : b.ids) {
          if (ids.size() > 1) ids += ',';
          ids += std::to_string(id);
          ++n;
        }
        next.events.push_back(
            effects::rejected{b.tbl, b.pk, b.op, b.ids, "invalid", b.code,
                              b.message, "", nullptr, false, std::nullopt});
      }
      ids += ']';
      stmts.push_back({detail::guard_on_sql(), {}});
      stmts.push_back(
          {detail::delete_outbox_ids_sql(), {effects::raw_text{ids}}});
      sql_.append_reconcile(stmts);
      stmts.push_back({detail::guard_off_sql(), {}});
      pending_ = std::max<std::int64_t>(0, pending_ - n);
    }
    if (stmts.empty()) {
      after_seal(next, {});
      return;
    }
    enter(std::move(next));
    emit_sql("seal", true, std::move(stmts));
  }

  // `p` may be the current phase: everything is taken from it first.
  void after_seal(phases::sealing& p, const std::vector<std::string>& values) {
    std::vector<effect> events = std::move(p.events);
    if (p.batch) sealed_ = std::move(p.batch);
    if (!values.empty()) detail::patch_restored(values[0], schema_, events);
    emit_events(events);
    if (!sealed_ && round_.flush) {
      // Nothing to push on the way out; a pull would be wasted.
      enter(phases::idle{});
      round_.flush = false;
      return;
    }
    send_request();
  }

  // ----------------------------------------------------------------- request

  void send_request() {
    round_.body = detail::request_body(client_id_, schema_.version,
                                       sealed_ ? &*sealed_ : nullptr, cursor_,
                                       cfg_.page_size);
    resend();
  }

  void resend() {
    enter(phases::requesting{});
    io_ = next_io_++;
    timers_[deadline::request] = now_ + cfg_.request_timeout_ms;
    bool keepalive =
        round_.flush && round_.body.size() <= cfg_.keepalive_max_bytes;
    out_.push_back(
        effects::send_http{io_, "POST", cfg_.path, round_.body, keepalive});
  }

  void on_http_failed(const std::string& message) {
    fail(fail_kind::network, "network",
         "no answer from the server (" + message + "); changes stay queued", 0);
  }

  void on_http_response(int status, const std::string& body,
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
          evs.push_back(effects::rejected{
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
        out_.push_back(effects::refresh_token{});
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
        drop_changes({0}, {effects::rejected{
                              c.tbl, c.pk_values(), op_name(c.op), c.covers,
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

  // Drops changes of the sealed batch for good (the server refused them
  // without applying anything), then sends the rest as a fresh batch.
  void drop_changes(const std::vector<std::size_t>& idx,
                    std::vector<effect> evs) {
    std::string ids = "[";
    for (auto i : idx)
      for (auto id : sealed_->changes[i].covers) {
        if (ids.size() > 1) ids += ',';
        ids += std::to_string(id);
      }
    ids += ']';
    sealed_.reset();
    // The refused changes' rows go back to the server's truth.
    std::vector<effects::statement> stmts = {
        {detail::guard_on_sql(), {}},
        {detail::delete_outbox_ids_sql(), {effects::raw_text{std::move(ids)}}},
        {detail::clear_inflight_sql(), {}}};
    sql_.append_reconcile(stmts);
    stmts.push_back({detail::guard_off_sql(), {}});
    stmts.push_back({detail::pending_count_sql(), {}, true});
    enter(phases::dropping{std::move(evs)});
    emit_sql("drop", true, std::move(stmts));
  }

  // ------------------------------------------------------------------- apply

  void on_ok(const std::string& body, std::optional<std::int64_t> retry_after) {
    detail::sync_answer r = detail::read_sync_answer(body, schema_);
    auto bad = [&](const std::string& why) {
      fail(fail_kind::error, "invalid_response",
           "the server's answer is malformed: " + why, 200, retry_after);
    };
    if (!r.error.empty()) return bad(r.error);
    phases::applying next;
    next.has_more = r.has_more;
    next.cursor = r.cursor.is_string() ? r.cursor : cursor_;
    const sealed_batch* acked = nullptr;
    if (sealed_) {
      if (!r.has_ack || r.ack_seq != sealed_->seq)
        return bad("ack does not name the batch sent (seq " +
                   std::to_string(sealed_->seq) + ")");
      // Duplicate without the results: the server applied a later seq than
      // this one (e.g. a restored local database); nothing here was
      // acknowledged. Probe upwards.
      next.older_seq =
          r.ack_duplicate && r.result_count < sealed_->changes.size();
      if (!next.older_seq) acked = &*sealed_;
    }
    detail::answer_plan plan = detail::plan_answer(r, acked, schema_, sql_);
    std::vector<effects::statement> stmts;
    stmts.reserve(plan.statements.size() + 8);
    stmts.push_back({detail::guard_on_sql(), {}});
    for (auto& s : plan.statements) stmts.push_back(std::move(s));
    if (r.server_time) stmts.push_back({sqlite_absorb_sql(), {*r.server_time}});
    stmts.push_back({detail::set_state_sql(),
                     {std::string("cursor"),
                      next.cursor.is_string()
                          ? effects::param(next.cursor.get<std::string>())
                          : effects::param(nullptr)}});
    if (sealed_) {
      std::int64_t seq = sealed_->seq + 1;
      if (next.older_seq) {
        dup_probe_ = std::min(dup_probe_ + 1, 30);
        seq = sealed_->seq + (std::int64_t{1} << (dup_probe_ - 1));
      } else {
        dup_probe_ = 0;
      }
      stmts.push_back({detail::set_state_sql(), {std::string("seq"), seq}});
      stmts.push_back({detail::clear_inflight_sql(), {}});
      next.next_seq = seq;
    }
    stmts.push_back({detail::guard_off_sql(), {}});
    stmts.push_back({detail::pending_count_sql(), {}, true});
    next.events = std::move(plan.events);
    enter(std::move(next));
    emit_sql("apply", true, std::move(stmts));
  }

  void read_pending(const std::vector<std::string>& values) {
    if (values.empty()) return;
    auto n = parse_json(values.back());
    if (n && n.value().is_number_integer())
      pending_ = n.value().get<std::int64_t>();
  }

  void after_apply(phases::applying& p,
                   const std::vector<std::string>& values) {
    phases::applying done = std::move(p);
    read_pending(values);
    if (values.size() == 2)
      detail::patch_restored(values[0], schema_, done.events);
    cursor_ = done.cursor;
    if (sealed_) {
      next_seq_ = done.next_seq;
      if (done.older_seq) round_.more_outbox = true;
      sealed_.reset();
    }
    emit_events(done.events);
    end_round_ok(done.has_more);
  }

  void after_drop(phases::dropping& p, const std::vector<std::string>& values) {
    std::vector<effect> events = std::move(p.events);
    read_pending(values);
    if (values.size() == 2) detail::patch_restored(values[0], schema_, events);
    emit_events(events);
    enter(phases::idle{});
    start_round(false);
  }

  // ------------------------------------------------------------------ events

  // The transition table for sql completions: what each phase does when
  // its transaction or query committed. Completions for other phases are
  // stale (none can arrive: the io id is checked first).
  void done(phases::loading&, const std::vector<std::string>& v) {
    on_load(v.empty() ? std::string() : v[0]);
  }
  void done(phases::saving_id&, const std::vector<std::string>&) {
    after_loaded();
  }
  void done(phases::reading&, const std::vector<std::string>& v) {
    on_read(v.empty() ? std::string() : v[0]);
  }
  void done(phases::sealing& p, const std::vector<std::string>& v) {
    after_seal(p, v);
  }
  void done(phases::applying& p, const std::vector<std::string>& v) {
    after_apply(p, v);
  }
  void done(phases::dropping& p, const std::vector<std::string>& v) {
    after_drop(p, v);
  }
  template <typename P>
  void done(P&, const std::vector<std::string>&) {}

  void on_sql_failed(const std::string& message) {
    // The phase's pending events and batch go with it.
    if (in<phases::saving_id>()) loaded_ = false;
    fail(fail_kind::error, "sql_failed", "a local SQL step failed: " + message,
         0);
  }

  void on_local_change() {
    dirty_ = true;
    pending_ = std::max<std::int64_t>(pending_, 1);
    if (!debounce_first_) debounce_first_ = now_;
    timers_[deadline::debounce] = std::min(
        now_ + cfg_.debounce_ms, *debounce_first_ + cfg_.max_debounce_ms);
  }

  void on_tick() {
    if (auto d = timers_[deadline::request];
        in<phases::requesting>() && d && now_ >= *d) {
      out_.push_back(effects::abort_http{io_});
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
  bool answers(std::uint64_t id) {
    if (id == 0 || id != io_) return false;
    io_ = 0;
    return true;
  }

  void handle(std::int64_t now_ms, const event& e) {
    now_ = std::max(now_, now_ms);
    std::visit(
        [&](const auto& ev) {
          using T = std::decay_t<decltype(ev)>;
          if constexpr (std::is_same_v<T, events::sql_done>) {
            if (answers(ev.id))
              std::visit([&](auto& p) { done(p, ev.values); }, phase_);
          } else if constexpr (std::is_same_v<T, events::sql_failed>) {
            if (answers(ev.id)) on_sql_failed(ev.message);
          } else if constexpr (std::is_same_v<T, events::http_response>) {
            if (in<phases::requesting>() && answers(ev.id))
              on_http_response(ev.status, ev.body, ev.retry_after_ms);
          } else if constexpr (std::is_same_v<T, events::http_failed>) {
            if (in<phases::requesting>() && answers(ev.id))
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
};

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
