// The outcome of a refused request. The status of each error code and the
// protocol error body are protocol facts: protocol/protocol.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "protocol/protocol.h"

namespace edgesync {

/// An HTTP-level outcome of validation: status + error list.
struct request_error {
  int status = 400;
  std::vector<error> errors;
  std::optional<std::int64_t> server_schema_version;  ///< for 409
};

}  // namespace edgesync
