// Each conflict policy's rule, stated once. The server's merge SQL
// (core/sql/server_postgres.cpp), its answers (core/server/server.cpp) and every test
// oracle (tests/unit/client_sim.cpp, the whole-system simulation through the
// `schema.policies` control operation) read this table; nothing else decides
// who wins.
#pragma once

#include "common/json_util.h"
#include "schema/schema.h"

namespace edgesync {

/// When a change to an existing row of its own user is written.
enum class accept_rule {
  newer_hlc,     ///< its HLC is greater than the row's (ties cannot happen:
                 ///< an HLC carries its device's node id)
  always,        ///< every change is written
  base_version,  ///< the row's version is still the one the change was made on
};

/// What the device is told when its change was not written.
enum class loser_status {
  none,      ///< cannot lose
  conflict,  ///< the server's row stands; the device takes it
  rejected,  ///< the change is refused and rolled back on the device
};

/// One policy's rule.
struct policy_rule {
  conflict_policy policy;
  accept_rule accept;
  /// A change to a live row is merged column by column, each column by its
  /// own clock; `accept` then applies to deletes and to tombstones only.
  bool per_field;
  loser_status loser;
  const char* reason;  ///< the loser's reason ("older", "stale"); "" if none
};

/// The rule of a policy.
const policy_rule& rule_of(conflict_policy p);

/// "none", "conflict" or "rejected".
const char* to_string(loser_status s);

/// {"<policy>": {accept, perField, loser, reason}, …} for every policy: what
/// the `schema.policies` control operation answers.
json policy_rules_json();

}  // namespace edgesync
