// `server.*` control operations: the WASM face of edgesync::server.
//
//   server.open  {schema, limits}                -> {handle, schemaVersion,
//   pgDdl} server.begin frame {handle, userId, nowMs} + [body] server.step
//   frame {state, nowMs} + [j of each statement, in order] server.abort {state}
//   -> {}
//
// begin/step answer a frame: {done:false, state, statements:[{sql, params}]}
// + parameter segments, or {done:true, status, rollback} + [response body].
#include "control/server_ops.h"

#include <map>
#include <memory>
#include <optional>

#include "sql/ddl.h"
#include "common/frame.h"
#include "server/server.h"

namespace edgesync {

namespace {

std::map<std::int64_t, std::unique_ptr<server>>& servers() {
  static std::map<std::int64_t, std::unique_ptr<server>> s;
  return s;
}

std::int64_t next_handle = 1;

std::string bad(const std::string& path, const std::string& msg) {
  return error_envelope({{error_code::invalid_request, path, msg}});
}

std::string output_frame(const step_output& o, std::int64_t state) {
  json meta = {{"done", o.done}};
  if (o.done) {
    meta["status"] = o.status;
    meta["rollback"] = o.rollback;
  } else {
    meta["state"] = state;
    json stmts = json::array();
    for (const auto& s : o.statements)
      stmts.push_back({{"sql", s.sql}, {"params", s.params}});
    meta["statements"] = std::move(stmts);
  }
  return build_frame(std::move(meta), o.segments);
}

server* find_server(const json& meta) {
  auto h = meta.find("handle");
  if (h == meta.end() || !h->is_number_integer()) return nullptr;
  auto it = servers().find(h->get<std::int64_t>());
  return it == servers().end() ? nullptr : it->second.get();
}

// The host clock from meta.nowMs: 0 when absent, nullopt when it is not a
// time in ms from 0 to 2^53 (JS numbers; larger values would overflow the
// clock arithmetic of validation).
std::optional<std::int64_t> now_of(const json& meta) {
  constexpr double kMaxMs = 9007199254740992.0;  // 2^53
  auto n = meta.find("nowMs");
  if (n == meta.end()) return 0;
  if (!n->is_number()) return std::nullopt;
  double d = n->get<double>();
  if (!(d >= 0 && d <= kMaxMs)) return std::nullopt;  // also NaN
  return n->is_number_integer() ? n->get<std::int64_t>()
                                : static_cast<std::int64_t>(d);
}

std::string bad_now() {
  return error_frame({{error_code::invalid_request, "nowMs",
                       "expected the host clock in ms (0 to 2^53)"}});
}

// The state id names its server: handle in the high bits.
constexpr std::int64_t kStateBits = 40;

}  // namespace

bool worker_control(std::string_view op, std::string_view input,
                    std::string& out) {
  if (op == "server.open") {
    auto doc = parse_json(input);
    if (!doc) return out = error_envelope(doc.errors()), true;
    const json& j = doc.value();
    if (!j.is_object() || !j.contains("schema"))
      return out = bad("schema", "expected {\"schema\": …, \"limits\": …}"),
             true;
    auto s = parse_schema(dump_json(j["schema"]));
    if (!s) {
      std::vector<error> errs = s.errors();
      for (auto& e : errs) e.path = path_key("schema", e.path);
      return out = error_envelope(errs), true;
    }
    auto limits =
        parse_limits(j.contains("limits") ? j["limits"] : json(nullptr));
    if (!limits) return out = error_envelope(limits.errors()), true;
    std::int64_t handle = next_handle++;
    std::string ddl = pg_ddl(s.value());
    std::int64_t version = s.value().version;
    servers()[handle] =
        std::make_unique<server>(std::move(s.value()), limits.value());
    out = dump_json(
        {{"ok", true},
         {"result",
          {{"handle", handle}, {"schemaVersion", version}, {"pgDdl", ddl}}}});
    return true;
  }
  if (op == "server.begin" || op == "server.step") {
    auto f = parse_frame(input);
    if (!f) return out = error_frame(f.errors()), true;
    const json& meta = f.value().meta;
    if (op == "server.begin") {
      server* srv = find_server(meta);
      if (srv == nullptr)
        return out = error_frame({{error_code::invalid_request, "handle",
                                   "unknown server handle"}}),
               true;
      auto user = meta.find("userId");
      if (user == meta.end() || !user->is_string() ||
          f.value().segments.size() != 1)
        return out = error_frame({{error_code::invalid_request, "userId",
                                   "expected userId and one body segment"}}),
               true;
      auto now = now_of(meta);
      if (!now) return out = bad_now(), true;
      step_output o =
          srv->begin(user->get<std::string>(), f.value().segments[0], *now);
      // The server keeps its own ids; expose (handle, id) packed together.
      out = output_frame(
          o, o.done ? 0
                    : (meta["handle"].get<std::int64_t>() << kStateBits) +
                          srv->last_state());
      return true;
    }
    auto st = meta.find("state");
    if (st == meta.end() || !st->is_number_integer())
      return out = error_frame({{error_code::invalid_request, "state",
                                 "expected a state id"}}),
             true;
    std::int64_t packed = st->get<std::int64_t>();
    auto it = servers().find(packed >> kStateBits);
    if (it == servers().end())
      return out = error_frame(
                 {{error_code::invalid_request, "state", "unknown state"}}),
             true;
    std::int64_t local = packed & ((std::int64_t{1} << kStateBits) - 1);
    auto now = now_of(meta);
    if (!now) return out = bad_now(), true;
    step_output o = it->second->step(local, f.value().segments, *now);
    out = output_frame(o, packed);
    return true;
  }
  if (op == "server.abort") {
    auto doc = parse_json(input);
    if (doc && doc.value().is_object() &&
        doc.value()["state"].is_number_integer()) {
      std::int64_t packed = doc.value()["state"].get<std::int64_t>();
      auto it = servers().find(packed >> kStateBits);
      if (it != servers().end())
        it->second->abort(packed & ((std::int64_t{1} << kStateBits) - 1));
    }
    out = dump_json({{"ok", true}, {"result", json::object()}});
    return true;
  }
  return false;
}

void worker_control_reset() {
  servers().clear();
  next_handle = 1;
}

}  // namespace edgesync
