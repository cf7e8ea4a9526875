// Request validation: every rule of docs/protocol.md, each failure with the
// JSON path of the offending field. Nothing here touches the database: a
// value PostgreSQL would refuse is refused here, so bad input is a 400 with a
// path and never a failed transaction.
#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <unordered_set>

#include "common/json_scan.h"
#include "protocol/hlc.h"
#include "server/server.h"

namespace edgesync {

std::string pull_cursor::to_string() const {
  return std::to_string(xid) + ":" + std::to_string(version);
}

result<server_limits> parse_limits(const json& j) {
  server_limits l;
  if (j.is_null()) return l;
  if (!j.is_object())
    return error{error_code::invalid_request, "limits", "expected an object"};
  std::vector<error> errs;
  auto read = [&](const limit_spec& spec, auto& field) {
    const std::string key(spec.key);
    const long long lo = spec.min, hi = spec.max;
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
  read(limit_max_body_bytes, l.max_body_bytes);
  read(limit_max_changes, l.max_changes);
  read(limit_max_page_size, l.max_page_size);
  read(limit_default_page_size, l.default_page_size);
  read(limit_max_clock_skew_ms, l.max_clock_skew_ms);
  if (!errs.empty()) return errs;
  l.default_page_size = std::min(l.default_page_size, l.max_page_size);
  return l;
}

namespace {

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

// Days in a month of the proleptic Gregorian calendar PostgreSQL uses.
int days_in_month(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

// A fraction of a second (".ddd", at most 9 digits) in microseconds, rounded
// as PostgreSQL's ParseFractionalSecond does: strtod, then rint.
std::int64_t fraction_us(std::string_view frac) {
  char buf[16] = {};
  std::copy(frac.begin(), frac.end(), buf);
  return static_cast<std::int64_t>(std::rint(std::strtod(buf, nullptr) * 1e6));
}

// A timestamp's verdict: accepted, not the accepted format, or well-formed
// but refused by PostgreSQL's timestamptz (`why` says which field).
struct timestamp_check {
  enum verdict_t { ok, bad_format, out_of_range } verdict = ok;
  std::string why;
};

// ISO-8601 date-time with a UTC offset, as PostgreSQL's timestamptz reads it:
// YYYY-MM-DD(T| )HH:MM[:SS[.fraction]](Z|±HH[:MM]|±HHMM). The ranges are
// PostgreSQL's: years from 0001, real calendar days, 24:00:00 as the end of
// a day, second 60 only when the fraction rounds to zero microseconds, UTC
// offsets up to ±15:59.
timestamp_check check_timestamp(std::string_view s) {
  timestamp_check r;
  auto bad = [&r] {
    r.verdict = timestamp_check::bad_format;
    return r;
  };
  if (s.size() < 17 || !digits(s, 0, 4) || s[4] != '-' || !digits(s, 5, 2) ||
      s[7] != '-' || !digits(s, 8, 2) || (s[10] != 'T' && s[10] != ' ') ||
      !digits(s, 11, 2) || s[13] != ':' || !digits(s, 14, 2))
    return bad();
  int year = num(s, 0, 4), month = num(s, 5, 2), day = num(s, 8, 2),
      hour = num(s, 11, 2), minute = num(s, 14, 2), second = 0;
  std::int64_t us = 0;
  std::size_t i = 16;
  if (i < s.size() && s[i] == ':') {
    if (!digits(s, i + 1, 2)) return bad();
    second = num(s, i + 1, 2);
    i += 3;
    if (i < s.size() && s[i] == '.') {
      std::size_t j = i + 1;
      while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j])))
        ++j;
      if (j == i + 1 || j - i - 1 > 9) return bad();
      us = fraction_us(s.substr(i, j - i));
      i = j;
    }
  }
  if (i == s.size()) return bad();  // an offset is required: no local times
  int offset_h = 0, offset_m = 0;
  if (s[i] == 'Z' || s[i] == 'z') {
    if (i + 1 != s.size()) return bad();
  } else if (s[i] == '+' || s[i] == '-') {
    if (!digits(s, i + 1, 2)) return bad();
    offset_h = num(s, i + 1, 2);
    std::size_t rest = s.size() - (i + 3);
    if (rest == 3 && s[i + 3] == ':' && digits(s, i + 4, 2))
      offset_m = num(s, i + 4, 2);
    else if (rest == 2 && digits(s, i + 3, 2))
      offset_m = num(s, i + 3, 2);
    else if (rest != 0)
      return bad();
  } else {
    return bad();
  }
  // A field outside its ISO-8601 range is not a timestamp at all.
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 24 ||
      minute > 59 || second > 60 || offset_m > 59)
    return bad();
  auto out = [&r](std::string why) {
    r.verdict = timestamp_check::out_of_range;
    r.why = std::move(why);
    return r;
  };
  if (year == 0) return out("there is no year 0000 (years start at 0001)");
  if (day > days_in_month(year, month))
    return out(std::string(s.substr(0, 10)) + " is not a calendar date");
  if (hour == 24 && (minute > 0 || second > 0 || us > 0))
    return out("the hour must be 00-23 (or 24:00:00, the end of the day)");
  if (second == 60 && us > 0)
    return out("a leap second (60) cannot have a fraction");
  if (offset_h > 15)
    return out("the UTC offset " + std::string(s.substr(i)) +
               " is out of range (-15:59 to +15:59)");
  return r;
}

