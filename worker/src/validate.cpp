// Request validation: every rule of docs/protocol.md, each failure with the
// JSON path of the offending field. Nothing here touches the database.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>
#include <unordered_set>

#include "edgesync/json_scan.h"
#include "edgesync/server.h"

namespace edgesync {

std::string pull_cursor::to_string() const {
  return std::to_string(xid) + ":" + std::to_string(version);
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

result<server_limits> parse_limits(const json& j) {
  server_limits l;
  if (j.is_null()) return l;
  if (!j.is_object())
    return error{error_code::invalid_request, "limits", "expected an object"};
  std::vector<error> errs;
  auto read = [&](const char* key, auto& field, long long lo, long long hi) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return;
    if (!it->is_number_integer() || it->get<long long>() < lo ||
        it->get<long long>() > hi) {
      errs.push_back({error_code::invalid_request, path_key("limits", key),
                      "expected an integer between " + std::to_string(lo) +
                          " and " + std::to_string(hi)});
      return;
    }
    field = static_cast<std::remove_reference_t<decltype(field)>>(
        it->get<long long>());
  };
  read("maxBodyBytes", l.max_body_bytes, 1024, 1LL << 30);
  read("maxChanges", l.max_changes, 1, 1000000);
  read("maxPageSize", l.max_page_size, 1, 100000);
  read("defaultPageSize", l.default_page_size, 1, 100000);
  read("maxClockSkewMs", l.max_clock_skew_ms, 0, 1LL << 40);
  if (!errs.empty()) return errs;
  l.default_page_size = std::min(l.default_page_size, l.max_page_size);
  return l;
}

namespace {

bool is_client_id(const std::string& s) {
  if (s.size() < 8 || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return (c < 128 && std::isalnum(c)) || c == '_' || c == '-';
  });
}

bool digits(std::string_view s, std::size_t from, std::size_t n) {
  if (from + n > s.size()) return false;
  for (std::size_t i = from; i < from + n; ++i)
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  return true;
}

int num(std::string_view s, std::size_t from, std::size_t n) {
  int v = 0;
  for (std::size_t i = from; i < from + n; ++i) v = v * 10 + (s[i] - '0');
  return v;
}

// ISO-8601 date-time as PostgreSQL's timestamptz accepts it, with an offset:
// YYYY-MM-DDTHH:MM[:SS[.fraction]](Z|±HH[:MM]). Checked here so a bad value is
// a 400 with a path, not a failed transaction.
bool is_timestamp(std::string_view s) {
  if (!digits(s, 0, 4) || s.size() < 17 || s[4] != '-' || !digits(s, 5, 2) ||
      s[7] != '-' || !digits(s, 8, 2) || (s[10] != 'T' && s[10] != ' ') ||
      !digits(s, 11, 2) || s[13] != ':' || !digits(s, 14, 2))
    return false;
  int mo = num(s, 5, 2), d = num(s, 8, 2), h = num(s, 11, 2),
      mi = num(s, 14, 2);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59) return false;
  std::size_t i = 16;
  if (i < s.size() && s[i] == ':') {
    if (!digits(s, i + 1, 2) || num(s, i + 1, 2) > 60) return false;
    i += 3;
    if (i < s.size() && s[i] == '.') {
      std::size_t j = i + 1;
      while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j])))
        ++j;
      if (j == i + 1 || j - i - 1 > 9) return false;
      i = j;
    }
  }
  if (i == s.size()) return false;  // an offset is required: no local times
  if (s[i] == 'Z' || s[i] == 'z') return i + 1 == s.size();
  if (s[i] != '+' && s[i] != '-') return false;
  if (!digits(s, i + 1, 2)) return false;
  std::size_t rest = s.size() - (i + 3);
  if (rest == 0) return true;
  if (rest == 3 && s[i + 3] == ':' && digits(s, i + 4, 2)) return true;
  if (rest == 2 && digits(s, i + 3, 2)) return true;
  return false;
}

