// The HTTP face of errors: the status of each error code and the protocol
// error body (docs/protocol.md, "Errors").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace edgesync {

/// An HTTP-level outcome of validation: status + error list.
struct request_error {
  int status = 400;
  std::vector<error> errors;
  std::optional<std::int64_t> server_schema_version;  ///< for 409
};

/// The HTTP status for an error code (400, 401, 403, 409, 413, 500).
int http_status(error_code code);

/// The protocol error body for a list of errors.
std::string error_body(const std::vector<error>& errs,
                       std::optional<std::int64_t> server_schema_version = {});

}  // namespace edgesync
