// Who may read and write a row, stated once. Every table is either owned by
// one user or belongs to a scope (e.g. a project) whose membership table
// grants roles; the server's merge and pull SQL (core/sql/access_sql.cpp)
// and the documentation (docs/protocol.md, "Scopes and roles") follow this
// table and nothing else.
#pragma once

#include <optional>
#include <string_view>

#include "common/json_util.h"

namespace edgesync {

/// A member's role in a scope; each grants what the ones before it do.
enum class role {
  read,   ///< pulls the scope's rows
  write,  ///< also writes its rows
  admin,  ///< also changes membership and deletes the scope's root row
};

/// How a table's rows are authorized.
enum class access_kind {
  owner,    ///< a row belongs to the user in its owner column
  scoped,   ///< a row belongs to the scope named by its scope column
  root,     ///< the scope's own row (its key is the scope key)
  members,  ///< a membership row (scope key, user, role)
};

/// The rule of one access kind (unused for `owner`: owner equality).
struct access_rule {
  access_kind kind;
  role to_read;    ///< least role to pull a row
  role to_write;   ///< least role to insert or update a row
  role to_delete;  ///< least role to delete a row
  /// A user may delete their own membership row (leave the scope).
  bool may_leave;
  /// A user may insert a row whose scope nobody is a member of yet (a new
  /// scope); they become its admin in the same transaction.
  bool creates_scope;
};

/// The rule of an access kind.
const access_rule& access_of(access_kind k);

/// "read", "write" or "admin".
const char* to_string(role r);

/// The role a membership row's role value names, if any.
std::optional<role> parse_role(std::string_view s);

/// "owner", "scoped", "root" or "members".
const char* to_string(access_kind k);

/// {"<kind>": {read, write, delete, mayLeave, createsScope}, …}: what the
/// `schema.access` control operation answers (the simulation's oracle).
json access_rules_json();

}  // namespace edgesync
