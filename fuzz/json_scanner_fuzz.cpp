// Differential target: edgesync::json_scanner (the hand-written hot-path
// scanner) and edgesync::parse_json / dump_json (the core's DOM reader and
// writer, built on the scanner) against nlohmann's own parser and serializer
// on the same bytes (nlohmann takes a NUL byte outside a string for the end
// of the input; the reference refuses one, as the scanner does).
//
// Properties:
//  - the verdict (one valid JSON document, nothing after it) is the same for
//    the validating skip (skip_value + at_end), for a read of every value
//    through the typed API (peek/read_*/next_key/next_element), for
//    parse_json and for nlohmann — except for the scanner's deliberate
//    refusals: `\u0000` (PostgreSQL text cannot hold it), nesting deeper than
//    its bound, and a leading UTF-8 byte order mark (nlohmann skips one); and
//    except numbers beyond a double, which nlohmann and parse_json refuse and
//    the scanner does not judge (see finite_numbers in fuzz_support.h);
//  - where the scanner accepts, the values it reads equal nlohmann's
//    (strings byte for byte, integers exactly, other numbers as strtod reads
//    their text, duplicate members resolved last-wins as nlohmann does), and
//    parse_json's document equals nlohmann's;
//  - dump_json writes what nlohmann's dump writes (replacing invalid UTF-8),
//    numbers other than integers aside, which only have to read back equal;
//  - both next_key overloads (viewed and copied keys) read the same keys;
//  - the scanner never reads past the input; offsets stay within it, and a
//    failure always comes with an error message.
#include <cmath>
#include <cstdlib>
#include <string>

#include "common/json_scan.h"
#include "common/json_util.h"
#include "fuzz_support.h"

namespace {

using edgesync::json;
using edgesync::json_kind_t;
using edgesync::json_scanner;
using edgesync::fuzz::excerpt;

// Values nested deeper than this are read with skip_value (and compared via
// nlohmann on their raw text) so the harness itself never recurses deeply.
constexpr int kTypedDepth = 48;
// Documents nested deeper than this may be refused by the scanner's bound.
constexpr int kDepthBound = 200;

// Nesting depth of a document nlohmann accepted (brackets outside strings).
int nesting(std::string_view s) {
  int depth = 0, max = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      max = std::max(max, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return max;
}

// nlohmann's parser as the reference (discarded when it refuses the text).
json nlohmann_parse(std::string_view text) {
  if (text.find('\0') != std::string_view::npos)
    return json::value_t::discarded;
  return json::parse(text.begin(), text.end(), nullptr,
                     /*allow_exceptions=*/false);
}

// True when the document holds a number that is not an integer.
bool has_float(const json& j) {
  if (j.is_number_float()) return true;
  if (j.is_structured())
    for (const auto& v : j)
      if (has_float(v)) return true;
  return false;
}

// True when both documents have the same kinds throughout (== compares
// numbers across kinds; callers test is_number_unsigned and the like).
bool same_kinds(const json& a, const json& b) {
  if (a.type() != b.type()) return false;
  if (a.is_array()) {
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!same_kinds(a[i], b[i])) return false;
  } else if (a.is_object()) {
    for (auto it = a.begin(); it != a.end(); ++it)
      if (!same_kinds(it.value(), b.at(it.key()))) return false;
  }
  return true;
}

struct typed_reader {
  json_scanner& s;
  bool view_keys;

