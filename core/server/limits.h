// What a server accepts: the protocol version it speaks and the size limits
// it enforces before any SQL runs.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/json_util.h"
#include "common/result.h"

namespace edgesync {

/// The protocol version this core speaks (docs/protocol.md).
inline constexpr int protocol_version = 1;

/// The largest `maxBodyBytes` a server accepts: at its peak a request holds
/// about three copies of its body in the core (the body, the merge inputs
/// written while validating, the statement output), so 64 MiB keeps one
/// request near 200 MiB of the WASM build's 2 GiB memory, with room for the
/// other requests in flight.
inline constexpr std::size_t max_body_bytes_cap = std::size_t{64} << 20;

/// The most UTF-8 bytes the text values of one primary key may take
/// together: PostgreSQL refuses a btree index row over 2704 bytes (less for
/// incompressible text), and a key is indexed on the server.
inline constexpr std::size_t max_key_bytes = 1024;

/// Configurable limits; every one is enforced before any SQL runs.
struct server_limits {
  std::size_t max_body_bytes = 8u << 20;  ///< 413 above this
  std::size_t max_changes = 10000;        ///< 413 above this many changes
  int max_page_size = 5000;               ///< upper bound for pageSize
  int default_page_size = 500;  ///< pageSize when the client sends none
  std::int64_t max_clock_skew_ms =
      60000;  ///< client HLCs beyond now+skew are clamped
};

/// Parses limits from JSON (camelCase keys; missing keys keep defaults).
result<server_limits> parse_limits(const json& j);

}  // namespace edgesync
