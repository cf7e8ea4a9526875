// The JSON face of the client core: config, events in, effects out. Large
// texts (request bodies, JSON parameters) travel as frame segments.
#include <cmath>

#include "client/client.h"

namespace edgesync::client {

namespace {

error bad(std::string path, std::string message) {
  return error{error_code::invalid_request, std::move(path),
               std::move(message)};
}

json opt_json(const std::optional<std::int64_t>& v) {
  return v ? json(*v) : json(nullptr);
}

// Reads an integer field (JS numbers may arrive as doubles) within
// +-9e15: clocks, delays and ids the engine adds together never overflow.
bool read_int(const json& j, std::int64_t& out) {
  constexpr std::int64_t kMax = 9'000'000'000'000'000;
  if (j.is_number_integer()) {
    if (j.is_number_unsigned() && j.get<std::uint64_t>() > kMax) return false;
    out = j.get<std::int64_t>();
    if (out > kMax || out < -kMax) return false;
    return true;
  }
  if (j.is_number_float()) {
    double d = j.get<double>();
    if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9.0e15)
      return false;
    out = static_cast<std::int64_t>(d);
    return true;
  }
  return false;
}

}  // namespace

result<config> parse_config(const json& j) {
  config c;
  if (j.is_null()) return c;
  if (!j.is_object()) return bad("config", "expected an object");
  std::vector<error> errs;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const json& v = it.value();
    std::string path = path_key("config", k);
    if (k == "stream") {
      if (!v.is_boolean())
        errs.push_back(bad(path, "expected true or false"));
      else
        c.stream = v.get<bool>();
      continue;
    }
    if (k == "path") {
      if (!v.is_string() || v.get_ref<const std::string&>().empty() ||
          v.get_ref<const std::string&>()[0] != '/')
        errs.push_back(bad(path, "expected a path starting with \"/\""));
      else
        c.path = v.get<std::string>();
      continue;
    }
    std::int64_t n = 0;
    if (!read_int(v, n) || n < 0) {
      errs.push_back(bad(
          path,
          std::string("expected a non-negative integer, got ") + json_kind(v)));
      continue;
    }
    auto positive = [&](const char* what) {
      if (n >= 1) return true;
      errs.push_back(bad(path, std::string("must be at least 1 ") + what));
      return false;
    };
    if (k == "debounceMs") {
      c.debounce_ms = n;
    } else if (k == "maxDebounceMs") {
      c.max_debounce_ms = n;
    } else if (k == "periodicMs") {
      if (positive("ms")) c.periodic_ms = n;
    } else if (k == "backoffBaseMs") {
      if (positive("ms")) c.backoff_base_ms = n;
    } else if (k == "backoffMaxMs") {
      if (positive("ms")) c.backoff_max_ms = n;
    } else if (k == "requestTimeoutMs") {
      if (positive("ms")) c.request_timeout_ms = n;
    } else if (k == "maxBatchChanges") {
      if (positive("change")) c.max_batch_changes = static_cast<std::size_t>(n);
    } else if (k == "maxBatchBytes") {
      if (positive("byte")) c.max_batch_bytes = static_cast<std::size_t>(n);
    } else if (k == "keepaliveMaxBytes") {
      c.keepalive_max_bytes = static_cast<std::size_t>(n);
    } else if (k == "pageSize") {
      if (n < 1 || n > 5000)
        errs.push_back(bad(path, "must be between 1 and 5000"));
      else
        c.page_size = static_cast<int>(n);
    } else {
      errs.push_back(bad(path, "unknown setting \"" + k + "\""));
    }
  }
  if (errs.empty() && c.backoff_max_ms < c.backoff_base_ms)
    errs.push_back(
        bad("config.backoffMaxMs", "must not be below backoffBaseMs"));
  if (!errs.empty()) return errs;
  return c;
}

json status_json(const status& s) {
  json err = nullptr;
  if (s.last_error)
    err = {{"code", s.last_error->code},
           {"message", s.last_error->message},
           {"status", s.last_error->http_status == 0
                          ? json(nullptr)
                          : json(s.last_error->http_status)},
           {"at", s.last_error->at_ms}};
  return {{"state", to_string(s.state)},
          {"pending", s.pending},
          {"lastSyncedAt", opt_json(s.last_synced_at)},
          {"lastError", std::move(err)},
          {"nextRetryAt", opt_json(s.next_retry_at)},
          {"clientId", s.client_id}};
}

