// The protocol's facts, stated once (docs/protocol.md): its version, the
// configurable limits with their defaults and hard caps, the client-id rule,
// the error codes with their HTTP statuses and the shape of an error body.
// The HLC stamp format lives beside this file in hlc.h. The server and client
// cores use these; the JS hosts read them through the `protocol.describe`
// control operation instead of restating them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json_util.h"
#include "common/result.h"

namespace edgesync {

/// The protocol version this core speaks: every request and response carries
/// it as `protocol`.
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

/// One configurable server limit: its camelCase key, its default and the
/// range a configuration may set it to.
struct limit_spec {
  std::string_view key;
  std::int64_t default_value;
  std::int64_t min;
  std::int64_t max;
};

/// Request bodies above this many bytes are refused with 413.
inline constexpr limit_spec limit_max_body_bytes{
    "maxBodyBytes", std::int64_t{8} << 20, 1024,
    static_cast<std::int64_t>(max_body_bytes_cap)};
/// Batches with more changes are refused with 413.
inline constexpr limit_spec limit_max_changes{"maxChanges", 10000, 1, 1000000};
/// The largest `pageSize` honoured.
inline constexpr limit_spec limit_max_page_size{"maxPageSize", 5000, 1, 100000};
/// The `pageSize` of a request without one (at most maxPageSize).
inline constexpr limit_spec limit_default_page_size{"defaultPageSize", 500, 1,
                                                    100000};
/// Client HLCs further than this ahead of the server clock are clamped.
inline constexpr limit_spec limit_max_clock_skew_ms{"maxClockSkewMs", 60000, 0,
                                                    std::int64_t{1} << 40};
/// Every limit, in the order docs/protocol.md lists them.
inline constexpr const limit_spec* limit_specs[] = {
    &limit_max_body_bytes, &limit_max_changes, &limit_max_page_size,
    &limit_default_page_size, &limit_max_clock_skew_ms};

/// Shortest client id.
inline constexpr std::size_t client_id_min_length = 8;
/// Longest client id (also the longest node of an HLC stamp).
inline constexpr std::size_t client_id_max_length = 64;

/// True for a character a client id (and an HLC node) may hold:
/// [A-Za-z0-9_-].
constexpr bool is_client_id_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/// True for a protocol-valid client id: 8–64 of [A-Za-z0-9_-].
bool is_valid_client_id(std::string_view id);

/// The client-id rule in words: "8-64 characters of [A-Za-z0-9_-]".
std::string client_id_rule();

/// The HTTP status for an error code (400, 401, 403, 409, 413, 500, 503).
int http_status(error_code code);

/// The protocol error body: `{"error": {code, message, path?, errors:
/// [{code, message, path?}…]}, "protocol": 1, "serverSchemaVersion"?}` —
/// `error` repeats the first entry of `errors`. Entries are objects with
/// string `code`, `message` and (when not empty) `path`; hosts use it for
/// their own errors (codes like `not_found` the core never emits).
std::string error_body_json(const json& errors,
                            std::optional<std::int64_t> server_schema_version);

/// The protocol error body for a list of core errors.
std::string error_body(const std::vector<error>& errs,
                       std::optional<std::int64_t> server_schema_version = {});

/// Every fact above (and the HLC format) as one JSON document: the result of
/// the `protocol.describe` control operation.
json describe_protocol();

}  // namespace edgesync
