#include "common/json_util.h"

#include <charconv>
#include <cmath>

#include "common/json_scan.h"
#include "common/number_text.h"

namespace edgesync {

namespace {

// Documents nested deeper are refused: the reader recurses per level, and no
// document of the protocol or a schema comes near it.
constexpr int kMaxDepth = 256;

// Reads the value at the cursor into `out` with the hot path's scanner, so
// every build has one JSON grammar (nlohmann's parser stays out of the
// browser module). Duplicate members: the last wins, as in nlohmann's DOM.
bool read_value(json_scanner& s, json& out, int depth) {
  if (depth > kMaxDepth) return s.fail("nesting too deep");
  std::size_t from = s.mark();
  switch (s.peek()) {
    case json_kind_t::object: {
      if (!s.begin_object()) return false;
      out = json::object();
      std::string_view key;
      while (s.next_key(key)) {
        json& slot = out[std::string(key)];
        slot = nullptr;
        if (!read_value(s, slot, depth + 1)) return false;
      }
      return !s.failed();
    }
    case json_kind_t::array: {
      if (!s.begin_array()) return false;
      out = json::array();
      while (s.next_element()) {
        out.push_back(nullptr);
        if (!read_value(s, out.back(), depth + 1)) return false;
      }
      return !s.failed();
    }
    case json_kind_t::string: {
      std::string str;
      if (!s.read_string(str)) return false;
      out = std::move(str);
      return true;
    }
    case json_kind_t::number: {
      bool is_integer = false;
      std::int64_t v = 0;
      if (!s.read_number(is_integer, v)) return false;
      if (is_integer) {
        // As nlohmann: unsigned unless written with a minus ("-0" too).
        if (v >= 0 && s.slice(from, from + 1) != "-")
          out = static_cast<std::uint64_t>(v);
        else
          out = v;
        return true;
      }
      std::string text(s.slice(from, s.offset()));
      // Integers past int64 but within uint64 stay exact, as in nlohmann.
      std::uint64_t u = 0;
      auto [end, ec] =
          std::from_chars(text.data(), text.data() + text.size(), u);
      if (ec == std::errc() && end == text.data() + text.size()) {
        out = u;
        return true;
      }
      double d = number_from_text(text);
      if (!std::isfinite(d)) return s.fail("number out of range of a double");
      out = d;
      return true;
    }
    case json_kind_t::boolean: {
      bool b = false;
      if (!s.read_bool(b)) return false;
      out = b;
      return true;
    }
    case json_kind_t::null:
      out = nullptr;
      return s.read_null();
    case json_kind_t::invalid:
      break;
  }
  s.skip_value();  // records why the value is invalid
  return false;
}

}  // namespace

void append_json_text(std::string& out, std::string_view str) {
  static constexpr char kReplacement[] = "\xEF\xBF\xBD";
  const auto* s = reinterpret_cast<const unsigned char*>(str.data());
  std::size_t n = str.size();
  std::string fixed;     // the text with replacements, once one is needed
  std::size_t kept = 0;  // str[0, kept) is in `fixed` already
  for (std::size_t i = 0; i < n;) {
    unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    // The continuation bytes a lead byte takes, and the range of the first
    // (narrower after E0, ED, F0 and F4: no overlongs, surrogates or code
    // points past U+10FFFF).
    int need = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      need = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      need = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    }
    std::size_t j = i + 1;
    bool ok = need > 0;
    for (int k = 0; ok && k < need; ++k, ++j, lo = 0x80, hi = 0xBF)
      ok = j < n && s[j] >= lo && s[j] <= hi;
    if (ok) {
      i = j;
      continue;
    }
    fixed.append(str, kept, i - kept);
    fixed += kReplacement;
    // The byte that broke the sequence is read again as a lead byte.
    i = need > 0 ? j - 1 : i + 1;
    kept = i;
  }
  if (kept == 0) {
    append_json_string(out, str);
  } else {
    fixed.append(str, kept);
    append_json_string(out, fixed);
  }
}

