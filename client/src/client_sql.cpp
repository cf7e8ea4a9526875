#include "client_sql.h"

#include <functional>

#include "edgesync/codegen.h"

namespace edgesync::client::detail {

namespace {

using std::string;

string q(std::string_view s) { return quote_ident(s); }
string lit(std::string_view s) { return quote_literal(s); }

const string& outbox() {
  static const string s = q(sqlite_names::outbox);
  return s;
}
const string& state() {
  static const string s = q(sqlite_names::state);
  return s;
}
const string& rows() {
  static const string s = q(sqlite_names::rows);
  return s;
}

// Element `i` of the item array j.value.
string item(std::size_t i) {
  return "json_extract(j.value, '$[" + std::to_string(i) + "]')";
}

// Column `c` of an apply item (two header slots come first).
string col(std::size_t c) { return item(c + 2); }

// Skip rows with pending local edits: the server's answer to the edit
// decides what the row becomes. The uncorrelated first test runs once per
// statement: when the table has no outbox rows at all (the common case of a
// pull), the per-row probe is never made.
string not_pending(const table& t, const string& key) {
  return "(NOT EXISTS (SELECT 1 FROM " + outbox() +
         " WHERE tbl = " + lit(t.name) + ") OR NOT EXISTS (SELECT 1 FROM " +
         outbox() + " o WHERE o.tbl = " + lit(t.name) + " AND o.pk = " + key +
         "))";
}

// Skip items older than the version already known for the row (again with a
// once-per-statement shortcut for a table without any recorded version).
string not_older(const table& t, const string& key, const string& version) {
  return "(NOT EXISTS (SELECT 1 FROM " + rows() +
         " WHERE tbl = " + lit(t.name) + ") OR NOT EXISTS (SELECT 1 FROM " +
         rows() + " r WHERE r.tbl = " + lit(t.name) + " AND r.pk = " + key +
         " AND r.version > " + version + "))";
}

}  // namespace

string load_sql() {
  return "SELECT json_object('state', json((SELECT json_group_object(key, "
         "value) FROM " +
         state() +
         ")), 'clock', json((SELECT json_object('ms', ms, 'ctr', ctr, 'node', "
         "node) FROM " +
         q(sqlite_names::clock) +
         " WHERE id = 1)), 'pending', (SELECT count(*) FROM " + outbox() +
         "), 'sqlite', sqlite_version())";
}

string read_outbox_sql() {
  return "SELECT json_object('pending', (SELECT count(*) FROM " + outbox() +
         "), 'rows', json((SELECT json_group_array(json_array(id, tbl, pk, op, "
         "json(row), json(changed), hlc, base_version)) FROM (SELECT * FROM " +
         outbox() + " ORDER BY id LIMIT ?1))))";
}

string set_state_sql() {
  return "INSERT OR REPLACE INTO " + state() + " (key, value) VALUES (?1, ?2)";
}

string set_node_sql() {
  return "UPDATE " + q(sqlite_names::clock) + " SET node = ?1 WHERE id = 1";
}

string clear_inflight_sql() {
  return "DELETE FROM " + state() +
         " WHERE key IN ('inflight_seq', 'inflight_batch', 'inflight_meta')";
}

string delete_outbox_ids_sql() {
  return "DELETE FROM " + outbox() +
         " WHERE id IN (SELECT value FROM json_each(?1))";
}

string record_own_versions_sql() {
  return "INSERT INTO " + rows() +
         " (tbl, pk, version) SELECT json_extract(value, '$[0]'), "
         "json_extract(value, '$[1]'), json_extract(value, '$[2]') FROM "
         "json_each(?1) WHERE true ON CONFLICT (tbl, pk) DO UPDATE SET version "
         "= excluded.version WHERE excluded.version > version";
}

string rebase_outbox_sql() {
  return "UPDATE " + outbox() +
         " SET base_version = v.ver FROM (SELECT json_extract(value, '$[0]') "
         "AS tbl, json_extract(value, '$[1]') AS pk, json_extract(value, "
         "'$[2]') AS ver FROM json_each(?1)) AS v WHERE " +
         outbox() + ".tbl = v.tbl AND " + outbox() + ".pk = v.pk";
}

string guard_on_sql() {
  return "INSERT OR IGNORE INTO " + q(sqlite_names::guard) + " (id) VALUES (1)";
}

string guard_off_sql() { return "DELETE FROM " + q(sqlite_names::guard); }

string pending_count_sql() { return "SELECT count(*) FROM " + outbox(); }

namespace {

// The three statements over rows whose values `val(i)` (column i), key,
// version and delete flag are expressions of j.value.
table_apply_sql build_apply(const table& t, const string& each,
                            const std::function<string(std::size_t)>& val,
                            const string& version, const string& is_delete,
                            const string& is_upsert) {
  table_apply_sql out;
  string cols, vals, sets, keys, key_vals;
  for (std::size_t i = 0; i < t.columns.size(); ++i) {
    if (i) {
      cols += ", ";
      vals += ", ";
    }
    cols += q(t.columns[i].name);
    vals += val(i);
    if (!t.is_pk(i)) {
      if (!sets.empty()) sets += ", ";
      sets += q(t.columns[i].name) + " = excluded." + q(t.columns[i].name);
    }
  }
  string key = "json_array(";
  for (std::size_t k = 0; k < t.primary_key.size(); ++k) {
    if (k) {
      keys += ", ";
      key_vals += ", ";
      key += ", ";
    }
    keys += q(t.columns[t.primary_key[k]].name);
    key_vals += val(t.primary_key[k]);
    key += val(t.primary_key[k]);
  }
  key += ")";
  string from = " FROM " + each + "(?1) AS j WHERE ";
  string g = not_pending(t, key) + " AND " + not_older(t, key, version);
  out.upsert = "INSERT INTO " + q(t.name) + " (" + cols + ") SELECT " + vals +
               from + (is_upsert.empty() ? "" : is_upsert + " AND ") + g +
               " ON CONFLICT (" + keys + ") DO " +
               (sets.empty() ? "NOTHING" : "UPDATE SET " + sets);
  out.remove = "DELETE FROM " + q(t.name) + " WHERE (" + keys +
               ") IN (SELECT " + key_vals + from + is_delete + " AND " + g +
               ")";
  // The "not older" rule is the conditional update here rather than a
  // guard: the statement then never reads the table it writes.
  out.record = "INSERT INTO " + rows() + " (tbl, pk, version) SELECT " +
               lit(t.name) + ", " + key + ", " + version + from + version +
               " IS NOT NULL AND " + not_pending(t, key) +
               " ON CONFLICT (tbl, pk) DO UPDATE SET version = "
               "excluded.version WHERE excluded.version >= version";
  return out;
}

}  // namespace

table_apply_sql apply_sql(const table& t, bool jsonb) {
  return build_apply(
      t, jsonb ? "jsonb_each" : "json_each",
      [](std::size_t i) { return col(i); }, item(1), item(0) + " = 1",
      item(0) + " = 0");
}

string pulled_record_sql(const table& t, bool jsonb) {
  string key = "json_array(";
  for (std::size_t k = 0; k < t.primary_key.size(); ++k) {
    if (k) key += ", ";
    key += item(k + 1);
  }
  key += ")";
  return "INSERT INTO " + rows() + " (tbl, pk, version) SELECT " + lit(t.name) +
         ", " + key + ", " + item(0) + " FROM " +
         (jsonb ? "jsonb_each" : "json_each") + "(?1) AS j WHERE " + item(0) +
         " IS NOT NULL AND " + not_pending(t, key) +
         " ON CONFLICT (tbl, pk) DO UPDATE SET version = excluded.version "
         "WHERE excluded.version >= version";
}

table_apply_sql pulled_sql(const table& t, bool jsonb, bool has_deletes) {
  // Values exactly as the item path stores them: JSON null -> NULL,
  // booleans 1/0, objects and arrays as their text, JSON columns as the
  // JSON text of the value.
  auto val = [&t](std::size_t i) {
    const column& c = t.columns[i];
    if (c.type == column_type::json_doc)
      return "NULLIF(j.value -> '$.row." + c.name + "', 'null')";
    return "j.value ->> '$.row." + c.name + "'";
  };
  table_apply_sql out =
      build_apply(t, jsonb ? "jsonb_each" : "json_each", val,
                  "(j.value ->> '$.version')", "j.value ->> '$.op' = 'delete'",
                  has_deletes ? "j.value ->> '$.op' IS NOT 'delete'" : "");
  out.record = pulled_record_sql(t, jsonb);
  return out;
}

bool sqlite_has_jsonb(std::string_view version) {
  int part[2] = {0, 0};
  std::size_t i = 0;
  for (int k = 0; k < 2; ++k) {
    if (i >= version.size() || version[i] < '0' || version[i] > '9')
      return false;
    while (i < version.size() && version[i] >= '0' && version[i] <= '9')
      part[k] = part[k] * 10 + (version[i++] - '0');
    if (k == 0) {
      if (i >= version.size() || version[i] != '.') return false;
      ++i;
    }
  }
  return part[0] > 3 || (part[0] == 3 && part[1] >= 45);
}

}  // namespace edgesync::client::detail
