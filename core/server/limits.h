// The size limits a server enforces before any SQL runs, as configured; their
// defaults and bounds are protocol facts (protocol/protocol.h).
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/json_util.h"
#include "common/result.h"
#include "protocol/protocol.h"

namespace edgesync {

/// Configurable limits; every one is enforced before any SQL runs.
struct server_limits {
  /// 413 above this.
  std::size_t max_body_bytes = limit_max_body_bytes.default_value;
  /// 413 above this many changes.
  std::size_t max_changes = limit_max_changes.default_value;
  /// Upper bound for pageSize.
  int max_page_size = limit_max_page_size.default_value;
  /// pageSize when the client sends none.
  int default_page_size = limit_default_page_size.default_value;
  /// Client HLCs beyond now+skew are clamped.
  std::int64_t max_clock_skew_ms = limit_max_clock_skew_ms.default_value;
};

/// Parses limits from JSON (camelCase keys; missing keys keep defaults).
result<server_limits> parse_limits(const json& j);

}  // namespace edgesync