namespace {

// Appends a double as nlohmann writes it: the shortest digits that read
// back to the same value, in plain notation for decimal exponents -4..15
// (with ".0" when integral), else d.ddde+XX; non-finite values as null.
void write_double(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  if (std::signbit(d)) out += '-';
  d = std::fabs(d);
  if (d == 0) {
    out += "0.0";
    return;
  }
  char buf[40];
  shortest_exponential(d, buf);
  // buf is "d[.ddd]e[+-]x": split into the digits and the exponent.
  std::string digits;
  const char* p = buf;
  for (; *p != 'e'; ++p)
    if (*p != '.') digits += *p;
  int e = std::atoi(p + 1);
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  int k = static_cast<int>(digits.size());
  int dot = e + 1;  // digits before the decimal point
  if (k <= dot && dot <= 15) {
    out += digits;
    out.append(static_cast<std::size_t>(dot - k), '0');
    out += ".0";
  } else if (0 < dot && dot <= 15) {
    out.append(digits, 0, static_cast<std::size_t>(dot));
    out += '.';
    out.append(digits, static_cast<std::size_t>(dot));
  } else if (-4 < dot && dot <= 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-dot), '0');
    out += digits;
  } else {
    out += digits[0];
    if (k > 1) {
      out += '.';
      out.append(digits, 1);
    }
    out += 'e';
    out += e < 0 ? '-' : '+';
    int a = e < 0 ? -e : e;
    if (a < 10) out += '0';
    out += std::to_string(a);
  }
}

void write_json(std::string& out, const json& j) {
  switch (j.type()) {
    case json::value_t::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, value] : j.items()) {
        if (!first) out += ',';
        first = false;
        append_json_text(out, key);
        out += ':';
        write_json(out, value);
      }
      out += '}';
      return;
    }
    case json::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& value : j) {
        if (!first) out += ',';
        first = false;
        write_json(out, value);
      }
      out += ']';
      return;
    }
    case json::value_t::string:
      append_json_text(out, j.get_ref<const std::string&>());
      return;
    case json::value_t::boolean:
      out += j.get<bool>() ? "true" : "false";
      return;
    case json::value_t::number_integer:
      out += std::to_string(j.get<std::int64_t>());
      return;
    case json::value_t::number_unsigned:
      out += std::to_string(j.get<std::uint64_t>());
      return;
    case json::value_t::number_float:
      write_double(out, j.get<double>());
      return;
    default:  // null; binary and discarded values are never built
      out += "null";
      return;
  }
}

}  // namespace

void append_json_string(std::string& out, std::string_view v) {
  static const char* hex = "0123456789abcdef";
  out += '"';
  const char* p = v.data();
  const char* end = p + v.size();
  while (p < end) {
    const char* run = p;
    while (p < end && *p != '"' && *p != '\\' &&
           static_cast<unsigned char>(*p) >= 0x20)
      ++p;
    out.append(run, static_cast<std::size_t>(p - run));
    if (p == end) break;
    auto u = static_cast<unsigned char>(*p++);
    out += '\\';
    switch (u) {
      case '"':
        out += '"';
        break;
      case '\\':
        out += '\\';
        break;
      case '\b':
        out += 'b';
        break;
      case '\f':
        out += 'f';
        break;
      case '\n':
        out += 'n';
        break;
      case '\r':
        out += 'r';
        break;
      case '\t':
        out += 't';
        break;
      default:
        out += "u00";
        out += hex[u >> 4];
        out += hex[u & 15];
    }
  }
  out += '"';
}

result<json> parse_json(std::string_view text) {
  json_scanner s(text);
  json j;
  if (read_value(s, j, 0) && s.at_end()) return j;
  if (!s.failed()) s.fail("unexpected text after the value");
  return error{error_code::invalid_json, "", s.error()};
}

std::string dump_json(const json& j) {
  std::string out;
  write_json(out, j);
  return out;
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

std::string errors_text(const std::vector<error>& errs) {
  std::string out = "[";
  for (const auto& e : errs) {
    if (out.size() > 1) out += ',';
    out += "{\"code\":";
    append_json_text(out, to_string(e.code));
    out += ",\"message\":";
    append_json_text(out, e.message);
    out += ",\"path\":";
    append_json_text(out, e.path);
    out += '}';
  }
  out += ']';
  return out;
}

json errors_json(const std::vector<error>& errs) {
  return parse_json(errors_text(errs)).value();
}

std::string error_envelope(const std::vector<error>& errs) {
  return "{\"errors\":" + errors_text(errs) + ",\"ok\":false}";
}

std::string ok_envelope(const json& value) {
  return "{\"ok\":true,\"result\":" + dump_json(value) + "}";
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
