#include "sql/client_sqlite.h"

#include <algorithm>
#include <utility>

#include "sql/ddl.h"

namespace edgesync::client::detail {

namespace {

using std::string;

string q(std::string_view s) { return quote_ident(s); }
string lit(std::string_view s) { return quote_literal(s); }
// Parameter ?n given as a segment (effects::raw_text): the host binds its
// UTF-8 bytes as a BLOB — no JS string decoded and encoded again per
// statement — and SQL reads it back as text (a BLOB to the JSON functions
// would be JSONB).
string seg(int n) { return "CAST(?" + std::to_string(n) + " AS TEXT)"; }

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
const string& base() {
  static const string s = q(sqlite_names::base);
  return s;
}

// No outbox entry for the key `b.pk` of sync_base row `b`: its queue ended.
string ended(const string& b) {
  return "NOT EXISTS (SELECT 1 FROM " + outbox() + " o WHERE o.tbl = " + b +
         ".tbl AND o.pk = " + b + ".pk)";
}

// A pulled row is the array [version, deleted (0/1), column values…]
// (pulled_table): positions, not member paths.
const string& row_version() {
  static const string s = "(j.value ->> 0)";
  return s;
}
const string& row_deleted() {
  static const string s = "(j.value ->> 1)";
  return s;
}
// Column `i` of the pulled row as JSON text.
string row_json(std::size_t i) { return "j.value -> " + std::to_string(i + 2); }

// A key is pending while it has outbox entries or a sync_base row (the
// server's truth for a row whose queue just ended, reconciled at the end of
// the transaction). Server rows for pending keys go to sync_base, not to
// the table. The uncorrelated tests run once per statement: when the table
// has neither (the common case of a pull), the per-row probes are never made.
string pending(const table& t, const string& key) {
  return "((EXISTS (SELECT 1 FROM " + outbox() + " WHERE tbl = " + lit(t.name) +
         ") AND EXISTS (SELECT 1 FROM " + outbox() +
         " o WHERE o.tbl = " + lit(t.name) + " AND o.pk = " + key +
         ")) OR (EXISTS (SELECT 1 FROM " + base() +
         " WHERE tbl = " + lit(t.name) + ") AND EXISTS (SELECT 1 FROM " +
         base() + " b WHERE b.tbl = " + lit(t.name) + " AND b.pk = " + key +
         ")))";
}

string not_pending(const table& t, const string& key) {
  return "NOT " + pending(t, key);
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

string set_state_segment_sql() {
  return "INSERT OR REPLACE INTO " + state() + " (key, value) VALUES (?1, " +
         seg(2) + ")";
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
         " WHERE id IN (SELECT value FROM json_each(" + seg(1) + "))";
}

string implicit_bases_sql() {
  // The triggers capture no base when a key's first write stores a row where
  // none was: the server had none the device knew of. Such a key reconciles
  // exactly as one whose captured base said so.
  return "INSERT INTO " + base() +
         " (tbl, pk, version, row) SELECT o.tbl, o.pk, (SELECT version FROM " +
         rows() + " r WHERE r.tbl = o.tbl AND r.pk = o.pk), NULL FROM " +
         outbox() + " o WHERE o.id IN (SELECT value FROM json_each(" + seg(1) +
         ")) ON CONFLICT (tbl, pk) DO NOTHING";
}

string record_own_versions_sql() {
  return "INSERT INTO " + rows() +
         " (tbl, pk, version) SELECT json_extract(value, '$[0]'), "
         "json_extract(value, '$[1]'), json_extract(value, '$[2]') FROM "
         "json_each(" +
         seg(1) +
         ") WHERE true ON CONFLICT (tbl, pk) DO UPDATE SET version "
         "= excluded.version WHERE excluded.version > version";
}

string rebase_outbox_sql() {
  return "UPDATE " + outbox() +
         " SET base_version = v.ver FROM (SELECT json_extract(value, '$[0]') "
         "AS tbl, json_extract(value, '$[1]') AS pk, json_extract(value, "
         "'$[2]') AS ver FROM json_each(" +
         seg(1) + ")) AS v WHERE " + outbox() + ".tbl = v.tbl AND " + outbox() +
         ".pk = v.pk";
}

string guard_on_sql() {
  return "INSERT OR IGNORE INTO " + q(sqlite_names::guard) + " (id) VALUES (1)";
}

string guard_off_sql() { return "DELETE FROM " + q(sqlite_names::guard); }

std::vector<string> reset_sql(const schema& s) {
  std::vector<string> out;
  for (const table& t : s.tables) out.push_back("DELETE FROM " + q(t.name));
  for (const string* bookkeeping : {&outbox(), &base(), &rows()})
    out.push_back("DELETE FROM " + *bookkeeping);
  // The schema version describes the tables, which stay.
  out.push_back("DELETE FROM " + state() + " WHERE key <> 'schema_version'");
  out.push_back("UPDATE " + q(sqlite_names::clock) +
                " SET node = '' WHERE id = 1");
  return out;
}

std::vector<string> claim_sql(const schema& s) {
  std::vector<string> out;
  for (const table& t : s.tables) {
    const string owner = q(t.columns[t.owner].name);
    string sql = "UPDATE " + q(t.name) + " SET ";
    sql += owner;
    sql += " = ?1 WHERE ";
    sql += owner;
    sql += " = ''";
    out.push_back(std::move(sql));
  }
  return out;
}

string pending_count_sql() { return "SELECT count(*) FROM " + outbox(); }

namespace {

// Column `c` at `path` (a JSON path or an array index) of the JSON `doc`,
// as SQLite stores it: JSON null -> NULL, booleans 1/0, JSON columns as the
// JSON text of the value, other objects and arrays as their text.
string stored_value(const column& c, const string& doc, const string& path) {
  if (c.type == column_type::json_doc)
    return "NULLIF(" + doc + " -> " + path + ", 'null')";
  return doc + " ->> " + path;
}

// Column `c` of a JSON row object at `doc` (see stored_value).
string row_value(const column& c, const string& doc, const string& prefix) {
  return stored_value(c, doc, "'" + prefix + c.name + "'");
}

// Column `i` of the pulled row (see stored_value).
string pulled_value(const table& t, std::size_t i) {
  return stored_value(t.columns[i], "j.value", std::to_string(i + 2));
}

// `"a", "b"` over every column; `excluded` assignments of non-key columns.
void column_lists(const table& t, string& cols, string& sets) {
  for (std::size_t i = 0; i < t.columns.size(); ++i) {
    if (i) cols += ", ";
    cols += q(t.columns[i].name);
    if (!t.is_pk(i)) {
      if (!sets.empty()) sets += ", ";
      sets += q(t.columns[i].name) + " = excluded." + q(t.columns[i].name);
    }
  }
}

string key_columns(const table& t) {
  string keys;
  for (std::size_t k = 0; k < t.primary_key.size(); ++k) {
    if (k) keys += ", ";
    keys += q(t.columns[t.primary_key[k]].name);
  }
  return keys;
}

string upsert_tail(const table& t) {
  string cols, sets;
  column_lists(t, cols, sets);
  return " ON CONFLICT (" + key_columns(t) + ") DO " +
         (sets.empty() ? "NOTHING" : "UPDATE SET " + sets);
}

}  // namespace

namespace {

// json_array(key values) of the pulled row.
string pulled_key(const table& t) {
  string key = "json_array(";
  for (std::size_t k = 0; k < t.primary_key.size(); ++k) {
    if (k) key += ", ";
    key += pulled_value(t, t.primary_key[k]);
  }
  return key + ")";
}

string rows_from(bool jsonb) {
  return string(" FROM ") + (jsonb ? "jsonb_each" : "json_each") + "(" +
         seg(1) + ") AS j WHERE ";
}

}  // namespace

string pulled_record_sql(const table& t, bool jsonb) {
  string key = "json_array(";
  for (std::size_t k = 0; k < t.primary_key.size(); ++k)
    key += (k ? ", j.value ->> " : "j.value ->> ") + std::to_string(k + 1);
  key += ")";
  return "INSERT INTO " + rows() + " (tbl, pk, version) SELECT " + lit(t.name) +
         ", " + key + ", j.value ->> 0" + rows_from(jsonb) +
         "j.value ->> 0 IS NOT NULL AND " + not_pending(t, key) +
         " ON CONFLICT (tbl, pk) DO UPDATE SET version = excluded.version "
         "WHERE excluded.version >= version";
}

table_apply_sql pulled_sql(const table& t, bool jsonb, bool has_deletes) {
  table_apply_sql out;
  string cols, sets, vals, key_vals, row_object;
  column_lists(t, cols, sets);
  for (std::size_t i = 0; i < t.columns.size(); ++i) {
    if (i) {
      vals += ", ";
      row_object += ", ";
    }
    vals += pulled_value(t, i);
    row_object += lit(t.columns[i].name) + ", " + row_json(i);
  }
  for (std::size_t k = 0; k < t.primary_key.size(); ++k) {
    if (k) key_vals += ", ";
    key_vals += pulled_value(t, t.primary_key[k]);
  }
  const string key = pulled_key(t);
  const string from = rows_from(jsonb);
  string g = not_pending(t, key) + " AND " + not_older(t, key, row_version());
  out.upsert = "INSERT INTO " + q(t.name) + " (" + cols + ") SELECT " + vals +
               from + (has_deletes ? row_deleted() + " = 0 AND " : "") + g +
               upsert_tail(t);
  out.remove = "DELETE FROM " + q(t.name) + " WHERE (" + key_columns(t) +
               ") IN (SELECT " + key_vals + from + row_deleted() + " = 1 AND " +
               g + ")";
  out.record = pulled_record_sql(t, jsonb);
  // Rows of pending keys: the server's truth, kept until the key's queue
  // ends (then reconcile_sql writes it), as the row object sync_base holds.
  // Never lowered to an older version. The rows are only read when the
  // table has pending keys at all (a constant WHERE term would not spare
  // json_each its parse).
  string any_pending = "EXISTS (SELECT 1 FROM " + outbox() +
                       " WHERE tbl = " + lit(t.name) +
                       ") OR EXISTS (SELECT 1 FROM " + base() +
                       " WHERE tbl = " + lit(t.name) + ")";
  out.base = "INSERT INTO " + base() + " (tbl, pk, version, row) SELECT " +
             lit(t.name) + ", " + key + ", " + row_version() + ", CASE WHEN " +
             row_deleted() + " = 1 THEN NULL ELSE json_object(" + row_object +
             ") END FROM " + (jsonb ? "jsonb_each" : "json_each") +
             "(CASE WHEN " + any_pending + " THEN " + seg(1) +
             " ELSE '[]' END) AS j WHERE " + row_version() +
             " IS NOT NULL AND " + pending(t, key) +
             " ON CONFLICT (tbl, pk) DO UPDATE SET version = "
             "excluded.version, row = excluded.row WHERE version IS NULL OR "
             "excluded.version >= version";
  return out;
}

table_purge_sql purge_scope_sql(const table& t) {
  string key = "json_array(";
  for (std::size_t k = 0; k < t.primary_key.size(); ++k)
    key += (k ? ", l." : "l.") + q(t.columns[t.primary_key[k]].name);
  key += ")";
  // Only queued keys stay: a key whose queue just ended (its sync_base row
  // holds the server's answer to this client's own write) is as unreadable
  // now as any other row of the scope, so its base goes too (else the
  // reconciliation would write it back).
  string queued = "EXISTS (SELECT 1 FROM " + outbox() +
                  " o WHERE o.tbl = " + lit(t.name) + " AND o.pk = ";
  const string& scope = t.columns[t.scope_column].name;
  string in_scope = "l." + q(scope) + " = json_extract(?1, '$')";
  string local_keys = "SELECT " + key + " FROM " + q(t.name) + " AS l WHERE " +
                      in_scope + " AND NOT " + queued + key + ")";
  table_purge_sql out;
  out.forget = "DELETE FROM " + rows() + " WHERE tbl = " + lit(t.name) +
               " AND pk IN (" + local_keys + ")";
  out.drop_bases = "DELETE FROM " + base() +
                   " AS b WHERE b.tbl = " + lit(t.name) + " AND NOT " + queued +
                   "b.pk) AND (b.row ->> '$." + scope +
                   "' = json_extract(?1, '$') OR b.pk IN (" + local_keys + "))";
  out.remove = "DELETE FROM " + q(t.name) + " AS l WHERE " + in_scope +
               " AND NOT " + queued + key + ")";
  return out;
}

string base_results_sql() {
  // The server's answer to this client's own change is newer than anything
  // the client knew of the row, so it replaces the base unconditionally.
  return "INSERT INTO " + base() +
         " (tbl, pk, version, row) SELECT value ->> 0, value ->> 1, value ->> "
         "2, CASE WHEN json_type(value, '$[3]') = 'object' THEN value -> 3 END "
         "FROM json_each(" +
         seg(1) +
         ") WHERE true ON CONFLICT (tbl, pk) DO UPDATE SET "
         "version = excluded.version, row = excluded.row";
}

table_reconcile_sql reconcile_sql(const table& t) {
  table_reconcile_sql out;
  string cols, sets, vals, key_vals, key_match, same;
  column_lists(t, cols, sets);
  for (std::size_t i = 0; i < t.columns.size(); ++i) {
    if (i) vals += ", ";
    // Key values from the key itself (it is what the outbox matched).
    auto k = std::find(t.primary_key.begin(), t.primary_key.end(), i);
    if (k != t.primary_key.end()) {
      vals += "json_extract(b.pk, '$[" +
              std::to_string(k - t.primary_key.begin()) + "]')";
    } else {
      string v = row_value(t.columns[i], "b.row", "$.");
      vals += v;
      same += " AND l." + q(t.columns[i].name) + " IS " + v;
    }
  }
  for (std::size_t k = 0; k < t.primary_key.size(); ++k) {
    string v = "json_extract(b.pk, '$[" + std::to_string(k) + "]')";
    if (k) {
      key_vals += ", ";
      key_match += " AND ";
    }
    key_vals += v;
    key_match += "l." + q(t.columns[t.primary_key[k]].name) + " = " + v;
  }
  // Whether the local row differs from the server's: only those are
  // written and reported as changed.
  string differs = "CASE WHEN b.row IS NULL THEN EXISTS (SELECT 1 FROM " +
                   q(t.name) + " AS l WHERE " + key_match +
                   ") ELSE NOT EXISTS (SELECT 1 FROM " + q(t.name) +
                   " AS l WHERE " + key_match + same + ") END";
  string from = " FROM " + base() + " AS b WHERE b.tbl = " + lit(t.name) +
                " AND " + ended("b");
  out.restore = "INSERT INTO " + q(t.name) + " (" + cols + ") SELECT " + vals +
                from + " AND b.row IS NOT NULL AND " + differs + upsert_tail(t);
  out.remove = "DELETE FROM " + q(t.name) + " WHERE (" + key_columns(t) +
               ") IN (SELECT " + key_vals + from + " AND b.row IS NULL)";
  out.listing = "SELECT json_array(b.tbl, b.pk, b.version, json(b.row), " +
                differs + ") AS e" + from;
  return out;
}

string reconcile_versions_sql() {
  return "INSERT INTO " + rows() +
         " (tbl, pk, version) SELECT b.tbl, b.pk, b.version FROM " + base() +
         " AS b WHERE b.version IS NOT NULL AND " + ended("b") +
         " ON CONFLICT (tbl, pk) DO UPDATE SET version = excluded.version "
         "WHERE excluded.version >= version";
}

string reconciled_rows_sql(const std::vector<table_reconcile_sql>& tables) {
  string all;
  for (const auto& r : tables) {
    if (!all.empty()) all += " UNION ALL ";
    all += r.listing;
  }
  if (all.empty()) return "SELECT '[]'";
  return "SELECT json_group_array(json(e)) FROM (" + all + ")";
}

string drop_ended_bases_sql() {
  return "DELETE FROM " + base() + " WHERE " + ended(base());
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
