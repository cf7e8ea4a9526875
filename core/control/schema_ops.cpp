// `schema.*` control operations: schema documents in, their description,
// DDL or migration out (the SQL text itself is generated in sql/ddl.cpp).
#include "control/schema_ops.h"

#include <utility>

#include "common/json_util.h"
#include "schema/access.h"
#include "schema/policy.h"
#include "schema/schema.h"
#include "sql/ddl.h"
#ifndef ES_NO_WORKER
#include "sql/media_sql.h"
#include "sql/pg_sync_function.h"
#endif

namespace edgesync {

namespace {

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
    for (const auto& c : t.columns) {
      json col = {{"name", c.name},
                  {"serverName", c.server_name},
                  {"type", to_string(c.type)},
                  {"nullable", c.nullable}};
      if (c.media)
        col["media"] = {{"maxBytes", c.media->max_bytes},
                        {"mime", c.media->mime}};
      cols.push_back(std::move(col));
    }
    json pk = json::array();
    for (auto i : t.primary_key) pk.push_back(t.columns[i].name);
    json entry = {{"name", t.name},
                  {"serverName", t.server_name},
                  {"columns", std::move(cols)},
                  {"primaryKey", std::move(pk)},
                  {"owner", t.columns[t.owner].name},
                  {"conflict", to_string(t.policy)},
                  {"access", to_string(t.access)}};
    if (t.scope >= 0)
      entry["scope"] = {{"name", s.scopes[t.scope].name},
                        {"column", t.columns[t.scope_column].name}};
    tables.push_back(std::move(entry));
  }
  json scopes = json::array();
  for (const auto& d : s.scopes) {
    const table& m = s.tables[d.members];
    scopes.push_back({{"name", d.name},
                      {"root", s.tables[d.root].name},
                      {"members",
                       {{"table", m.name},
                        {"scope", m.columns[m.scope_column].name},
                        {"user", m.columns[d.member_user].name},
                        {"role", m.columns[d.member_role].name}}}});
  }
  return {{"version", s.version},
          {"tables", std::move(tables)},
          {"scopes", std::move(scopes)}};
}

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

}  // namespace

namespace schema_ops {

std::string policies(std::string_view) {
  return ok_envelope(policy_rules_json());
}

std::string access(std::string_view) {
  return ok_envelope(access_rules_json());
}

std::string validate(std::string_view in) {
  return with_schema(in, [](const schema& s) { return describe(s); });
}

std::string sqlite_ddl(std::string_view in) {
  return with_schema(in,
                     [](const schema& s) { return edgesync::sqlite_ddl(s); });
}

#ifndef ES_NO_WORKER
std::string pg_ddl(std::string_view in) {
  return with_schema(in, [](const schema& s) { return sql::server_ddl(s); });
}
#endif

#ifndef ES_NO_WORKER
std::string media_sql(std::string_view in) {
  return with_schema(in, [](const schema& s) { return sql::media_plan(s); });
}
#endif

std::string sqlite_migration(std::string_view in) {
  return with_pair(in, [](const schema& a, const schema& b) {
    return edgesync::sqlite_migration(a, b);
  });
}

#ifndef ES_NO_WORKER
std::string pg_migration(std::string_view in) {
  return with_pair(in, [](const schema& a, const schema& b) {
    return sql::server_migration(a, b);
  });
}
#endif

}  // namespace schema_ops

}  // namespace edgesync
