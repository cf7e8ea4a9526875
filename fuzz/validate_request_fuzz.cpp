// Target: the server's request validator (worker validate_request) over the
// fixed test schema (tests/fixtures/schema.v1.json). The input is a /sync
// request body.
//
// Properties, checked against nlohmann's DOM of the same body:
//  - a refused body answers 400/409/413 with 1-100 errors and an error body
//    that is valid JSON; a body nlohmann refuses is answered with exactly
//    one invalid_json error (the scanner's deliberate refusals aside: see
//    json_scanner_fuzz.cpp);
//  - an accepted body is valid JSON, speaks protocol 1 and schema version 1,
//    and carries at most maxChanges changes;
//  - the merge input of every (table, op) group, once closed, is a JSON array
//    with one object per change of the group, in order, each at the span
//    the change records; each object has no member twice, only columns of
//    its table (never the owner column; a delete only its key), every key
//    column, values of the column's type equal to the body's, and the
//    bookkeeping members _es_i (the change index), _es_h (an HLC), _es_b;
//  - no two accepted changes target the same row (key values compared as
//    JSON, however they were spelled);
//  - every accepted value is one PostgreSQL takes (issue 7, F2): a real is
//    a finite double that does not underflow to 0, a timestamp is a real
//    calendar date-time (year >= 1, offset within +-15:59), a key fits a
//    btree entry (2704 bytes).
// nlohmann refuses numbers beyond a double that jsonb holds: both DOMs are
// built from finite_numbers(text) (see fuzz_support.h).
#include <cmath>
#include <set>

#include "common/json_scan.h"
#include "fuzz_support.h"
#include "server/server.h"

