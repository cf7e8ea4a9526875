// Request validation: every rule of docs/protocol.md, each failure with the
// JSON path of the offending field. Nothing here touches the database.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>

#include "edgesync/server.h"

namespace edgesync {

std::string pull_cursor::to_string() const {
  return std::to_string(xid) + ":" + std::to_string(version);
}

int http_status(error_code code) {
  switch (code) {
    case error_code::unauthorized: return 401;
    case error_code::client_id_conflict: return 403;
    case error_code::schema_version_mismatch: return 409;
    case error_code::payload_too_large: return 413;
    case error_code::internal: return 500;
    default: return 400;
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
  json err = list.empty() ? json{{"code", "internal"}, {"message", "unknown error"}}
                          : list[0];
  err["errors"] = std::move(list);
  json body = {{"protocol", protocol_version}, {"error", std::move(err)}};
  if (server_schema_version) body["serverSchemaVersion"] = *server_schema_version;
  return dump_json(body);
}

result<server_limits> parse_limits(const json& j) {
  server_limits l;
  if (j.is_null()) return l;
  if (!j.is_object()) return error{error_code::invalid_request, "limits", "expected an object"};
  std::vector<error> errs;
  auto read = [&](const char* key, auto& field, long long lo, long long hi) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return;
    if (!it->is_number_integer() || it->get<long long>() < lo || it->get<long long>() > hi) {
      errs.push_back({error_code::invalid_request, path_key("limits", key),
                      "expected an integer between " + std::to_string(lo) + " and " +
                          std::to_string(hi)});
      return;
    }
    field = static_cast<std::remove_reference_t<decltype(field)>>(it->get<long long>());
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
  int mo = num(s, 5, 2), d = num(s, 8, 2), h = num(s, 11, 2), mi = num(s, 14, 2);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59) return false;
  std::size_t i = 16;
  if (i < s.size() && s[i] == ':') {
    if (!digits(s, i + 1, 2) || num(s, i + 1, 2) > 60) return false;
    i += 3;
    if (i < s.size() && s[i] == '.') {
      std::size_t j = i + 1;
      while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
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
  if (s.size() < 23 || s.size() > 22 + 64 || !digits(s, 0, 15) || s[15] != ':' ||
      !digits(s, 16, 5) || s[21] != ':')
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
    case column_type::integer: return "an integer";
    case column_type::real: return "a number";
    case column_type::boolean: return "a boolean";
    case column_type::timestamp: return "an ISO-8601 timestamp string with a UTC offset";
    case column_type::json_doc: return "a JSON value";
    default: return "a string";
  }
}

bool value_matches(column_type t, const json& v) {
  switch (t) {
    case column_type::integer:
      return v.is_number_integer() ||
             (v.is_number_unsigned() && v.get<std::uint64_t>() <= INT64_MAX);
    case column_type::real: return v.is_number();
    case column_type::boolean: return v.is_boolean();
    case column_type::timestamp:
      return v.is_string() && is_timestamp(v.get_ref<const std::string&>());
    case column_type::json_doc: return true;
    default: return v.is_string();
  }
}

class request_validator {
 public:
  request_validator(const schema& s, const server_limits& l, std::int64_t now)
      : s_(s), limits_(l), now_ms_(now) {}

  std::vector<error> errs;
  int status = 400;
  std::optional<std::int64_t> server_schema_version;

  void fail(error_code code, std::string path, std::string msg) {
    if (errs.size() < 100) errs.push_back({code, std::move(path), std::move(msg)});
  }

  void check(const json& root, sync_request& out) {
    if (!root.is_object()) {
      fail(error_code::invalid_request, "",
           std::string("the body must be a JSON object, got ") + json_kind(root));
      return;
    }
    for (auto it = root.begin(); it != root.end(); ++it) {
      static const std::set<std::string> known = {"protocol", "clientId", "schemaVersion",
                                                   "batch", "cursor", "pageSize"};
      if (!known.count(it.key()))
        fail(error_code::invalid_request, it.key(), "unknown field \"" + it.key() + "\"");
    }
    auto proto = root.find("protocol");
    if (proto == root.end() || !proto->is_number_integer() ||
        proto->get<std::int64_t>() != protocol_version) {
      fail(error_code::invalid_request, "protocol",
           "this server speaks protocol 1; upgrade the client or the server");
      return;
    }
    auto cid = root.find("clientId");
    if (cid == root.end() || !cid->is_string() ||
        !is_client_id(cid->get_ref<const std::string&>()))
      fail(error_code::invalid_request, "clientId",
           "expected 8-64 characters of [A-Za-z0-9_-]");
    else
      out.client_id = cid->get<std::string>();

    auto sv = root.find("schemaVersion");
    if (sv == root.end() || !sv->is_number_integer()) {
      fail(error_code::invalid_request, "schemaVersion", "expected an integer");
    } else if (sv->get<std::int64_t>() != s_.version) {
      fail(error_code::schema_version_mismatch, "schemaVersion",
           "the client has schema version " + std::to_string(sv->get<std::int64_t>()) +
               " but the server serves version " + std::to_string(s_.version) +
               "; update the app (or the server) so both use the same schema");
      status = 409;
      server_schema_version = s_.version;
      return;
    }
    out.schema_version = s_.version;

    if (auto c = root.find("cursor"); c != root.end() && !c->is_null()) check_cursor(*c, out);
    out.page_size = limits_.default_page_size;
    if (auto p = root.find("pageSize"); p != root.end() && !p->is_null()) {
      if (!p->is_number_integer() || p->get<std::int64_t>() < 1 ||
          p->get<std::int64_t>() > limits_.max_page_size)
        fail(error_code::invalid_request, "pageSize",
             "expected an integer between 1 and " + std::to_string(limits_.max_page_size));
      else
        out.page_size = p->get<int>();
    }
    if (auto b = root.find("batch"); b != root.end() && !b->is_null()) check_batch(*b, out);
  }

 private:
  void check_cursor(const json& c, sync_request& out) {
    const char* msg = "expected the opaque cursor string from a previous response";
    if (!c.is_string()) return fail(error_code::invalid_request, "cursor", msg);
    const std::string& s = c.get_ref<const std::string&>();
    auto colon = s.find(':');
    if (colon == std::string::npos) return fail(error_code::invalid_request, "cursor", msg);
    auto r1 = std::from_chars(s.data(), s.data() + colon, out.cursor.xid);
    auto r2 = std::from_chars(s.data() + colon + 1, s.data() + s.size(), out.cursor.version);
    if (r1.ec != std::errc() || r1.ptr != s.data() + colon || r2.ec != std::errc() ||
        r2.ptr != s.data() + s.size() || out.cursor.version < 0)
      fail(error_code::invalid_request, "cursor", msg);
  }

  void check_batch(const json& b, sync_request& out) {
    if (!b.is_object())
      return fail(error_code::invalid_request, "batch",
                  std::string("expected an object or null, got ") + json_kind(b));
    for (auto it = b.begin(); it != b.end(); ++it)
      if (it.key() != "seq" && it.key() != "changes")
        fail(error_code::invalid_request, path_key("batch", it.key()),
             "unknown field \"" + it.key() + "\"");
    auto seq = b.find("seq");
    if (seq == b.end() || !seq->is_number_integer() || seq->get<std::int64_t>() < 1)
      fail(error_code::invalid_request, "batch.seq", "expected an integer >= 1");
    else
      out.seq = seq->get<std::int64_t>();
    auto ch = b.find("changes");
    if (ch == b.end() || !ch->is_array())
      return fail(error_code::invalid_request, "batch.changes", "expected an array");
    if (ch->size() > limits_.max_changes) {
      status = 413;
      return fail(error_code::payload_too_large, "batch.changes",
                  "a batch may carry at most " + std::to_string(limits_.max_changes) +
                      " changes; send smaller batches");
    }
    out.has_batch = true;
    out.changes.reserve(ch->size());
    std::set<std::string> seen;
    for (std::size_t i = 0; i < ch->size(); ++i) {
      std::string p = path_index("batch.changes", i);
      change c;
      if (check_change((*ch)[i], p, c)) {
        if (!seen.insert(std::to_string(c.table) + "/" + c.pk_key).second)
          fail(error_code::duplicate_row, p,
               "another change in this batch targets the same row; compact the "
               "outbox so each row appears once");
        out.changes.push_back(std::move(c));
      }
    }
  }

  bool check_change(const json& cj, const std::string& p, change& c) {
    std::size_t before = errs.size();
    if (!cj.is_object()) {
      fail(error_code::invalid_request, p, std::string("expected an object, got ") + json_kind(cj));
      return false;
    }
    for (auto it = cj.begin(); it != cj.end(); ++it) {
      static const std::set<std::string> known = {"id",  "table", "op",         "row",
                                                   "hlc", "changed", "baseVersion"};
      if (!known.count(it.key()))
        fail(error_code::invalid_request, path_key(p, it.key()),
             "unknown field \"" + it.key() + "\"");
    }
    auto id = cj.find("id");
    if (id == cj.end() || !id->is_number_integer())
      fail(error_code::invalid_request, p + ".id", "expected an integer");
    else
      c.id = id->get<std::int64_t>();
    auto tj = cj.find("table");
    const table* t = nullptr;
    if (tj == cj.end() || !tj->is_string()) {
      fail(error_code::invalid_request, p + ".table", "expected a table name");
    } else {
      int ti = s_.table_index(tj->get_ref<const std::string&>());
      if (ti < 0) {
        fail(error_code::unknown_table, p + ".table",
             "\"" + tj->get<std::string>() + "\" is not a synced table of schema v" +
                 std::to_string(s_.version));
      } else {
        c.table = static_cast<std::size_t>(ti);
        t = &s_.tables[c.table];
      }
    }
    auto op = cj.find("op");
    if (op != cj.end() && *op == "upsert") c.op = change_op::upsert;
    else if (op != cj.end() && *op == "delete") c.op = change_op::remove;
    else fail(error_code::invalid_request, p + ".op", "expected \"upsert\" or \"delete\"");

    auto hlc = cj.find("hlc");
    std::int64_t ms = 0;
    if (hlc == cj.end() || !hlc->is_string() ||
        !parse_hlc(hlc->get_ref<const std::string&>(), ms)) {
      fail(error_code::invalid_request, p + ".hlc",
           "expected a hybrid logical clock stamp MMMMMMMMMMMMMMM:CCCCC:node");
    } else {
      c.hlc = hlc->get<std::string>();
      // A client clock far ahead must not win every future conflict.
      std::int64_t limit = now_ms_ + limits_.max_clock_skew_ms;
      if (ms > limit) c.hlc = pad15(limit) + c.hlc.substr(15);
    }
    auto base = cj.find("baseVersion");
    if (base != cj.end() && !base->is_null()) {
      if (!base->is_number_integer())
        fail(error_code::invalid_request, p + ".baseVersion", "expected an integer or null");
      else
        c.base_version = base->get<std::int64_t>();
    }
    if (t != nullptr) check_row(*t, cj, p, c);
    return errs.size() == before;
  }

  void check_row(const table& t, const json& cj, const std::string& p, change& c) {
    auto changed = cj.find("changed");
    if (changed != cj.end() && !changed->is_null()) {
      if (!changed->is_array()) {
        fail(error_code::invalid_request, p + ".changed", "expected an array of column names");
      } else {
        c.changed.emplace();
        for (std::size_t i = 0; i < changed->size(); ++i) {
          const json& n = (*changed)[i];
          if (!n.is_string() || t.column_index(n.get_ref<const std::string&>()) < 0)
            fail(error_code::unknown_column, path_index(p + ".changed", i),
                 "not a column of table \"" + t.name + "\"");
          else
            c.changed->push_back(n.get<std::string>());
        }
      }
    }
    auto row = cj.find("row");
    std::string rp = p + ".row";
    if (row == cj.end() || !row->is_object()) {
      fail(error_code::invalid_request, rp, "expected an object of column values");
      return;
    }
    for (auto it = row->begin(); it != row->end(); ++it) {
      int ci = t.column_index(it.key());
      if (ci < 0) {
        fail(error_code::unknown_column, path_key(rp, it.key()),
             "table \"" + t.name + "\" has no column \"" + it.key() + "\"");
        continue;
      }
      if (static_cast<std::size_t>(ci) == t.owner) continue;  // set from the token
      const column& col = t.columns[ci];
      if (!it.value().is_null() && !value_matches(col.type, it.value()))
        fail(error_code::type_mismatch, path_key(rp, it.key()),
             std::string("expected ") + expected_kind(col.type) + ", got " +
                 json_kind(it.value()));
    }
    c.row = json::object();
    json key = json::array();
    for (std::size_t ci = 0; ci < t.columns.size(); ++ci) {
      const column& col = t.columns[ci];
      if (ci == t.owner) continue;
      auto v = row->find(col.name);
      bool present = v != row->end() && !v->is_null();
      if (t.is_pk(ci)) {
        if (!present) {
          fail(error_code::missing_primary_key, path_key(rp, col.name),
               "primary key column \"" + col.name + "\" is required");
          continue;
        }
        key.push_back(*v);
      } else if (c.op == change_op::remove) {
        continue;  // a delete needs only the key
      } else if (!present && !col.nullable) {
        fail(error_code::type_mismatch, path_key(rp, col.name),
             "column \"" + col.name + "\" must not be null");
        continue;
      }
      c.row[col.name] = present ? *v : json(nullptr);
    }
    c.pk_key = dump_json(key);
  }

  const schema& s_;
  const server_limits& limits_;
  std::int64_t now_ms_;
};

}  // namespace

std::variant<sync_request, request_error> validate_request(const schema& s,
                                                           const server_limits& limits,
                                                           std::string_view body,
                                                           std::int64_t now_ms) {
  if (body.size() > limits.max_body_bytes)
    return request_error{413,
                         {{error_code::payload_too_large, "",
                           "the body has " + std::to_string(body.size()) +
                               " bytes; the limit is " + std::to_string(limits.max_body_bytes) +
                               ". Send smaller batches"}},
                         {}};
  auto parsed = parse_json(body);
  if (!parsed) return request_error{400, parsed.errors(), {}};
  request_validator v(s, limits, now_ms);
  sync_request req;
  v.check(parsed.value(), req);
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
