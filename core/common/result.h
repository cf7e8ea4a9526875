// Errors as values: every fallible core function returns result<T>.
#pragma once

#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace edgesync {

/// Stable, documented error codes. The string form (to_string) is the
/// machine-readable `code` carried in HTTP error bodies and JS exceptions.
enum class error_code {
  ok = 0,
  invalid_json,         ///< input is not well-formed JSON
  invalid_schema,       ///< the schema document breaks a rule; see path
  invalid_request,      ///< a request field is missing or has the wrong shape
  unknown_table,        ///< a change names a table the schema does not sync
  unknown_column,       ///< a row carries a column the table does not have
  type_mismatch,        ///< a value does not match its column type
  value_out_of_range,   ///< a well-typed value PostgreSQL cannot store
  missing_primary_key,  ///< a change lacks (part of) the primary key
  duplicate_row,        ///< two changes in one batch target the same row
  schema_version_mismatch,  ///< client and server schema versions differ
  destructive_migration,    ///< a schema change would drop or alter data
  payload_too_large,        ///< body or batch exceeds the configured limit
  client_id_conflict,       ///< the client id belongs to another user
  unauthorized,             ///< missing or invalid credentials (hosts only)
  internal,                 ///< a bug or an unexpected database answer
  unavailable,  ///< transient (database down, contention): retry with backoff
};

/// The stable snake_case name of an error code.
const char* to_string(error_code code);

/// One error: a code, the JSON path of the offending field, and a message.
struct error {
  error_code code = error_code::internal;
  std::string path;     ///< e.g. `tables[2].columns[1].type`; empty if none
  std::string message;  ///< human-readable reason, says what to do next

  /// `path: message`, or just the message when there is no path.
  std::string to_string() const;
};

/// A value or one or more errors (validation reports all it finds).
template <typename T>
class result {
 public:
  // Implicit on purpose: `return value;` and `return error{…};` are how a
  // fallible function answers.
  // NOLINTNEXTLINE(google-explicit-constructor)
  result(T value) : v_(std::move(value)) {}
  // NOLINTNEXTLINE(google-explicit-constructor)
  result(error e) : v_(std::vector<error>{std::move(e)}) {}
  // NOLINTNEXTLINE(google-explicit-constructor)
  result(std::vector<error> errs) : v_(std::move(errs)) {}

  /// True when a value is held.
  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  /// The value; only valid when ok().
  T& value() { return std::get<T>(v_); }
  const T& value() const { return std::get<T>(v_); }
  /// The errors; only valid when !ok().
  const std::vector<error>& errors() const {
    return std::get<std::vector<error>>(v_);
  }
  /// Moves the value into `out` and returns ok(), simdjson style.
  bool get(T& out) {
    if (!ok()) return false;
    out = std::move(value());
    return true;
  }

 private:
  std::variant<T, std::vector<error>> v_;
};

}  // namespace edgesync
