#include "sql/pg_notify.h"

#include "sql/ddl.h"

namespace edgesync {

namespace {

using std::string;

string q(std::string_view s) { return quote_ident(s); }
string lit(std::string_view s) { return quote_literal(s); }

// Suffixes of the function and triggers; no longer than the pull index's,
// so the names stay within PostgreSQL's 63-byte identifiers.
constexpr const char* fn_suffix = "__es_n";
constexpr const char* insert_suffix = "__es_ni";
constexpr const char* update_suffix = "__es_nu";
constexpr const char* delete_suffix = "__es_nd";

// Transition table names inside the trigger function.
constexpr const char* new_rows = "es_new";
constexpr const char* old_rows = "es_old";

/// `users := <JSON array of the distinct affected users>` over `from`.
string collect(const string& from) {
  return "    SELECT json_agg(DISTINCT a.u)::text INTO users FROM (" + from +
         ") a WHERE a.u IS NOT NULL;\n";
}

/// DROP + CREATE of one statement-level trigger with its transition table.
string trigger(const table& t, const char* suffix, const char* event,
               const string& referencing) {
  string name = q(t.server_name + suffix);
  string tbl = q(t.server_name);
  return "DROP TRIGGER IF EXISTS " + name + " ON " + tbl +
         ";\nCREATE TRIGGER " + name + " AFTER " + event + " ON " + tbl +
         " REFERENCING " + referencing +
         " FOR EACH STATEMENT EXECUTE FUNCTION " +
         q(t.server_name + fn_suffix) + "();\n";
}

}  // namespace

string pg_affected_users(const schema& s, const table& t,
                         std::string_view rows) {
  if (t.access == access_kind::owner)
    return "SELECT " + q(t.columns[t.owner].server_name) + "::text AS u FROM " +
           string(rows);
  const scope_def& d = s.scopes[t.scope];
  const table& m = s.tables[d.members];
  string out = "SELECT es_m." + q(m.columns[d.member_user].server_name) +
               "::text AS u FROM " + q(m.server_name) + " es_m JOIN " +
               string(rows) + " es_r ON es_m." +
               q(m.columns[m.scope_column].server_name) + " = es_r." +
               q(t.columns[t.scope_column].server_name) +
               " WHERE NOT es_m.\"_es_deleted\"";
  if (t.access == access_kind::members)
    out += " UNION ALL SELECT " + q(t.columns[d.member_user].server_name) +
           "::text FROM " + string(rows);
  return out;
}

string pg_notify_triggers(const schema& s, const table& t) {
  string channel = lit(pg_notify_channel);
  string setting = lit(pg_poke_setting);
  // A statement that changed no row (or rows without users) sends nothing;
  // NOTIFY is sent at commit and dropped on rollback, and PostgreSQL folds
  // identical payloads of one transaction into one notification.
  string out =
      "CREATE OR REPLACE FUNCTION " + q(t.server_name + fn_suffix) +
      "() RETURNS trigger LANGUAGE plpgsql AS $es$\n"
      "DECLARE\n  users text;\n  seen text;\nBEGIN\n  IF TG_OP = 'INSERT' "
      "THEN\n" +
      collect(pg_affected_users(s, t, new_rows)) +
      "  ELSIF TG_OP = 'UPDATE' THEN\n" +
      collect(pg_affected_users(s, t, new_rows) + " UNION ALL " +
              pg_affected_users(s, t, old_rows)) +
      "  ELSE\n" + collect(pg_affected_users(s, t, old_rows)) +
      "  END IF;\n  IF users IS NULL THEN RETURN NULL; END IF;\n"
      "  IF octet_length(users) + 6 > " +
      std::to_string(pg_notify_max_payload) + " THEN\n    PERFORM pg_notify(" +
      channel + ", '{\"all\":true}');\n  ELSE\n    PERFORM pg_notify(" +
      channel + ", '{\"u\":' || users || '}');\n  END IF;\n" +
      // The same users, collected for the rest of the transaction.
      "  seen := current_setting(" + setting +
      ", true);\n"
      "  IF seen IS DISTINCT FROM 'all' THEN\n"
      "    IF seen IS NOT NULL AND seen <> '' THEN\n"
      "      SELECT json_agg(DISTINCT v)::text INTO users FROM (SELECT "
      "json_array_elements_text(seen::json) AS v UNION SELECT "
      "json_array_elements_text(users::json)) es_v;\n    END IF;\n"
      "    PERFORM set_config(" +
      setting + ", CASE WHEN octet_length(users) + 6 > " +
      std::to_string(pg_notify_max_payload) +
      " THEN 'all' ELSE users END, true);\n  END IF;\n"
      "  RETURN NULL;\nEND $es$;\n";
  string as_new = string("NEW TABLE AS ") + new_rows;
  string as_old = string("OLD TABLE AS ") + old_rows;
  out += trigger(t, insert_suffix, "INSERT", as_new);
  out += trigger(t, update_suffix, "UPDATE", as_old + " " + as_new);
  out += trigger(t, delete_suffix, "DELETE", as_old);
  return out;
}

}  // namespace edgesync