// HLC stamps: 15-digit ms, 5-digit counter, node id.
bool parse_hlc(std::string_view s, std::int64_t& ms) {
  if (s.size() < 23 || s.size() > 22 + 64 || !digits(s, 0, 15) ||
      s[15] != ':' || !digits(s, 16, 5) || s[21] != ':')
    return false;
  for (std::size_t i = 22; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (!((c < 128 && std::isalnum(c)) || c == '_' || c == '-')) return false;
  }
  ms = 0;
  for (std::size_t i = 0; i < 15; ++i) ms = ms * 10 + (s[i] - '0');
  return true;
}

std::string pad15(std::int64_t v) {
  std::string d = std::to_string(v);
  return std::string(d.size() < 15 ? 15 - d.size() : 0, '0') + d;
}

const char* expected_kind(column_type t) {
  switch (t) {
    case column_type::integer:
      return "an integer";
    case column_type::real:
      return "a number";
    case column_type::boolean:
      return "a boolean";
    case column_type::timestamp:
      return "an ISO-8601 timestamp string with a UTC offset";
    case column_type::json_doc:
      return "a JSON value";
    default:
      return "a string";
  }
}

// Two independent 64-bit FNV-1a hashes of (table, key): collisions between
// distinct rows are practically impossible, and no key strings are stored.
struct key_hash {
  std::uint64_t a, b;
  bool operator==(const key_hash& o) const { return a == o.a && b == o.b; }
};
struct key_hash_fn {
  std::size_t operator()(const key_hash& h) const {
    return static_cast<std::size_t>(h.a);
  }
};
key_hash hash_key(std::size_t table, const std::string& key) {
  std::uint64_t a = 1469598103934665603ULL ^ table,
                b = 0x84222325cbf29ce4ULL + table;
  for (unsigned char ch : key) {
    a = (a ^ ch) * 1099511628211ULL;
    b = (b ^ ch) * 0x100000001b3ULL ^ (b >> 29);
  }
  return {a, b};
}

const char* kind_name(json_kind_t k) {
  switch (k) {
    case json_kind_t::object:
      return "object";
    case json_kind_t::array:
      return "array";
    case json_kind_t::string:
      return "string";
    case json_kind_t::number:
      return "number";
    case json_kind_t::boolean:
      return "boolean";
    case json_kind_t::null:
      return "null";
    default:
      return "invalid value";
  }
}

// A single pass over the body with json_scanner: no DOM, and row values are
// kept as the bytes the client sent.
class request_validator {
 public:
  request_validator(const schema& s, const server_limits& l, std::int64_t now)
      : s_(s), limits_(l), now_ms_(now) {}

  std::vector<error> errs;
  int status = 400;
  std::optional<std::int64_t> server_schema_version;
  bool syntax_error = false;

  void fail(error_code code, std::string path, std::string msg) {
    if (errs.size() < 100)
      errs.push_back({code, std::move(path), std::move(msg)});
  }

