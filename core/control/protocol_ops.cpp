// The `protocol.*` control operations (see protocol_ops.h).
#include "control/protocol_ops.h"

#include <cstdint>
#include <optional>

#include "common/json_util.h"
#include "protocol/protocol.h"

namespace edgesync::protocol_ops {

std::string describe(std::string_view /*input*/) {
  return ok_envelope(describe_protocol());
}

std::string error_body(std::string_view input) {
  auto doc = parse_json(input);
  if (!doc) return error_envelope(doc.errors());
  const json& j = doc.value();
  auto errors = j.is_object() ? j.find("errors") : j.end();
  if (!j.is_object() || errors == j.end() || !errors->is_array())
    return error_envelope({error{error_code::invalid_request, "errors",
                                 "expected {\"errors\": [{code, message, "
                                 "path?}…]}"}});
  std::optional<std::int64_t> ssv;
  if (auto v = j.find("serverSchemaVersion");
      v != j.end() && v->is_number_integer())
    ssv = v->get<std::int64_t>();
  return ok_envelope(error_body_json(*errors, ssv));
}

}  // namespace edgesync::protocol_ops
