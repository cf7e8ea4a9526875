#include "client/client_response.h"

#include "common/json_scan.h"
#include "protocol/hlc.h"
#include "protocol/protocol.h"

namespace edgesync::client::detail {

namespace {

std::string opt_string(const json& j) {
  return j.is_string() ? j.get<std::string>() : std::string();
}

// True when `part` views `text` (a member name read without unescaping:
// plain ASCII).
bool views(std::string_view text, std::string_view part) {
  return part.data() >= text.data() &&
         part.data() + part.size() <= text.data() + text.size();
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

// What one element of `changes` is.
struct element {
  enum class verdict { use, skip, rewrite } what = verdict::skip;
  std::size_t table = 0;
  std::string key;  // "[v1,v2]"
  std::optional<std::int64_t> version;
  bool deleted = false;
  bool revoked = false;  // the caller's own membership ended
};

// Judges an element in place; the scanner is at its start. `rewrite`: the
// bytes may read differently to SQLite than the JSON means (the scanner
// then stopped somewhere inside the element). Anything else leaves the
// scanner after the element.
element judge(json_scanner& s, std::string_view text, const schema& sc) {
  element out;
  using verdict = element::verdict;
  if (s.peek() != json_kind_t::object) {
    s.skip_value();
    return out;
  }
  s.begin_object();
  bool has_table = false, table_ok = false, has_op = false, has_version = false,
       has_row = false, row_ok = false;
  std::string table_name, op;
  std::vector<std::pair<std::string_view, std::string_view>> members;
  std::string_view k;
  auto rewrite = [&] {
    out.what = verdict::rewrite;
    return out;
  };
  while (s.next_key(k)) {
    // A member name with escapes (or beyond ASCII) arrives unescaped:
    // SQLite's JSON paths may not match it the same way.
    if (!views(text, k)) return rewrite();
    if (k == "table") {
      if (has_table) return rewrite();  // named twice: the last counts
      has_table = true;
      if (s.peek() == json_kind_t::string) {
        if (!s.read_string(table_name)) return out;
        table_ok = true;
      } else {
        s.skip_value();
      }
    } else if (k == "op") {
      if (has_op) return rewrite();
      has_op = true;
      if (s.peek() == json_kind_t::string) {
        if (!s.read_string(op)) return out;
        out.deleted = op == "delete";
      } else {
        s.skip_value();
      }
    } else if (k == "version") {
      if (has_version) return rewrite();
      has_version = true;
      auto kind = s.peek();
      if (kind == json_kind_t::number) {
        bool is_int = false;
        std::int64_t v = 0;
        if (!s.read_number(is_int, v) || !is_int) return rewrite();
        out.version = v;
      } else if (kind == json_kind_t::null) {
        s.read_null();
      } else {
        return rewrite();
      }
    } else if (k == "revoked") {
      if (s.peek() == json_kind_t::boolean) {
        bool b = false;
        if (!s.read_bool(b)) return out;
        out.revoked = b;
      } else {
        s.skip_value();
      }
    } else if (k == "row") {
      if (has_row) return rewrite();
      has_row = true;
      if (s.peek() != json_kind_t::object) {
        s.skip_value();
        continue;
      }
      row_ok = true;
      s.begin_object();
      std::string_view m;
      while (s.next_key(m)) {
        if (!views(text, m)) return rewrite();
        std::string_view v = s.skip_value();
        if (s.failed()) return out;
        members.emplace_back(m, v);
      }
    } else {
      s.skip_value();
    }
    if (s.failed()) return out;
  }
  if (s.failed()) return out;
  int ti = table_ok ? sc.table_index(table_name) : -1;
  if (ti < 0 || !row_ok) return out;  // skip
  const table& t = sc.tables[static_cast<std::size_t>(ti)];
  // A column named twice: the JSON means the last, SQLite reads the first.
  for (std::size_t a = 0; a < members.size(); ++a)
    for (std::size_t b = a + 1; b < members.size(); ++b)
      if (members[a].first == members[b].first &&
          t.column_index(members[a].first) >= 0)
        return rewrite();
  out.key = "[";
  for (std::size_t n = 0; n < t.primary_key.size(); ++n) {
    const std::string& cn = t.columns[t.primary_key[n]].name;
    std::string_view value;
    for (auto& [mn, mv] : members)
      if (mn == cn) {
        value = mv;
        break;
      }
    if (value.empty()) return out;  // no key: skip
    if (!canonical_scalar(value)) return rewrite();
    if (n) out.key += ',';
    out.key += value;
  }
  out.key += ']';
  out.table = static_cast<std::size_t>(ti);
  out.what = verdict::use;
  return out;
}

// The parsed element `j` in plain form ({op, row, table, version}), as
// judge() sees it then; skip when it is of no use.
element plain(const json& j, const schema& sc, std::string& text) {
  element out;
  if (!j.is_object() || !member(j, "table").is_string() ||
      !member(j, "row").is_object())
    return out;
  int ti = sc.table_index(member(j, "table").get_ref<const std::string&>());
  if (ti < 0) return out;
  const table& t = sc.tables[static_cast<std::size_t>(ti)];
  const json& row = member(j, "row");
  json key = json::array();
  for (auto k : t.primary_key) {
    const std::string& name = t.columns[k].name;
    if (!row.contains(name)) return out;
    key.push_back(row[name]);
  }
  out.version = opt_int(member(j, "version"));
  out.deleted = member(j, "op").is_string() &&
                member(j, "op").get_ref<const std::string&>() == "delete";
  out.revoked = member(j, "revoked") == true;
  text = dump_json(json{{"table", t.name},
                        {"op", out.deleted ? "delete" : "upsert"},
                        {"version", out.version ? json(*out.version) : json()},
                        {"row", row}});
  out.key = dump_json(key);
  out.table = static_cast<std::size_t>(ti);
  out.what = element::verdict::use;
  return out;
}

// Adds a usable element; of two of one row the newer version wins, the
// later one on a tie (or without versions).
void add(pulled_changes& out, const element& e, std::string_view text) {
  // Only the end of a membership of the caller's own removes a scope.
  if (e.revoked && e.deleted) out.revoked.emplace_back(e.table, e.key);
  pulled_table& pt = out.tables[e.table];
  auto [slot, added] = pt.keys.emplace(e.key, pt.elems.size());
  if (!added) {
    out.all_used = false;
    std::size_t k = slot->second;
    if (pt.versions[k] && e.version && *pt.versions[k] > *e.version) return;
    if (pt.deleted[k]) --pt.deletes;
    if (e.deleted) ++pt.deletes;
    pt.elems[k] = text;
    pt.versions[k] = e.version;
    pt.deleted[k] = e.deleted;
    return;
  }
  pt.key_of.push_back(&slot->first);
  pt.elems.push_back(text);
  pt.versions.push_back(e.version);
  pt.deleted.push_back(e.deleted);
  ++pt.rows;
  if (e.deleted) ++pt.deletes;
  ++out.rows;
}

// The scanner over `body` from `from` on, and where it starts.
struct cursor {
  std::string_view body;
  std::size_t base = 0;
  json_scanner s;
  explicit cursor(std::string_view b) : body(b), s(b) {}
  std::size_t at() { return base + s.mark(); }
  // Continues after the array element that starts at `from` and spans
  // `size` bytes: a fresh scanner positioned after its `,` (or at `]`).
  bool jump(std::size_t from, std::size_t size) {
    std::size_t p = from + size;
    while (p < body.size() && (body[p] == ' ' || body[p] == '\t' ||
                               body[p] == '\n' || body[p] == '\r'))
      ++p;
    if (p < body.size() && body[p] == ',') {
      ++p;
      while (p < body.size() && (body[p] == ' ' || body[p] == '\t' ||
                                 body[p] == '\n' || body[p] == '\r'))
        ++p;
      if (p < body.size() && body[p] == ']') return false;  // `[x,]`
    }
    base = p;
    s = json_scanner(body.substr(p));
    return true;
  }
};

// Reads the `changes` array at the cursor into `out`; false when the body
// is not JSON there.
bool read_changes(cursor& c, const schema& sc, pulled_changes& out) {
  std::size_t start = c.at();
  if (!c.s.begin_array()) return false;
  while (c.s.next_element()) {
    std::size_t from = c.at();
    json_scanner probe = c.s;  // to read the element again if need be
    element e = judge(c.s, c.body, sc);
    if (e.what == element::verdict::rewrite) {
      // Parse this element alone and bind it written plainly.
      std::string_view elem = probe.skip_value();
      if (probe.failed()) return false;
      auto j = parse_json(elem);
      if (!j) return false;
      out.owned.emplace_back();
      element p = plain(j.value(), sc, out.owned.back());
      out.all_used = false;
      if (p.what == element::verdict::use) add(out, p, out.owned.back());
      if (!c.jump(from, elem.size())) return false;
      continue;
    }
    if (c.s.failed()) return false;
    if (e.what == element::verdict::skip) {
      out.all_used = false;
      continue;
    }
    add(out, e, c.body.substr(from, c.base + c.s.offset() - from));
  }
  if (c.s.failed()) return false;
  out.raw = c.body.substr(start, c.base + c.s.offset() - start);
  if (out.tables.size() > 1) out.all_used = false;
  return true;
}

}  // namespace

sync_answer read_sync_answer(std::string_view body, const schema& sc) {
  sync_answer a;
  cursor c(body);
  json results, ack, protocol, cursor_v, has_more, server_time;
  bool changes_ok = true;
  auto bad = [&](std::string why) {
    a = sync_answer{};
    a.error = std::move(why);
    return a;
  };
  if (!c.s.begin_object()) return bad("not a JSON object");
  std::string_view k;
  while (c.s.next_key(k)) {
    if (k == "changes") {
      // A member given twice: the last counts, as in any JSON reader.
      a.pulled = pulled_changes{};
      changes_ok = true;
      auto kind = c.s.peek();
      if (kind == json_kind_t::array) {
        if (!read_changes(c, sc, a.pulled)) return bad("not a JSON object");
      } else {
        changes_ok = kind == json_kind_t::null;
        c.s.skip_value();
      }
      if (c.s.failed()) return bad("not a JSON object");
      continue;
    }
    json* slot = k == "results"      ? &results
                 : k == "ack"        ? &ack
                 : k == "protocol"   ? &protocol
                 : k == "cursor"     ? &cursor_v
                 : k == "hasMore"    ? &has_more
                 : k == "serverTime" ? &server_time
                                     : nullptr;
    std::string_view v = c.s.skip_value();
    if (c.s.failed()) return bad("not a JSON object");
    if (slot == nullptr) continue;
    auto j = parse_json(v);
    if (!j) return bad("not a JSON object");
    *slot = std::move(j.value());
  }
  if (c.s.failed() || !c.s.at_end()) return bad("not a JSON object");
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