  void check(json_scanner& js, sync_request& out) {
    if (js.peek() != json_kind_t::object) {
      if (js.peek() == json_kind_t::invalid) return syntax(js);
      fail(error_code::invalid_request, "",
           std::string("the body must be a JSON object, got ") +
               kind_name(js.peek()));
      return;
    }
    js.begin_object();
    std::string key, str;
    bool have_protocol = false, have_client = false, have_version = false;
    std::int64_t version = 0;
    std::int64_t iv = 0;
    bool is_int = false;
    while (js.next_key(key)) {
      std::size_t from = js.mark();
      if (key == "protocol") {
        have_protocol = js.peek() == json_kind_t::number &&
                        js.read_number(is_int, iv) && is_int &&
                        iv == protocol_version;
        if (!have_protocol && !js.failed() && js.offset() == from)
          js.skip_value();
      } else if (key == "clientId") {
        if (js.peek() == json_kind_t::string && js.read_string(str) &&
            is_client_id(str)) {
          out.client_id = str;
          have_client = true;
        } else if (!js.failed()) {
          if (js.offset() == from) js.skip_value();
          fail(error_code::invalid_request, "clientId",
               "expected 8-64 characters of [A-Za-z0-9_-]");
        }
      } else if (key == "schemaVersion") {
        if (js.peek() == json_kind_t::number && js.read_number(is_int, iv) &&
            is_int) {
          have_version = true;
          version = iv;
        } else if (!js.failed()) {
          if (js.offset() == from) js.skip_value();
          fail(error_code::invalid_request, "schemaVersion",
               "expected an integer");
        }
      } else if (key == "cursor") {
        if (js.peek() == json_kind_t::null)
          js.read_null();
        else if (js.peek() == json_kind_t::string && js.read_string(str))
          check_cursor(str, out);
        else if (!js.failed()) {
          js.skip_value();
          fail(error_code::invalid_request, "cursor", kCursorMsg);
        }
      } else if (key == "pageSize") {
        if (js.peek() == json_kind_t::null) {
          js.read_null();
        } else if (js.peek() == json_kind_t::number &&
                   js.read_number(is_int, iv) && is_int && iv >= 1 &&
                   iv <= limits_.max_page_size) {
          out.page_size = static_cast<int>(iv);
        } else if (!js.failed()) {
          if (js.offset() == from) js.skip_value();
          fail(error_code::invalid_request, "pageSize",
               "expected an integer between 1 and " +
                   std::to_string(limits_.max_page_size));
        }
      } else if (key == "batch") {
        if (js.peek() == json_kind_t::null)
          js.read_null();
        else
          check_batch(js, out);
      } else {
        js.skip_value();
        fail(error_code::invalid_request, key, "unknown field \"" + key + "\"");
      }
      if (js.failed()) return syntax(js);
    }
    if (js.failed() || !js.at_end())
      return syntax(js, "trailing characters after the body");
    // The protocol and schema checks decide alone: other errors would only
    // be noise from a client speaking something else.
    if (!have_protocol) {
      errs.clear();
      status = 400;
      return fail(
          error_code::invalid_request, "protocol",
          "this server speaks protocol 1; upgrade the client or the server");
    }
    if (!have_client && errs.empty())
      fail(error_code::invalid_request, "clientId", "is required");
    if (!have_version) {
      if (errs.empty() || errs.back().path != "schemaVersion")
        fail(error_code::invalid_request, "schemaVersion",
             "is required (an integer)");
    } else if (version != s_.version) {
      errs.clear();
      status = 409;
      server_schema_version = s_.version;
      return fail(
          error_code::schema_version_mismatch, "schemaVersion",
          "the client has schema version " + std::to_string(version) +
              " but the server serves version " + std::to_string(s_.version) +
              "; update the app (or the server) so both use the same schema");
    }
    out.schema_version = s_.version;
  }

 private:
  static constexpr const char* kCursorMsg =
      "expected the opaque cursor string from a previous response";

  void syntax(json_scanner& js, const char* fallback = "unexpected input") {
    errs.clear();
    syntax_error = true;
    status = 400;
    fail(error_code::invalid_json, "",
         js.failed() ? js.error() : std::string("malformed JSON: ") + fallback);
  }

  void check_cursor(const std::string& s, sync_request& out) {
    auto colon = s.find(':');
    if (colon == std::string::npos)
      return fail(error_code::invalid_request, "cursor", kCursorMsg);
    auto r1 = std::from_chars(s.data(), s.data() + colon, out.cursor.xid);
    auto r2 = std::from_chars(s.data() + colon + 1, s.data() + s.size(),
                              out.cursor.version);
    if (r1.ec != std::errc() || r1.ptr != s.data() + colon ||
        r2.ec != std::errc() || r2.ptr != s.data() + s.size() ||
        out.cursor.version < 0)
      fail(error_code::invalid_request, "cursor", kCursorMsg);
  }

