// The set-based SQL of a sync transaction. A constant number of statements
// per table touched, whatever the batch size: each batch of a table arrives
// as one JSON parameter unpacked with jsonb_to_recordset, and every statement
// returns a single text column `j` the core parses (or passes through).
#include "sql/server_postgres.h"

#include <string>

#include "schema/policy.h"
#include "sql/access_sql.h"
#include "sql/ddl.h"
#include "sql/pg_notify.h"

namespace edgesync::sql {

namespace {

using std::string;

string q(std::string_view s) { return quote_ident(s); }
string lit(std::string_view s) { return quote_literal(s); }

// A column of `alias` as the JSON value the protocol sends (client naming
// happens in the caller). Timestamps are normalized to UTC milliseconds.
string out_value(const column& c, const string& alias) {
  string ref = alias + "." + q(c.server_name);
  if (c.type == column_type::timestamp)
    return "to_char(" + ref +
           " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";
  return ref;
}

// json_build_object of the row (or only its key) with client names.
string row_json(const table& t, const string& alias, bool key_only) {
  string out = "json_build_object(";
  bool first = true;
  for (std::size_t i = 0; i < t.columns.size(); ++i) {
    if (key_only && !t.is_pk(i)) continue;
    if (!first) out += ", ";
    first = false;
    out += lit(t.columns[i].name) + ", " + out_value(t.columns[i], alias);
  }
  return out + ")";
}

// x("_es_i" int, …, "clientName" type, …): the recordset definition.
string recordset(const table& t, bool key_only, bool with_changed) {
  string out =
      "jsonb_to_recordset($1::text::jsonb) AS x(\"_es_i\" int, \"_es_h\" text, "
      "\"_es_b\" bigint";
  if (with_changed) out += ", \"_es_c\" jsonb";
  for (std::size_t i = 0; i < t.columns.size(); ++i) {
    if (i == t.owner || (key_only && !t.is_pk(i))) continue;
    out += ", " + q(t.columns[i].name) + " " + pg_type(t.columns[i].type);
  }
  return out + ")";
}

// a."pk_server" = b."pk_client" AND … (client names on the input side).
string key_join(const table& t, const string& server_alias,
                const string& input_alias,
                bool input_uses_server_names = false) {
  string out;
  for (std::size_t k = 0; k < t.primary_key.size(); ++k) {
    const column& c = t.columns[t.primary_key[k]];
    if (k) out += " AND ";
    out += server_alias;
    out += '.';
    out += q(c.server_name);
    out += " = ";
    out += input_alias;
    out += '.';
    out += q(input_uses_server_names ? c.server_name : c.name);
  }
  return out;
}

string hlc_of(const string& alias) {
  return alias + ".\"_es_h\" COLLATE \"C\"";
}

// The policy decision for a change against the locked current row `c` the
// caller may change (absent: a new key, written when `create` holds). A row
// the caller may not change (`f`) is never written: authorization comes
// before any policy.
string accept(const table& t, bool is_delete, const string& create) {
  const policy_rule& r = rule_of(t.policy);
  string cond;
  switch (r.accept) {
    case accept_rule::newer_hlc:
      cond = hlc_of("x") + " > c.\"_es_hlc\"";
      break;
    case accept_rule::always:
      cond = "true";
      break;
    case accept_rule::base_version:
      cond = "x.\"_es_b\" IS NOT DISTINCT FROM c.\"_es_version\"";
      break;
  }
  // Per-column merging happens in the values; a tombstone only yields to a
  // change the row rule accepts.
  if (r.per_field && !is_delete)
    cond = "(NOT c.\"_es_deleted\" OR " + cond + ")";
  if (create == "true")
    return "(f.\"_es_version\" IS NULL AND (c.\"_es_version\" IS NULL OR " +
           cond + "))";
  return "(f.\"_es_version\" IS NULL AND ((c.\"_es_version\" IS NULL AND " +
         create + ") OR (c.\"_es_version\" IS NOT NULL AND " + cond + ")))";
}

// Whether the input's new keys may be created (always for an upsert of an
// owned table; a delete never creates).
string create_rule(const schema& s, const table& t, bool is_delete) {
  return is_delete ? string("true") : may_create(s, t, "x", "$2");
}

// A change the caller may not make: a row they may not change, or a new
// key they may not create.
string refused(const string& create) {
  if (create == "true") return "f.\"_es_version\" IS NOT NULL";
  return "(f.\"_es_version\" IS NOT NULL OR (c.\"_es_version\" IS NULL AND "
         "NOT " +
         create + "))";
}

// Whether lww-field column `name` of the change beats the stored one.
string field_wins(const column& c) {
  return "((d.\"_es_c\" IS NULL OR d.\"_es_c\" ? " + lit(c.name) + ") AND " +
         hlc_of("d") + " > COALESCE(d.\"_es_cur_fh\" ->> " + lit(c.name) +
         ", d.\"_es_cur_hlc\"))";
}

// The per-change result object of a merge statement; `u` is the written set.
// `race`: the key was new at statement start and another transaction
// inserted it since; the server core merges such changes again in a fresh
// statement, which sees (and locks) that row, so the policy decides.
string result_json(const table& t, const string& written_key_col,
                   bool with_row) {
  string written = "u." + written_key_col + " IS NOT NULL";
  // A refused change to a row the caller may still read (a reader's edit in
  // a scope) carries that row: the device rolls back to it.
  bool readable = t.access != access_kind::owner;
  string f_ok = "f.\"_es_readable\"";
  return "json_build_object('i', d.\"_es_i\", 's', CASE WHEN " + written +
         " THEN 'applied' WHEN d.\"_es_foreign\" THEN 'forbidden' WHEN "
         "d.\"_es_cur_v\" IS NULL THEN 'race' ELSE 'lost' END, 'v', "
         "COALESCE(u.\"_es_version\", d.\"_es_cur_v\"" +
         (readable ? ", CASE WHEN " + f_ok + " THEN f.\"_es_version\" END"
                   : string()) +
         "), 'd', " +
         (readable ? "COALESCE(d.\"_es_cur_deleted\", CASE WHEN " + f_ok +
                         " THEN f.\"_es_deleted\" END)"
                   : string("d.\"_es_cur_deleted\"")) +
         ", 'r', CASE WHEN " + written + " THEN " +
         (with_row ? string("u.\"_es_row\"") : string("NULL")) +
         " WHEN d.\"_es_cur_v\" IS NOT NULL AND NOT d.\"_es_cur_deleted\" "
         "THEN " +
         row_json(t, "c", false) +
         (readable ? " WHEN " + f_ok + " AND NOT f.\"_es_deleted\" THEN " +
                         row_json(t, "f", false)
                   : string()) +
         " END)";
}

// The input joined with the locked current rows: the facts every policy needs.
string decided(const schema& s, const table& t, bool is_delete,
               bool field_values) {
  string create = create_rule(s, t, is_delete);
  string out =
      "SELECT x.*, c.\"_es_version\" AS \"_es_cur_v\", c." +
      q(t.columns[t.owner].server_name) +
      " AS \"_es_cur_owner\", c.\"_es_deleted\" AS \"_es_cur_deleted\", "
      "c.\"_es_hlc\" AS \"_es_cur_hlc\", c.\"_es_field_hlc\" AS "
      "\"_es_cur_fh\", c.\"_es_ctid\" AS \"_es_cur_ctid\", " +
      accept(t, is_delete, create) + " AS \"_es_ok\", " + refused(create) +
      " AS \"_es_foreign\"";
  if (field_values) {
    for (std::size_t i = 0; i < t.columns.size(); ++i)
      out += ", c." + q(t.columns[i].server_name) + " AS \"_es_k" +
             std::to_string(i) + "\"";
  }
  return out + " FROM x LEFT JOIN c ON " + key_join(t, "c", "x") +
         " LEFT JOIN f ON " + key_join(t, "f", "x");
}

// The primary key columns of `alias`, in key order (server names).
string key_list(const table& t, const string& alias, bool client_names) {
  string out;
  for (std::size_t k = 0; k < t.primary_key.size(); ++k) {
    const column& c = t.columns[t.primary_key[k]];
    if (k) out += ", ";
    out += alias + "." + q(client_names ? c.name : c.server_name);
  }
  return out;
}

// Whether the caller may change the existing row `t` through this input:
// the access rule, and for an upsert of a scoped row the same scope (a
// row's scope never changes, like its key).
string changeable(const schema& s, const table& t, bool is_delete) {
  string out = may_change(s, t, "t", is_delete, "$2");
  if (t.access != access_kind::owner && !is_delete)
    out += " AND t." + q(t.columns[t.scope_column].server_name) +
           " IS NOT DISTINCT FROM x." + q(t.columns[t.scope_column].name);
  return out;
}

// The stored row of each input key, found through the primary key one key
// at a time: a LATERAL subquery that cannot be flattened (OFFSET 0, or a
// locking clause) is always a nested loop over the input, so the cost is
// O(batch) whatever the statistics say. As a join the planner may hash all
// of a user's rows instead (estimates are stale after a bulk load, and a
// heavy user is far from the average): 59,000 rows scanned per 1000-row
// push measured before this form. The filter is tested as `(…) IS TRUE`
// (the same rows: NULL is not true), which no index can answer, so the
// primary key stays the only index the probe can use (an owner test tied
// with it on a plan made for a nearly empty table, and the owner index was
// then read once per key).
string per_key(const table& t, const string& filter, const string& lock,
               const string& extra = string()) {
  return "(SELECT t.*" + extra + " FROM " + q(t.server_name) + " t WHERE " +
         key_join(t, "t", "x") +
         (filter.empty() ? "" : " AND (" + filter + ") IS TRUE") +
         (lock.empty() ? " OFFSET 0" : lock) + ") t";
}

// The rows among the input's keys the caller may change, locked in
// primary-key order: two batches touching the same rows lock them in the
// same order (no deadlock), and rows the caller may not change are never
// locked. The input is sorted first (OFFSET 0 keeps that sort) and a
// nested loop keeps its outer order, so the per-key locks are taken in key
// order. Each row's ctid comes along: a statement that writes the locked
// rows again finds them by it (a TID scan per row), not by a join the
// planner could answer with a scan of the user's rows.
string locked_current(const string& changeable_sql, const table& t) {
  return "SELECT t.* FROM (SELECT * FROM x ORDER BY " + key_list(t, "x", true) +
         " OFFSET 0) x CROSS JOIN LATERAL " +
         per_key(t, changeable_sql, " FOR UPDATE OF t",
                 ", t.ctid AS \"_es_ctid\"");
}

// The other rows among the input's keys (read, never locked): such a
// change is refused before any policy is consulted.
string foreign_rows(const schema& s, const string& changeable_sql,
                    const table& t) {
  string other =
      t.access == access_kind::owner
          ? "t." + q(t.columns[t.owner].server_name) + " IS DISTINCT FROM $2"
          : "NOT COALESCE(" + changeable_sql + ", false)";
  string readable =
      t.access == access_kind::owner
          ? string()
          : ", " + may_read(s, t, "t", "$2") + " AS \"_es_readable\"";
  return "SELECT t.*" + readable + " FROM x CROSS JOIN LATERAL " +
         per_key(t, string(), string()) + " WHERE " + other;
}

// The refused rows' join in a merge statement's answer (see result_json).
string join_refused(const table& t) {
  return t.access == access_kind::owner
             ? string()
             : " LEFT JOIN f ON " + key_join(t, "f", "d");
}

// The column a concurrent insert of the same new key must agree on before
// an upsert overwrites it: the owner, or the scope of a scoped row.
const column& guard_column(const table& t) {
  return t.columns[t.access == access_kind::owner ? t.owner : t.scope_column];
}

string first_key(const table& t) {
  return q(t.columns[t.primary_key[0]].server_name);
}

}  // namespace

string upsert(const schema& s, const table& t) {
  bool lwwf = t.policy == conflict_policy::lww_field;
  string cols, vals, sets;
  for (std::size_t i = 0; i < t.columns.size(); ++i) {
    const column& c = t.columns[i];
    if (i) {
      cols += ", ";
      vals += ", ";
    }
    cols += q(c.server_name);
    if (i == t.owner) {
      vals += "$2";
      continue;
    }
    string incoming = "d." + q(c.name);
    if (lwwf && !t.is_pk(i)) {
      vals += "CASE WHEN d.\"_es_cur_v\" IS NULL OR d.\"_es_cur_deleted\" OR " +
              field_wins(c) + " THEN " + incoming + " ELSE d.\"_es_k" +
              std::to_string(i) + "\" END";
    } else {
      vals += incoming;
    }
    if (!t.is_pk(i)) {
      if (!sets.empty()) sets += ", ";
      sets += q(c.server_name) + " = EXCLUDED." + q(c.server_name);
    }
  }
  string hlc = hlc_of("d");
  string field_hlc = "'{}'::jsonb";
  if (lwwf) {
    hlc = "CASE WHEN d.\"_es_cur_v\" IS NULL OR d.\"_es_cur_deleted\" THEN " +
          hlc_of("d") + " ELSE GREATEST(" + hlc_of("d") +
          ", d.\"_es_cur_hlc\") END";
    // Every column carries its own clock from the first write on, so a later
    // edit of one column never makes the others look newer than they are.
    string won, all;
    for (std::size_t i = 0; i < t.columns.size(); ++i) {
      if (i == t.owner || t.is_pk(i)) continue;
      if (!won.empty()) {
        won += ", ";
        all += ", ";
      }
      won += lit(t.columns[i].name) + ", CASE WHEN " +
             field_wins(t.columns[i]) + " THEN d.\"_es_h\" END";
      all += lit(t.columns[i].name) + ", d.\"_es_h\"";
    }
    field_hlc =
        "CASE WHEN d.\"_es_cur_v\" IS NULL OR d.\"_es_cur_deleted\" THEN " +
        (all.empty() ? string("'{}'::jsonb")
                     : "jsonb_build_object(" + all + ")");
    field_hlc += won.empty() ? " ELSE d.\"_es_cur_fh\" END"
                             : " ELSE d.\"_es_cur_fh\" || "
                               "jsonb_strip_nulls(jsonb_build_object(" +
                                   won + ")) END";
  }
  if (!sets.empty()) sets += ", ";
  // The version guard stops a concurrent insert of the same new key from
  // overwriting the row it raced with; it is reported as 'race' and merged
  // again (see result_json).
  sets +=
      "\"_es_version\" = nextval('edgesync_version_seq'), \"_es_xid\" = "
      "EXCLUDED.\"_es_xid\", "
      "\"_es_deleted\" = false, \"_es_hlc\" = EXCLUDED.\"_es_hlc\", "
      "\"_es_field_hlc\" = "
      "EXCLUDED.\"_es_field_hlc\", \"_es_origin\" = EXCLUDED.\"_es_origin\", "
      "\"_es_updated_at\" = EXCLUDED.\"_es_updated_at\"";
  string returning = "t." + first_key(t) + " AS \"_es_key\", t.\"_es_version\"";
  for (std::size_t k = 0; k < t.primary_key.size(); ++k)
    returning += ", t." + q(t.columns[t.primary_key[k]].server_name);
  // The stored row goes back with `applied` when it may differ from the one
  // sent: lww-field merges columns, and a shared row keeps its creator in
  // the owner column (the server never takes the owner a device sends).
  bool with_row = lwwf || t.access != access_kind::owner;
  if (with_row) returning += ", " + row_json(t, "t", false) + " AS \"_es_row\"";

  string may = changeable(s, t, false);
  string pkcols;
  for (std::size_t k = 0; k < t.primary_key.size(); ++k) {
    if (k) pkcols += ", ";
    pkcols += q(t.columns[t.primary_key[k]].server_name);
  }
  return "WITH x AS (SELECT * FROM " + recordset(t, false, true) + "), c AS (" +
         locked_current(may, t) + "), f AS (" + foreign_rows(s, may, t) +
         "), d AS (" + decided(s, t, false, lwwf) + "), u AS (INSERT INTO " +
         q(t.server_name) + " AS t (" + cols +
         ", \"_es_version\", \"_es_xid\", \"_es_deleted\", \"_es_hlc\", "
         "\"_es_field_hlc\", "
         "\"_es_origin\", \"_es_updated_at\") SELECT " +
         vals +
         ", COALESCE(d.\"_es_cur_v\", nextval('edgesync_version_seq')), "
         "pg_current_xact_id(), false, " +
         hlc + ", " + field_hlc +
         // New keys are inserted in key order too (concurrent inserts of
         // the same keys wait on each other in one order).
         ", $3, now() FROM d WHERE d.\"_es_ok\" ORDER BY " +
         key_list(t, "d", true) + " ON CONFLICT (" + pkcols +
         ") DO UPDATE SET " + sets +
         " WHERE t.\"_es_version\" = EXCLUDED.\"_es_version\" AND t." +
         q(guard_column(t).server_name) + " = EXCLUDED." +
         q(guard_column(t).server_name) + " RETURNING " + returning +
         ") SELECT COALESCE(json_agg(" +
         result_json(t, "\"_es_key\"", with_row) +
         "), '[]')::text AS j FROM d LEFT JOIN u ON " + key_join(t, "u", "d") +
         // The current row is built only for the changes that lost.
         " LEFT JOIN c ON " + key_join(t, "c", "d") + join_refused(t);
}

// A stand-in for a NOT NULL column of a tombstone nobody wrote a value for
// (tombstones travel as their key only; a write that revives the row sets
// every column).
string tombstone_filler(const column& c) {
  switch (c.type) {
    case column_type::integer:
    case column_type::real:
      return "0";
    case column_type::boolean:
      return "false";
    case column_type::timestamp:
      return "to_timestamp(0)";
    case column_type::json_doc:
      return "'null'::jsonb";
    case column_type::text:
    case column_type::blob_ref:
      break;
  }
  return "''";
}

string remove(const schema& s, const table& t) {
  string may = changeable(s, t, true);
  string keys;
  for (std::size_t k = 0; k < t.primary_key.size(); ++k)
    keys += ", t." + q(t.columns[t.primary_key[k]].server_name);
  string returning = " RETURNING t." + first_key(t) +
                     " AS \"_es_key\", t.\"_es_version\"" + keys;
  // Under a clock-ordered rule a delete must be remembered even when the
  // server has no row yet: another device's older insert of the key may
  // still be on its way, and must lose to it. The delete then leaves a
  // tombstone of its own (a concurrent insert of the key makes it `race`
  // and merge again, like an upsert).
  // (A scoped row's tombstone would need its scope, which a delete does not
  // carry: there a delete of a key the server never had is only answered.)
  bool remember = rule_of(t.policy).accept == accept_rule::newer_hlc &&
                  t.access == access_kind::owner;
  string blind;
  if (remember) {
    string cols, vals;
    for (std::size_t i = 0; i < t.columns.size(); ++i) {
      const column& c = t.columns[i];
      bool key = t.is_pk(i);
      if (!key && i != t.owner && c.nullable) continue;
      cols += q(c.server_name) + ", ";
      vals += key            ? "d." + q(c.name) + ", "
              : i == t.owner ? string("$2, ")
                             : tombstone_filler(c) + ", ";
    }
    blind = "), n AS (INSERT INTO " + q(t.server_name) + " AS t (" + cols +
            "\"_es_version\", \"_es_xid\", \"_es_deleted\", \"_es_hlc\", "
            "\"_es_origin\", \"_es_updated_at\") SELECT " +
            vals +
            "nextval('edgesync_version_seq'), pg_current_xact_id(), true, " +
            hlc_of("d") +
            ", $3, now() FROM d WHERE d.\"_es_cur_v\" IS NULL AND NOT "
            "d.\"_es_foreign\" ORDER BY " +
            key_list(t, "d", true) + " ON CONFLICT DO NOTHING" + returning +
            "), u AS (SELECT * FROM u0 UNION ALL SELECT * FROM n";
  }
  // An accepted delete of a tombstone writes too: its clock is raised, so an
  // older change arriving later cannot resurrect the row.
  return "WITH x AS (SELECT * FROM " + recordset(t, true, false) + "), c AS (" +
         locked_current(may, t) + "), f AS (" + foreign_rows(s, may, t) +
         "), d AS (" + decided(s, t, true, false) + "), " +
         (remember ? "u0" : "u") + " AS (UPDATE " + q(t.server_name) +
         " t SET \"_es_deleted\" = true, \"_es_version\" = "
         "nextval('edgesync_version_seq'), "
         "\"_es_xid\" = pg_current_xact_id(), \"_es_hlc\" = "
         "GREATEST(t.\"_es_hlc\", " +
         hlc_of("d") +
         "), \"_es_origin\" = $3, \"_es_updated_at\" = now() FROM d WHERE "
         // The rows are the ones `c` locked, found by their ctids alone (a
         // TID scan per row: a key join offers the planner a whole-index
         // scan, an owner test the owner index, and a plan kept from a
         // nearly empty table then read every row). A row with a current
         // version is one `c` locked as changeable: no access test again.
         "t.ctid = d.\"_es_cur_ctid\" AND d.\"_es_ok\" AND d.\"_es_cur_v\" IS "
         "NOT NULL" +
         returning + blind +
         // A delete of a row already deleted by a newer change is done: the
         // device wanted it gone. So is (under other rules) a delete of a key
         // the server never had.
         ") SELECT COALESCE(json_agg(CASE WHEN u.\"_es_key\" IS NULL AND NOT "
         "d.\"_es_foreign\" AND (" +
         (remember
              ? string("d.\"_es_cur_deleted\"")
              : string("d.\"_es_cur_v\" IS NULL OR d.\"_es_cur_deleted\"")) +
         ") THEN json_build_object('i', d.\"_es_i\", "
         "'s', 'applied', 'v', d.\"_es_cur_v\", 'd', true, 'r', NULL) ELSE " +
         result_json(t, "\"_es_key\"", false) +
         " END), '[]')::text AS j FROM d LEFT JOIN c ON " +
         key_join(t, "c", "d") + " LEFT JOIN u ON " + key_join(t, "u", "d") +
         join_refused(t);
}

string lock_keys(const schema& s, const table& t) {
  string cols;
  for (std::size_t k = 0; k < t.primary_key.size(); ++k) {
    const column& c = t.columns[t.primary_key[k]];
    cols += (k ? ", " : "") + q(c.name) + " " + pg_type(c.type);
  }
  string keys = key_list(t, "y", true);
  return "WITH x AS (SELECT " + keys +
         " FROM jsonb_to_recordset($1::text::jsonb) AS y(" + cols +
         ") UNION SELECT " + keys +
         " FROM jsonb_to_recordset($3::text::jsonb) AS y(" + cols +
         ")), c AS (" +
         // Every row a later merge statement of this table may lock.
         locked_current(t.access == access_kind::owner
                            ? may_change(s, t, "t", false, "$2")
                            : "(" + may_change(s, t, "t", false, "$2") +
                                  " OR " + may_change(s, t, "t", true, "$2") +
                                  ")",
                        t) +
         ") SELECT count(*)::text AS j FROM c";
}

namespace {

// One change of a pull page, as the protocol sends it; `revoked` marks the
// caller's own ended membership.
string change_json(const table& t, bool revoked) {
  return "json_build_object('table', " + lit(t.name) +
         ", 'op', CASE WHEN x.\"_es_deleted\" THEN 'delete' ELSE 'upsert' "
         "END, 'version', x.\"_es_version\", 'row', CASE WHEN "
         "x.\"_es_deleted\" THEN " +
         row_json(t, "x", true) + " ELSE " + row_json(t, "x", false) + " END" +
         (revoked ? ", 'revoked', true" : "") + ")";
}

// A change's position in the pull is (xid, version, row), compared as a
// tuple: a row at its own write (row = version); a row a membership made
// visible (a backfill) at the membership's write, ordered by its version.
// This: after the cursor, before the page's upper bound, not the caller's
// own (a row positioned at its own write, where row = version, needs only
// the first two parts: versions are unique).
string fresh(const string& alias, bool skip_own) {
  string pos = "(" + alias + ".\"_es_xid\", " + alias + ".\"_es_version\")";
  return pos + " > ($2::xid8, $3::bigint) AND " + pos +
         " < ((SELECT ux FROM ub), (SELECT uv FROM ub))" +
         (skip_own ? " AND " + alias + ".\"_es_origin\" IS DISTINCT FROM $4"
                   : "");
}

string own_rows(const table& t) {
  return "(SELECT x.\"_es_xid\" AS xid, x.\"_es_version\" AS v, "
         "x.\"_es_version\" AS r, " +
         change_json(t, false) + " AS c FROM " + q(t.server_name) +
         " x WHERE x." + q(t.columns[t.owner].server_name) + " = $1 AND " +
         fresh("x", true) +
         " ORDER BY x.\"_es_xid\", x.\"_es_version\" LIMIT $5::int)";
}

// Rows written after the caller joined their scope (index ranges per
// membership).
string scope_rows(const schema& s, const table& t) {
  const scope_def& d = s.scopes[t.scope];
  const table& m = s.tables[d.members];
  return "(SELECT x.\"_es_xid\" AS xid, x.\"_es_version\" AS v, "
         "x.\"_es_version\" AS r, " +
         change_json(t, false) + " AS c FROM " + q(m.server_name) + " m JOIN " +
         q(t.server_name) + " x ON x." +
         q(t.columns[t.scope_column].server_name) + " = m." +
         q(m.columns[m.scope_column].server_name) + " WHERE m." +
         q(m.columns[d.member_user].server_name) +
         " = $1 AND NOT m.\"_es_deleted\" AND " + fresh("x", true) +
         " AND (x.\"_es_xid\", x.\"_es_version\") > (m.\"_es_xid\", "
         "m.\"_es_version\") ORDER BY x.\"_es_xid\", x.\"_es_version\" LIMIT "
         "$5::int)";
}

// The backfill: every row of the scope being joined (`b`) up to the
// membership's write, however old, paged by version. The caller's own
// rows are included: a device that left the scope no longer has them.
string backfill_rows(const schema& s, const table& t) {
  const scope_def& d = s.scopes[t.scope];
  const column& sc = t.columns[t.scope_column];
  return "(SELECT b.gx AS xid, b.gv AS v, x.\"_es_version\" AS r, " +
         change_json(t, false) + " AS c FROM b JOIN " + q(t.server_name) +
         " x ON b.sc = " + lit(d.name) + " AND x." + q(sc.server_name) +
         " = b.k::" + pg_type(sc.type) +
         " WHERE (x.\"_es_xid\", x.\"_es_version\") <= (b.gx, b.gv) AND "
         "((b.gx, b.gv) > ($2::xid8, $3::bigint) OR x.\"_es_version\" > "
         "(SELECT cr FROM s)) ORDER BY x.\"_es_version\" LIMIT $5::int)";
}

// The caller's own deleted memberships: how their devices learn they left
// a scope (marked `revoked`: the device removes the scope's rows).
string revoked_rows(const schema& s, const scope_def& d) {
  const table& m = s.tables[d.members];
  return "(SELECT x.\"_es_xid\" AS xid, x.\"_es_version\" AS v, "
         "x.\"_es_version\" AS r, " +
         change_json(m, true) + " AS c FROM " + q(m.server_name) +
         " x WHERE x." + q(m.columns[d.member_user].server_name) +
         " = $1 AND x.\"_es_deleted\" AND " + fresh("x", false) +
         " ORDER BY x.\"_es_xid\", x.\"_es_version\" LIMIT $5::int)";
}

// The caller's live memberships at or after the cursor: the first is the
// scope to backfill, the second bounds the page.
string pending_grants(const schema& s) {
  string out;
  for (const scope_def& d : s.scopes) {
    const table& m = s.tables[d.members];
    if (!out.empty()) out += " UNION ALL ";
    out += "SELECT " + lit(d.name) + "::text AS sc, m." +
           q(m.columns[m.scope_column].server_name) +
           "::text AS k, m.\"_es_xid\" AS gx, m.\"_es_version\" AS gv FROM " +
           q(m.server_name) + " m, s WHERE m." +
           q(m.columns[d.member_user].server_name) +
           " = $1 AND NOT m.\"_es_deleted\" AND (m.\"_es_xid\", "
           "m.\"_es_version\") >= ($2::xid8, $3::bigint) AND m.\"_es_xid\" < "
           "s.xmin";
  }
  return out;
}

}  // namespace

string pull(const schema& s) {
  string branches;
  auto add = [&branches](const string& b) {
    if (!branches.empty()) branches += " UNION ALL ";
    branches += b;
  };
  for (const table& t : s.tables) {
    if (t.access == access_kind::owner) {
      add(own_rows(t));
    } else {
      add(scope_rows(s, t));
      add(backfill_rows(s, t));
    }
  }
  for (const scope_def& d : s.scopes) add(revoked_rows(s, d));
  // One statement, one snapshot: the rows and the xmin bounding them must
  // come from the same snapshot or a row could slip behind the cursor. A
  // page also stops before the second pending membership, so one scope is
  // backfilled at a time and nothing after it is delivered first.
  string grants = s.scopes.empty()
                      ? string(
                            "SELECT NULL::text AS sc, NULL::text AS k, "
                            "NULL::xid8 AS gx, NULL::bigint AS gv WHERE "
                            "false")
                      : pending_grants(s);
  // ($6, the cursor's row, is typed here: a schema without scopes does not
  // read it.)
  return "WITH s AS MATERIALIZED (SELECT "
         "pg_snapshot_xmin(pg_current_snapshot()) AS xmin, $6::bigint AS cr), "
         "g AS MATERIALIZED (SELECT * FROM (" +
         grants +
         ") g0 ORDER BY gx, gv LIMIT 2), "
         "b AS MATERIALIZED (SELECT * FROM g ORDER BY gx, gv LIMIT 1), "
         "ub AS MATERIALIZED (SELECT COALESCE(g2.gx, s.xmin) AS ux, "
         "COALESCE(g2.gv, 0) AS uv FROM s LEFT JOIN (SELECT gx, gv FROM g "
         "ORDER BY gx, gv OFFSET 1) g2 ON true), "
         "p AS (" +
         branches +
         "), q AS (SELECT xid, v, r, c, row_number() OVER (ORDER BY xid, v, "
         "r) AS n FROM (SELECT * FROM p ORDER BY xid, v, r LIMIT $5::int) "
         "p2) SELECT COALESCE((SELECT json_agg(c ORDER BY n) FROM q WHERE n < "
         "$5::int), '[]'::json)::text || chr(10) || json_build_object('xmin', "
         "(SELECT ux FROM ub)::text, 'uv', (SELECT uv FROM ub), 'n', (SELECT "
         "count(*) FROM q), 'lx', (SELECT xid::text FROM q WHERE n = $5::int "
         "- 1), 'lv', (SELECT v FROM q WHERE n = $5::int - 1), 'lr', (SELECT "
         "r FROM q WHERE n = $5::int - 1), 'poke', (SELECT CASE WHEN p = 'all' "
         "THEN json_build_object('all', true) WHEN p <> '' THEN "
         "json_build_object('u', p::json) END FROM (SELECT current_setting(" +
         lit(pg_poke_setting) + ", true) AS p) es_p))::text AS j";
}

}  // namespace edgesync::sql
