// Error codes as HTTP statuses and the protocol's error body.
#include "server/errors.h"

#include "common/json_util.h"
#include "server/limits.h"

namespace edgesync {

int http_status(error_code code) {
  switch (code) {
    case error_code::unauthorized:
      return 401;
    case error_code::client_id_conflict:
      return 403;
    case error_code::schema_version_mismatch:
      return 409;
    case error_code::payload_too_large:
      return 413;
    case error_code::internal:
      return 500;
    case error_code::unavailable:
      return 503;
    default:
      return 400;
  }
}

std::string error_body(const std::vector<error>& errs,
                       std::optional<std::int64_t> server_schema_version) {
  json list = json::array();
  for (const auto& e : errs) {
    json item = {{"code", to_string(e.code)}, {"message", e.message}};
    if (!e.path.empty()) item["path"] = e.path;
    list.push_back(std::move(item));
  }
  json err = list.empty()
                 ? json{{"code", "internal"}, {"message", "unknown error"}}
                 : list[0];
  err["errors"] = std::move(list);
  json body = {{"protocol", protocol_version}, {"error", std::move(err)}};
  if (server_schema_version)
    body["serverSchemaVersion"] = *server_schema_version;
  return dump_json(body);
}

}  // namespace edgesync
