#include "client/client_policy.h"

#include <algorithm>
#include <map>

namespace edgesync::client::detail {

namespace {

std::string str(const json& o, const char* key) {
  const json& v = member(o, key);
  return v.is_string() ? v.get<std::string>() : std::string();
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

std::int64_t backoff_delay(int failures, const config& cfg, std::uint64_t& rng,
                           std::optional<std::int64_t> retry_after) {
  int n = std::min(failures, 30);
  std::int64_t d = cfg.backoff_base_ms;
  for (int i = 1; i < n && d < cfg.backoff_max_ms; ++i) d *= 2;
  d = std::min(d, cfg.backoff_max_ms);
  std::int64_t half = d / 2;
  std::int64_t jitter =
      half > 0 ? static_cast<std::int64_t>(next_random(rng) %
                                           static_cast<std::uint64_t>(half + 1))
               : 0;
  std::int64_t delay = std::max<std::int64_t>(1, d - half + jitter);
  // The server knows when it will be back.
  if (retry_after && *retry_after > delay) delay = *retry_after;
  return delay;
}

status make_status(const status_facts& f) {
  status s;
  s.pending = f.pending;
  s.last_synced_at = f.last_synced_at;
  s.last_error = f.last_error;
  s.client_id = f.client_id;
  if (!f.busy && !f.stopped) s.next_retry_at = f.retry_at;
  // First match wins, so `error` appears twice: a stopped engine is in error
  // even while busy, a failed round only once nothing is in flight.
  if (f.stopped)
    s.state = sync_state::error;  // NOLINT(bugprone-branch-clone)
  else if (f.busy)
    s.state = sync_state::syncing;
  else if (f.host_offline || f.last_fail == fail_kind::network)
    s.state = sync_state::offline;
  else if (f.last_fail == fail_kind::error)
    s.state = sync_state::error;
  else
    s.state = sync_state::idle;
  return s;
}

error_body parse_error_body(std::string_view body) {
  error_body e;
  auto doc = parse_json(body);
  if (!doc || !doc.value().is_object()) return e;
  const json& j = doc.value();
  e.server_schema_version = opt_int(member(j, "serverSchemaVersion"));
  const json& err = member(j, "error");
  if (!err.is_object()) return e;
  if (auto v = opt_int(member(err, "serverSchemaVersion")))
    e.server_schema_version = v;
  e.code = str(err, "code");
  e.message = str(err, "message");
  e.path = str(err, "path");
  if (member(err, "errors").is_array())
    for (const json& x : member(err, "errors"))
      e.errors.push_back({str(x, "code"), str(x, "path"), str(x, "message")});
  if (e.errors.empty() && !e.path.empty())
    e.errors.push_back({e.code, e.path, e.message});
  return e;
}

http_verdict judge_http(int status, std::string_view body,
                        const request_facts& f) {
  using action = http_verdict::action;
  error_body e = parse_error_body(body);
  http_verdict v;
  v.code = e.code.empty() ? "http_" + std::to_string(status) : e.code;
  v.message = e.message.empty()
                  ? "the server answered HTTP " + std::to_string(status)
                  : e.message;
  if (status == 400) {
    // The first error that points into each change refuses it.
    std::map<std::size_t, const error_body::entry*> bad;
    for (const auto& x : e.errors)
      if (auto i = change_index(x.path);
          i && *i < f.batch_changes && !bad.count(*i))
        bad[*i] = &x;
    if (!bad.empty()) {
      v.what = action::drop_invalid;
      for (auto [i, x] : bad)
        v.drops.push_back({i, x->code.empty() ? v.code : x->code,
                           x->message.empty() ? v.message : x->message,
                           x->path});
      return v;
    }
    // A cursor the server cannot read: pull again from the start rather
    // than stall forever (applying is idempotent by version).
    if (e.path == "cursor" && f.has_cursor) v.what = action::restart_pull;
    return v;
  }
  if (status == 401) {
    if (!f.refreshed) {
      v.what = action::refresh_token;
      return v;
    }
    v.code = "unauthorized";
    v.message =
        "the server refused the token even after a refresh: " + v.message;
    return v;
  }
  if (status == 409 && v.code == "schema_version_mismatch") {
    v.what = action::stop;
    v.message =
        "sync stopped: this app uses schema version " +
        std::to_string(f.schema_version) + " but the server has " +
        (e.server_schema_version ? std::to_string(*e.server_schema_version)
                                 : std::string("another")) +
        "; update the app (local changes stay queued)";
    return v;
  }
  if (status == 403 && v.code == "client_id_conflict") {
    v.what = action::stop;
    v.message =
        "sync stopped: this local database's client id belongs to another "
        "user; open a fresh local database for this user";
    return v;
  }
  if (status == 413 && f.batch_changes > 0) {
    v.what = f.batch_changes > 1 ? action::shrink : action::drop_too_large;
    return v;
  }
  return v;
}

}  // namespace edgesync::client::detail