  void check_batch(json_scanner& js, sync_request& out) {
    if (js.peek() != json_kind_t::object) {
      std::string k = kind_name(js.peek());
      js.skip_value();
      return fail(error_code::invalid_request, "batch",
                  "expected an object or null, got " + k);
    }
    js.begin_object();
    std::string key;
    bool have_seq = false, have_changes = false;
    while (js.next_key(key)) {
      std::size_t from = js.mark();
      if (key == "seq") {
        bool is_int = false;
        std::int64_t v = 0;
        if (js.peek() == json_kind_t::number && js.read_number(is_int, v) &&
            is_int && v >= 1) {
          out.seq = v;
          have_seq = true;
        } else if (!js.failed()) {
          if (js.offset() == from) js.skip_value();
          fail(error_code::invalid_request, "batch.seq",
               "expected an integer >= 1");
          have_seq = true;
        }
      } else if (key == "changes") {
        have_changes = true;
        if (js.peek() != json_kind_t::array) {
          js.skip_value();
          fail(error_code::invalid_request, "batch.changes",
               "expected an array");
          continue;
        }
        check_changes(js, out);
      } else {
        js.skip_value();
        fail(error_code::invalid_request, path_key("batch", key),
             "unknown field \"" + key + "\"");
      }
      if (js.failed()) return;
    }
    if (!have_seq)
      fail(error_code::invalid_request, "batch.seq",
           "is required (an integer >= 1)");
    if (!have_changes)
      fail(error_code::invalid_request, "batch.changes",
           "is required (an array)");
    out.has_batch = true;
  }

