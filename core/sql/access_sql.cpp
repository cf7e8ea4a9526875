#include "sql/access_sql.h"

namespace edgesync::sql {

namespace {

using std::string;

string q(std::string_view s) { return quote_ident(s); }

}  // namespace

string roles_from(role least) {
  string out;
  for (role r : {role::read, role::write, role::admin}) {
    if (r < least) continue;
    if (!out.empty()) out += ", ";
    out += quote_literal(to_string(r));
  }
  return out;
}

string member_exists(const schema& s, const scope_def& d,
                     const string& scope_key, role least, const string& user) {
  const table& m = s.tables[d.members];
  return "EXISTS (SELECT 1 FROM " + q(m.server_name) + " es_m WHERE es_m." +
         q(m.columns[m.scope_column].server_name) + " = " + scope_key +
         " AND es_m." + q(m.columns[d.member_user].server_name) + " = " + user +
         " AND NOT es_m.\"_es_deleted\" AND es_m." +
         q(m.columns[d.member_role].server_name) + " IN (" + roles_from(least) +
         "))";
}

namespace {

// `row` (server column names) by the table's access: its owner is `user`,
// or `user` has at least `least` in its scope, or (`own_membership`) it is
// `user`'s own membership row.
string scope_access(const schema& s, const table& t, const string& row,
                    role least, bool own_membership, const string& user) {
  if (t.access == access_kind::owner)
    return row + "." + q(t.columns[t.owner].server_name) + " = " + user;
  const scope_def& d = s.scopes[t.scope];
  string out = member_exists(
      s, d, row + "." + q(t.columns[t.scope_column].server_name), least, user);
  if (own_membership)
    out = "(" + out + " OR " + row + "." +
          q(t.columns[d.member_user].server_name) + " = " + user + ")";
  return out;
}

}  // namespace

string may_change(const schema& s, const table& t, const string& row,
                  bool is_delete, const string& user) {
  const access_rule& r = access_of(t.access);
  return scope_access(s, t, row, is_delete ? r.to_delete : r.to_write,
                      is_delete && r.may_leave, user);
}

string may_read(const schema& s, const table& t, const string& row,
                const string& user) {
  // A member always sees their own membership row.
  return scope_access(s, t, row, access_of(t.access).to_read,
                      t.access == access_kind::members, user);
}

string may_create(const schema& s, const table& t, const string& row,
                  const string& user) {
  if (t.access == access_kind::owner) return "true";
  const access_rule& r = access_of(t.access);
  const scope_def& d = s.scopes[t.scope];
  string key = row + "." + q(t.columns[t.scope_column].name);
  string out = member_exists(s, d, key, r.to_write, user);
  if (r.creates_scope) {
    const table& m = s.tables[d.members];
    out = "(" + out + " OR NOT EXISTS (SELECT 1 FROM " + q(m.server_name) +
          " es_n WHERE es_n." + q(m.columns[m.scope_column].server_name) +
          " = " + key + " AND NOT es_n.\"_es_deleted\"))";
  }
  return out;
}

}  // namespace edgesync::sql
