// Request validation: every rule of docs/protocol.md, each failure with the
// JSON path of the offending field. Nothing here touches the database: a
// value PostgreSQL would refuse is refused here, so bad input is a 400 with a
// path and never a failed transaction.
//
// This file checks the request's shape — the body, the batch, each change —
// and writes each change into its merge group's input; the column values of
// a row are checked in validate_row.cpp, single values in value_checks.cpp.
#include "server/validate.h"

#include <algorithm>
#include <charconv>
#include <unordered_set>

#include "common/json_scan.h"
#include "protocol/hlc.h"
#include "server/request_validator.h"
#include "server/value_checks.h"

namespace edgesync {

std::string pull_cursor::to_string() const {
  std::string out = std::to_string(xid) + ":" + std::to_string(version);
  if (row != version) out += ":" + std::to_string(row);
  return out;
}

namespace validation {

void request_validator::check(json_scanner& js, sync_request& out) {
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
  enum {
    kProtocol,
    kClientId,
    kSchemaVersion,
    kCursor,
    kPageSize,
    kBatch,
    kStream
  };
  member_set members{kBodyMembers};
  std::string key, str;
  bool protocol_ok = false, client_given = false, version_given = false,
       version_ok = false, page_given = false;
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
      fail(error_code::invalid_request, key, "\"" + key + "\" is given twice");
    } else if (m == kProtocol) {
      protocol_ok = js.peek() == json_kind_t::number &&
                    js.read_number(is_int, iv) && is_int &&
                    iv == protocol_version;
      if (!protocol_ok && !js.failed() && js.offset() == from) js.skip_value();
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
        page_given = true;
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
    } else if (m == kStream) {
      if (js.peek() == json_kind_t::null) {
        js.read_null();
      } else if (js.peek() == json_kind_t::boolean) {
        js.read_bool(out.stream);
      } else if (!js.failed()) {
        js.skip_value();
        fail(error_code::invalid_request, "stream", "expected a boolean");
      }
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
  if (out.stream && out.has_batch)
    fail(error_code::invalid_request, "stream",
         "only a pull (no batch) can be streamed");
  // A stream's frames are as large as the server allows: fewer statements.
  if (out.stream && !page_given) out.page_size = limits_.max_page_size;
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

void request_validator::check_cursor(const std::string& s, sync_request& out) {
  // "xid:version" or "xid:version:row"; a two-part cursor's row is its
  // version (everything up to and including that row was delivered).
  const char* p = s.data();
  const char* end = s.data() + s.size();
  auto r1 = std::from_chars(p, end, out.cursor.xid);
  bool ok = r1.ec == std::errc() && r1.ptr != end && *r1.ptr == ':';
  std::from_chars_result r2{};
  if (ok) {
    r2 = std::from_chars(r1.ptr + 1, end, out.cursor.version);
    ok = r2.ec == std::errc() && out.cursor.version >= 0;
  }
  out.cursor.row = out.cursor.version;
  if (ok && r2.ptr != end) {
    ok = *r2.ptr == ':';
    if (ok) {
      auto r3 = std::from_chars(r2.ptr + 1, end, out.cursor.row);
      ok = r3.ec == std::errc() && r3.ptr == end && out.cursor.row >= 0 &&
           out.cursor.row != out.cursor.version;
    }
  }
  if (!ok) fail(error_code::invalid_request, "cursor", kCursorMsg);
}

void request_validator::check_batch(json_scanner& js, sync_request& out) {
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

void request_validator::check_changes(json_scanner& js, sync_request& out) {
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
std::size_t request_validator::group_for(std::size_t table_index,
                                         change_op op) {
  auto& groups = out_->groups;
  for (std::size_t g = 0; g < groups.size(); ++g)
    if (groups[g].table == table_index && groups[g].op == op) return g;
  groups.push_back({table_index, op, "[", {}});
  // Most batches touch one table: reserve for the whole body up front.
  groups.back().input.reserve(groups.size() == 1 ? body_size + 1024 : 4096);
  return groups.size() - 1;
}

// Opens the change's object in its group: `{` (after a comma if needed).
void request_validator::open_object(change& c) {
  c.group = group_for(c.table, c.op);
  std::string& in = out_->groups[c.group].input;
  c.from = in.size();
  if (in.size() > 1) in += ',';
  in += '{';
}

// Appends the bookkeeping keys and closes the object opened by
// open_object.
void request_validator::close_object(change& c, std::size_t i) {
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
void request_validator::drop_object(const change& c) {
  out_->groups[c.group].input.resize(c.from);
}

// One change. True when every member is valid; then (and only then) its
// object is complete in its group's input.
bool request_validator::check_change(json_scanner& js, std::size_t i,
                                     change& c) {
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
        ok =
            fail(error_code::invalid_request, at(".id"), "expected an integer");
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
            changed.emplace_back(str_);
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

}  // namespace validation

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
  validation::request_validator v(s, limits, now_ms);
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
