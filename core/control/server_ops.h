// The worker area's control operations (`worker.*`), dispatched by
// edgesync::control. See docs/architecture.md for the operation list.
#pragma once

#include <string>
#include <string_view>

namespace edgesync {

/// Runs a `worker.*` operation. Returns false when `op` is not one of them.
bool worker_control(std::string_view op, std::string_view input,
                    std::string& out);

/// Forgets every server and restarts handle numbering (tests, fuzzing).
void worker_control_reset();

}  // namespace edgesync