// PostgreSQL's float8 input refuses a number that overflows to ±infinity or
// underflows to zero from nonzero digits; subnormal results are kept.
bool fits_float8(std::string_view number, std::string& buf) {
  buf.assign(number.data(), number.size());
  double v = std::strtod(buf.c_str(), nullptr);
  if (std::isinf(v)) return false;
  if (v != 0) return true;
  for (char ch : number) {
    if (ch == 'e' || ch == 'E') break;
    if (ch >= '1' && ch <= '9') return false;
  }
  return true;
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

// The members of one JSON object that may appear once: `take` is false for a
// name given twice (jsonb would keep the last, the validator checked the
// first: refused, never guessed).
class member_set {
 public:
  template <std::size_t N>
  explicit member_set(const std::array<std::string_view, N>& names)
      : names_(names.data()), count_(N) {
    static_assert(N <= 32, "one bit per member");
  }
  /// The member's index, or -1 for a name not in the set.
  int find(std::string_view name) const {
    for (std::size_t i = 0; i < count_; ++i)
      if (names_[i] == name) return static_cast<int>(i);
    return -1;
  }
  /// Marks member i as seen; false if it was seen before.
  bool take(int i) {
    auto bit = std::uint32_t{1} << i;
    if (seen_ & bit) return false;
    seen_ |= bit;
    return true;
  }

 private:
  const std::string_view* names_;
  std::size_t count_;
  std::uint32_t seen_ = 0;
};

// The members of the body, the batch and a change, in the order of the enums
// of the functions that read them.
constexpr std::array<std::string_view, 6> kBodyMembers{
    "protocol", "clientId", "schemaVersion", "cursor", "pageSize", "batch"};
constexpr std::array<std::string_view, 2> kBatchMembers{"seq", "changes"};
constexpr std::array<std::string_view, 7> kChangeMembers{
    "id", "table", "op", "hlc", "baseVersion", "changed", "row"};

// `batch.changes[i]` + suffix: built only for an error.
std::string change_path(std::size_t i, std::string_view suffix = {}) {
  std::string p = path_index("batch.changes", i);
  p.append(suffix.data(), suffix.size());
  return p;
}

// The stored errors are capped so a hostile body cannot make the error
// response huge; the cap only limits what is kept, never a decision — every
// check returns its own verdict.
constexpr std::size_t kMaxStoredErrors = 100;

// A single pass over the body with json_scanner: no DOM, and row values are
// kept as the bytes the client sent.
class request_validator {
 public:
  request_validator(const schema& s, const server_limits& l, std::int64_t now)
      : s_(s), limits_(l), now_ms_(now) {}

  std::vector<error> errs;
  int status = 400;
  std::optional<std::int64_t> server_schema_version;
  std::size_t body_size = 0;

  /// True once any error was found (stored or not).
  bool any_error() const { return error_count_ > 0; }

  // Records an error and returns false, so a check can `return fail(…)`.
  bool fail(error_code code, std::string path, std::string msg) {
    ++error_count_;
    if (code == error_code::payload_too_large) {
      // The status is 413: its error leads the list, whatever came before.
      status = 413;
      if (errs.size() == kMaxStoredErrors) errs.pop_back();
      errs.insert(errs.begin(), {code, std::move(path), std::move(msg)});
    } else if (errs.size() < kMaxStoredErrors) {
      errs.push_back({code, std::move(path), std::move(msg)});
    }
    return false;
  }

  void check(json_scanner& js, sync_request& out) {
    if (js.peek() != json_kind_t::object) {
      if (js.peek() == json_kind_t::invalid) return syntax(js);
      // Malformed JSON is reported as such, whatever its first byte says.
      js.skip_value();
      if (js.failed() || !js.at_end()) return syntax(js);
      fail(error_code::invalid_request, "",
           std::string("the body must be a JSON object, got ") +
               kind_name(js.peek()));
      return;
    }
    js.begin_object();
    enum { kProtocol, kClientId, kSchemaVersion, kCursor, kPageSize, kBatch };
    member_set members{kBodyMembers};
    std::string key, str;
    bool protocol_ok = false, client_given = false, version_given = false,
         version_ok = false;
    std::int64_t version = 0;
    std::int64_t iv = 0;
    bool is_int = false;
    while (js.next_key(key)) {
      std::size_t from = js.mark();
      int m = members.find(key);
      if (m < 0) {
        js.skip_value();
        fail(error_code::invalid_request, key, "unknown field \"" + key + "\"");
      } else if (!members.take(m)) {
        js.skip_value();
        fail(error_code::invalid_request, key,
             "\"" + key + "\" is given twice");
      } else if (m == kProtocol) {
        protocol_ok = js.peek() == json_kind_t::number &&
                      js.read_number(is_int, iv) && is_int &&
                      iv == protocol_version;
        if (!protocol_ok && !js.failed() && js.offset() == from)
          js.skip_value();
      } else if (m == kClientId) {
        client_given = true;
        if (js.peek() == json_kind_t::string && js.read_string(str) &&
            is_valid_client_id(str)) {
          out.client_id = str;
        } else if (!js.failed()) {
          if (js.offset() == from) js.skip_value();
          fail(error_code::invalid_request, "clientId",
               "expected " + client_id_rule());
        }
      } else if (m == kSchemaVersion) {
        version_given = true;
        if (js.peek() == json_kind_t::number && js.read_number(is_int, iv) &&
            is_int) {
          version_ok = true;
          version = iv;
        } else if (!js.failed()) {
          if (js.offset() == from) js.skip_value();
          fail(error_code::invalid_request, "schemaVersion",
               "expected an integer");
        }
      } else if (m == kCursor) {
        if (js.peek() == json_kind_t::null)
          js.read_null();
        else if (js.peek() == json_kind_t::string && js.read_string(str))
          check_cursor(str, out);
        else if (!js.failed()) {
          js.skip_value();
          fail(error_code::invalid_request, "cursor", kCursorMsg);
        }
      } else if (m == kPageSize) {
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
      } else if (m == kBatch) {
        if (js.peek() == json_kind_t::null)
          js.read_null();
        else
          check_batch(js, out);
      }
      if (js.failed()) return syntax(js);
    }
    if (js.failed() || !js.at_end())
      return syntax(js, "trailing characters after the body");
    // The protocol and schema checks decide alone: other errors would only
    // be noise from a client speaking something else.
    if (!protocol_ok) {
      reset_errors();
      fail(error_code::invalid_request, "protocol",
           "this server speaks protocol " + std::to_string(protocol_version) +
               "; upgrade the client or the server");
      return;
    }
    if (!client_given)
      fail(error_code::invalid_request, "clientId", "is required");
    if (!version_given) {
      fail(error_code::invalid_request, "schemaVersion",
           "is required (an integer)");
    } else if (version_ok && version != s_.version) {
      reset_errors();
      status = 409;
      server_schema_version = s_.version;
      fail(error_code::schema_version_mismatch, "schemaVersion",
           "the client has schema version " + std::to_string(version) +
               " but the server serves version " + std::to_string(s_.version) +
               "; update the app (or the server) so both use the same schema");
      return;
    }
    out.schema_version = s_.version;
  }

 private:
  static constexpr const char* kCursorMsg =
      "expected the opaque cursor string from a previous response";

  void reset_errors() {
    errs.clear();
    error_count_ = 0;
    status = 400;
  }

  void syntax(json_scanner& js, const char* fallback = "unexpected input") {
    reset_errors();
    fail(error_code::invalid_json, "",
         js.failed() ? js.error() : std::string("malformed JSON: ") + fallback);
  }

  void check_cursor(const std::string& s, sync_request& out) {
    auto colon = s.find(':');
    if (colon == std::string::npos) {
      fail(error_code::invalid_request, "cursor", kCursorMsg);
      return;
    }
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
      fail(error_code::invalid_request, "batch",
           "expected an object or null, got " + k);
      return;
    }
    js.begin_object();
    enum { kSeq, kChanges };
    member_set members{kBatchMembers};
    std::string key;
    while (js.next_key(key)) {
      std::size_t from = js.mark();
      int m = members.find(key);
      if (m < 0) {
        js.skip_value();
        fail(error_code::invalid_request, path_key("batch", key),
             "unknown field \"" + key + "\"");
      } else if (!members.take(m)) {
        js.skip_value();
        fail(error_code::invalid_request, path_key("batch", key),
             "\"" + key + "\" is given twice");
      } else if (m == kSeq) {
        bool is_int = false;
        std::int64_t v = 0;
        if (js.peek() == json_kind_t::number && js.read_number(is_int, v) &&
            is_int && v >= 1) {
          out.seq = v;
        } else if (!js.failed()) {
          if (js.offset() == from) js.skip_value();
          fail(error_code::invalid_request, "batch.seq",
               "expected an integer >= 1");
        }
      } else if (js.peek() != json_kind_t::array) {
        js.skip_value();
        fail(error_code::invalid_request, "batch.changes", "expected an array");
      } else {
        check_changes(js, out);
      }
      if (js.failed()) return;
    }
    if (members.take(kSeq))
      fail(error_code::invalid_request, "batch.seq",
           "is required (an integer >= 1)");
    if (members.take(kChanges))
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
      if (i >= limits_.max_changes) {
        // Counted, not validated: the request is refused anyway.
        if (i == limits_.max_changes)
          fail(error_code::payload_too_large, "batch.changes",
               "a batch may carry at most " +
                   std::to_string(limits_.max_changes) +
                   " changes; send smaller batches");
        js.skip_value();
        if (js.failed()) return;
        ++i;
        continue;
      }
      change c;
      bool ok = check_change(js, i, c);
      if (js.failed()) return;
      if (ok) {
        if (!seen.insert(hash_key(c.table, key_)).second)
          fail(error_code::duplicate_row, path_index("batch.changes", i),
               "another change in this batch targets the same row; compact the "
               "outbox so each row appears once");
        out.groups[c.group].changes.push_back(out.changes.size());
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
    groups.back().input.reserve(groups.size() == 1 ? body_size + 1024 : 4096);
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

  // Appends the bookkeeping keys and closes the object opened by
  // open_object.
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

  // One change. True when every member is valid; then (and only then) its
  // object is complete in its group's input.
  bool check_change(json_scanner& js, std::size_t i, change& c) {
    auto at = [i](std::string_view suffix = {}) {
      return change_path(i, suffix);
    };
    if (js.peek() != json_kind_t::object) {
      std::string k = kind_name(js.peek());
      js.skip_value();
      return fail(error_code::invalid_request, at(),
                  "expected an object, got " + k);
    }
    js.begin_object();
    enum { kId, kTable, kOp, kHlc, kBaseVersion, kChanged, kRow };
    member_set members{kChangeMembers};
    bool ok = true;
    const table* t = nullptr;
    bool have_op = false;
    std::string_view deferred_row;
    bool opened = false;
    std::vector<std::optional<std::string>> changed;  // nullopt: not a string
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
      int m = members.find(kv);
      if (m < 0) {
        std::string name(kv);
        js.skip_value();
        ok = fail(error_code::invalid_request, path_key(at(), name),
                  "unknown field \"" + name + "\"");
      } else if (!members.take(m)) {
        std::string name(kv);
        js.skip_value();
        ok = fail(error_code::invalid_request, path_key(at(), name),
                  "\"" + name + "\" is given twice");
      } else if (m == kId) {
        if (js.peek() == json_kind_t::number && js.read_number(is_int, iv) &&
            is_int) {
          c.id = iv;
        } else if (!js.failed()) {
          if (js.offset() == from) js.skip_value();
          ok = fail(error_code::invalid_request, at(".id"),
                    "expected an integer");
        }
      } else if (m == kTable) {
        if (js.peek() != json_kind_t::string) {
          js.skip_value();
          ok = fail(error_code::invalid_request, at(".table"),
                    "expected a table name");
        } else if (js.read_string(str_)) {
          int ti = s_.table_index(str_);
          if (ti < 0) {
            ok = fail(error_code::unknown_table, at(".table"),
                      "\"" + str_ + "\" is not a synced table of schema v" +
                          std::to_string(s_.version));
          } else {
            c.table = static_cast<std::size_t>(ti);
            t = &s_.tables[c.table];
          }
        }
      } else if (m == kOp) {
        if (js.peek() == json_kind_t::string && js.read_string(str_) &&
            (str_ == "upsert" || str_ == "delete")) {
          c.op = str_ == "upsert" ? change_op::upsert : change_op::remove;
          have_op = true;
        } else if (!js.failed()) {
          if (js.offset() == from) js.skip_value();
          ok = fail(error_code::invalid_request, at(".op"),
                    "expected \"upsert\" or \"delete\"");
        }
      } else if (m == kHlc) {
        std::optional<std::int64_t> ms;
        if (js.peek() == json_kind_t::string && js.read_string(hlc_) &&
            (ms = wire_hlc_ms(hlc_))) {
          // A client clock far ahead must not win every future conflict.
          std::int64_t limit = now_ms_ + limits_.max_clock_skew_ms;
          if (*ms > limit)
            hlc_ = format_hlc_ms(limit) + hlc_.substr(hlc_ms_digits);
        } else if (!js.failed()) {
          if (js.offset() == from) js.skip_value();
          ok = fail(error_code::invalid_request, at(".hlc"),
                    "expected a hybrid logical clock stamp " + hlc_pattern());
        }
      } else if (m == kBaseVersion) {
        if (js.peek() == json_kind_t::null) {
          js.read_null();
        } else if (js.peek() == json_kind_t::number &&
                   js.read_number(is_int, iv) && is_int) {
          base_ = iv;
        } else if (!js.failed()) {
          if (js.offset() == from) js.skip_value();
          ok = fail(error_code::invalid_request, at(".baseVersion"),
                    "expected an integer or null");
        }
      } else if (m == kChanged) {
        if (js.peek() == json_kind_t::null) {
          js.read_null();
        } else if (js.peek() != json_kind_t::array) {
          js.skip_value();
          ok = fail(error_code::invalid_request, at(".changed"),
                    "expected an array of column names");
        } else {
          has_changed = true;
          js.begin_array();
          while (js.next_element()) {
            if (js.peek() == json_kind_t::string && js.read_string(str_)) {
              changed.push_back(str_);
            } else if (!js.failed()) {
              js.skip_value();
              ok = fail(error_code::invalid_request,
                        path_index(at(".changed"), changed.size()),
                        "expected a column name");
              changed.emplace_back();  // keeps the indexes of later names
            }
          }
        }
      } else if (t != nullptr && have_op && ok) {  // kRow, streamed
        open_object(c);
        opened = true;
        if (!check_row(js, *t, i, c, out_->groups[c.group].input)) ok = false;
      } else {  // kRow before the table or op: checked once both are known
        deferred_row = js.skip_value();
      }
      if (js.failed()) return false;
    }
    static constexpr const char* kRequired[] = {"id",    "table", "op", "hlc",
                                                nullptr, nullptr, "row"};
    for (int m : {kId, kTable, kOp, kHlc, kRow})
      if (members.take(m))
        ok = fail(error_code::invalid_request, path_key(at(), kRequired[m]),
                  "is required");
    if (t != nullptr && has_changed) {
      changed_raw_ = "[";
      for (std::size_t k = 0; k < changed.size(); ++k) {
        if (!changed[k]) continue;  // already reported
        if (t->column_index(*changed[k]) < 0) {
          ok = fail(error_code::unknown_column, path_index(at(".changed"), k),
                    "not a column of table \"" + t->name + "\"");
          continue;
        }
        if (changed_raw_.size() > 1) changed_raw_ += ',';
        changed_raw_ += "\"" + *changed[k] + "\"";  // a validated identifier
      }
      changed_raw_ += "]";
    }
    if (!ok) {
      if (opened) drop_object(c);
      return false;
    }
    if (!opened) {  // every member is valid, so the row was deferred
      open_object(c);
      json_scanner sub(deferred_row);
      if (!check_row(sub, *t, i, c, out_->groups[c.group].input)) {
        drop_object(c);
        return false;
      }
    }
    close_object(c, i);
    return true;
  }

  // One row object, written (as the client's bytes) into `buf`. True when
  // every column is valid.
  bool check_row(json_scanner& js, const table& t, std::size_t i, change& c,
                 std::string& buf) {
    auto at = [i](std::string_view column) {
      return path_key(change_path(i, ".row"), column);
    };
    if (js.peek() != json_kind_t::object) {
      js.skip_value();
      return fail(error_code::invalid_request, change_path(i, ".row"),
                  "expected an object of column values");
    }
    js.begin_object();
    bool ok = true;
    std::string_view key;
    std::string& str = str_;
    value_.assign(t.columns.size(), absent);
    std::size_t key_bytes = 0;  // of the primary key's text values
    bool first = true;
    while (js.next_key(key)) {
      int ci = t.column_index(key);
      if (ci < 0) {
        std::string name(key);
        js.skip_value();
        ok = fail(error_code::unknown_column, at(name),
                  "table \"" + t.name + "\" has no column \"" + name + "\"");
        if (js.failed()) return false;
        continue;
      }
      auto idx = static_cast<std::size_t>(ci);
      const column& col = t.columns[idx];
      if (value_[idx] != absent) {
        js.skip_value();
        ok = fail(error_code::invalid_request, at(col.name),
                  "column \"" + col.name + "\" is given twice");
        if (js.failed()) return false;
        continue;
      }
      value_[idx] = invalid;  // until checked
      json_kind_t k = js.peek();
      if (k == json_kind_t::null) {
        js.read_null();
        value_[idx] = null;
        continue;  // absent keys are NULL in jsonb_to_recordset
      }
      std::size_t from = js.offset();
      js.reset_pg_numeric_check();
      bool typed = true;
      std::string range;  // why PostgreSQL would refuse a well-typed value
      switch (col.type) {
        case column_type::integer: {
          bool is_int = false;
          std::int64_t v = 0;
          typed =
              k == json_kind_t::number && js.read_number(is_int, v) && is_int;
          if (typed && t.is_pk(idx)) str = std::to_string(v);
          break;
        }
        case column_type::real: {
          bool is_int = false;
          std::int64_t v = 0;
          typed = k == json_kind_t::number && js.read_number(is_int, v);
          if (typed && (!js.numbers_fit_pg_numeric() ||
                        !fits_float8(js.slice(from, js.offset()), scratch_)))
            range =
                "the number is outside PostgreSQL's double precision range "
                "(about 2.2e-308 to 1.8e308, or zero)";
          break;
        }
        case column_type::boolean: {
          bool b = false;
          typed = k == json_kind_t::boolean && js.read_bool(b);
          break;
        }
        case column_type::timestamp: {
          typed = k == json_kind_t::string && js.read_string(str);
          if (!typed) break;
          timestamp_check tc = check_timestamp(str);
          typed = tc.verdict != timestamp_check::bad_format;
          if (tc.verdict == timestamp_check::out_of_range) range = tc.why;
          break;
        }
        case column_type::json_doc:
          js.skip_value();
          if (!js.failed() && !js.numbers_fit_pg_numeric())
            range =
                "a number in this document is outside PostgreSQL's numeric "
                "range (at most 131072 digits before the decimal point and "
                "16383 after it)";
          break;
        default:
          if (t.is_pk(idx)) {
            typed = k == json_kind_t::string && js.read_string(str);
            if (typed) {
              key_bytes += str.size();
              if (key_bytes > max_key_bytes)
                range = "the primary key's text values take " +
                        std::to_string(key_bytes) + " bytes (UTF-8); at most " +
                        std::to_string(max_key_bytes) + " are allowed";
            }
          } else {
            typed = k == json_kind_t::string && !js.skip_value().empty();
          }
          break;
      }
      if (js.failed()) return false;
      std::size_t to = js.offset();
      if (!typed) {
        if (to == from) js.skip_value();  // the value was not consumed yet
        ok =
            fail(error_code::type_mismatch, at(col.name),
                 std::string("expected ") + expected_kind(col.type) + ", got " +
                     (k == json_kind_t::number ? "a non-integer number"
                                               : kind_name(k)));
        if (js.failed()) return false;
        continue;
      }
      if (!range.empty()) {
        ok = fail(error_code::value_out_of_range, at(col.name),
                  std::move(range));
        continue;
      }
      value_[idx] = valid;
      if (idx == t.owner) continue;  // set from the token, never the payload
      if (t.is_pk(idx)) {
        key_ += str;  // decoded, so equal keys compare equal however escaped
        key_ += '\x1f';
      }
      if (c.op == change_op::remove && !t.is_pk(idx))
        continue;         // deletes need the key only
      if (!ok) continue;  // the object is dropped: skip the copy
      std::string_view raw = js.slice(from, to);
      if (!first) buf += ',';
      first = false;
      buf += '"';
      buf += col.name;  // the schema's spelling, a validated identifier
      buf += "\":";
      buf.append(raw.data(), raw.size());
    }
    if (js.failed()) return false;
    // Null counts as absent; an invalid value was reported already.
    for (std::size_t pk : t.primary_key) {
      const column& col = t.columns[pk];
      if (value_[pk] == absent || value_[pk] == null)
        ok = fail(error_code::missing_primary_key, at(col.name),
                  "primary key column \"" + col.name + "\" is required");
    }
    if (c.op == change_op::upsert) {
      for (std::size_t ci = 0; ci < t.columns.size(); ++ci) {
        const column& col = t.columns[ci];
        if (!col.nullable && (value_[ci] == absent || value_[ci] == null) &&
            ci != t.owner && !t.is_pk(ci))
          ok = fail(error_code::type_mismatch, at(col.name),
                    "column \"" + col.name + "\" must not be null");
      }
    }
    return ok;
  }

  const schema& s_;
  const server_limits& limits_;
  std::int64_t now_ms_;
  std::size_t error_count_ = 0;
  // Scratch buffers reused across changes: no allocation per change once warm.
  std::string str_, hlc_, changed_raw_, key_, scratch_;
  std::optional<std::int64_t> base_;
  // What a row gave for each column (scratch for check_row).
  enum column_value : std::uint8_t { absent, null, valid, invalid };
  std::vector<column_value> value_;
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
  v.body_size = body.size();
  sync_request req;
  req.page_size = limits.default_page_size;
  json_scanner js(body);
  v.check(js, req);
  if (v.any_error())
    return request_error{v.status, std::move(v.errs), v.server_schema_version};
  return req;
}

}  // namespace edgesync
