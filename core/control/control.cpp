#include "control/control.h"

#include <functional>
#include <optional>
#include <utility>

#include "control/client_ops.h"
#include "sql/ddl.h"
#include "common/json_util.h"
#include "protocol/protocol.h"
#include "schema/policy.h"
#include "schema/schema.h"
#ifndef ES_NO_WORKER
#include "control/server_ops.h"
#endif

namespace edgesync {

namespace {

std::string ok_envelope(const json& value) {
  json env = {{"ok", true}, {"result", value}};
  return dump_json(env);
}

// Parses {"from": <schema>, "to": <schema>} for the migration operations.
result<std::pair<schema, schema>> parse_schema_pair(std::string_view input) {
  auto doc = parse_json(input);
  if (!doc) return doc.errors();
  const json& j = doc.value();
  if (!j.is_object() || !j.contains("from") || !j.contains("to"))
    return error{error_code::invalid_request, "",
                 "expected {\"from\": <schema>, \"to\": <schema>}"};
  std::vector<error> errs;
  auto from = parse_schema(dump_json(j["from"]));
  auto to = parse_schema(dump_json(j["to"]));
  auto prefix = [&](const char* key, const std::vector<error>& es) {
    for (auto e : es) {
      e.path = path_key(key, e.path);
      errs.push_back(std::move(e));
    }
  };
  if (!from) prefix("from", from.errors());
  if (!to) prefix("to", to.errors());
  if (!errs.empty()) return errs;
  return std::make_pair(std::move(from.value()), std::move(to.value()));
}

json describe(const schema& s) {
  json tables = json::array();
  for (const auto& t : s.tables) {
    json cols = json::array();
    for (const auto& c : t.columns)
      cols.push_back({{"name", c.name},
                      {"serverName", c.server_name},
                      {"type", to_string(c.type)},
                      {"nullable", c.nullable}});
    json pk = json::array();
    for (auto i : t.primary_key) pk.push_back(t.columns[i].name);
    tables.push_back({{"name", t.name},
                      {"serverName", t.server_name},
                      {"columns", std::move(cols)},
                      {"primaryKey", std::move(pk)},
                      {"owner", t.columns[t.owner].name},
                      {"conflict", to_string(t.policy)}});
  }
  return {{"version", s.version}, {"tables", std::move(tables)}};
}

using handler = std::function<std::string(std::string_view)>;

template <typename F>
std::string with_schema(std::string_view input, F&& f) {
  auto s = parse_schema(input);
  if (!s) return error_envelope(s.errors());
  return ok_envelope(f(s.value()));
}

template <typename F>
std::string with_pair(std::string_view input, F&& f) {
  auto p = parse_schema_pair(input);
  if (!p) return error_envelope(p.errors());
  result<std::string> out = f(p.value().first, p.value().second);
  if (!out) return error_envelope(out.errors());
  return ok_envelope(out.value());
}

// {"errors": [{code, message, path?}…], "serverSchemaVersion"?: n} -> the
// protocol error body text, for errors the hosts answer themselves.
std::string error_body_op(std::string_view input) {
  auto doc = parse_json(input);
  if (!doc) return error_envelope(doc.errors());
  const json& j = doc.value();
  auto errors = j.is_object() ? j.find("errors") : j.end();
  if (!j.is_object() || errors == j.end() || !errors->is_array())
    return error_envelope({error{error_code::invalid_request, "errors",
                                 "expected {\"errors\": [{code, message, "
                                 "path?}…]}"}});
  std::optional<std::int64_t> ssv;
  if (auto v = j.find("serverSchemaVersion");
      v != j.end() && v->is_number_integer())
    ssv = v->get<std::int64_t>();
  return ok_envelope(error_body_json(*errors, ssv));
}

const std::pair<const char*, handler> kOps[] = {
    // The protocol's facts (version, limits, client-id rule, HLC format,
    // error codes): hosts read them here instead of restating them.
    {"protocol.describe",
     [](std::string_view) { return ok_envelope(describe_protocol()); }},
    {"protocol.error_body", error_body_op},
    // Each policy's rule, from the one table the merge SQL is built from:
    // test oracles read it instead of restating it.
    {"schema.policies",
     [](std::string_view) { return ok_envelope(policy_rules_json()); }},
    {"schema.validate",
     [](std::string_view in) {
       return with_schema(in, [](const schema& s) { return describe(s); });
     }},
    {"schema.sqlite_ddl",
     [](std::string_view in) {
       return with_schema(in, [](const schema& s) { return sqlite_ddl(s); });
     }},
    {"schema.pg_ddl",
     [](std::string_view in) {
       return with_schema(in, [](const schema& s) { return pg_ddl(s); });
     }},
    {"schema.sqlite_migration",
     [](std::string_view in) {
       return with_pair(in, [](const schema& a, const schema& b) {
         return sqlite_migration(a, b);
       });
     }},
    {"schema.pg_migration",
     [](std::string_view in) {
       return with_pair(in, [](const schema& a, const schema& b) {
         return pg_migration(a, b);
       });
     }},
};

}  // namespace

std::string control(std::string_view op, std::string_view input) {
  for (const auto& [name, fn] : kOps)
    if (op == name) return fn(input);
  std::string out;
#ifndef ES_NO_WORKER
  if (worker_control(op, input, out)) return out;
#endif
  if (client_control(op, input, out)) return out;
  return error_envelope(
      {error{error_code::invalid_request, "op",
             "unknown operation \"" + std::string(op) + "\""}});
}

void control_reset() {
#ifndef ES_NO_WORKER
  worker_control_reset();
#endif
  client_control_reset();
}

}  // namespace edgesync
