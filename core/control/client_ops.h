// The client area's control operations (`client.*`), dispatched by
// edgesync::control. See docs/architecture.md for the operation list.
#pragma once

#include <string>
#include <string_view>

namespace edgesync {

/// Runs a `client.*` operation. Returns false when `op` is not one of them.
bool client_control(std::string_view op, std::string_view input,
                    std::string& out);

/// Forgets every engine and restarts handle numbering (tests, fuzzing).
void client_control_reset();

}  // namespace edgesync
