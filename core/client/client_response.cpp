#include "client/client_response.h"

#include <charconv>
#include <cstring>
#include <deque>

#include "common/json_scan.h"
#include "protocol/hlc.h"
#include "protocol/protocol.h"

namespace edgesync::client::detail {

namespace {

std::string opt_string(const json& j) {
  return j.is_string() ? j.get<std::string>() : std::string();
}

// A key value whose bytes are exactly what dump_json writes for it: a
// string without escapes, or an integer in int64 range.
bool canonical_scalar(std::string_view v) {
  if (v.size() >= 2 && v.front() == '"')
    return v.find('\\') == std::string_view::npos;
  std::size_t i = !v.empty() && v[0] == '-' ? 1 : 0;
  if (i >= v.size() || v.size() - i > 18) return false;
  if (v[i] == '0' && (v.size() - i > 1 || i == 1)) return false;
  for (; i < v.size(); ++i)
    if (v[i] < '0' || v[i] > '9') return false;
  return true;
}

// Reused across the elements of one answer: no allocation per row.
struct scratch {
  std::vector<std::string_view> values;  // per column of the element's table
  // The row's members as read (name, value): the table may come after it.
  std::vector<std::pair<std::string_view, std::string_view>> members;
  std::deque<std::string> names;  // member names that had escapes
  std::string table_name, op;
};

// What one element of `changes` is, once read.
struct element {
  bool use = false;
  std::size_t table = 0;
  std::string key;  // "[v1,v2]"
  std::optional<std::int64_t> version;
  bool deleted = false;
  bool revoked = false;  // the caller's own membership ended
};

// Reads the element at the scanner (whole, whatever it is) into `e` and the
// column values into `w.values`; `e.use` when the client can apply it.
// False only when the text is not JSON.
bool read_element(json_scanner& s, const schema& sc, scratch& w, element& e) {
  if (s.peek() != json_kind_t::object) {
    s.skip_value();
    return !s.failed();
  }
  s.begin_object();
  bool table_ok = false, row_ok = false;
  w.members.clear();
  w.names.clear();
  std::string_view k;
  // Each member given twice: the last counts, as in any JSON reader.
  while (s.next_key(k)) {
    json_kind_t kind = s.peek();
    if (k == "table" && kind == json_kind_t::string) {
      table_ok = s.read_string(w.table_name);
    } else if (k == "table") {
      table_ok = false;
      s.skip_value();
    } else if (k == "op" && kind == json_kind_t::string) {
      e.deleted = s.read_string(w.op) && w.op == "delete";
    } else if (k == "version" && kind == json_kind_t::number) {
      bool is_int = false;
      std::int64_t v = 0;
      s.read_number(is_int, v);
      e.version = is_int ? std::optional(v) : std::nullopt;
    } else if (k == "revoked" && kind == json_kind_t::boolean) {
      s.read_bool(e.revoked);
    } else if (k == "row" && kind == json_kind_t::object) {
      row_ok = true;
      w.members.clear();
      s.begin_object();
      std::string_view m;
      while (s.next_key(m)) {
        // A name with escapes views the scanner's buffer until its next key.
        if (!s.views_input(m)) m = w.names.emplace_back(m);
        w.members.emplace_back(m, s.skip_value());
      }
    } else {
      if (k == "op") e.deleted = false;
      if (k == "version") e.version.reset();
      if (k == "revoked") e.revoked = false;
      if (k == "row") row_ok = false;
      s.skip_value();
    }
    if (s.failed()) return false;
  }
  if (s.failed()) return false;
  int ti = table_ok ? sc.table_index(w.table_name) : -1;
  if (ti < 0 || !row_ok) return true;  // of no use: skipped
  const table& t = sc.tables[static_cast<std::size_t>(ti)];
  w.values.assign(t.columns.size(), std::string_view());
  for (const auto& [name, value] : w.members) {
    int ci = t.column_index(name);  // a column twice: the last counts
    if (ci >= 0) w.values[static_cast<std::size_t>(ci)] = value;
  }
  e.key = "[";
  for (std::size_t n = 0; n < t.primary_key.size(); ++n) {
    std::string_view value = w.values[t.primary_key[n]];
    if (value.empty()) return true;  // no key: skipped
    if (n) e.key += ',';
    if (canonical_scalar(value)) {
      e.key += value;
    } else {
      // Keys compare as dump_json writes them ("\u0064" is "d", 2.0e0 is
      // 2.0): read it again to write it that way.
      auto j = parse_json(value);
      if (!j) return false;
      e.key += dump_json(j.value());
    }
  }
  e.key += ']';
  e.table = static_cast<std::size_t>(ti);
  e.use = true;
  return true;
}

// Appends the row array of element `e` (values in `w`) to `pt.text`;
// returns its span.
std::pair<std::size_t, std::size_t> write_row(pulled_table& pt,
                                              const element& e,
                                              const scratch& w) {
  std::string& out = *pt.text;
  char digits[24];
  std::string_view version = "null";
  if (e.version) {
    auto end = std::to_chars(digits, digits + sizeof digits, *e.version).ptr;
    version = std::string_view(digits, static_cast<std::size_t>(end - digits));
  }
  // Sized once, then filled: one resize per row, not an append per value
  // (each checks capacity and may grow; 20% of the apply's core time).
  std::size_t size = 1 + version.size() + 2 + 1;  // "[v" ",d" "]"
  for (std::string_view v : w.values) size += 1 + (v.empty() ? 4 : v.size());
  std::size_t comma = out.size() > 1 ? 1 : 0;
  std::size_t from = out.size() + comma;
  out.resize(from + size);
  char* p = out.data() + from - comma;
  auto put = [&p](std::string_view t) {
    std::memcpy(p, t.data(), t.size());
    p += t.size();
  };
  if (comma) *p++ = ',';
  *p++ = '[';
  put(version);
  put(e.deleted ? ",1" : ",0");
  for (std::string_view v : w.values) {
    *p++ = ',';
    put(v.empty() ? std::string_view("null") : v);
  }
  *p = ']';
  return {from, size};
}

// Adds a usable element; of two of one row the newer version wins, the
// later one on a tie (or without versions).
void add(pulled_changes& out, element& e, const scratch& w) {
  // Only the end of a membership of the caller's own removes a scope.
  if (e.revoked && e.deleted) out.revoked.emplace_back(e.table, e.key);
  pulled_table& pt = out.tables[e.table];
  if (!pt.text) pt.text = std::make_shared<std::string>("[");
  auto found = pt.keys.find(e.key);
  if (found != pt.keys.end()) {
    std::size_t k = found->second;
    if (pt.versions[k] && e.version && *pt.versions[k] > *e.version) return;
    if (pt.deleted[k]) --pt.deletes;
    if (e.deleted) ++pt.deletes;
    pt.spans[k] = write_row(pt, e, w);
    pt.versions[k] = e.version;
    pt.deleted[k] = e.deleted;
    ++pt.replaced;
    return;
  }
  auto slot = pt.keys.emplace(std::move(e.key), pt.spans.size()).first;
  pt.key_of.push_back(&slot->first);
  pt.spans.push_back(write_row(pt, e, w));
  pt.versions.push_back(e.version);
  pt.deleted.push_back(e.deleted);
  ++pt.rows;
  if (e.deleted) ++pt.deletes;
  ++out.rows;
}

// Reads the `changes` array at the scanner into `out`; false when the body
// is not JSON there.
bool read_changes(json_scanner& s, const schema& sc, pulled_changes& out) {
  if (!s.begin_array()) return false;
  scratch w;
  while (s.next_element()) {
    element e;
    if (!read_element(s, sc, w, e)) return false;
    if (e.use) add(out, e, w);
  }
  if (s.failed()) return false;
  for (auto& [ti, pt] : out.tables) *pt.text += ']';
  return true;
}

}  // namespace

sync_answer read_sync_answer(std::string_view body, const schema& sc) {
  sync_answer a;
  json_scanner s(body);
  json results, ack, protocol, cursor_v, has_more, server_time;
  bool changes_ok = true;
  auto bad = [&](std::string why) {
    a = sync_answer{};
    a.error = std::move(why);
    return a;
  };
  if (!s.begin_object()) return bad("not a JSON object");
  std::string_view k;
  while (s.next_key(k)) {
    if (k == "changes") {
      // A member given twice: the last counts, as in any JSON reader.
      a.pulled = pulled_changes{};
      changes_ok = true;
      auto kind = s.peek();
      if (kind == json_kind_t::array) {
        if (!read_changes(s, sc, a.pulled)) return bad("not a JSON object");
      } else {
        changes_ok = kind == json_kind_t::null;
        s.skip_value();
      }
      if (s.failed()) return bad("not a JSON object");
      continue;
    }
    json* slot = k == "results"      ? &results
                 : k == "ack"        ? &ack
                 : k == "protocol"   ? &protocol
                 : k == "cursor"     ? &cursor_v
                 : k == "hasMore"    ? &has_more
                 : k == "serverTime" ? &server_time
                                     : nullptr;
    std::string_view v = s.skip_value();
    if (s.failed()) return bad("not a JSON object");
    if (slot == nullptr) continue;
    auto j = parse_json(v);
    if (!j) return bad("not a JSON object");
    *slot = std::move(j.value());
  }
  if (s.failed() || !s.at_end()) return bad("not a JSON object");
  if (!protocol.is_number_integer() ||
      protocol.get<std::int64_t>() != protocol_version)
    return bad("protocol is not " + std::to_string(protocol_version));
  if (!results.is_null() && !results.is_array())
    return bad("results is not an array");
  if (!changes_ok) return bad("changes is not an array");

  a.has_ack = ack.is_object();
  a.ack_seq = opt_int(member(ack, "seq"));
  a.ack_duplicate = member(ack, "duplicate").is_boolean() &&
                    member(ack, "duplicate").get<bool>();
  if (results.is_array()) {
    a.result_count = results.size();
    for (const json& r : results) {
      if (!r.is_object() || !member(r, "id").is_number_integer()) continue;
      change_result cr;
      cr.id = member(r, "id").get<std::int64_t>();
      cr.status = opt_string(member(r, "status"));
      if (cr.status != "applied" && cr.status != "conflict" &&
          cr.status != "rejected")
        continue;
      cr.version = opt_int(member(r, "version"));
      cr.deleted =
          member(r, "deleted").is_boolean() && member(r, "deleted").get<bool>();
      if (member(r, "row").is_object()) cr.row = member(r, "row");
      cr.reason = opt_string(member(r, "reason"));
      cr.message = opt_string(member(r, "message"));
      a.results.push_back(std::move(cr));
    }
  }
  a.cursor = cursor_v.is_string() ? cursor_v : json(nullptr);
  a.has_more = has_more.is_boolean() && has_more.get<bool>();
  // A server time no HLC stamp can hold is not absorbed (a broken or
  // hostile server must not push the clock past its fixed width).
  if (server_time.is_number()) {
    double t = server_time.get<double>();
    if (t >= 0 && t <= static_cast<double>(hlc_max_ms))
      a.server_time = server_time.is_number_integer()
                          ? server_time.get<std::int64_t>()
                          : static_cast<std::int64_t>(t);
  }
  return a;
}

}  // namespace edgesync::client::detail