namespace {

using edgesync::change_op;
using edgesync::column_type;
using edgesync::error_code;
using edgesync::json;
using edgesync::fuzz::excerpt;

constexpr std::int64_t kNowMs = 1763798400000;

const edgesync::server_limits& limits() {
  static const edgesync::server_limits l = [] {
    edgesync::server_limits x;
    x.max_changes = 8;  // small enough for a fuzzer to reach the 413 path
    return x;
  }();
  return l;
}

// Records whether some object directly inside the top-level array has a
// member twice (values nested deeper, e.g. json columns, may repeat keys).
struct duplicate_finder : nlohmann::json_sax<json> {
  std::vector<std::set<std::string>> stack;
  int depth = 0;
  bool duplicate = false;
  std::string name;

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override {
    ++depth;
    stack.emplace_back();
    return true;
  }
  bool key(string_t& k) override {
    if (depth == 2 && !stack.back().insert(k).second) {
      duplicate = true;
      name = k;
    }
    return true;
  }
  bool end_object() override {
    --depth;
    stack.pop_back();
    return true;
  }
  bool start_array(std::size_t) override {
    ++depth;
    return true;
  }
  bool end_array() override {
    --depth;
    return true;
  }
  bool parse_error(std::size_t, const std::string&,
                   const nlohmann::detail::exception&) override {
    return false;
  }
};

bool is_hlc(const json& v) {
  if (!v.is_string()) return false;
  const std::string& s = v.get_ref<const std::string&>();
  if (s.size() < 23 || s[15] != ':' || s[21] != ':') return false;
  for (std::size_t i = 0; i < 21; ++i)
    if (i != 15 && (s[i] < '0' || s[i] > '9')) return false;
  return true;
}

// A real PostgreSQL's double precision takes: finite, and not a non-zero
// number that reads as 0 (float8in refuses both with "out of range").
bool real_in_range(std::string_view raw) {
  std::string text(raw);
  double d = std::strtod(text.c_str(), nullptr);
  if (!std::isfinite(d)) return false;
  if (d != 0) return true;
  for (char c : text) {
    if (c == 'e' || c == 'E') break;
    if (c >= '1' && c <= '9') return false;
  }
  return true;
}

int two(const std::string& s, std::size_t i) {
  return (s[i] - '0') * 10 + (s[i + 1] - '0');
}

// A timestamp PostgreSQL's timestamptz takes (the validator checked the
// shape YYYY-MM-DDTHH:MM[:SS[.f]](Z|+-HH[:MM])).
bool timestamp_in_range(const std::string& s) {
  if (s.size() < 17) return false;
  int year = two(s, 0) * 100 + two(s, 2), month = two(s, 5), day = two(s, 8);
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  if (day > kDays[month - 1] + (month == 2 && leap ? 1 : 0)) return false;
  std::size_t z = s.find_first_of("Zz+-", 16);
  if (z == std::string::npos) return false;
  if (s[z] == 'Z' || s[z] == 'z') return true;
  std::string off = s.substr(z + 1);
  if (off.size() < 2) return false;
  int hours = two(off, 0), minutes = 0;
  if (off.size() == 5) minutes = two(off, 3);
  if (off.size() == 4) minutes = two(off, 2);
  return hours <= 15 && minutes <= 59;
}

// The raw text of each column value of each object of a merge input.
void check_raw_values(const std::string& input, const edgesync::table& t) {
  edgesync::json_scanner js(input);
  if (!js.begin_array()) return;
  while (js.next_element()) {
    if (!js.begin_object()) return;
    std::string_view key;
    while (js.next_key(key)) {
      std::string_view raw = js.skip_value();
      if (js.failed()) return;
      int ci = t.column_index(key);
      if (ci >= 0 &&
          t.columns[static_cast<std::size_t>(ci)].type == column_type::real &&
          raw != "null")
        ES_FUZZ_CHECK(real_in_range(raw),
                      "real " + std::string(key) + " = " + excerpt(raw) +
                          " accepted; PostgreSQL refuses it (F2)");
    }
  }
}

bool has_type(column_type t, const json& v) {
  switch (t) {
    case column_type::integer:
      return v.is_number_integer();
    case column_type::real:
      return v.is_number();
    case column_type::boolean:
      return v.is_boolean();
    case column_type::json_doc:
      return true;
    default:
      return v.is_string();
  }
}

void check_refused(const edgesync::request_error& e, std::string_view body,
                   bool dom_ok) {
  ES_FUZZ_CHECK(e.status == 400 || e.status == 409 || e.status == 413,
                "status " + std::to_string(e.status));
  ES_FUZZ_CHECK(!e.errors.empty() && e.errors.size() <= 100,
                std::to_string(e.errors.size()) + " errors");
  bool too_large = false, syntax = false;
  for (const auto& err : e.errors) {
    too_large |= err.code == error_code::payload_too_large;
    syntax |= err.code == error_code::invalid_json;
  }
  if (e.status == 413)
    ES_FUZZ_CHECK(too_large, "413 without payload_too_large");
  if (e.status == 409)
    ES_FUZZ_CHECK(e.server_schema_version.has_value() && e.errors.size() == 1 &&
                      e.errors[0].code == error_code::schema_version_mismatch,
                  "a 409 names the server's schema version, alone");
  if (!dom_ok)
    ES_FUZZ_CHECK(e.errors.size() == 1 && syntax,
                  "malformed JSON answered with " + e.errors[0].to_string() +
                      ": " + excerpt(body));
  if (syntax) ES_FUZZ_CHECK(e.errors.size() == 1, "invalid_json is alone");
  auto body_json = edgesync::parse_json(
      edgesync::error_body(e.errors, e.server_schema_version));
  ES_FUZZ_CHECK(body_json.ok() && body_json.value().is_object(),
                "the error body is a JSON object");
}

void check_accepted(const edgesync::sync_request& req, std::string_view body,
                    const json& dom) {
  const edgesync::schema& s = edgesync::fuzz::test_schema();
  ES_FUZZ_CHECK(dom.is_object() && dom.value("protocol", json()) == 1 &&
                    dom.value("schemaVersion", json()) == 1 &&
                    dom.value("clientId", json()) == req.client_id,
                "accepted without protocol 1, schemaVersion 1 and clientId: " +
                    excerpt(body));
  ES_FUZZ_CHECK(req.changes.size() <= limits().max_changes,
                std::to_string(req.changes.size()) + " changes accepted");
  const json* dom_changes = nullptr;
  if (dom.contains("batch") && dom["batch"].is_object() &&
      dom["batch"].contains("changes") && dom["batch"]["changes"].is_array())
    dom_changes = &dom["batch"]["changes"];
  ES_FUZZ_CHECK(
      req.changes.empty() ||
          (dom_changes != nullptr && dom_changes->size() == req.changes.size()),
      "the accepted changes are the body's batch.changes");
  if (req.changes.empty() || dom_changes == nullptr) return;

  std::set<std::pair<std::size_t, std::string>> rows;
  std::size_t grouped = 0;
  for (std::size_t g = 0; g < req.groups.size(); ++g) {
    const edgesync::change_group& grp = req.groups[g];
    ES_FUZZ_CHECK(grp.table < s.tables.size(), "group table index");
    if (grp.table >= s.tables.size()) return;
    ES_FUZZ_CHECK(!grp.changes.empty(), "an empty group is kept");
    if (g > 0)
      ES_FUZZ_CHECK(
          std::make_pair(req.groups[g - 1].table, req.groups[g - 1].op) <
              std::make_pair(grp.table, grp.op),
          "groups are sorted by (table, op), each once");
    const edgesync::table& t = s.tables[grp.table];
    check_raw_values(grp.input, t);
    std::string input = edgesync::fuzz::finite_numbers(grp.input);
    auto arr = edgesync::parse_json(input);
    ES_FUZZ_CHECK(arr.ok() && arr.value().is_array(),
                  "group input is not a JSON array: " + excerpt(grp.input));
    if (!arr || !arr.value().is_array()) continue;
    duplicate_finder dups;
    json::sax_parse(input, &dups);
    ES_FUZZ_CHECK(!dups.duplicate,
                  "member \"" + dups.name +
                      "\" twice in a merge object: " + excerpt(grp.input, 400));
    ES_FUZZ_CHECK(arr.value().size() == grp.changes.size(),
                  std::to_string(arr.value().size()) + " objects for " +
                      std::to_string(grp.changes.size()) + " changes");
    for (std::size_t k = 0; k < grp.changes.size() && k < arr.value().size();
         ++k) {
      std::size_t i = grp.changes[k];
      ES_FUZZ_CHECK(i < req.changes.size(), "change index in range");
      if (i >= req.changes.size()) continue;
      ++grouped;
      const edgesync::change& c = req.changes[i];
      ES_FUZZ_CHECK(c.group == g && c.table == grp.table && c.op == grp.op,
                    "change " + std::to_string(i) + " knows its group");
      ES_FUZZ_CHECK(c.from < c.to && c.to <= grp.input.size(),
                    "change span inside the group input");
      const json& obj = arr.value()[k];
      ES_FUZZ_CHECK(obj.is_object(), "merge element is an object");
      if (!obj.is_object()) continue;
      if (c.from < c.to && c.to <= grp.input.size()) {
        auto own = edgesync::parse_json(edgesync::fuzz::finite_numbers(
            std::string_view(grp.input).substr(c.from, c.to - c.from)));
        ES_FUZZ_CHECK(own.ok() && own.value() == obj,
                      "the change's span holds its own object");
      }
      ES_FUZZ_CHECK(obj.value("_es_i", json()) == i, "_es_i is the index");
      ES_FUZZ_CHECK(obj.contains("_es_h") && is_hlc(obj["_es_h"]),
                    "_es_h is an HLC");
      ES_FUZZ_CHECK(obj.contains("_es_b") && (obj["_es_b"].is_null() ||
                                              obj["_es_b"].is_number_integer()),
                    "_es_b is an integer or null");
      const json& dc = (*dom_changes)[i];
      ES_FUZZ_CHECK(dc.is_object() && dc.value("table", json()) == t.name &&
                        dc.value("op", json()) ==
                            (c.op == change_op::upsert ? "upsert" : "delete"),
                    "change " + std::to_string(i) + " has the body's table/op");
      const json* drow =
          dc.is_object() && dc.contains("row") && dc["row"].is_object()
              ? &dc["row"]
              : nullptr;
      ES_FUZZ_CHECK(drow != nullptr, "an accepted change has a row object");
      json key = json::array();
      for (std::size_t pk : t.primary_key) {
        const std::string& name = t.columns[pk].name;
        ES_FUZZ_CHECK(obj.contains(name) && !obj[name].is_null(),
                      "key column \"" + name + "\" present");
        key.push_back(obj.value(name, json()));
      }
      std::size_t key_bytes = 0;
      for (const auto& part : key)
        key_bytes +=
            part.is_string() ? part.get_ref<const std::string&>().size() : 8;
      ES_FUZZ_CHECK(key_bytes <= 2704,
                    "a " + std::to_string(key_bytes) +
                        "-byte key accepted; a btree entry holds 2704 (F2)");
      ES_FUZZ_CHECK(rows.emplace(c.table, edgesync::dump_json(key)).second,
                    "two accepted changes target row " +
                        edgesync::dump_json(key) + " of " + t.name);
      for (auto it = obj.begin(); it != obj.end(); ++it) {
        const std::string& name = it.key();
        if (name.rfind("_es_", 0) == 0) {
          ES_FUZZ_CHECK(name == "_es_i" || name == "_es_h" || name == "_es_b" ||
                            (name == "_es_c" &&
                             t.policy == edgesync::conflict_policy::lww_field &&
                             c.op == change_op::upsert),
                        "bookkeeping member " + name);
          continue;
        }
        int ci = t.column_index(name);
        ES_FUZZ_CHECK(ci >= 0, "\"" + name + "\" is not a column of " + t.name);
        if (ci < 0) continue;
        auto idx = static_cast<std::size_t>(ci);
        ES_FUZZ_CHECK(idx != t.owner, "the owner column comes from the token");
        if (c.op == change_op::remove)
          ES_FUZZ_CHECK(t.is_pk(idx), "a delete carries its key only");
        ES_FUZZ_CHECK(has_type(t.columns[idx].type, it.value()),
                      name + " has the column's type");
        if (t.columns[idx].type == column_type::timestamp &&
            it.value().is_string())
          ES_FUZZ_CHECK(
              timestamp_in_range(it.value().get_ref<const std::string&>()),
              "timestamp " + name + " = " +
                  excerpt(it.value().get_ref<const std::string&>()) +
                  " accepted; PostgreSQL refuses it (F2)");
        if (drow != nullptr)
          ES_FUZZ_CHECK(drow->contains(name) && (*drow)[name] == it.value(),
                        "value of " + name + " differs from the body's");
      }
    }
  }
  ES_FUZZ_CHECK(grouped == req.changes.size(),
                "every change is in exactly one group");
}

}  // namespace

ES_FUZZ_TARGET(validate_request) {
  std::string_view body = edgesync::fuzz::as_text(data, size);
  auto result = edgesync::validate_request(edgesync::fuzz::test_schema(),
                                           limits(), body, kNowMs);
  auto parsed = edgesync::parse_json(edgesync::fuzz::finite_numbers(body));
  bool dom_ok = parsed.ok();
  json dom = dom_ok ? std::move(parsed.value()) : json();
  if (auto* e = std::get_if<edgesync::request_error>(&result)) {
    check_refused(*e, body, dom_ok);
    return 0;
  }
  ES_FUZZ_CHECK(dom_ok, "accepted malformed JSON: " + excerpt(body));
  if (!dom_ok) return 0;
  check_accepted(std::get<edgesync::sync_request>(result), body, dom);
  return 0;
}