result<std::pair<std::int64_t, event>> parse_event(
    const json& meta, const std::vector<std::string_view>& segments) {
  if (!meta.is_object()) return bad("", "expected an event object");
  auto type_it = meta.find("type");
  if (type_it == meta.end() || !type_it->is_string())
    return bad("type", "expected the event type (a string)");
  const auto& type = type_it->get_ref<const std::string&>();
  std::int64_t now = 0;
  auto now_it = meta.find("now");
  if (now_it == meta.end() || !read_int(*now_it, now))
    return bad("now", "expected the host clock in ms (an integer)");
  auto id_of = [&](std::uint64_t& id) -> bool {
    auto it = meta.find("id");
    std::int64_t v = 0;
    if (it == meta.end() || !read_int(*it, v) || v < 1) return false;
    id = static_cast<std::uint64_t>(v);
    return true;
  };
  auto message_of = [&]() -> std::string {
    auto it = meta.find("message");
    return it != meta.end() && it->is_string() ? it->get<std::string>()
                                               : std::string();
  };
  auto done = [&](event e) { return std::make_pair(now, std::move(e)); };

  if (type == "sql_done") {
    events::sql_done e;
    if (!id_of(e.id)) return bad("id", "expected the sql effect's id");
    for (auto s : segments) e.values.emplace_back(s);
    return done(std::move(e));
  }
  if (type == "sql_failed") {
    events::sql_failed e;
    if (!id_of(e.id)) return bad("id", "expected the sql effect's id");
    e.message = message_of();
    return done(std::move(e));
  }
  if (type == "http_response") {
    events::http_response e;
    if (!id_of(e.id)) return bad("id", "expected the http effect's id");
    std::int64_t st = 0;
    auto it = meta.find("status");
    if (it == meta.end() || !read_int(*it, st) || st < 100 || st > 599)
      return bad("status", "expected the HTTP status (100-599)");
    e.status = static_cast<int>(st);
    if (auto ra = meta.find("retryAfterMs");
        ra != meta.end() && !ra->is_null()) {
      std::int64_t ms = 0;
      if (!read_int(*ra, ms) || ms < 0)
        return bad("retryAfterMs",
                   "expected a non-negative integer (ms) or null");
      e.retry_after_ms = ms;
    }
    if (segments.size() > 1)
      return bad("segments", "expected at most one segment: the body");
    if (!segments.empty()) e.body = segments[0];
    return done(e);
  }
  if (type == "http_chunk") {
    events::http_chunk e;
    if (!id_of(e.id)) return bad("id", "expected the http effect's id");
    if (segments.size() != 1)
      return bad("segments", "expected one segment: the bytes");
    e.bytes = segments[0];
    return done(e);
  }
  if (type == "http_failed") {
    events::http_failed e;
    if (!id_of(e.id)) return bad("id", "expected the http effect's id");
    e.message = message_of();
    return done(std::move(e));
  }
  if (type == "tick") return done(events::tick{});
  if (type == "local_change") return done(events::local_change{});
  if (type == "online") return done(events::connectivity{true});
  if (type == "offline") return done(events::connectivity{false});
  if (type == "visible") return done(events::visibility{true});
  if (type == "hidden") return done(events::visibility{false});
  if (type == "sync_now") return done(events::sync_now{});
  if (type == "token_refreshed") return done(events::token_refreshed{});
  if (type == "token_failed") return done(events::token_failed{message_of()});
  return bad("type", "unknown event type \"" + type + "\"");
}

namespace {

// The effects are written as JSON text, member by member with the keys in
// nlohmann's (sorted) order: building a document per effect cost ~12 kB of
// the browser module and an allocation per value.

// Starts member `key` of the object or array being written.
void key(std::string& o, const char* k) {
  if (o.back() != '{') o += ',';
  o += '"';
  o += k;
  o += "\":";
}

void put(std::string& o, const char* k, std::string_view v) {
  key(o, k);
  append_json_text(o, v);
}

// (Without these a literal would take the bool overload.)
void put(std::string& o, const char* k, const char* v) {
  put(o, k, std::string_view{v});
}

void put(std::string& o, const char* k, const std::string& v) {
  put(o, k, std::string_view{v});
}

void put(std::string& o, const char* k, std::int64_t v) {
  key(o, k);
  o += std::to_string(v);
}

void put(std::string& o, const char* k, std::uint64_t v) {
  key(o, k);
  o += std::to_string(v);
}

void put(std::string& o, const char* k, bool v) {
  key(o, k);
  o += v ? "true" : "false";
}

void put(std::string& o, const char* k, const std::optional<std::int64_t>& v) {
  key(o, k);
  o += v ? std::to_string(*v) : "null";
}

void put(std::string& o, const char* k, const json& v) {
  key(o, k);
  o += dump_json(v);
}

void put(std::string& o, const char* k, const std::vector<std::int64_t>& v) {
  key(o, k);
  o += '[';
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i > 0) o += ',';
    o += std::to_string(v[i]);
  }
  o += ']';
}

// The members rejected and conflict share, from "deleted" on (sorted with
// the ones each adds).
template <typename E>
void put_outcome(std::string& o, const E& e) {
  put(o, "deleted", e.deleted);
  put(o, "ids", e.ids);
}

}  // namespace

