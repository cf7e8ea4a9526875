#include "common/json_util.h"

namespace edgesync {

namespace {

// Records only the first syntax error; used on the failure path to say where.
struct error_finder : nlohmann::json_sax<json> {
  std::string message;
  std::size_t position = 0;

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t pos, const std::string&,
                   const nlohmann::detail::exception& ex) override {
    position = pos;
    message = ex.what();
    return false;
  }
};

}  // namespace

result<json> parse_json(std::string_view text) {
  // nlohmann stops at a NUL byte as if the input ended there ("1\0x" parses
  // as 1); no JSON text contains one, and json_scanner refuses it too.
  if (auto nul = text.find('\0'); nul != std::string_view::npos)
    return error{
        error_code::invalid_json, "",
        "malformed JSON at byte " + std::to_string(nul) + ": a NUL byte"};
  json j = json::parse(text.begin(), text.end(), nullptr,
                       /*allow_exceptions=*/false);
  if (!j.is_discarded()) return j;
  error_finder finder;
  json::sax_parse(text.begin(), text.end(), &finder,
                  nlohmann::detail::input_format_t::json, /*strict=*/true);
  std::string msg = finder.message.empty() ? "malformed JSON" : finder.message;
  // nlohmann prefixes "[json.exception.parse_error.101] "; keep the reason.
  if (auto p = msg.find("] "); p != std::string::npos) msg = msg.substr(p + 2);
  return error{
      error_code::invalid_json, "",
      "malformed JSON at byte " + std::to_string(finder.position) + ": " + msg};
}

std::string dump_json(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string path_key(std::string_view base, std::string_view key) {
  std::string out(base);
  if (!out.empty()) out += '.';
  out += key;
  return out;
}

std::string path_index(std::string_view base, std::size_t i) {
  std::string out(base);
  out += '[';
  out += std::to_string(i);
  out += ']';
  return out;
}

json errors_json(const std::vector<error>& errs) {
  json list = json::array();
  for (const auto& e : errs)
    list.push_back({{"code", to_string(e.code)},
                    {"path", e.path},
                    {"message", e.message}});
  return list;
}

std::string error_envelope(const std::vector<error>& errs) {
  return dump_json({{"ok", false}, {"errors", errors_json(errs)}});
}

std::string ok_envelope(const json& value) {
  return dump_json({{"ok", true}, {"result", value}});
}

const char* json_kind(const json& j) {
  switch (j.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "object";
    case json::value_t::array:
      return "array";
    case json::value_t::string:
      return "string";
    case json::value_t::boolean:
      return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "integer";
    case json::value_t::number_float:
      return "number";
    default:
      return "value";
  }
}

const json& member(const json& o, const char* key) {
  static const json null_value;
  if (!o.is_object()) return null_value;
  auto it = o.find(key);
  return it == o.end() ? null_value : *it;
}

std::optional<std::int64_t> opt_int(const json& j) {
  if (j.is_number_integer()) return j.get<std::int64_t>();
  return std::nullopt;
}

}  // namespace edgesync
