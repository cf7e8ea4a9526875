// The protocol's control operations (`protocol.*`): hosts read the
// protocol's facts here instead of restating them. In both WASM builds.
#pragma once

#include <string>
#include <string_view>

namespace edgesync::protocol_ops {

/// `protocol.describe`: version, limits, client-id rule, HLC format and every
/// error code with its HTTP status (core/protocol/protocol.h).
std::string describe(std::string_view input);

/// `protocol.error_body`: {"errors": [{code, message, path?}…],
/// "serverSchemaVersion"?: n} -> the HTTP error body, for errors the hosts
/// answer themselves (auth, 404, 413…), in the core's one shape.
std::string error_body(std::string_view input);

}  // namespace edgesync::protocol_ops