  // Reads one value at the cursor into `out`; false when the scanner failed.
  bool value(json& out, int depth) {
    json_kind_t kind = s.peek();
    std::size_t from = s.mark();
    if (depth >= kTypedDepth &&
        (kind == json_kind_t::object || kind == json_kind_t::array)) {
      std::string_view raw = s.skip_value();
      if (s.failed()) return false;
      ES_FUZZ_CHECK(raw.data() == s.slice(from, s.offset()).data() &&
                        raw.size() == s.offset() - from,
                    "skip_value's text is the slice it consumed");
      json parsed = nlohmann_parse(raw);
      ES_FUZZ_CHECK(
          !parsed.is_discarded(),
          "nlohmann refuses a value skip_value took: " + excerpt(raw));
      if (!parsed.is_discarded()) out = std::move(parsed);
      return true;
    }
    switch (kind) {
      case json_kind_t::object: {
        if (!s.begin_object()) return false;
        out = json::object();
        std::string owned;
        std::string_view viewed;
        for (;;) {
          std::string key;
          if (view_keys) {
            if (!s.next_key(viewed)) break;
            key.assign(viewed.data(), viewed.size());
          } else {
            if (!s.next_key(owned)) break;
            key = owned;
          }
          json v;
          if (!value(v, depth + 1)) return false;
          out[key] = std::move(v);  // last wins, as in nlohmann's DOM
        }
        return !s.failed();
      }
      case json_kind_t::array: {
        if (!s.begin_array()) return false;
        out = json::array();
        while (s.next_element()) {
          json v;
          if (!value(v, depth + 1)) return false;
          out.push_back(std::move(v));
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
        std::string text(s.slice(from, s.offset()));
        ES_FUZZ_CHECK(!text.empty(), "a number consumed no bytes");
        if (is_integer) {
          out = v;
          // The integer must be exactly what its digits say.
          ES_FUZZ_CHECK(
              std::to_string(v) == text || (text == "-0" && v == 0),
              "integer " + std::to_string(v) + " read from " + excerpt(text));
        } else {
          double d = std::strtod(text.c_str(), nullptr);
          // As finite_numbers rewrites the reference's text.
          out = d == HUGE_VAL || d == -HUGE_VAL ? 0.0 : d;
        }
        return true;
      }
      case json_kind_t::boolean: {
        bool b = false;
        if (!s.read_bool(b)) return false;
        out = b;
        return true;
      }
      case json_kind_t::null:
        if (!s.read_null()) return false;
        out = nullptr;
        return true;
      case json_kind_t::invalid:
        break;
    }
    // Nothing readable here: the skip must refuse it too.
    s.skip_value();
    ES_FUZZ_CHECK(s.failed(), "skip_value accepted what peek calls invalid");
    return false;
  }
};

void check_scanner_state(const json_scanner& s, std::string_view text) {
  ES_FUZZ_CHECK(s.offset() <= text.size(), "the cursor left the input");
  if (s.failed())
    ES_FUZZ_CHECK(s.error().rfind("malformed JSON at byte ", 0) == 0,
                  "error message: " + s.error());
}

}  // namespace

ES_FUZZ_TARGET(json_scanner) {
  std::string_view text = edgesync::fuzz::as_text(data, size);

  // 1. The validating skip over the whole document.
  json_scanner skipper(text);
  std::string_view raw = skipper.skip_value();
  bool skip_ok = !skipper.failed() && skipper.at_end();
  check_scanner_state(skipper, text);
  if (!skipper.failed())
    ES_FUZZ_CHECK(!raw.empty(), "a successful skip returned no text");

  // 2. The typed API, with viewed and with copied keys.
  json typed[2];
  bool typed_ok[2] = {false, false};
  std::string typed_error[2];
  for (int k = 0; k < 2; ++k) {
    json_scanner s(text);
    typed_reader r{s, k == 0};
    typed_ok[k] = r.value(typed[k], 0) && !s.failed() && s.at_end();
    check_scanner_state(s, text);
    typed_error[k] = s.error();
  }
  ES_FUZZ_CHECK(
      typed_ok[0] == typed_ok[1] && (!typed_ok[0] || typed[0] == typed[1]),
      "next_key(string_view&) and next_key(string&) disagree on " +
          excerpt(text));

  // 3. nlohmann on the same bytes (numbers beyond a double rewritten:
  // nlohmann refuses them, the scanner takes any syntax).
  json reference = nlohmann_parse(edgesync::fuzz::finite_numbers(text));
  bool ref_ok = !reference.is_discarded();

  // 4. The core's reader and writer.
  bool beyond_double = false;
  edgesync::fuzz::finite_numbers(text, &beyond_double);
  auto parsed = edgesync::parse_json(text);
  if (parsed) {
    ES_FUZZ_CHECK(skip_ok, "parse_json accepts what the scanner refuses: " +
                               excerpt(text));
    ES_FUZZ_CHECK(ref_ok && parsed.value() == reference &&
                      same_kinds(parsed.value(), reference),
                  "parse_json and nlohmann differ on " + excerpt(text));
  } else {
    ES_FUZZ_CHECK(
        parsed.errors()[0].message.rfind("malformed JSON at byte ", 0) == 0,
        "parse_json error: " + parsed.errors()[0].message);
    ES_FUZZ_CHECK(
        !skip_ok || beyond_double,
        "parse_json refuses what the scanner accepts: " + excerpt(text));
  }
  if (ref_ok) {
    std::string ours = edgesync::dump_json(reference);
    if (!has_float(reference)) {
      ES_FUZZ_CHECK(ours == reference.dump(-1, ' ', false,
                                           json::error_handler_t::replace),
                    "dump_json and nlohmann's dump differ on " + excerpt(ours));
    }
    ES_FUZZ_CHECK(nlohmann_parse(ours) == reference,
                  "dump_json does not read back: " + excerpt(ours));
  }

  bool bom = text.substr(0, 3) == "\xEF\xBB\xBF";
  bool deep = ref_ok && nesting(text) > kDepthBound;
  auto refused_nul = [](const std::string& err) {
    return err.find("\\u0000 is not allowed") != std::string::npos;
  };

  if (skip_ok)
    ES_FUZZ_CHECK(
        ref_ok, "the scanner accepts what nlohmann refuses: " + excerpt(text));
  if (typed_ok[0]) {
    ES_FUZZ_CHECK(ref_ok, "the typed reads accept what nlohmann refuses: " +
                              excerpt(text));
    if (ref_ok)
      ES_FUZZ_CHECK(typed[0] == reference,
                    "values differ: scanner " +
                        excerpt(edgesync::dump_json(typed[0])) + " nlohmann " +
                        excerpt(edgesync::dump_json(reference)));
  }
  if (ref_ok && !bom && !deep) {
    ES_FUZZ_CHECK(skip_ok || refused_nul(skipper.error()),
                  "the scanner refuses valid JSON (" + skipper.error() +
                      "): " + excerpt(text));
    ES_FUZZ_CHECK(typed_ok[0] || refused_nul(typed_error[0]),
                  "the typed reads refuse valid JSON (" + typed_error[0] +
                      "): " + excerpt(text));
  }
  if (!deep) {
    ES_FUZZ_CHECK(
        skip_ok == typed_ok[0],
        "skip_value and the typed reads disagree on " + excerpt(text));
  }
  return 0;
}
