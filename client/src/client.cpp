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
#include "edgesync/client.h"

#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <unordered_map>

#include "client_sql.h"
#include "edgesync/client_hlc.h"
#include "edgesync/json_scan.h"

namespace edgesync::client {

namespace {

constexpr int kProtocol = 1;

// splitmix64: a tiny deterministic generator seeded from host randomness.
std::uint64_t next_random(std::uint64_t& s) {
  std::uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

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

// The key values of a row object, in key order (null when one is missing).
json key_values(const table& t, const json& row) {
  json out = json::array();
  for (auto k : t.primary_key) {
    const std::string& name = t.columns[k].name;
    if (!row.is_object() || !row.contains(name)) return nullptr;
    out.push_back(row[name]);
  }
  return out;
}

// Paths like `batch.changes[3].row.x` -> 3.
std::optional<std::size_t> change_index(std::string_view path) {
  constexpr std::string_view prefix = "batch.changes[";
  if (path.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::size_t i = prefix.size(), n = 0;
  if (i >= path.size() || path[i] < '0' || path[i] > '9') return std::nullopt;
  while (i < path.size() && path[i] >= '0' && path[i] <= '9')
    n = n * 10 + static_cast<std::size_t>(path[i++] - '0');
  if (i >= path.size() || path[i] != ']') return std::nullopt;
  return n;
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
    std::uint64_t s = fnv1a(seed);
    std::uint64_t v = next_random(s);
    const char* digits = "0123456789abcdef";
    for (int i = 15; i >= 0; --i) hex += digits[(v >> (i * 4)) & 15];
  }
  return "c_" + hex;
}

bool is_valid_client_id(std::string_view id) {
  if (id.size() < 8 || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
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
  enum class phase {
    loading,
    saving_id,
    idle,
    reading,
    sealing,
    requesting,
    awaiting_token,
    applying,
    dropping,
    stopped,
  };
  enum class fail_kind { none, network, error };

  // One change of the sealed batch, with what the response needs.
  struct sealed_change {
    std::int64_t id = 0;  // the change id sent (its first outbox id)
    std::string tbl;
    std::string pk;  // exact outbox pk text
    /// The parsed key, in key order (an empty array when unreadable).
    json pk_values() const {
      auto v = parse_json(pk);
      return v ? std::move(v.value()) : json::array();
    }
    row_op op = row_op::insert;
    std::vector<std::int64_t> covers;
  };
  struct sealed_batch {
    std::int64_t seq = 0;
    std::string text;  // the `batch` member of the request body
    std::vector<sealed_change> changes;
  };

  // ---- configuration and identity
  edgesync::schema schema_;
  config cfg_;
  bool jsonb_ = false;  // SQLite >= 3.45: jsonb_each
  std::vector<std::optional<detail::table_apply_sql>> pulled_sql_[2];
  std::vector<detail::table_reconcile_sql> reconcile_sql_;
  std::string reconciled_sql_;
  std::uint64_t rng_ = 0;
  std::string seed_;
  std::optional<std::string> proposed_id_;

  // ---- persisted state (mirrors sync_state)
  bool loaded_ = false;
  std::string client_id_;
  std::int64_t next_seq_ = 1;
  json cursor_ = nullptr;
  std::optional<sealed_batch> sealed_;

  // ---- the current round
  phase phase_ = phase::loading;
  std::uint64_t next_io_ = 1;
  std::uint64_t io_id_ = 0;  // the outstanding sql/http effect
  std::int64_t request_deadline_ = 0;
  std::string request_body_;
  bool refreshed_ = false;    // asked for a token in this round already
  bool flush_ = false;        // a hide flush: send with keepalive
  bool again_ = false;        // a trigger arrived during the round
  bool more_outbox_ = false;  // the outbox had more than this batch
  std::optional<sealed_batch> to_seal_;
  std::vector<effect> after_commit_;  // app events, sent once committed
  // What an apply transaction commits to memory once it is done.
  struct commit_plan {
    bool acked = false;
    bool older_seq = false;
    json cursor = nullptr;
    bool has_more = false;
  } commit_;
  std::optional<std::int64_t> retry_after_;  // of the answer being handled
  std::size_t max_changes_ = 0;
  std::size_t max_bytes_ = 0;
  int dup_probe_ = 0;

  // ---- scheduling
  std::int64_t now_ = 0;
  bool dirty_ = false;  // local writes since the last outbox read
  std::optional<std::int64_t> debounce_at_, debounce_first_, periodic_at_,
      retry_at_;
  int failures_ = 0;
  fail_kind last_fail_ = fail_kind::none;
  bool host_offline_ = false;
  std::optional<std::int64_t> armed_;
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
    rng_ = fnv1a(seed_) ^ 0x5eed5eed5eed5eedull;
    now_ = o.now_ms;
    host_offline_ = !o.online;
    max_changes_ = std::max<std::size_t>(1, cfg_.max_batch_changes);
    max_bytes_ = std::max<std::size_t>(1, cfg_.max_batch_bytes);
    begin_load();
    finish_step();
  }

  // ---------------------------------------------------------------- plumbing

  std::uint64_t emit_sql(std::string purpose, bool tx,
                         std::vector<effects::statement> stmts) {
    io_id_ = next_io_++;
    out_.push_back(
        effects::run_sql{io_id_, std::move(purpose), tx, std::move(stmts)});
    return io_id_;
  }

  bool busy() const {
    return phase_ != phase::idle && phase_ != phase::stopped;
  }

  void finish_step() {
    if (phase_ == phase::idle) check_due();
    update_status();
    rearm();
  }

  // ------------------------------------------------------------------ status

  status compute_status() const {
    status s;
    s.pending = pending_;
    s.last_synced_at = last_synced_at_;
    s.last_error = last_error_;
    s.client_id = client_id_;
    if (phase_ == phase::idle) s.next_retry_at = retry_at_;
    if (phase_ == phase::stopped)
      s.state = sync_state::error;
    else if (busy())
      s.state = sync_state::syncing;
    else if (host_offline_ || last_fail_ == fail_kind::network)
      s.state = sync_state::offline;
    else if (last_fail_ == fail_kind::error)
      s.state = sync_state::error;
    else
      s.state = sync_state::idle;
    return s;
  }

  void update_status() {
    status s = compute_status();
    if (status_sent_ && s == status_) return;
    status_ = s;
    status_sent_ = true;
    out_.push_back(effects::status_changed{s});
  }

  // ----------------------------------------------------------------- timers

  void rearm() {
    std::optional<std::int64_t> want;
    if (phase_ == phase::requesting) {
      want = request_deadline_;
    } else if (phase_ == phase::idle && !host_offline_) {
      if (retry_at_) {
        want = retry_at_;
      } else {
        if (debounce_at_) want = debounce_at_;
        if (periodic_at_ && (!want || *periodic_at_ < *want))
          want = periodic_at_;
      }
    } else if (phase_ != phase::stopped && phase_ != phase::idle) {
      return;  // a short local step; the timer is re-armed after it
    }
    if (armed_known_ && want == armed_) return;
    armed_ = want;
    armed_known_ = true;
    out_.push_back(effects::set_timer{want});
  }

  std::int64_t backoff_delay() {
    int n = std::min(failures_, 30);
    std::int64_t d = cfg_.backoff_base_ms;
    for (int i = 1; i < n && d < cfg_.backoff_max_ms; ++i) d *= 2;
    d = std::min(d, cfg_.backoff_max_ms);
    // "Equal jitter": half fixed, half random, so clients that failed
    // together do not retry together, and the delay still grows.
    std::int64_t half = d / 2;
    std::int64_t jitter =
        half > 0 ? static_cast<std::int64_t>(
                       next_random(rng_) % static_cast<std::uint64_t>(half + 1))
                 : 0;
    return std::max<std::int64_t>(1, d - half + jitter);
  }

  // Starts a round if a timer-driven trigger is due.
  void check_due() {
    if (phase_ != phase::idle || host_offline_) return;
    if (retry_at_) {
      if (now_ >= *retry_at_) start_round(false);
      return;
    }
    bool due = false;
    if (debounce_at_ && now_ >= *debounce_at_) {
      if (dirty_ || pending_ > 0) due = true;
      debounce_at_.reset();
      debounce_first_.reset();
    }
    if (periodic_at_ && now_ >= *periodic_at_) due = true;
    if (due) start_round(false);
  }

  // ------------------------------------------------------------------ rounds

  void start_round(bool flush) {
    if (phase_ == phase::stopped) return;
    if (busy()) {
      again_ = true;
      if (flush && (phase_ == phase::reading || phase_ == phase::sealing ||
                    phase_ == phase::loading || phase_ == phase::saving_id))
        flush_ = true;
      return;
    }
    retry_at_.reset();
    debounce_at_.reset();
    debounce_first_.reset();
    periodic_at_ = now_ + cfg_.periodic_ms;
    refreshed_ = false;
    again_ = false;
    flush_ = flush;
    more_outbox_ = false;
    if (!loaded_) {
      begin_load();
    } else if (sealed_) {
      // Re-sending a sealed batch without looking at the outbox: whatever
      // is queued behind it goes out right after the acknowledgement.
      more_outbox_ = true;
      send_request();
    } else {
      begin_read();
    }
  }

  void end_round_ok() {
    phase_ = phase::idle;
    failures_ = 0;
    last_fail_ = fail_kind::none;
    last_error_.reset();
    retry_at_.reset();
    last_synced_at_ = now_;
    periodic_at_ = now_ + cfg_.periodic_ms;
    bool go = again_ || commit_.has_more || (more_outbox_ && pending_ > 0);
    flush_ = false;
    if (go && !host_offline_) start_round(false);
  }

  void fail(fail_kind kind, std::string code, std::string message,
            int http_status) {
    phase_ = phase::idle;
    io_id_ = 0;
    ++failures_;
    last_fail_ = kind;
    std::int64_t delay = backoff_delay();
    if (retry_after_ && *retry_after_ > delay) delay = *retry_after_;
    retry_at_ = now_ + delay;
    periodic_at_ = now_ + cfg_.periodic_ms;
    message += "; retrying in " + std::to_string(delay) + " ms";
    last_error_ =
        failure{std::move(code), std::move(message), http_status, now_};
    again_ = false;
    flush_ = false;
  }

  void stop(std::string code, std::string message, int http_status) {
    phase_ = phase::stopped;
    io_id_ = 0;
    retry_at_.reset();
    last_fail_ = fail_kind::error;
    last_error_ =
        failure{std::move(code), std::move(message), http_status, now_};
  }

  // -------------------------------------------------------------------- load

  void begin_load() {
    phase_ = phase::loading;
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
      sealed_ =
          restore_sealed(*seq, at(st, "inflight_batch").get<std::string>(),
                         at(st, "inflight_meta").get_ref<const std::string&>());
    }
    bool jsonb = at(doc.value(), "sqlite").is_string() &&
                 detail::sqlite_has_jsonb(
                     at(doc.value(), "sqlite").get_ref<const std::string&>());
    if (jsonb != jsonb_) {
      jsonb_ = jsonb;
      pulled_sql_[0].clear();
      pulled_sql_[1].clear();
    }
    loaded_ = true;
    if (save) {
      phase_ = phase::saving_id;
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
    phase_ = phase::idle;
    // A hide during the load still flushes with keepalive.
    if (!host_offline_) start_round(flush_);
  }

  std::optional<sealed_batch> restore_sealed(std::int64_t seq, std::string text,
                                             const std::string& meta_text) {
    auto meta = parse_json(meta_text);
    if (!meta || !meta.value().is_array()) return std::nullopt;
    sealed_batch b;
    b.seq = seq;
    b.text = std::move(text);
    for (const json& m : meta.value()) {
      if (!m.is_object() || !at(m, "id").is_number_integer() ||
          !at(m, "tbl").is_string() || !at(m, "pk").is_string() ||
          !at(m, "op").is_string() || !at(m, "covers").is_array())
        return std::nullopt;
      sealed_change c;
      c.id = at(m, "id").get<std::int64_t>();
      c.tbl = at(m, "tbl").get<std::string>();
      c.pk = at(m, "pk").get<std::string>();
      const std::string& op = at(m, "op").get_ref<const std::string&>();
      c.op = op == "D"   ? row_op::remove
             : op == "U" ? row_op::update
                         : row_op::insert;
      for (const json& id : at(m, "covers"))
        if (id.is_number_integer()) c.covers.push_back(id.get<std::int64_t>());
      b.changes.push_back(std::move(c));
    }
    return b;
  }

  // -------------------------------------------------------------------- read

  void begin_read() {
    phase_ = phase::reading;
    dirty_ = false;
    emit_sql("read", false,
             {{detail::read_outbox_sql(),
               {static_cast<std::int64_t>(max_changes_)},
               true}});
  }

  // One compacted change as the protocol's JSON.
  json change_json(const table& t, const compacted_change& c,
                   const json& pk_values) {
    json o = json::object();
    o["id"] = c.ids.front();
    o["table"] = c.tbl;
    o["op"] = op_name(c.op);
    if (c.op == row_op::remove) {
      json row = json::object();
      for (std::size_t k = 0; k < t.primary_key.size(); ++k)
        row[t.columns[t.primary_key[k]].name] = pk_values[k];
      o["row"] = std::move(row);
    } else {
      o["row"] = c.row.is_object() ? c.row : json::object();
    }
    if (t.policy == conflict_policy::lww_field && c.op == row_op::update &&
        c.changed)
      o["changed"] = *c.changed;
    // Writes made before the client id existed carry an empty node.
    auto h = parse_hlc(c.hlc);
    if (h && h.value().node.empty()) {
      h.value().node = client_id_;
      o["hlc"] = format_hlc(h.value());
    } else {
      o["hlc"] = c.hlc;
    }
    o["baseVersion"] = c.base_version ? json(*c.base_version) : json(nullptr);
    return o;
  }

  // Reads the outbox document without a DOM: rows keep their JSON text
  // (`row_text`, viewing `text`), which goes into the batch as it is. False
  // when anything would need the DOM path's judgement (a malformed row, an
  // unknown table, a key that does not fit the schema); nothing is changed
  // then.
  bool scan_outbox(std::string_view text, std::vector<outbox_row>& rows,
                   std::optional<std::int64_t>& pending, std::size_t& count) {
    json_scanner s(text);
    if (!s.begin_object()) return false;
    bool seen_rows = false, seen_pending = false;
    std::string_view k;
    std::string op;
    while (s.next_key(k)) {
      if (k == "pending") {
        if (seen_pending) return false;
        seen_pending = true;
        bool is_int = false;
        std::int64_t v = 0;
        if (s.peek() != json_kind_t::number || !s.read_number(is_int, v) ||
            !is_int)
          return false;
        pending = v;
        continue;
      }
      if (k != "rows") {
        s.skip_value();
        if (s.failed()) return false;
        continue;
      }
      if (seen_rows || !s.begin_array()) return false;
      seen_rows = true;
      while (s.next_element()) {
        outbox_row o;
        bool is_int = false;
        std::int64_t v = 0;
        if (!s.begin_array() || !s.next_element() ||
            s.peek() != json_kind_t::number || !s.read_number(is_int, v) ||
            !is_int)
          return false;
        o.id = v;
        if (!s.next_element() || !s.read_string(o.tbl) || !s.next_element() ||
            !s.read_string(o.pk) || !s.next_element() || !s.read_string(op) ||
            !s.next_element())
          return false;
        o.op = op == "D"   ? row_op::remove
               : op == "U" ? row_op::update
                           : row_op::insert;
        auto kind = s.peek();
        if (kind == json_kind_t::object)
          o.row_text = s.skip_value();
        else if (kind != json_kind_t::null || !s.read_null())
          return false;
        if (o.op != row_op::remove && o.row_text.empty()) return false;
        if (!s.next_element()) return false;
        if (s.peek() == json_kind_t::array) {
          std::vector<std::string> ch;
          s.begin_array();
          while (s.next_element()) {
            if (s.peek() == json_kind_t::string) {
              ch.emplace_back();
              if (!s.read_string(ch.back())) return false;
            } else {
              s.skip_value();
            }
          }
          o.changed = std::move(ch);
        } else {
          s.skip_value();
        }
        if (s.failed() || !s.next_element() || !s.read_string(o.hlc) ||
            !s.next_element())
          return false;
        kind = s.peek();
        if (kind == json_kind_t::number) {
          if (!s.read_number(is_int, v) || !is_int) return false;
          o.base_version = v;
        } else if (kind != json_kind_t::null || !s.read_null()) {
          return false;
        }
        if (s.next_element() || s.failed()) return false;  // exactly 8
        const table* t = schema_.find_table(o.tbl);
        if (t == nullptr || key_spans(o.pk).size() != t->primary_key.size())
          return false;
        rows.push_back(std::move(o));
        ++count;
      }
      if (s.failed()) return false;
    }
    return seen_rows && !s.failed() && s.at_end();
  }

  // The value texts of a key array (["a",1]); empty when it is not one.
  static std::vector<std::string_view> key_spans(std::string_view pk) {
    std::vector<std::string_view> out;
    json_scanner s(pk);
    if (!s.begin_array()) return {};
    while (s.next_element()) {
      auto kind = s.peek();
      if (kind == json_kind_t::object || kind == json_kind_t::array) return {};
      out.push_back(s.skip_value());
      if (s.failed()) return {};
    }
    if (s.failed() || !s.at_end()) return {};
    return out;
  }

  // One compacted change as the protocol's JSON text, with the row's bytes
  // as the triggers wrote them (members in the order change_json sorts).
  std::string change_text(const table& t, const compacted_change& c) {
    std::string o;
    o.reserve(c.row_text.size() + c.hlc.size() + c.tbl.size() + 96);
    o += "{\"baseVersion\":";
    o += c.base_version ? std::to_string(*c.base_version) : "null";
    if (t.policy == conflict_policy::lww_field && c.op == row_op::update &&
        c.changed) {
      o += ",\"changed\":[";
      for (std::size_t i = 0; i < c.changed->size(); ++i) {
        if (i) o += ',';
        append_json_string(o, (*c.changed)[i]);
      }
      o += ']';
    }
    o += ",\"hlc\":";
    // Writes made before the client id existed carry an empty node.
    auto h = parse_hlc(c.hlc);
    if (h && h.value().node.empty()) {
      h.value().node = client_id_;
      append_json_string(o, format_hlc(h.value()));
    } else {
      append_json_string(o, c.hlc);
    }
    o += ",\"id\":";
    o += std::to_string(c.ids.front());
    o += ",\"op\":\"";
    o += op_name(c.op);
    o += "\",\"row\":";
    if (c.op == row_op::remove) {
      auto spans = key_spans(c.pk);
      o += '{';
      for (std::size_t k = 0; k < t.primary_key.size() && k < spans.size();
           ++k) {
        if (k) o += ',';
        append_json_string(o, t.columns[t.primary_key[k]].name);
        o += ':';
        o += spans[k];
      }
      o += '}';
    } else {
      o += c.row_text;
    }
    o += ",\"table\":";
    append_json_string(o, c.tbl);
    o += '}';
    return o;
  }

  static void append_json_string(std::string& out, std::string_view v) {
    static const char* hex = "0123456789abcdef";
    out += '"';
    const char* p = v.data();
    const char* end = p + v.size();
    while (p < end) {
      const char* run = p;
      while (p < end && *p != '"' && *p != '\\' &&
             static_cast<unsigned char>(*p) >= 0x20)
        ++p;
      out.append(run, static_cast<std::size_t>(p - run));
      if (p == end) break;
      auto u = static_cast<unsigned char>(*p++);
      out += '\\';
      switch (u) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '\b':
          out += 'b';
          break;
        case '\f':
          out += 'f';
          break;
        case '\n':
          out += 'n';
          break;
        case '\r':
          out += 'r';
          break;
        case '\t':
          out += 't';
          break;
        default:
          out += "u00";
          out += hex[u >> 4];
          out += hex[u & 15];
      }
    }
    out += '"';
  }

  // Appends one change to the batch unless the byte budget is spent (the
  // first change always goes in); false when it did not fit.
  bool add_to_batch(sealed_batch& batch, std::string& body, std::size_t budget,
                    const std::string& one, const compacted_change& ch) {
    // ~200 bytes of envelope: protocol, clientId, cursor, pageSize.
    if (!batch.changes.empty() && body.size() + one.size() + 220 > budget) {
      more_outbox_ = true;
      return false;
    }
    if (!batch.changes.empty()) body += ',';
    body += one;
    sealed_change sc;
    sc.id = ch.ids.front();
    sc.tbl = ch.tbl;
    sc.pk = ch.pk;
    sc.op = ch.op;
    sc.covers = ch.ids;
    batch.changes.push_back(std::move(sc));
    return true;
  }

  void on_read(const std::string& text) {
    std::vector<outbox_row> rows;
    std::vector<std::int64_t> drop_ids;
    std::vector<effects::rejected> drops;
    std::optional<std::int64_t> fast_pending;
    std::size_t fast_count = 0;
    bool fast = scan_outbox(text, rows, fast_pending, fast_count);
    if (fast) {
      if (fast_pending) pending_ = *fast_pending;
      if (fast_count >= max_changes_) more_outbox_ = true;
    } else {
      rows.clear();
      if (!read_outbox_dom(text, rows, drop_ids, drops)) return;
    }
    finish_read(std::move(rows), std::move(drop_ids), std::move(drops), fast);
  }

  bool read_outbox_dom(const std::string& text, std::vector<outbox_row>& rows,
                       std::vector<std::int64_t>& drop_ids,
                       std::vector<effects::rejected>& drops) {
    auto doc = parse_json(text);
    if (!doc || !doc.value().is_object() ||
        !at(doc.value(), "rows").is_array()) {
      fail(fail_kind::error, "sql_failed",
           "the outbox query returned no rows document", 0);
      return false;
    }
    const json& d = doc.value();
    if (auto p = opt_int(at(d, "pending"))) pending_ = *p;
    for (const json& r : at(d, "rows")) {
      if (!r.is_array() || r.size() != 8 || !r[0].is_number_integer()) continue;
      outbox_row o;
      o.id = r[0].get<std::int64_t>();
      bool ok = r[1].is_string() && r[2].is_string() && r[3].is_string() &&
                r[6].is_string();
      if (ok) {
        o.tbl = r[1].get<std::string>();
        o.pk = r[2].get<std::string>();
        const std::string& op = r[3].get_ref<const std::string&>();
        o.op = op == "D"   ? row_op::remove
               : op == "U" ? row_op::update
                           : row_op::insert;
        o.row = r[4];
        if (r[5].is_array()) {
          std::vector<std::string> ch;
          for (const json& c : r[5])
            if (c.is_string()) ch.push_back(c.get<std::string>());
          o.changed = std::move(ch);
        }
        o.hlc = r[6].get<std::string>();
        o.base_version = opt_int(r[7]);
        ok = o.op == row_op::remove || o.row.is_object();
      }
      if (!ok) {
        drop_ids.push_back(o.id);
        drops.push_back({o.tbl,
                         nullptr,
                         "upsert",
                         {o.id},
                         "invalid",
                         "invalid_request",
                         "malformed outbox row",
                         "",
                         nullptr,
                         false,
                         std::nullopt});
        continue;
      }
      rows.push_back(std::move(o));
    }
    if (at(d, "rows").size() >= max_changes_) more_outbox_ = true;
    return true;
  }

  void finish_read(std::vector<outbox_row> rows,
                   std::vector<std::int64_t> drop_ids,
                   std::vector<effects::rejected> drops, bool fast) {
    compaction c = compact_outbox(std::move(rows));

    std::size_t budget = max_bytes_;
    if (flush_)
      budget = std::min(budget, cfg_.keepalive_max_bytes > 400
                                    ? cfg_.keepalive_max_bytes - 400
                                    : cfg_.keepalive_max_bytes);
    std::string head =
        "{\"seq\":" + std::to_string(next_seq_) + ",\"changes\":[";
    std::string body = head;
    sealed_batch batch;
    batch.seq = next_seq_;
    bool full = false;
    for (auto& ch : c.changes) {
      const table* t = schema_.find_table(ch.tbl);
      if (fast) {  // table and key checked while scanning
        if (full) continue;
        std::string one = change_text(*t, ch);
        if (!add_to_batch(batch, body, budget, one, ch)) full = true;
        continue;
      }
      auto pkv = parse_json(ch.pk);
      if (t == nullptr || !pkv || !pkv.value().is_array() ||
          pkv.value().size() != t->primary_key.size()) {
        drop_ids.insert(drop_ids.end(), ch.ids.begin(), ch.ids.end());
        drops.push_back(
            {ch.tbl, pkv ? pkv.value() : json(nullptr), op_name(ch.op), ch.ids,
             "invalid", t == nullptr ? "unknown_table" : "missing_primary_key",
             t == nullptr ? "the schema has no table \"" + ch.tbl + "\""
                          : "the outbox key does not match the schema",
             "", nullptr, false, std::nullopt});
        continue;
      }
      if (full) continue;
      std::string one = dump_json(change_json(*t, ch, pkv.value()));
      if (!add_to_batch(batch, body, budget, one, ch)) full = true;
    }
    body += "]}";
    batch.text = std::move(body);

    std::vector<effects::statement> stmts;
    if (!batch.changes.empty()) {
      std::string meta = "[";
      for (const auto& sc : batch.changes) {
        if (meta.size() > 1) meta += ',';
        meta += "{\"covers\":[";
        for (std::size_t i = 0; i < sc.covers.size(); ++i) {
          if (i) meta += ',';
          meta += std::to_string(sc.covers[i]);
        }
        meta += "],\"id\":" + std::to_string(sc.id) + ",\"op\":\"";
        meta += static_cast<char>(sc.op);
        meta += "\",\"pk\":";
        append_json_string(meta, sc.pk);
        meta += ",\"tbl\":";
        append_json_string(meta, sc.tbl);
        meta += '}';
      }
      meta += ']';
      stmts.push_back(
          {detail::set_state_sql(), {std::string("inflight_seq"), batch.seq}});
      stmts.push_back(
          {detail::set_state_sql(),
           {std::string("inflight_batch"), effects::raw_text{batch.text}}});
      stmts.push_back(
          {detail::set_state_sql(),
           {std::string("inflight_meta"), effects::raw_text{std::move(meta)}}});
      to_seal_ = std::move(batch);
    } else {
      to_seal_.reset();
    }
    if (!drop_ids.empty()) {
      // Unreadable outbox rows leave the queue; their rows go back to the
      // server's truth.
      json ids = drop_ids;
      stmts.push_back({detail::guard_on_sql(), {}});
      stmts.push_back({detail::delete_outbox_ids_sql(),
                       {effects::raw_text{dump_json(ids)}}});
      append_reconcile(stmts);
      stmts.push_back({detail::guard_off_sql(), {}});
      pending_ = std::max<std::int64_t>(
          0, pending_ - static_cast<std::int64_t>(drop_ids.size()));
    }
    for (auto& r : drops) after_commit_.push_back(std::move(r));
    if (stmts.empty()) {
      after_seal();
      return;
    }
    phase_ = phase::sealing;
    emit_sql("seal", true, std::move(stmts));
  }

  void after_seal(const std::vector<std::string>& values = {}) {
    if (!values.empty()) patch_restored(values[0]);
    if (to_seal_) sealed_ = std::move(*to_seal_);
    to_seal_.reset();
    flush_events();
    if (!sealed_ && flush_) {
      // Nothing to push on the way out; a pull would be wasted.
      phase_ = phase::idle;
      flush_ = false;
      return;
    }
    send_request();
  }

  void flush_events() {
    for (auto& e : after_commit_) out_.push_back(std::move(e));
    after_commit_.clear();
  }

  // ----------------------------------------------------------------- request

  void send_request() {
    std::string body =
        "{\"protocol\":" + std::to_string(kProtocol) +
        ",\"clientId\":" + dump_json(client_id_) +
        ",\"schemaVersion\":" + std::to_string(schema_.version) +
        ",\"batch\":" + (sealed_ ? sealed_->text : std::string("null")) +
        ",\"cursor\":" + dump_json(cursor_) +
        ",\"pageSize\":" + std::to_string(cfg_.page_size) + "}";
    request_body_ = std::move(body);
    resend();
  }

  void resend() {
    phase_ = phase::requesting;
    io_id_ = next_io_++;
    request_deadline_ = now_ + cfg_.request_timeout_ms;
    bool keepalive = flush_ && request_body_.size() <= cfg_.keepalive_max_bytes;
    out_.push_back(effects::send_http{io_id_, "POST", cfg_.path, request_body_,
                                      keepalive});
  }

  struct error_body {
    std::string code, message, path;
    std::vector<std::pair<std::string, std::string>> paths;  // path, message
    std::vector<std::string> codes;
    std::optional<std::int64_t> server_schema_version;
  };

  static error_body parse_error_body(const std::string& body) {
    error_body e;
    auto doc = parse_json(body);
    if (!doc || !doc.value().is_object()) return e;
    const json& j = doc.value();
    if (auto v = opt_int(at(j, "serverSchemaVersion")))
      e.server_schema_version = v;
    const json& err = at(j, "error");
    if (!err.is_object()) return e;
    if (auto v = opt_int(at(err, "serverSchemaVersion")))
      e.server_schema_version = v;
    auto str = [](const json& o, const char* k) {
      return o.is_object() && o.contains(k) && o[k].is_string()
                 ? o[k].get<std::string>()
                 : std::string();
    };
    e.code = str(err, "code");
    e.message = str(err, "message");
    e.path = str(err, "path");
    if (err.contains("errors") && at(err, "errors").is_array()) {
      for (const json& x : at(err, "errors")) {
        e.paths.emplace_back(str(x, "path"), str(x, "message"));
        e.codes.push_back(str(x, "code"));
      }
    }
    if (e.paths.empty() && !e.path.empty()) {
      e.paths.emplace_back(e.path, e.message);
      e.codes.push_back(e.code);
    }
    return e;
  }

  void on_http_failed(const std::string& message) {
    fail(fail_kind::network, "network",
         "no answer from the server (" + message + "); changes stay queued", 0);
  }

  void on_http_response(int status, const std::string& body) {
    if (status == 200) {
      on_ok(body);
      return;
    }
    error_body e = parse_error_body(body);
    std::string code =
        e.code.empty() ? "http_" + std::to_string(status) : e.code;
    std::string message =
        e.message.empty() ? "the server answered HTTP " + std::to_string(status)
                          : e.message;
    if (status == 400) {
      std::map<std::size_t, std::size_t> bad;  // change index -> error index
      for (std::size_t i = 0; i < e.paths.size(); ++i)
        if (auto idx = change_index(e.paths[i].first); idx && !bad.count(*idx))
          bad[*idx] = i;
      if (sealed_ && !bad.empty()) {
        std::vector<std::size_t> idx;
        std::vector<effects::rejected> evs;
        for (auto [ci, ei] : bad) {
          if (ci >= sealed_->changes.size()) continue;
          const sealed_change& c = sealed_->changes[ci];
          idx.push_back(ci);
          evs.push_back(
              {c.tbl, c.pk_values(), op_name(c.op), c.covers, "invalid",
               e.codes[ei].empty() ? code : e.codes[ei],
               e.paths[ei].second.empty() ? message : e.paths[ei].second,
               e.paths[ei].first, nullptr, false, std::nullopt});
        }
        if (!idx.empty()) {
          drop_changes(idx, std::move(evs));
          return;
        }
      }
      if (e.path == "cursor" && !cursor_.is_null()) {
        // A cursor the server cannot read: pull again from the start rather
        // than stall forever (applying is idempotent by version).
        cursor_ = nullptr;
        phase_ = phase::idle;
        start_round(false);
        return;
      }
      fail(fail_kind::error, code, message, status);
      return;
    }
    if (status == 401) {
      if (!refreshed_) {
        refreshed_ = true;
        phase_ = phase::awaiting_token;
        io_id_ = 0;
        out_.push_back(effects::refresh_token{});
        return;
      }
      fail(fail_kind::error, "unauthorized",
           "the server refused the token even after a refresh: " + message,
           status);
      return;
    }
    if (status == 409 && code == "schema_version_mismatch") {
      std::string m =
          "sync stopped: this app uses schema version " +
          std::to_string(schema_.version) + " but the server has " +
          (e.server_schema_version ? std::to_string(*e.server_schema_version)
                                   : std::string("another")) +
          "; update the app (local changes stay queued)";
      stop(code, m, status);
      return;
    }
    if (status == 403 && code == "client_id_conflict") {
      stop(code,
           "sync stopped: this local database's client id belongs to another "
           "user; open a fresh local database for this user",
           status);
      return;
    }
    if (status == 413 && sealed_) {
      if (sealed_->changes.size() > 1) {
        max_changes_ = std::max<std::size_t>(1, sealed_->changes.size() / 2);
        max_bytes_ = std::max<std::size_t>(
            1024, std::min(max_bytes_, request_body_.size()) / 2);
        // Not applied (a 4xx changes nothing): the seq is free for a
        // smaller batch, which the next seal overwrites.
        sealed_.reset();
        phase_ = phase::idle;
        start_round(false);
        return;
      }
      const sealed_change& c = sealed_->changes[0];
      drop_changes({0}, {{c.tbl, c.pk_values(), op_name(c.op), c.covers,
                          "too_large", "payload_too_large",
                          "this change alone is larger than the server accepts",
                          "", nullptr, false, std::nullopt}});
      return;
    }
    fail(fail_kind::error, code, message, status);
  }

  // Drops changes of the sealed batch for good (the server refused them
  // without applying anything), then sends the rest as a fresh batch.
  void drop_changes(const std::vector<std::size_t>& idx,
                    std::vector<effects::rejected> evs) {
    json ids = json::array();
    for (auto i : idx)
      for (auto id : sealed_->changes[i].covers) ids.push_back(id);
    phase_ = phase::dropping;
    sealed_.reset();
    for (auto& r : evs) after_commit_.push_back(std::move(r));
    // The refused changes' rows go back to the server's truth.
    std::vector<effects::statement> stmts = {
        {detail::guard_on_sql(), {}},
        {detail::delete_outbox_ids_sql(), {effects::raw_text{dump_json(ids)}}},
        {detail::clear_inflight_sql(), {}}};
    append_reconcile(stmts);
    stmts.push_back({detail::guard_off_sql(), {}});
    stmts.push_back({detail::pending_count_sql(), {}, true});
    emit_sql("drop", true, std::move(stmts));
  }

  // ------------------------------------------------------------------- apply

  // ---- pulled changes passed through as their original bytes

  // The pulled changes of one table, as the element texts of `changes`.
  struct pulled_table {
    std::vector<std::string_view> elems;  // empty once dropped
    std::vector<std::optional<std::int64_t>> versions;
    std::vector<bool> deleted;
    std::int64_t rows = 0, deletes = 0;
    // key text (as dump_json(pk) writes it) -> element index
    std::unordered_map<std::string, std::size_t> keys;
    std::vector<const std::string*> key_of;  // per element, into `keys`
    void drop(std::size_t e) {
      elems[e] = {};
      --rows;
      if (deleted[e]) --deletes;
    }
  };
  struct pulled_changes {
    std::map<std::size_t, pulled_table> tables;
    std::int64_t rows = 0;
    bool all_used = true;  // every element belongs to the one table
    // Element texts re-serialized from a parsed answer (normalize_pulled);
    // `elems` view them. A deque: growing it never moves an element.
    std::deque<std::string> owned;
  };

  // Scans the `changes` array without building a DOM: per element only the
  // table, op, version and the key values are looked at. Elements the DOM
  // path skips (not an object, unknown table, no row, a key column missing)
  // are left out the same way. Returns false for anything where passing the
  // bytes to SQLite could differ from the DOM path (a duplicate member, a
  // key value with escapes or in a non-canonical spelling, a version that is
  // not an integer, the same row twice); the caller then takes the DOM path.
  // `s` is at the array, `text` the whole document s scans. On false
  // without s.failed() the scanner stopped somewhere inside the array.
  bool scan_pulled(json_scanner& s, std::string_view text,
                   pulled_changes& out) {
    if (!s.begin_array()) return false;
    std::vector<std::pair<std::string_view, std::string_view>> members;
    std::string name, key;
    std::vector<std::string_view> pk_spans;
    while (s.next_element()) {
      std::size_t from = s.mark();
      if (s.peek() != json_kind_t::object) {
        s.skip_value();
        out.all_used = false;
        continue;
      }
      s.begin_object();
      bool has_table = false, table_ok = false, has_op = false,
           has_version = false, has_row = false, row_ok = false,
           is_delete = false;
      std::string table_name;
      std::optional<std::int64_t> version;
      members.clear();
      std::string_view k;
      while (s.next_key(k)) {
        // A member name with escapes (or beyond ASCII) arrives unescaped;
        // SQLite's JSON paths may not match it the same way: DOM path.
        if (!views(text, k)) return false;
        if (k == "table") {
          if (has_table) return false;
          has_table = true;
          if (s.peek() == json_kind_t::string) {
            if (!s.read_string(table_name)) return false;
            table_ok = true;
          } else {
            s.skip_value();
          }
        } else if (k == "op") {
          if (has_op) return false;
          has_op = true;
          if (s.peek() == json_kind_t::string) {
            if (!s.read_string(name)) return false;
            is_delete = name == "delete";
          } else {
            s.skip_value();
          }
        } else if (k == "version") {
          if (has_version) return false;
          has_version = true;
          auto kind = s.peek();
          if (kind == json_kind_t::number) {
            bool is_int = false;
            std::int64_t v = 0;
            if (!s.read_number(is_int, v) || !is_int) return false;
            version = v;
          } else if (kind == json_kind_t::null) {
            s.read_null();
          } else {
            return false;
          }
        } else if (k == "row") {
          if (has_row) return false;
          has_row = true;
          if (s.peek() != json_kind_t::object) {
            s.skip_value();
            continue;
          }
          row_ok = true;
          s.begin_object();
          std::string_view m;
          while (s.next_key(m)) {
            if (!views(text, m)) return false;
            std::string_view v = s.skip_value();
            if (s.failed()) return false;
            members.emplace_back(m, v);
          }
        } else {
          s.skip_value();
        }
        if (s.failed()) return false;
      }
      if (s.failed()) return false;
      std::string_view elem = s.slice(from, s.offset());
      int ti = table_ok ? schema_.table_index(table_name) : -1;
      if (ti < 0 || !row_ok) {
        out.all_used = false;
        continue;
      }
      const table& t = schema_.tables[static_cast<std::size_t>(ti)];
      // A column named twice: the DOM keeps the last, SQLite the first.
      for (std::size_t a = 0; a < members.size(); ++a)
        for (std::size_t b = a + 1; b < members.size(); ++b)
          if (members[a].first == members[b].first &&
              t.column_index(members[a].first) >= 0)
            return false;
      pk_spans.clear();
      for (auto kc : t.primary_key) {
        const std::string& cn = t.columns[kc].name;
        for (auto& [mn, mv] : members)
          if (mn == cn) {
            pk_spans.push_back(mv);
            break;
          }
      }
      if (pk_spans.size() != t.primary_key.size()) {
        out.all_used = false;  // the DOM path skips a row without its key
        continue;
      }
      key = "[";
      for (std::size_t i = 0; i < pk_spans.size(); ++i) {
        if (!canonical_scalar(pk_spans[i])) return false;
        if (i) key += ',';
        key += pk_spans[i];
      }
      key += ']';
      pulled_table& pt = out.tables[static_cast<std::size_t>(ti)];
      auto [slot, added] = pt.keys.emplace(key, pt.elems.size());
      if (!added) return false;  // the same row twice
      pt.key_of.push_back(&slot->first);
      pt.elems.push_back(elem);
      pt.versions.push_back(version);
      pt.deleted.push_back(is_delete);
      ++pt.rows;
      if (is_delete) ++pt.deletes;
      ++out.rows;
    }
    if (s.failed()) return false;
    if (out.tables.size() > 1) out.all_used = false;
    return true;
  }

  // True when `part` views `text` (a member name read without unescaping).
  static bool views(std::string_view text, std::string_view part) {
    return part.data() >= text.data() &&
           part.data() + part.size() <= text.data() + text.size();
  }

  // A key value whose bytes are exactly what dump_json writes for it: a
  // string without escapes, or an integer in int64 range.
  static bool canonical_scalar(std::string_view v) {
    if (v.size() >= 2 && v.front() == '"')
      return v.find('\\') == std::string_view::npos;
    std::size_t i = v.size() > 0 && v[0] == '-' ? 1 : 0;
    if (i >= v.size() || v.size() - i > 18) return false;
    if (v[i] == '0' && (v.size() - i > 1 || i == 1)) return false;
    for (; i < v.size(); ++i)
      if (v[i] < '0' || v[i] > '9') return false;
    return true;
  }

  enum class scanned { ok, again, invalid };

  // The /sync answer: every member but `changes` parsed (they are small),
  // `changes` kept as its raw text and, with `pulled`, scanned in the same
  // pass (scan_pulled). `again`: the changes need the DOM path, scan once
  // more without `pulled`. `invalid`: not one valid JSON object (the DOM
  // path then reports why).
  scanned scan_response(std::string_view body, json& top,
                        std::optional<std::string_view>& changes,
                        pulled_changes* pulled) {
    json_scanner s(body);
    if (!s.begin_object()) return scanned::invalid;
    top = json::object();
    std::string_view k;
    while (s.next_key(k)) {
      if (k == "changes") {
        // A repeated member: the last wins, as in the DOM.
        std::size_t from = s.mark();
        if (pulled != nullptr && s.peek() == json_kind_t::array) {
          *pulled = pulled_changes{};
          if (!scan_pulled(s, body, *pulled))
            return s.failed() ? scanned::invalid : scanned::again;
        } else {
          s.skip_value();
        }
        if (s.failed()) return scanned::invalid;
        changes = s.slice(from, s.offset());
        continue;
      }
      std::string key(k);
      std::string_view v = s.skip_value();
      if (s.failed()) return scanned::invalid;
      auto j = parse_json(v);
      if (!j) return scanned::invalid;
      top[key] = std::move(j.value());
    }
    return !s.failed() && s.at_end() ? scanned::ok : scanned::invalid;
  }

  const detail::table_apply_sql& pulled_sql(std::size_t ti, bool deletes) {
    auto& slot = pulled_sql_[deletes ? 1 : 0];
    if (slot.size() != schema_.tables.size())
      slot.resize(schema_.tables.size());
    if (!slot[ti])
      slot[ti] = detail::pulled_sql(schema_.tables[ti], jsonb_, deletes);
    return *slot[ti];
  }

  // The parsed `changes` of an answer the scanner could not judge (see
  // scan_pulled), as normalized element texts: {op, row, table, version}
  // with every member name and value re-serialized, so the same
  // statements apply them. Elements without a known table, a row object or
  // its key are left out; of two elements of one row the newer version
  // wins, the later one on a tie.
  void normalize_pulled(const json& changes, pulled_changes& out) {
    out = pulled_changes{};
    out.all_used = false;
    if (!changes.is_array()) return;
    for (const json& ch : changes) {
      if (!ch.is_object() || !at(ch, "table").is_string() ||
          !at(ch, "row").is_object())
        continue;
      int ti =
          schema_.table_index(at(ch, "table").get_ref<const std::string&>());
      if (ti < 0) continue;  // a table this app version does not know
      const table& t = schema_.tables[static_cast<std::size_t>(ti)];
      json pkv = key_values(t, at(ch, "row"));
      if (pkv.is_null()) continue;
      std::optional<std::int64_t> v = opt_int(at(ch, "version"));
      bool del = at(ch, "op").is_string() &&
                 at(ch, "op").get_ref<const std::string&>() == "delete";
      json e = {{"table", t.name},
                {"op", del ? "delete" : "upsert"},
                {"version", v ? json(*v) : json(nullptr)},
                {"row", at(ch, "row")}};
      out.owned.push_back(dump_json(e));
      std::string_view text = out.owned.back();
      pulled_table& pt = out.tables[static_cast<std::size_t>(ti)];
      auto [slot, added] = pt.keys.emplace(dump_json(pkv), pt.elems.size());
      if (!added) {
        std::size_t k = slot->second;
        if (pt.versions[k] && v && *pt.versions[k] > *v) continue;
        if (pt.deleted[k]) --pt.deletes;
        if (del) ++pt.deletes;
        pt.elems[k] = text;
        pt.versions[k] = v;
        pt.deleted[k] = del;
        continue;
      }
      pt.key_of.push_back(&slot->first);
      pt.elems.push_back(text);
      pt.versions.push_back(v);
      pt.deleted.push_back(del);
      ++pt.rows;
      if (del) ++pt.deletes;
      ++out.rows;
    }
  }

  // The `row` texts of the changes of a batch text we built, by change id.
  static std::unordered_map<std::int64_t, std::string_view> sent_rows(
      std::string_view batch) {
    std::unordered_map<std::int64_t, std::string_view> out;
    json_scanner s(batch);
    std::string_view k;
    if (!s.begin_object()) return out;
    while (s.next_key(k)) {
      if (k != "changes" || !s.begin_array()) {
        s.skip_value();
        continue;
      }
      while (s.next_element()) {
        if (!s.begin_object()) return out;
        std::optional<std::int64_t> id;
        std::string_view row;
        while (s.next_key(k)) {
          if (k == "id" && s.peek() == json_kind_t::number) {
            bool is_int = false;
            std::int64_t v = 0;
            if (s.read_number(is_int, v) && is_int) id = v;
          } else if (k == "row") {
            row = s.skip_value();
          } else {
            s.skip_value();
          }
          if (s.failed()) return out;
        }
        if (id && !row.empty()) out[*id] = row;
      }
    }
    return out;
  }

  // The statements that reconcile every key whose queue ended (sync_base
  // row, no outbox entry) to the server's row, then forget those bases;
  // run under the apply guard. The one `out` value lists what was
  // reconciled (patch_restored reads it).
  void append_reconcile(std::vector<effects::statement>& stmts) {
    if (reconcile_sql_.empty()) {
      for (const auto& t : schema_.tables)
        reconcile_sql_.push_back(detail::reconcile_sql(t));
      reconciled_sql_ = detail::reconciled_rows_sql(reconcile_sql_);
    }
    stmts.push_back({reconciled_sql_, {}, true});
    for (const auto& r : reconcile_sql_) {
      stmts.push_back({r.restore, {}});
      stmts.push_back({r.remove, {}});
    }
    stmts.push_back({detail::reconcile_versions_sql(), {}});
    stmts.push_back({detail::drop_ended_bases_sql(), {}});
  }

  // After a transaction with append_reconcile committed: the rejected and
  // conflict events of reconciled keys say what the row became, and the
  // app hears about the tables whose rows were reconciled.
  void patch_restored(const std::string& text) {
    auto doc = parse_json(text);
    if (!doc || !doc.value().is_array() || doc.value().empty()) return;
    std::map<std::string, const json*> by_key;
    std::set<std::size_t> tables;
    std::int64_t n = 0;
    std::vector<std::string> keys;
    for (const json& r : doc.value()) {
      if (!r.is_array() || r.size() != 5 || !r[0].is_string() ||
          !r[1].is_string())
        continue;
      auto pk = parse_json(r[1].get_ref<const std::string&>());
      if (!pk) continue;
      by_key[r[0].get<std::string>() + '\n' + dump_json(pk.value())] = &r;
      if (r[4] != 1) continue;  // the local row already was the server's
      int ti = schema_.table_index(r[0].get_ref<const std::string&>());
      if (ti >= 0) tables.insert(static_cast<std::size_t>(ti));
      ++n;
    }
    auto patch = [&](auto& ev) {
      auto it = by_key.find(ev.table + '\n' + dump_json(ev.pk));
      if (it == by_key.end()) return;
      const json& r = *it->second;
      ev.restored = true;
      ev.row = r[3].is_object() ? r[3] : json(nullptr);
      ev.deleted = !r[3].is_object();
      ev.version = opt_int(r[2]);
    };
    effects::changes_applied* ch = nullptr;
    for (auto& e : after_commit_) {
      if (auto* rj = std::get_if<effects::rejected>(&e)) patch(*rj);
      if (auto* cf = std::get_if<effects::conflict>(&e)) patch(*cf);
      if (auto* ca = std::get_if<effects::changes_applied>(&e)) ch = ca;
    }
    if (n == 0) return;
    if (ch == nullptr) {
      after_commit_.push_back(effects::changes_applied{});
      ch = &std::get<effects::changes_applied>(after_commit_.back());
    }
    for (const auto& name : ch->tables) {
      int ti = schema_.table_index(name);
      if (ti >= 0) tables.insert(static_cast<std::size_t>(ti));
    }
    ch->tables.clear();
    for (std::size_t ti : tables) ch->tables.push_back(schema_.tables[ti].name);
    ch->rows += n;
  }

  void on_ok(const std::string& body) {
    json doc;
    std::optional<std::string_view> changes_raw;
    pulled_changes pulled;
    bool fast = true;
    scanned how = scan_response(body, doc, changes_raw, &pulled);
    if (how == scanned::again) {
      fast = false;
      changes_raw.reset();
      how = scan_response(body, doc, changes_raw, nullptr);
    }
    if (how != scanned::ok) {
      auto parsed = parse_json(body);
      if (parsed) doc = std::move(parsed.value());
      changes_raw.reset();
      if (!parsed) doc = nullptr;
    }
    auto bad = [&](const std::string& why) {
      fail(fail_kind::error, "invalid_response",
           "the server's answer is malformed: " + why, 200);
    };
    if (!doc.is_object()) return bad("not a JSON object");
    json& r = doc;
    if (!at(r, "protocol").is_number_integer() ||
        at(r, "protocol").get<int>() != kProtocol)
      return bad("protocol is not 1");
    const json& results = at(r, "results");
    // `changes` is an array, null (or absent), or malformed.
    char changes_first = 0;
    if (changes_raw) {
      changes_first = changes_raw->empty() ? 0 : changes_raw->front();
    } else {
      const json& c = at(r, "changes");
      changes_first = c.is_array() ? '[' : c.is_null() ? 'n' : 0;
    }
    if (!results.is_null() && !results.is_array())
      return bad("results is not an array");
    if (changes_first != '[' && changes_first != 'n')
      return bad("changes is not an array");
    const json& ack = at(r, "ack");
    commit_ = commit_plan{};
    commit_.has_more =
        at(r, "hasMore").is_boolean() && at(r, "hasMore").get<bool>();
    commit_.cursor = at(r, "cursor").is_string() ? at(r, "cursor") : cursor_;
    std::optional<std::int64_t> server_time = opt_int(at(r, "serverTime"));
    if (!server_time && at(r, "serverTime").is_number())
      server_time =
          static_cast<std::int64_t>(at(r, "serverTime").get<double>());

    std::vector<effects::statement> stmts;
    stmts.push_back({detail::guard_on_sql(), {}});
    // The outbox ids answered, this client's new versions [[tbl, pk, v]…],
    // and the server's truth for every answered row [[tbl, pk, v, row]…].
    std::string acked = "[", own = "[", bases = "[";
    std::vector<effect> evs;

    if (sealed_) {
      if (!ack.is_object() || !at(ack, "seq").is_number_integer() ||
          at(ack, "seq").get<std::int64_t>() != sealed_->seq)
        return bad("ack does not name the batch sent (seq " +
                   std::to_string(sealed_->seq) + ")");
      bool duplicate =
          at(ack, "duplicate").is_boolean() && at(ack, "duplicate").get<bool>();
      std::size_t n = results.is_array() ? results.size() : 0;
      if (duplicate && n < sealed_->changes.size()) {
        // The server applied a later seq than this one (e.g. a restored
        // local database): nothing here was acknowledged. Probe upwards.
        commit_.older_seq = true;
      } else {
        commit_.acked = true;
        std::map<std::int64_t, const sealed_change*> by_id;
        for (const auto& c : sealed_->changes) by_id[c.id] = &c;
        std::optional<std::unordered_map<std::int64_t, std::string_view>> sent;
        auto add = [](std::string& list, const std::string& item) {
          if (list.size() > 1) list += ',';
          list += item;
        };
        for (const json& res : results) {
          if (!res.is_object() || !at(res, "id").is_number_integer()) continue;
          auto it = by_id.find(at(res, "id").get<std::int64_t>());
          if (it == by_id.end()) continue;
          const sealed_change& c = *it->second;
          std::string st = at(res, "status").is_string()
                               ? at(res, "status").get<std::string>()
                               : "";
          if (st != "applied" && st != "conflict" && st != "rejected") continue;
          for (auto id : c.covers) add(acked, std::to_string(id));
          if (schema_.find_table(c.tbl) == nullptr) continue;
          std::optional<std::int64_t> v = opt_int(at(res, "version"));
          bool deleted =
              at(res, "deleted").is_boolean() && at(res, "deleted").get<bool>();
          const json& row = at(res, "row");
          std::string head;
          append_json_string(head, c.tbl);
          head += ',';
          append_json_string(head, c.pk);
          head += ',';
          head += v ? std::to_string(*v) : "null";
          head += ',';
          if (st == "applied") {
            if (v) add(own, "[" + head.substr(0, head.rfind(',')) + "]");
            // The server's row is the merged one it sent, else the row as
            // sent (a delete leaves none).
            std::string row_text = "null";
            if (c.op != row_op::remove) {
              if (row.is_object()) {
                row_text = dump_json(row);
              } else {
                if (!sent) sent = sent_rows(sealed_->text);
                auto found = sent->find(c.id);
                if (found == sent->end()) continue;
                row_text = std::string(found->second);
              }
            }
            add(bases, "[" + head + row_text + "]");
            evs.push_back(effects::acked{c.tbl, c.pk_values(), op_name(c.op), v,
                                         c.covers});
            continue;
          }
          std::string reason = at(res, "reason").is_string()
                                   ? at(res, "reason").get<std::string>()
                                   : "";
          if (deleted)
            add(bases, "[" + head + "null]");
          else if (row.is_object())
            add(bases, "[" + head + dump_json(row) + "]");
          else if (st == "rejected" && reason == "forbidden")
            // The row belongs to another user: none the user may see.
            add(bases, "[" + head.substr(0, head.rfind(',', head.size() - 2)) +
                           ",null,null]");
          // Otherwise (e.g. `race` without a row) the server said nothing
          // about its row: the base stays, the row arrives by pull.
          if (st == "conflict") {
            evs.push_back(effects::conflict{
                c.tbl, c.pk_values(), op_name(c.op), c.covers, reason,
                row.is_object() ? row : json(nullptr), deleted, v});
          } else {
            std::string msg =
                at(res, "message").is_string()
                    ? at(res, "message").get<std::string>()
                : reason == "stale"
                    ? "the row changed on the server since this edit was made"
                    : "the server refused this change";
            evs.push_back(effects::rejected{
                c.tbl, c.pk_values(), op_name(c.op), c.covers, reason,
                reason == "forbidden" ? "forbidden" : "stale", msg, "",
                row.is_object() ? row : json(nullptr), deleted, v});
          }
        }
      }
    }

    // Pulled changes: passed to SQLite as the server's bytes when nothing
    // about them needs the DOM's judgement (see scan_pulled), else as
    // normalized texts of the parsed elements.
    fast = fast && changes_raw && changes_first == '[';
    if (!fast) {
      json parsed;
      const json* changes = &at(r, "changes");
      if (changes_raw && changes_first == '[') {
        auto p = parse_json(*changes_raw);
        if (!p) return bad("changes is not an array");
        parsed = std::move(p.value());
        changes = &parsed;
      }
      normalize_pulled(*changes, pulled);
    }

    acked += ']';
    own += ']';
    bases += ']';
    if (acked.size() > 2)
      stmts.push_back(
          {detail::delete_outbox_ids_sql(), {effects::raw_text{acked}}});
    if (own.size() > 2) {
      stmts.push_back(
          {detail::record_own_versions_sql(), {effects::raw_text{own}}});
      stmts.push_back(
          {detail::rebase_outbox_sql(), {effects::raw_text{std::move(own)}}});
    }
    if (bases.size() > 2)
      stmts.push_back(
          {detail::base_results_sql(), {effects::raw_text{std::move(bases)}}});
    effects::changes_applied applied;
    for (auto& [ti, pt] : pulled.tables) {
      if (pt.rows <= 0) continue;
      std::string text;
      if (pulled.all_used) {
        text = std::string(*changes_raw);
      } else {
        std::size_t size = 2;
        for (auto e : pt.elems) size += e.size() + 1;
        text.reserve(size);
        text += '[';
        bool first = true;
        for (auto e : pt.elems) {
          if (e.empty()) continue;
          if (!first) text += ',';
          first = false;
          text += e;
        }
        text += ']';
      }
      // The versions: [[version, key value…], …] from the scanned keys.
      std::string versions = "[";
      for (std::size_t e = 0; e < pt.elems.size(); ++e) {
        if (pt.elems[e].empty() || !pt.versions[e]) continue;
        if (versions.size() > 1) versions += ',';
        versions += '[';
        versions += std::to_string(*pt.versions[e]);
        versions += ',';
        const std::string& k = *pt.key_of[e];  // "[v1,v2]"
        versions.append(k, 1, k.size() - 1);
      }
      versions += ']';
      const auto& sql = pulled_sql(ti, pt.deletes > 0);
      if (pt.deletes < pt.rows)
        stmts.push_back({sql.upsert, {effects::raw_text{text}}});
      if (pt.deletes > 0)
        stmts.push_back({sql.remove, {effects::raw_text{text}}});
      stmts.push_back({sql.base, {effects::raw_text{std::move(text)}}});
      if (versions.size() > 2)
        stmts.push_back({sql.record, {effects::raw_text{std::move(versions)}}});
      applied.rows += pt.rows;
      applied.tables.push_back(schema_.tables[ti].name);
    }
    append_reconcile(stmts);
    if (server_time) stmts.push_back({sqlite_absorb_sql(), {*server_time}});
    stmts.push_back({detail::set_state_sql(),
                     {std::string("cursor"),
                      commit_.cursor.is_string()
                          ? effects::param(commit_.cursor.get<std::string>())
                          : effects::param(nullptr)}});
    if (sealed_) {
      std::int64_t seq = sealed_->seq + 1;
      if (commit_.older_seq) {
        dup_probe_ = std::min(dup_probe_ + 1, 30);
        seq = sealed_->seq + (std::int64_t{1} << (dup_probe_ - 1));
      } else {
        dup_probe_ = 0;
      }
      stmts.push_back({detail::set_state_sql(), {std::string("seq"), seq}});
      stmts.push_back({detail::clear_inflight_sql(), {}});
      next_seq_pending_ = seq;
    }
    stmts.push_back({detail::guard_off_sql(), {}});
    stmts.push_back({detail::pending_count_sql(), {}, true});
    for (auto& e : evs) after_commit_.push_back(std::move(e));
    if (applied.rows > 0) after_commit_.push_back(std::move(applied));
    phase_ = phase::applying;
    emit_sql("apply", true, std::move(stmts));
  }

  std::int64_t next_seq_pending_ = 0;

  void on_apply_done(const std::vector<std::string>& values) {
    if (!values.empty()) {
      auto n = parse_json(values.back());
      if (n && n.value().is_number_integer())
        pending_ = n.value().get<std::int64_t>();
    }
    if (values.size() == 2) patch_restored(values[0]);
    cursor_ = commit_.cursor;
    if (sealed_) {
      next_seq_ = next_seq_pending_;
      if (commit_.older_seq) more_outbox_ = true;
      sealed_.reset();
    }
    flush_events();
    end_round_ok();
  }

  void on_drop_done(const std::vector<std::string>& values) {
    if (!values.empty()) {
      auto n = parse_json(values.back());
      if (n && n.value().is_number_integer())
        pending_ = n.value().get<std::int64_t>();
    }
    if (values.size() == 2) patch_restored(values[0]);
    flush_events();
    phase_ = phase::idle;
    start_round(false);
  }

  // ------------------------------------------------------------------ events

  void on_sql_done(std::uint64_t id, const std::vector<std::string>& values) {
    if (id != io_id_ || id == 0) return;
    io_id_ = 0;
    const std::string empty;
    const std::string& first = values.empty() ? empty : values[0];
    switch (phase_) {
      case phase::loading:
        on_load(first);
        break;
      case phase::saving_id:
        after_loaded();
        break;
      case phase::reading:
        on_read(first);
        break;
      case phase::sealing:
        after_seal(values);
        break;
      case phase::applying:
        on_apply_done(values);
        break;
      case phase::dropping:
        on_drop_done(values);
        break;
      default:
        break;
    }
  }

  void on_sql_failed(std::uint64_t id, const std::string& message) {
    if (id != io_id_ || id == 0) return;
    io_id_ = 0;
    to_seal_.reset();
    after_commit_.clear();
    if (phase_ == phase::saving_id) loaded_ = false;
    fail(fail_kind::error, "sql_failed", "a local SQL step failed: " + message,
         0);
  }

  void on_local_change() {
    dirty_ = true;
    pending_ = std::max<std::int64_t>(pending_, 1);
    if (!debounce_first_) debounce_first_ = now_;
    debounce_at_ = std::min(now_ + cfg_.debounce_ms,
                            *debounce_first_ + cfg_.max_debounce_ms);
  }

  void on_tick() {
    if (phase_ == phase::requesting && now_ >= request_deadline_) {
      out_.push_back(effects::abort_http{io_id_});
      fail(fail_kind::network, "timeout",
           "no answer within " + std::to_string(cfg_.request_timeout_ms) +
               " ms; the batch will be sent again",
           0);
    }
    // Due timers are checked by finish_step().
    // The host's one timer has fired: whatever is due next must be armed
    // again, even when it is the same deadline (an early tick).
    armed_known_ = false;
  }

  void handle(std::int64_t now_ms, const event& e) {
    now_ = std::max(now_, now_ms);
    std::visit(
        [&](const auto& ev) {
          using T = std::decay_t<decltype(ev)>;
          if constexpr (std::is_same_v<T, events::sql_done>) {
            on_sql_done(ev.id, ev.values);
          } else if constexpr (std::is_same_v<T, events::sql_failed>) {
            on_sql_failed(ev.id, ev.message);
          } else if constexpr (std::is_same_v<T, events::http_response>) {
            if (phase_ == phase::requesting && ev.id == io_id_ && ev.id != 0) {
              io_id_ = 0;
              retry_after_ = ev.retry_after_ms;
              on_http_response(ev.status, ev.body);
              retry_after_.reset();
            }
          } else if constexpr (std::is_same_v<T, events::http_failed>) {
            if (phase_ == phase::requesting && ev.id == io_id_ && ev.id != 0) {
              io_id_ = 0;
              on_http_failed(ev.message);
            }
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
            if (phase_ == phase::awaiting_token) {
              resend();
            } else if (phase_ == phase::idle && last_error_ &&
                       last_error_->code == "unauthorized") {
              start_round(false);
            }
          } else if constexpr (std::is_same_v<T, events::token_failed>) {
            if (phase_ == phase::awaiting_token)
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
  return impl_->phase_ == impl::phase::stopped ||
         (impl_->phase_ == impl::phase::idle && !impl_->retry_at_ &&
          !impl_->debounce_at_);
}
std::optional<std::int64_t> engine::timer_at() const { return impl_->armed_; }
std::int64_t engine::next_seq() const { return impl_->next_seq_; }
const json& engine::cursor() const { return impl_->cursor_; }

}  // namespace edgesync::client
