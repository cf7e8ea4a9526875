#include "client_sql.h"

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

// The key text exactly as the triggers build it: json_array(<pk columns>).
string key_of(const table& t) {
  string out = "json_array(";
  for (std::size_t k = 0; k < t.primary_key.size(); ++k) {
    if (k) out += ", ";
    out += col(t.primary_key[k]);
  }
  return out + ")";
}

// Skip rows with pending local edits: the server's answer to the edit
// decides what the row becomes.
string not_pending(const table& t) {
  return "NOT EXISTS (SELECT 1 FROM " + outbox() +
         " o WHERE o.tbl = " + lit(t.name) + " AND o.pk = " + key_of(t) + ")";
}

// Skip items older than the version already known for the row.
string not_older(const table& t) {
  return "NOT EXISTS (SELECT 1 FROM " + rows() +
         " r WHERE r.tbl = " + lit(t.name) + " AND r.pk = " + key_of(t) +
         " AND r.version > " + item(1) + ")";
}

}  // namespace

string load_sql() {
  return "SELECT json_object('state', json((SELECT json_group_object(key, "
         "value) FROM " +
         state() +
         ")), 'clock', json((SELECT json_object('ms', ms, 'ctr', ctr, 'node', "
         "node) FROM " +
         q(sqlite_names::clock) +
         " WHERE id = 1)), 'pending', (SELECT count(*) FROM " + outbox() + "))";
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

table_apply_sql apply_sql(const table& t) {
  table_apply_sql out;
  string cols, vals, sets, keys, key_vals;
  for (std::size_t i = 0; i < t.columns.size(); ++i) {
    if (i) {
      cols += ", ";
      vals += ", ";
    }
    cols += q(t.columns[i].name);
    vals += col(i);
    if (!t.is_pk(i)) {
      if (!sets.empty()) sets += ", ";
      sets += q(t.columns[i].name) + " = excluded." + q(t.columns[i].name);
    }
  }
  for (std::size_t k = 0; k < t.primary_key.size(); ++k) {
    if (k) {
      keys += ", ";
      key_vals += ", ";
    }
    keys += q(t.columns[t.primary_key[k]].name);
    key_vals += col(t.primary_key[k]);
  }
  string from = " FROM json_each(?1) AS j WHERE ";
  string g = not_pending(t) + " AND " + not_older(t);
  out.upsert = "INSERT INTO " + q(t.name) + " (" + cols + ") SELECT " + vals +
               from + item(0) + " = 0 AND " + g + " ON CONFLICT (" + keys +
               ") DO " + (sets.empty() ? "NOTHING" : "UPDATE SET " + sets);
  out.remove = "DELETE FROM " + q(t.name) + " WHERE (" + keys +
               ") IN (SELECT " + key_vals + from + item(0) + " = 1 AND " + g +
               ")";
  // The "not older" rule is the conditional update here rather than a
  // guard: the statement then never reads the table it writes.
  out.record = "INSERT INTO " + rows() + " (tbl, pk, version) SELECT " +
               lit(t.name) + ", " + key_of(t) + ", " + item(1) + from +
               item(1) + " IS NOT NULL AND " + not_pending(t) +
               " ON CONFLICT (tbl, pk) DO UPDATE SET version = "
               "excluded.version WHERE excluded.version >= version";
  return out;
}

}  // namespace edgesync::client::detail
