#include "protocol/protocol.h"

#include <algorithm>

#include "protocol/hlc.h"

namespace edgesync {

bool is_valid_client_id(std::string_view id) {
  if (id.size() < client_id_min_length || id.size() > client_id_max_length)
    return false;
  return std::all_of(id.begin(), id.end(), is_client_id_char);
}

std::string client_id_rule() {
  return std::to_string(client_id_min_length) + "-" +
         std::to_string(client_id_max_length) + " characters of [A-Za-z0-9_-]";
}

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

std::string error_body_json(const json& errors,
                            std::optional<std::int64_t> server_schema_version) {
  json list = json::array();
  if (errors.is_array())
    for (const auto& e : errors) {
      auto text = [&](const char* key) {
        auto it = e.find(key);
        return it != e.end() && it->is_string() ? it->get<std::string>()
                                                : std::string();
      };
      json item = {{"code", text("code")}, {"message", text("message")}};
      if (std::string path = text("path"); !path.empty()) item["path"] = path;
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

std::string error_body(const std::vector<error>& errs,
                       std::optional<std::int64_t> server_schema_version) {
  return error_body_json(errors_json(errs), server_schema_version);
}

json describe_protocol() {
  json defaults = json::object(), caps = json::object();
  for (const limit_spec* l : limit_specs) {
    std::string key(l->key);
    defaults[key] = l->default_value;
    caps[key] = {{"min", l->min}, {"max", l->max}};
  }
  json codes = json::object();
  // Every code after `ok`, in declaration order (the enum is contiguous).
  for (int c = static_cast<int>(error_code::ok) + 1;
       c <= static_cast<int>(error_code::unavailable); ++c) {
    auto code = static_cast<error_code>(c);
    codes[to_string(code)] = http_status(code);
  }
  return {
      {"version", protocol_version},
      {"limits",
       {{"defaults", std::move(defaults)}, {"bounds", std::move(caps)}}},
      {"maxKeyBytes", max_key_bytes},
      {"clientId",
       {{"minLength", client_id_min_length},
        {"maxLength", client_id_max_length},
        {"rule", client_id_rule()},
        {"pattern", "^[A-Za-z0-9_-]{" + std::to_string(client_id_min_length) +
                        "," + std::to_string(client_id_max_length) + "}$"}}},
      {"hlc",
       {{"format", hlc_pattern()},
        {"msDigits", hlc_ms_digits},
        {"counterDigits", hlc_counter_digits},
        {"separator", std::string(1, hlc_separator)},
        {"maxCounter", hlc_max_counter},
        {"maxMs", hlc_max_ms}}},
      {"errorCodes", std::move(codes)},
  };
}

}  // namespace edgesync
