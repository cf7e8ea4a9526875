// `server.*` control operations: the WASM face of edgesync::server.
//
// clang-format off
//   server.open   {schema, limits}                                -> {handle, schemaVersion, pgDdl}
//   server.begin  frame {handle, userId, nowMs} + [body]
//   server.step   frame {state, nowMs} + [j of the statement]
//   server.next   frame {state, nowMs}                 (a stream's next frame)
//   server.abort  {state}                                         -> {}
// clang-format on
//
// begin/step answer a frame: {done:false, state, statements:[{sql, params}]}
// + segments (`sql` and params may be {"seg": k}), or
// {done:true, status, rollback} + [response body]. Each statement is atomic
// on its own: the host runs it outside any explicit transaction.
#include "control/server_ops.h"

#include <memory>
#include <optional>

#include "common/frame.h"
#include "control/handles.h"
#include "server/server.h"
#include "sql/ddl.h"

namespace edgesync {

namespace {

handle_registry<server>& servers() {
  static handle_registry<server> s;
  return s;
}

std::string bad(const std::string& path, const std::string& msg) {
  return error_envelope({{error_code::invalid_request, path, msg}});
}

std::string output_frame(const step_output& o, std::int64_t state) {
  json meta = {{"done", o.done}};
  if (o.done) {
    meta["status"] = o.status;
    meta["rollback"] = o.rollback;
    // A stream's frame: the request stays open under the same state.
    if (o.more) {
      meta["more"] = true;
      meta["state"] = state;
    }
    if (!o.poke.empty()) {
      auto poke = parse_json(o.poke);
      if (poke) meta["poke"] = std::move(poke.value());
    }
  } else {
    meta["state"] = state;
    json stmts = json::array();
    for (const auto& s : o.statements)
      stmts.push_back(
          {{"sql", s.sql.empty() ? json{{"seg", s.sql_segment}} : json(s.sql)},
           {"params", s.params}});
    meta["statements"] = std::move(stmts);
  }
  return build_frame(std::move(meta), o.segments);
}

server* find_server(const json& meta) { return servers().find(meta, "handle"); }

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

namespace server_ops {

std::string open(std::string_view input) {
  auto doc = parse_json(input);
  if (!doc) return error_envelope(doc.errors());
  const json& j = doc.value();
  if (!j.is_object() || !j.contains("schema"))
    return bad("schema", "expected {\"schema\": …, \"limits\": …}");
  auto s = parse_schema(dump_json(j["schema"]));
  if (!s) {
    std::vector<error> errs = s.errors();
    for (auto& e : errs) e.path = path_key("schema", e.path);
    return error_envelope(errs);
  }
  auto limits =
      parse_limits(j.contains("limits") ? j["limits"] : json(nullptr));
  if (!limits) return error_envelope(limits.errors());
  std::string ddl = edgesync::pg_ddl(s.value());
  std::int64_t version = s.value().version;
  auto srv = std::make_unique<server>(std::move(s.value()), limits.value());
  ddl += srv->functions_ddl();
  std::int64_t handle = servers().add(std::move(srv));
  return dump_json(
      {{"ok", true},
       {"result",
        {{"handle", handle}, {"schemaVersion", version}, {"pgDdl", ddl}}}});
}

std::string begin(std::string_view input) {
  return with_frame(input, [](const json& meta, const auto& segments) {
    server* srv = find_server(meta);
    if (srv == nullptr)
      return error_frame(
          {{error_code::invalid_request, "handle", "unknown server handle"}});
    auto user = meta.find("userId");
    if (user == meta.end() || !user->is_string() || segments.size() != 1)
      return error_frame({{error_code::invalid_request, "userId",
                           "expected userId and one body segment"}});
    auto now = now_of(meta);
    if (!now) return bad_now();
    step_output o = srv->begin(user->get<std::string>(), segments[0], *now);
    // The server keeps its own ids; expose (handle, id) packed together.
    return output_frame(
        o, o.done ? 0
                  : (meta["handle"].get<std::int64_t>() << kStateBits) +
                        srv->last_state());
  });
}

namespace {

// A request state named by a host: its server and the server's own id.
struct state_ref {
  server* srv;
  std::int64_t packed;  // (handle, id) as the host holds it
  std::int64_t local;   // the server's id
};

// The state `meta.state` names, or the error to answer.
result<state_ref> find_state(const json& meta) {
  auto st = meta.find("state");
  if (st == meta.end() || !st->is_number_integer())
    return error{error_code::invalid_request, "state", "expected a state id"};
  std::int64_t packed = st->get<std::int64_t>();
  server* srv = servers().find(packed >> kStateBits);
  if (srv == nullptr)
    return error{error_code::invalid_request, "state", "unknown state"};
  return state_ref{srv, packed, packed & ((std::int64_t{1} << kStateBits) - 1)};
}

}  // namespace

std::string step(std::string_view input) {
  return with_frame(input, [](const json& meta, const auto& segments) {
    auto ref = find_state(meta);
    if (!ref) return error_frame(ref.errors());
    auto now = now_of(meta);
    if (!now) return bad_now();
    step_output o = ref.value().srv->step(ref.value().local, segments, *now);
    return output_frame(o, ref.value().packed);
  });
}

std::string next(std::string_view input) {
  return with_frame(input, [](const json& meta, const auto&) {
    auto ref = find_state(meta);
    if (!ref) return error_frame(ref.errors());
    auto now = now_of(meta);
    if (!now) return bad_now();
    step_output o = ref.value().srv->next(ref.value().local, *now);
    return output_frame(o, ref.value().packed);
  });
}

std::string abort(std::string_view input) {
  auto doc = parse_json(input);
  if (doc && doc.value().is_object()) {
    auto ref = find_state(doc.value());
    if (ref) ref.value().srv->abort(ref.value().local);
  }
  return ok_envelope(json::object());
}

void reset() { servers().clear(); }

}  // namespace server_ops

}  // namespace edgesync
