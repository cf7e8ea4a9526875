// The one operation dispatcher: a table of every operation name and its
// handler. The handlers live with their area (protocol_ops.cpp,
// schema_ops.cpp, client_ops.cpp, server_ops.cpp); the browser build
// (ES_NO_WORKER) keeps only what hosts/client calls (the client operations,
// schema.sqlite_ddl and protocol.*), leaving the server library out; the edge
// worker's build (ES_NO_CLIENT) leaves the client engine out.
#include "control/control.h"

#include <string>

#include "common/json_util.h"
#ifndef ES_NO_CLIENT
#include "control/client_ops.h"
#endif
#include "control/protocol_ops.h"
#include "control/schema_ops.h"
#ifndef ES_NO_WORKER
#include "control/server_ops.h"
#endif

namespace edgesync {

namespace {

// One operation: its name and the handler of its input document.
struct op_entry {
  std::string_view name;
  std::string (*run)(std::string_view input);
};

constexpr op_entry kOps[] = {
    {"protocol.describe", protocol_ops::describe},
    {"protocol.error_body", protocol_ops::error_body},
#ifndef ES_NO_CLIENT
    {"schema.sqlite_ddl", schema_ops::sqlite_ddl},
#endif
#ifndef ES_NO_WORKER
    // Tooling's and the server's: the browser host only installs
    // schema.sqlite_ddl, and each of these would add its code to the
    // download (the browser build leaves them out).
    {"schema.policies", schema_ops::policies},
    {"schema.access", schema_ops::access},
    {"schema.validate", schema_ops::validate},
#ifndef ES_NO_CLIENT
    {"schema.sqlite_migration", schema_ops::sqlite_migration},
#endif
    {"schema.pg_ddl", schema_ops::pg_ddl},
    {"schema.pg_migration", schema_ops::pg_migration},
    {"schema.media_sql", schema_ops::media_sql},
    {"server.open", server_ops::open},
    {"server.begin", server_ops::begin},
    {"server.step", server_ops::step},
    {"server.next", server_ops::next},
    {"server.abort", server_ops::abort},
#endif
#ifndef ES_NO_CLIENT
    {"client.open", client_ops::open},
    {"client.handle", client_ops::handle},
    {"client.status", client_ops::status},
    {"client.reset_sql", client_ops::reset_sql},
    {"client.claim_sql", client_ops::claim_sql},
    {"client.close", client_ops::close},
#endif
};

bool is_client_op(std::string_view op) { return op.substr(0, 7) == "client."; }

}  // namespace

std::string control(std::string_view op, std::string_view input) {
  for (const auto& [name, run] : kOps)
    if (op == name) return run(input);
#ifndef ES_NO_CLIENT
  // The client area answers for its own namespace (naming its operations).
  if (is_client_op(op)) return client_ops::unknown(op, input);
#else
  (void)input;
#endif
  return error_envelope(
      {error{error_code::invalid_request, "op",
             "unknown operation \"" + std::string(op) + "\""}});
}

bool client_control(std::string_view op, std::string_view input,
                    std::string& out) {
  if (!is_client_op(op)) return false;
  out = control(op, input);
  return true;
}

void control_reset() {
#ifndef ES_NO_WORKER
  server_ops::reset();
#endif
#ifndef ES_NO_CLIENT
  client_ops::reset();
#endif
}

}  // namespace edgesync
