// Request validation of one row's column values: each value's JSON type
// against its column's type, the ranges PostgreSQL accepts, the primary key
// and NOT NULL columns. The row is copied, as the client's bytes, into its
// change's merge input.
#include <string>

#include "server/request_validator.h"
#include "server/value_checks.h"

namespace edgesync::validation {

// One row object, written (as the client's bytes) into `buf`. True when
// every column is valid.
bool request_validator::check_row(json_scanner& js, const table& t,
                                  std::size_t i, change& c, std::string& buf) {
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
        typed = k == json_kind_t::number && js.read_number(is_int, v) && is_int;
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
        } else if (t.access == access_kind::members &&
                   idx == s_.scopes[t.scope].member_role) {
          typed = k == json_kind_t::string && js.read_string(str);
          if (typed && !parse_role(str))
            range = "a member's role is \"read\", \"write\" or \"admin\"";
        } else {
          typed = k == json_kind_t::string && !js.skip_value().empty();
        }
        break;
    }
    if (js.failed()) return false;
    std::size_t to = js.offset();
    if (!typed) {
      if (to == from) js.skip_value();  // the value was not consumed yet
      ok = fail(error_code::type_mismatch, at(col.name),
                std::string("expected ") + expected_kind(col.type) + ", got " +
                    (k == json_kind_t::number ? "a non-integer number"
                                              : kind_name(k)));
      if (js.failed()) return false;
      continue;
    }
    if (!range.empty()) {
      ok = fail(error_code::value_out_of_range, at(col.name), std::move(range));
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

}  // namespace edgesync::validation