std::pair<std::string, std::vector<effects::raw_text>> encode_effects(
    std::vector<effect> fx) {
  std::string o = "[";
  std::vector<effects::raw_text> segs;
  // Writes {"seg":i} for `text` (as member `k` unless null).
  auto seg = [&](const char* k, effects::raw_text text) {
    if (k != nullptr) key(o, k);
    // The same document bound by several statements travels once (shared
    // bytes are recognized without comparing them).
    std::size_t at = segs.size();
    for (std::size_t i = segs.size(); i-- > 0;) {
      std::string_view s = segs[i].text;
      if (s.size() == text.text.size() &&
          (s.data() == text.text.data() || s == text.text)) {
        at = i;
        break;
      }
    }
    if (at == segs.size()) segs.push_back(std::move(text));
    o += "{\"seg\":";
    o += std::to_string(at);
    o += '}';
  };
  for (auto& f : fx) {
    if (o.size() > 1) o += ',';
    o += '{';
    std::visit(
        [&](auto& e) {
          using T = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<T, effects::run_sql>) {
            put(o, "id", e.id);
            put(o, "purpose", e.purpose);
            key(o, "statements");
            o += '[';
            for (auto& st : e.statements) {
              if (o.back() != '[') o += ',';
              o += "{\"out\":";
              o += st.out ? "true" : "false";
              key(o, "params");
              o += '[';
              for (auto& p : st.params) {
                if (o.back() != '[') o += ',';
                if (auto* i = std::get_if<std::int64_t>(&p))
                  o += std::to_string(*i);
                else if (auto* d = std::get_if<double>(&p))
                  o += dump_json(*d);
                else if (auto* t = std::get_if<std::string>(&p))
                  append_json_text(o, *t);
                else if (auto* r = std::get_if<effects::raw_text>(&p))
                  seg(nullptr, *r);
                else
                  o += "null";
              }
              o += ']';
              put(o, "sql", st.sql);
              o += '}';
            }
            o += ']';
            put(o, "tx", e.tx);
            put(o, "type", "sql");
          } else if constexpr (std::is_same_v<T, effects::send_http>) {
            seg("body", effects::raw_text{std::move(e.body)});
            put(o, "contentType", "application/json");
            put(o, "id", e.id);
            put(o, "keepalive", e.keepalive);
            put(o, "method", e.method);
            put(o, "path", e.path);
            if (e.stream) put(o, "stream", true);
            put(o, "type", "http");
          } else if constexpr (std::is_same_v<T, effects::abort_http>) {
            put(o, "id", e.id);
            put(o, "type", "abort_http");
          } else if constexpr (std::is_same_v<T, effects::set_timer>) {
            put(o, "at", e.at_ms);
            put(o, "type", "timer");
          } else if constexpr (std::is_same_v<T, effects::refresh_token>) {
            put(o, "type", "refresh_token");
          } else if constexpr (std::is_same_v<T, effects::status_changed>) {
            put(o, "status", status_json(e.status));
            put(o, "type", "status");
          } else if constexpr (std::is_same_v<T, effects::rejected>) {
            put(o, "code", e.code);
            put_outcome(o, e);
            put(o, "message", e.message);
            put(o, "op", e.op);
            key(o, "path");
            if (e.path.empty())
              o += "null";
            else
              append_json_text(o, e.path);
            put(o, "pk", e.pk);
            put(o, "reason", e.reason);
            put(o, "restored", e.restored);
            put(o, "row", e.row);
            put(o, "table", e.table);
            put(o, "type", "rejected");
            put(o, "version", e.version);
          } else if constexpr (std::is_same_v<T, effects::conflict>) {
            put_outcome(o, e);
            put(o, "op", e.op);
            put(o, "pk", e.pk);
            put(o, "reason", e.reason);
            put(o, "restored", e.restored);
            put(o, "row", e.row);
            put(o, "table", e.table);
            put(o, "type", "conflict");
            put(o, "version", e.version);
          } else if constexpr (std::is_same_v<T, effects::acked>) {
            put(o, "ids", e.ids);
            put(o, "op", e.op);
            put(o, "pk", e.pk);
            put(o, "table", e.table);
            put(o, "type", "acked");
            put(o, "version", e.version);
          } else if constexpr (std::is_same_v<T, effects::changes_applied>) {
            key(o, "revoked");
            o += '[';
            for (const auto& [scope, k] : e.revoked) {
              if (o.back() != '[') o += ',';
              auto parsed = parse_json(k);
              o += '{';
              put(o, "key", parsed ? parsed.value() : json(nullptr));
              put(o, "scope", scope);
              o += '}';
            }
            o += ']';
            put(o, "rows", e.rows);
            key(o, "tables");
            o += '[';
            for (const auto& t : e.tables) {
              if (o.back() != '[') o += ',';
              append_json_text(o, t);
            }
            o += ']';
            put(o, "type", "changes");
          } else if constexpr (std::is_same_v<T, effects::progress>) {
            put(o, "applied", e.applied);
            put(o, "received", e.received);
            put(o, "total", e.total);
            put(o, "type", "progress");
          }
        },
        f);
    o += '}';
  }
  o += ']';
  return {std::move(o), std::move(segs)};
}

}  // namespace edgesync::client
