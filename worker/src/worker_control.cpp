// `server.*` control operations: the WASM face of edgesync::server.
//
//   server.open  {schema, limits}                -> {handle, schemaVersion,
//   pgDdl} server.begin frame {handle, userId, nowMs} + [body] server.step
//   frame {state, nowMs} + [j of each statement, in order] server.abort {state}
//   -> {}
//
// begin/step answer a frame: {done:false, state, statements:[{sql, params}]}
// + parameter segments, or {done:true, status, rollback} + [response body].
#include "edgesync/worker_control.h"

#include <map>
#include <memory>

#include "edgesync/codegen.h"
#include "edgesync/frame.h"
#include "edgesync/server.h"

namespace edgesync {

namespace {

std::map<std::int64_t, std::unique_ptr<server>>& servers() {
  static std::map<std::int64_t, std::unique_ptr<server>> s;
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

std::int64_t now_of(const json& meta) {
  auto n = meta.find("nowMs");
  return n != meta.end() && n->is_number() ? n->get<std::int64_t>() : 0;
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
    static std::int64_t next_handle = 1;
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
      step_output o = srv->begin(user->get<std::string>(),
                                 f.value().segments[0], now_of(meta));
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
    step_output o = it->second->step(local, f.value().segments, now_of(meta));
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

}  // namespace edgesync
