// PostgreSQL DDL of the live-poke triggers: after every statement that
// changes a synced table, PostgreSQL itself sends a NOTIFY naming the users
// whose devices should pull, so every write path pokes (the sync endpoint,
// the app's backend, other node hosts). docs/protocol.md, "Live pokes".
#pragma once

#include <string>
#include <string_view>

#include "schema/schema.h"

namespace edgesync {

/// The LISTEN/NOTIFY channel every host listens on.
inline constexpr const char* pg_notify_channel = "edgesync";

/// Largest payload sent as a user list; above it `{"all":true}` is sent
/// (PostgreSQL refuses payloads of 8000 bytes or more).
inline constexpr int pg_notify_max_payload = 7900;

/// A SELECT of one text column `u`: the users whose devices must pull after
/// the rows of transition table `rows` changed: the owners of owned rows;
/// the live members of the rows' scopes; for membership rows also the
/// member themself (a removed member must learn it).
std::string pg_affected_users(const schema& s, const table& t,
                              std::string_view rows);

/// The transaction-local setting collecting the users to poke (a JSON
/// array, or "all"): a host without LISTEN (workerd) reads it at the end of
/// a sync request (sql::pull's `poke`).
inline constexpr const char* pg_poke_setting = "edgesync.poke";

/// Idempotent DDL of the table's notify trigger function and its three
/// statement-level AFTER INSERT / UPDATE / DELETE triggers (PostgreSQL
/// allows transition tables only on single-event triggers).
std::string pg_notify_triggers(const schema& s, const table& t);

}  // namespace edgesync
