// The client area's control operations (`client.*`): the handler of each,
// called by the one operation table in control.cpp. See docs/architecture.md
// ("Control operations") for the operation list.
#pragma once

#include <string>
#include <string_view>

namespace edgesync {

/// Runs a `client.*` operation through the dispatcher (control.cpp). Returns
/// false when `op` is not one of them.
bool client_control(std::string_view op, std::string_view input,
                    std::string& out);

namespace client_ops {

/// `client.open`: frame {schema, config?, seed, clientId?, online?, now} ->
/// {client} + the first effects.
std::string open(std::string_view input);

/// `client.handle`: frame {client, type, now, …} + segments -> effects.
std::string handle(std::string_view input);

/// `client.status`: frame {client} -> {status}.
std::string status(std::string_view input);

/// `client.reset_sql`: frame {schema} -> {tx: true, statements} (a `sql`
/// effect's shape, without id): what empties the local database for a new
/// user (sql/client_sqlite.h reset_sql). Needs no engine.
std::string reset_sql(std::string_view input);

/// `client.claim_sql`: frame {schema, user} -> {tx: true, statements}: what
/// gives rows written signed out (owner '') to `user` (sql/client_sqlite.h
/// claim_sql). Needs no engine.
std::string claim_sql(std::string_view input);

/// `client.close`: frame {client} -> {} (the engine is forgotten).
std::string close(std::string_view input);

/// Any other `client.*` name: an error frame naming the client operations.
std::string unknown(std::string_view op, std::string_view input);

/// Forgets every engine and restarts handle numbering (tests, fuzzing).
void reset();

}  // namespace client_ops

}  // namespace edgesync