  void check_changes(json_scanner& js, sync_request& out) {
    js.begin_array();
    out_ = &out;
    std::unordered_set<key_hash, key_hash_fn> seen;
    std::size_t i = 0;
    while (js.next_element()) {
      if (i == limits_.max_changes) {
        status = 413;
        fail(error_code::payload_too_large, "batch.changes",
             "a batch may carry at most " +
                 std::to_string(limits_.max_changes) +
                 " changes; send smaller batches");
      }
      change c;
      bool ok = check_change(js, i, c);
      if (js.failed()) return;
      if (ok && i < limits_.max_changes && errs.empty()) {
        if (!seen.insert(hash_key(c.table, key_)).second)
          fail(error_code::duplicate_row, path_index("batch.changes", i),
               "another change in this batch targets the same row; compact the "
               "outbox so each row appears once");
        out.groups[c.group].changes.push_back(i);
        out.changes.push_back(c);
      }
      ++i;
    }
    // Drop groups whose only changes failed validation; close the arrays.
    std::vector<change_group> kept;
    std::vector<std::size_t> renumber(out.groups.size(), 0);
    std::vector<std::size_t> order;
    for (std::size_t g = 0; g < out.groups.size(); ++g)
      if (!out.groups[g].changes.empty()) order.push_back(g);
    // Schema order, so concurrent requests take row locks in the same order.
    std::sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) {
      const auto& gx = out.groups[x];
      const auto& gy = out.groups[y];
      return gx.table != gy.table ? gx.table < gy.table : gx.op < gy.op;
    });
    for (std::size_t g : order) {
      renumber[g] = kept.size();
      out.groups[g].input += ']';
      kept.push_back(std::move(out.groups[g]));
    }
    out.groups = std::move(kept);
    for (auto& ch : out.changes) ch.group = renumber[ch.group];
  }

  // The group buffer a change of (table, op) is written into.
  std::size_t group_for(std::size_t table_index, change_op op) {
    auto& groups = out_->groups;
    for (std::size_t g = 0; g < groups.size(); ++g)
      if (groups[g].table == table_index && groups[g].op == op) return g;
    groups.push_back({table_index, op, "[", {}});
    // Most batches touch one table: reserve for the whole body up front.
    groups.back().input.reserve(groups.size() == 1 ? body_size_ + 1024 : 4096);
    return groups.size() - 1;
  }

  // Opens the change's object in its group: `{` (after a comma if needed).
  void open_object(change& c) {
    c.group = group_for(c.table, c.op);
    std::string& in = out_->groups[c.group].input;
    c.from = in.size();
    if (in.size() > 1) in += ',';
    in += '{';
  }

  // Appends the bookkeeping keys and closes the object.
  void close_object(change& c, std::size_t i) {
    std::string& in = out_->groups[c.group].input;
    if (in.back() != '{') in += ',';
    in += "\"_es_i\":";
    in += std::to_string(i);
    in += ",\"_es_h\":\"";
    in += hlc_;  // validated: digits, ':' and [A-Za-z0-9_-]
    in += "\",\"_es_b\":";
    in += base_ ? std::to_string(*base_) : "null";
    if (c.op == change_op::upsert &&
        s_.tables[c.table].policy == conflict_policy::lww_field) {
      in += ",\"_es_c\":";
      in += changed_raw_.empty() ? "null" : changed_raw_;
    }
    in += '}';
    c.to = in.size();
    if (in[c.from] == ',') ++c.from;
  }

  // Undoes open_object after a validation error.
  void drop_object(const change& c) {
    out_->groups[c.group].input.resize(c.from);
  }

  bool check_change(json_scanner& js, std::size_t i, change& c) {
    std::size_t before = errs.size();
    auto at = [i](const char* suffix) {
      return path_index("batch.changes", i) + suffix;
    };
    if (js.peek() != json_kind_t::object) {
      std::string k = kind_name(js.peek());
      js.skip_value();
      fail(error_code::invalid_request, at(""), "expected an object, got " + k);
      return false;
    }
    js.begin_object();
    const table* t = nullptr;
    bool have_id = false, have_op = false, have_hlc = false, have_row = false;
    std::string_view deferred_row;
    bool opened = false;
    std::vector<std::string> changed;
    bool has_changed = false;
    bool is_int = false;
    std::int64_t iv = 0;
    base_.reset();
    hlc_.clear();
    changed_raw_.clear();
    key_.clear();
    std::string_view kv;
    while (js.next_key(kv)) {
      std::size_t from = js.mark();
      if (kv == "id") {
        have_id = true;
        if (js.peek() == json_kind_t::number && js.read_number(is_int, iv) &&
            is_int) {
          c.id = iv;
        } else if (!js.failed()) {
          if (js.offset() == from) js.skip_value();
          fail(error_code::invalid_request, at(".id"), "expected an integer");
        }
      } else if (kv == "table") {
        if (js.peek() != json_kind_t::string) {
          js.skip_value();
          fail(error_code::invalid_request, at(".table"),
               "expected a table name");
        } else if (js.read_string(str_)) {
          int ti = s_.table_index(str_);
          if (ti < 0) {
            fail(error_code::unknown_table, at(".table"),
                 "\"" + str_ + "\" is not a synced table of schema v" +
                     std::to_string(s_.version));
          } else {
            c.table = static_cast<std::size_t>(ti);
            t = &s_.tables[c.table];
          }
        }
      } else if (kv == "op") {
        have_op = true;
        if (js.peek() == json_kind_t::string && js.read_string(str_) &&
            (str_ == "upsert" || str_ == "delete")) {
          c.op = str_ == "upsert" ? change_op::upsert : change_op::remove;
        } else if (!js.failed()) {
          if (js.offset() == from) js.skip_value();
          fail(error_code::invalid_request, at(".op"),
               "expected \"upsert\" or \"delete\"");
        }
      } else if (kv == "hlc") {
        have_hlc = true;
        std::int64_t ms = 0;
        if (js.peek() == json_kind_t::string && js.read_string(hlc_) &&
            parse_hlc(hlc_, ms)) {
          // A client clock far ahead must not win every future conflict.
          std::int64_t limit = now_ms_ + limits_.max_clock_skew_ms;
          if (ms > limit) hlc_ = pad15(limit) + hlc_.substr(15);
        } else if (!js.failed()) {
          if (js.offset() == from) js.skip_value();
          fail(error_code::invalid_request, at(".hlc"),
               "expected a hybrid logical clock stamp "
               "MMMMMMMMMMMMMMM:CCCCC:node");
        }
      } else if (kv == "baseVersion") {
        if (js.peek() == json_kind_t::null) {
          js.read_null();
        } else if (js.peek() == json_kind_t::number &&
                   js.read_number(is_int, iv) && is_int) {
          base_ = iv;
        } else if (!js.failed()) {
          if (js.offset() == from) js.skip_value();
          fail(error_code::invalid_request, at(".baseVersion"),
               "expected an integer or null");
        }
      } else if (kv == "changed") {
        if (js.peek() == json_kind_t::null) {
          js.read_null();
        } else if (js.peek() != json_kind_t::array) {
          js.skip_value();
          fail(error_code::invalid_request, at(".changed"),
               "expected an array of column names");
        } else {
          has_changed = true;
          js.begin_array();
          while (js.next_element()) {
            if (js.peek() == json_kind_t::string && js.read_string(str_)) {
              changed.push_back(str_);
            } else if (!js.failed()) {
              js.skip_value();
              fail(error_code::invalid_request,
                   path_index(at(".changed"), changed.size()),
                   "expected a column name");
            }
          }
        }
      } else if (kv == "row") {
        have_row = true;
        if (t != nullptr && have_op && errs.size() == before) {
          open_object(c);
          opened = true;
          check_row(js, *t, i, c, out_->groups[c.group].input);
        } else {
          deferred_row = js.skip_value();  // table or op not seen yet
        }
      } else {
        js.skip_value();
        fail(error_code::invalid_request, path_key(at(""), k_),
             "unknown field \"" + k_ + "\"");
      }
      if (js.failed()) return false;
    }
    bool ok =
        finish_change(js, i, c, t, before, have_id, have_op, have_hlc, have_row,
                      deferred_row, opened, changed, has_changed);
    return ok;
  }

  bool finish_change(json_scanner& js, std::size_t i, change& c, const table* t,
                     std::size_t before, bool have_id, bool have_op,
                     bool have_hlc, bool have_row,
                     std::string_view deferred_row, bool opened,
                     const std::vector<std::string>& changed,
                     bool has_changed) {
    (void)js;
    auto at = [i](const char* suffix) {
      return path_index("batch.changes", i) + suffix;
    };
    if (!have_id)
      fail(error_code::invalid_request, at(".id"), "is required (an integer)");
    if (t == nullptr && errs.size() == before)
      fail(error_code::invalid_request, at(".table"), "is required");
    if (!have_op) fail(error_code::invalid_request, at(".op"), "is required");
    if (!have_hlc) fail(error_code::invalid_request, at(".hlc"), "is required");
    if (!have_row) fail(error_code::invalid_request, at(".row"), "is required");
    if (t != nullptr && has_changed) {
      changed_raw_ = "[";
      for (std::size_t k = 0; k < changed.size(); ++k) {
        if (t->column_index(changed[k]) < 0) {
          fail(error_code::unknown_column, path_index(at(".changed"), k),
               "not a column of table \"" + t->name + "\"");
          continue;
        }
        if (changed_raw_.size() > 1) changed_raw_ += ',';
        changed_raw_ += "\"" + changed[k] + "\"";  // a validated identifier
      }
      changed_raw_ += "]";
    }
    if (t != nullptr && !deferred_row.empty() && errs.size() == before) {
      open_object(c);
      opened = true;
      json_scanner sub(deferred_row);
      check_row(sub, *t, i, c, out_->groups[c.group].input);
    }
    if (errs.size() != before) {
      if (opened) drop_object(c);
      return false;
    }
    close_object(c, i);
    return true;
  }

  void check_row(json_scanner& js, const table& t, std::size_t i, change& c,
                 std::string& buf) {
    std::string rp = path_index("batch.changes", i) + ".row";
    if (js.peek() != json_kind_t::object) {
      js.skip_value();
      return fail(error_code::invalid_request, rp,
                  "expected an object of column values");
    }
    js.begin_object();
    std::string_view key;
    std::string& str = str_;
    std::vector<bool>& seen = seen_;
    std::vector<bool>& pk_seen = pk_seen_;
    seen.assign(t.columns.size(), false);
    pk_seen.assign(t.primary_key.size(), false);
    bool first = true;
    while (js.next_key(key)) {
      int ci = t.column_index(key);
      if (ci < 0) {
        js.skip_value();
        fail(error_code::unknown_column, path_key(rp, key),
             "table \"" + t.name + "\" has no column \"" + std::string(key) +
                 "\"");
        if (js.failed()) return;
        continue;
      }
      auto idx = static_cast<std::size_t>(ci);
      if (seen[idx]) {
        js.skip_value();
        fail(error_code::invalid_request, path_key(rp, key),
             "column given twice");
        continue;
      }
      seen[idx] = true;
      const column& col = t.columns[idx];
      json_kind_t k = js.peek();
      std::size_t from = js.offset();
      bool ok = true;
      if (k == json_kind_t::null) {
        js.read_null();
        seen[idx] = false;  // null counts as absent for the checks below
        continue;           // absent keys are NULL in jsonb_to_recordset
      }
      switch (col.type) {
        case column_type::integer: {
          bool is_int = false;
          std::int64_t v = 0;
          ok = k == json_kind_t::number && js.read_number(is_int, v) && is_int;
          if (ok && t.is_pk(idx)) str = std::to_string(v);
          break;
        }
        case column_type::real: {
          bool is_int = false;
          std::int64_t v = 0;
          ok = k == json_kind_t::number && js.read_number(is_int, v);
          break;
        }
        case column_type::boolean: {
          bool b = false;
          ok = k == json_kind_t::boolean && js.read_bool(b);
          break;
        }
        case column_type::timestamp:
          ok = k == json_kind_t::string && js.read_string(str) &&
               is_timestamp(str);
          break;
        case column_type::json_doc:
          js.skip_value();
          break;
        default:
          if (t.is_pk(idx))
            ok = k == json_kind_t::string && js.read_string(str);
          else
            ok = k == json_kind_t::string && !js.skip_value().empty();
          break;
      }
      if (js.failed()) return;
      std::size_t to = js.offset();
      if (!ok) {
        if (to == from) js.skip_value();  // the value was not consumed yet
        fail(error_code::type_mismatch, path_key(rp, key),
             std::string("expected ") + expected_kind(col.type) + ", got " +
                 (k == json_kind_t::number ? "a non-integer number"
                                           : kind_name(k)));
        continue;
      }
      if (idx == t.owner)
        continue;  // set from the token, never from the payload
      std::string_view raw = js.slice(from, to);
      if (t.is_pk(idx)) {
        for (std::size_t q = 0; q < t.primary_key.size(); ++q)
          if (t.primary_key[q] == idx) pk_seen[q] = true;
        key_ += str;  // decoded, so equal keys compare equal however escaped
        key_ += '\x1f';
      }
      if (c.op == change_op::remove && !t.is_pk(idx))
        continue;  // deletes need the key only
      if (!first) buf += ',';
      first = false;
      buf += '"';
      buf += key;
      buf += "\":";
      buf.append(raw.data(), raw.size());
    }
    if (js.failed()) return;
    for (std::size_t q = 0; q < t.primary_key.size(); ++q) {
      const column& col = t.columns[t.primary_key[q]];
      if (!pk_seen[q])
        fail(error_code::missing_primary_key, path_key(rp, col.name),
             "primary key column \"" + col.name + "\" is required");
    }
    if (c.op == change_op::upsert) {
      for (std::size_t ci = 0; ci < t.columns.size(); ++ci) {
        const column& col = t.columns[ci];
        if (!col.nullable && !seen[ci] && ci != t.owner && !t.is_pk(ci))
          fail(error_code::type_mismatch, path_key(rp, col.name),
               "column \"" + col.name + "\" must not be null");
      }
    }
  }

  const schema& s_;
  const server_limits& limits_;
  std::int64_t now_ms_;

 public:
  std::size_t body_size_ = 0;

 private:
  // Scratch buffers reused across changes: no allocation per change once warm.
  std::string k_, str_, hlc_, changed_raw_, key_;
  std::optional<std::int64_t> base_;
  std::vector<bool> seen_, pk_seen_;
  sync_request* out_ = nullptr;
};

}  // namespace

std::variant<sync_request, request_error> validate_request(
    const schema& s, const server_limits& limits, std::string_view body,
    std::int64_t now_ms) {
  if (body.size() > limits.max_body_bytes)
    return request_error{
        413,
        {{error_code::payload_too_large, "",
          "the body has " + std::to_string(body.size()) +
              " bytes; the limit is " + std::to_string(limits.max_body_bytes) +
              ". Send smaller batches"}},
        {}};
  request_validator v(s, limits, now_ms);
  v.body_size_ = body.size();
  sync_request req;
  req.page_size = limits.default_page_size;
  json_scanner js(body);
  v.check(js, req);
  if (!v.errs.empty()) {
    int status = v.status;
    if (status == 400) {
      for (const auto& e : v.errs)
        if (e.code == error_code::payload_too_large) status = 413;
    }
    return request_error{status, std::move(v.errs), v.server_schema_version};
  }
  return req;
}

}  // namespace edgesync
