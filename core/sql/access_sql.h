// The access rule set (schema/access.h) as SQL predicates over PostgreSQL
// rows: what the merge statements test before any conflict policy, and the
// membership lookups the pull joins.
#pragma once

#include <string>

#include "schema/schema.h"

namespace edgesync::sql {

/// `'write', 'admin'`: the role values that grant at least `least`.
std::string roles_from(role least);

/// EXISTS (a live membership of `user` in the scope `scope_key` with at
/// least `least`).
std::string member_exists(const schema& s, const scope_def& d,
                          const std::string& scope_key, role least,
                          const std::string& user);

/// Whether `user` may change (update, or delete when `is_delete`) the
/// existing row `row` of `t` (an alias with server column names).
std::string may_change(const schema& s, const table& t, const std::string& row,
                       bool is_delete, const std::string& user);

/// Whether `user` may pull the existing row `row` of scoped table `t` (an
/// alias with server column names).
std::string may_read(const schema& s, const table& t, const std::string& row,
                     const std::string& user);

/// Whether `user` may insert the new row `row` of `t` (an alias with client
/// column names: the merge input): a write role in its scope, or for a root
/// row a scope nobody is a member of yet.
std::string may_create(const schema& s, const table& t, const std::string& row,
                       const std::string& user);

}  // namespace edgesync::sql
