// `client.*` control operations: the WASM face of edgesync::client::engine.
// The vocabulary (events, effects, frames) is documented at the top of
// client/client.h; engines live in a handle registry so JS holds a number.
#include "control/client_ops.h"

#include <memory>
#include <optional>

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

// The frame of the engine's pending effects; `client` names the handle
// (on open).
std::string effects_frame(engine& e, std::optional<std::int64_t> client) {
  auto [list, segs] = client::encode_effects(e.poll());
  std::string members;
  if (client) members = "\"client\":" + std::to_string(*client) + ",";
  members += "\"effects\":";
  members += list;
  members += ",\"ok\":true";
  std::vector<std::string_view> views;
  views.reserve(segs.size());
  for (const auto& s : segs) views.push_back(s.text);
  return build_frame_of_text(members, views);
}

// The schema of an operation's metadata ("schema": a document or its
// text), errors under "schema".
result<schema> schema_of(const json& m) {
  const json& doc = member(m, "schema");
  auto s = parse_schema(doc.is_string() ? doc.get_ref<const std::string&>()
                                        : dump_json(doc));
  if (s) return s;
  std::vector<error> errs = s.errors();
  for (auto& e : errs) e.path = path_key("schema", e.path);
  return errs;
}

std::string open_engine(const json& m) {
  if (!m.contains("schema"))
    return fail("schema",
                "expected {schema, config?, seed, clientId?, online?, now}");
  auto s = schema_of(m);
  if (!s) return error_frame(s.errors());
  auto cfg = client::parse_config(member(m, "config"));
  if (!cfg) return error_frame(cfg.errors());
  const json& seed = member(m, "seed");
  if (!seed.is_string() || seed.get_ref<const std::string&>().size() < 16)
    return fail("seed",
                "expected at least 16 characters of host randomness (hex)");
  // 0 to 2^53 (JS numbers): the engine adds delays to it.
  const json& now = member(m, "now");
  if (!now.is_number() ||
      !(now.get<double>() >= 0 && now.get<double>() <= 9007199254740992.0))
    return fail("now", "expected the host clock in ms (0 to 2^53)");
  client::open_options o;
  o.schema = std::move(s.value());
  o.config = std::move(cfg.value());
  o.seed = seed.get<std::string>();
  if (m.contains("clientId")) {
    const json& id = member(m, "clientId");
    if (!id.is_string() ||
        !client::is_valid_client_id(id.get_ref<const std::string&>()))
      return fail("clientId", "expected " + client_id_rule());
    o.client_id = id.get<std::string>();
  }
  if (m.contains("online")) {
    const json& online = member(m, "online");
    if (!online.is_boolean()) return fail("online", "expected a boolean");
    o.online = online.get<bool>();
  }
  o.now_ms = now.is_number_integer()
                 ? now.get<std::int64_t>()
                 : static_cast<std::int64_t>(now.get<double>());
  auto e = std::make_unique<engine>(std::move(o));
  engine& ref = *e;
  std::int64_t handle = engines().add(std::move(e));
  return effects_frame(ref, handle);
}

// The statements of `make` for the schema in `m`, each with `params`, under
// the apply guard: a `sql` effect's shape without id, for the host to run.
template <typename F>
std::string guarded_statements(const json& m, F&& make, const json& params) {
  if (!m.contains("schema")) return fail("schema", "expected {schema}");
  auto s = schema_of(m);
  if (!s) return error_frame(s.errors());
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
    return effects_frame(*e, std::nullopt);
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
    const json& user = member(m, "user");
    if (!user.is_string() || user.get_ref<const std::string&>().empty())
      return fail("user", "expected the user id (the token's sub)");
    return guarded_statements(m, client::detail::claim_sql,
                              json::array({user}));
  });
}

std::string close(std::string_view input) {
  return with_frame(input, [](const json& meta, const auto&) {
    if (const json& id = member(meta, "client"); id.is_number_integer())
      engines().erase(id.get<std::int64_t>());
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
