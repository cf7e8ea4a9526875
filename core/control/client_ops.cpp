// `client.*` control operations: the WASM face of edgesync::client::engine.
// The vocabulary (events, effects, frames) is documented at the top of
// client/client.h; engines live in a handle registry so JS holds a number.
#include "control/client_ops.h"

#include <memory>

#include "client/client.h"
#include "common/frame.h"
#include "control/handles.h"
#include "sql/client_sqlite.h"

namespace edgesync {

namespace {

using client::engine;

handle_registry<engine>& engines() {
  static handle_registry<engine> e;
  return e;
}

std::string fail(std::string path, std::string message) {
  return error_frame({error{error_code::invalid_request, std::move(path),
                            std::move(message)}});
}

engine* find_engine(const json& meta) { return engines().find(meta, "client"); }

std::string effects_frame(engine& e, json extra) {
  auto [meta, segs] = client::encode_effects(e.poll());
  meta["ok"] = true;
  for (auto it = extra.begin(); it != extra.end(); ++it)
    meta[it.key()] = it.value();
  std::vector<std::string_view> views;
  views.reserve(segs.size());
  for (const auto& s : segs) views.push_back(s.text);
  return build_frame_of_views(std::move(meta), views);
}

std::string open_engine(const json& m) {
  if (!m.contains("schema"))
    return fail("schema",
                "expected {schema, config?, seed, clientId?, online?, now}");
  auto s = parse_schema(m["schema"].is_string() ? m["schema"].get<std::string>()
                                                : dump_json(m["schema"]));
  if (!s) {
    std::vector<error> errs = s.errors();
    for (auto& e : errs) e.path = path_key("schema", e.path);
    return error_frame(errs);
  }
  auto cfg =
      client::parse_config(m.contains("config") ? m["config"] : json(nullptr));
  if (!cfg) return error_frame(cfg.errors());
  if (!m.contains("seed") || !m["seed"].is_string() ||
      m["seed"].get_ref<const std::string&>().size() < 16)
    return fail("seed",
                "expected at least 16 characters of host randomness (hex)");
  // 0 to 2^53 (JS numbers): the engine adds delays to it.
  if (!m.contains("now") || !m["now"].is_number() ||
      !(m["now"].get<double>() >= 0 &&
        m["now"].get<double>() <= 9007199254740992.0))
    return fail("now", "expected the host clock in ms (0 to 2^53)");
  client::open_options o;
  o.schema = std::move(s.value());
  o.config = std::move(cfg.value());
  o.seed = m["seed"].get<std::string>();
  if (m.contains("clientId")) {
    if (!m["clientId"].is_string() ||
        !client::is_valid_client_id(
            m["clientId"].get_ref<const std::string&>()))
      return fail("clientId", "expected " + client_id_rule());
    o.client_id = m["clientId"].get<std::string>();
  }
  if (m.contains("online")) {
    if (!m["online"].is_boolean()) return fail("online", "expected a boolean");
    o.online = m["online"].get<bool>();
  }
  o.now_ms = m["now"].is_number_integer()
                 ? m["now"].get<std::int64_t>()
                 : static_cast<std::int64_t>(m["now"].get<double>());
  auto e = std::make_unique<engine>(std::move(o));
  engine& ref = *e;
  std::int64_t handle = engines().add(std::move(e));
  return effects_frame(ref, {{"client", handle}});
}

// The statements of `make` for the schema in `m`, each with `params`, under
// the apply guard: a `sql` effect's shape without id, for the host to run.
template <typename F>
std::string guarded_statements(const json& m, F&& make, const json& params) {
  if (!m.contains("schema")) return fail("schema", "expected {schema}");
  auto s = parse_schema(m["schema"].is_string() ? m["schema"].get<std::string>()
                                                : dump_json(m["schema"]));
  if (!s) {
    std::vector<error> errs = s.errors();
    for (auto& e : errs) e.path = path_key("schema", e.path);
    return error_frame(errs);
  }
  auto statement = [](std::string sql, const json& p) {
    return json{{"sql", std::move(sql)}, {"params", p}, {"out", false}};
  };
  json statements = json::array();
  statements.push_back(
      statement(client::detail::guard_on_sql(), json::array()));
  for (std::string& sql : make(s.value()))
    statements.push_back(statement(std::move(sql), params));
  statements.push_back(
      statement(client::detail::guard_off_sql(), json::array()));
  return build_frame({{"ok", true}, {"tx", true}, {"statements", statements}},
                     {});
}

}  // namespace

namespace client_ops {

std::string open(std::string_view input) {
  return with_frame(
      input, [](const json& meta, const auto&) { return open_engine(meta); });
}

std::string handle(std::string_view input) {
  return with_frame(input, [](const json& meta, const auto& segments) {
    engine* e = find_engine(meta);
    if (e == nullptr) return fail("client", "unknown client handle");
    auto ev = client::parse_event(meta, segments);
    if (!ev) return error_frame(ev.errors());
    e->handle(ev.value().first, ev.value().second);
    return effects_frame(*e, json::object());
  });
}

std::string status(std::string_view input) {
  return with_frame(input, [](const json& meta, const auto&) {
    engine* e = find_engine(meta);
    if (e == nullptr) return fail("client", "unknown client handle");
    return build_frame(
        {{"ok", true}, {"status", client::status_json(e->current_status())}},
        {});
  });
}

std::string reset_sql(std::string_view input) {
  return with_frame(input, [](const json& m, const auto&) {
    return guarded_statements(m, client::detail::reset_sql, json::array());
  });
}

std::string claim_sql(std::string_view input) {
  return with_frame(input, [](const json& m, const auto&) {
    if (!m.contains("user") || !m["user"].is_string() ||
        m["user"].get_ref<const std::string&>().empty())
      return fail("user", "expected the user id (the token's sub)");
    return guarded_statements(m, client::detail::claim_sql,
                              json::array({m["user"]}));
  });
}

std::string close(std::string_view input) {
  return with_frame(input, [](const json& meta, const auto&) {
    if (meta.contains("client") && meta["client"].is_number_integer())
      engines().erase(meta["client"].get<std::int64_t>());
    return build_frame({{"ok", true}}, {});
  });
}

std::string unknown(std::string_view op, std::string_view input) {
  return with_frame(input, [op](const json&, const auto&) {
    return fail("op", "unknown client operation \"" + std::string(op) +
                          "\"; expected client.open, client.handle, "
                          "client.status, client.reset_sql, "
                          "client.claim_sql or client.close");
  });
}

void reset() { engines().clear(); }

}  // namespace client_ops

}  // namespace edgesync
