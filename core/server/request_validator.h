// The request validator (internal to request validation): one pass over the
// body with json_scanner. validate.cpp checks the request's shape (body,
// batch, changes) and writes the merge inputs; validate_row.cpp checks each
// row's column values.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json_scan.h"
#include "common/json_util.h"
#include "server/validate.h"

namespace edgesync::validation {

// The members of one JSON object that may appear once: `take` is false for a
// name given twice (jsonb would keep the last, the validator checked the
// first: refused, never guessed).
class member_set {
 public:
  template <std::size_t N>
  explicit member_set(const std::array<std::string_view, N>& names)
      : names_(names.data()), count_(N) {
    static_assert(N <= 32, "one bit per member");
  }
  /// The member's index, or -1 for a name not in the set.
  int find(std::string_view name) const {
    for (std::size_t i = 0; i < count_; ++i)
      if (names_[i] == name) return static_cast<int>(i);
    return -1;
  }
  /// Marks member i as seen; false if it was seen before.
  bool take(int i) {
    auto bit = std::uint32_t{1} << i;
    if (seen_ & bit) return false;
    seen_ |= bit;
    return true;
  }

 private:
  const std::string_view* names_;
  std::size_t count_;
  std::uint32_t seen_ = 0;
};

// The members of the body, the batch and a change, in the order of the enums
// of the functions that read them.
constexpr std::array<std::string_view, 7> kBodyMembers{
    "protocol", "clientId", "schemaVersion", "cursor",
    "pageSize", "batch",    "stream"};
constexpr std::array<std::string_view, 2> kBatchMembers{"seq", "changes"};
constexpr std::array<std::string_view, 7> kChangeMembers{
    "id", "table", "op", "hlc", "baseVersion", "changed", "row"};

// `batch.changes[i]` + suffix: built only for an error.
inline std::string change_path(std::size_t i, std::string_view suffix = {}) {
  std::string p = path_index("batch.changes", i);
  p.append(suffix.data(), suffix.size());
  return p;
}

// The stored errors are capped so a hostile body cannot make the error
// response huge; the cap only limits what is kept, never a decision — every
// check returns its own verdict.
constexpr std::size_t kMaxStoredErrors = 100;

// A single pass over the body with json_scanner: no DOM, and row values are
// kept as the bytes the client sent.
class request_validator {
 public:
  request_validator(const schema& s, const server_limits& l, std::int64_t now)
      : s_(s), limits_(l), now_ms_(now) {}

  std::vector<error> errs;
  int status = 400;
  std::optional<std::int64_t> server_schema_version;
  std::size_t body_size = 0;

  /// True once any error was found (stored or not).
  bool any_error() const { return error_count_ > 0; }
  // Records an error and returns false, so a check can `return fail(…)`.
  bool fail(error_code code, std::string path, std::string msg) {
    ++error_count_;
    if (code == error_code::payload_too_large) {
      // The status is 413: its error leads the list, whatever came before.
      status = 413;
      if (errs.size() == kMaxStoredErrors) errs.pop_back();
      errs.insert(errs.begin(), {code, std::move(path), std::move(msg)});
    } else if (errs.size() < kMaxStoredErrors) {
      errs.push_back({code, std::move(path), std::move(msg)});
    }
    return false;
  }

  /// Checks a whole body into `out`.
  void check(json_scanner& js, sync_request& out);

 private:
  static constexpr const char* kCursorMsg =
      "expected the opaque cursor string from a previous response";

  void reset_errors() {
    errs.clear();
    error_count_ = 0;
    status = 400;
  }

  void syntax(json_scanner& js, const char* fallback = "unexpected input") {
    reset_errors();
    fail(error_code::invalid_json, "",
         js.failed() ? js.error() : std::string("malformed JSON: ") + fallback);
  }

  // The shape checks (validate.cpp).
  void check_cursor(const std::string& s, sync_request& out);
  void check_batch(json_scanner& js, sync_request& out);
  void check_changes(json_scanner& js, sync_request& out);
  std::size_t group_for(std::size_t table_index, change_op op);
  void open_object(change& c);
  void close_object(change& c, std::size_t i);
  void drop_object(const change& c);
  bool check_change(json_scanner& js, std::size_t i, change& c);
  // The column values of one row (validate_row.cpp).
  bool check_row(json_scanner& js, const table& t, std::size_t i, change& c,
                 std::string& buf);

  const schema& s_;
  const server_limits& limits_;
  std::int64_t now_ms_;
  std::size_t error_count_ = 0;
  // Scratch buffers reused across changes: no allocation per change once warm.
  std::string str_, hlc_, changed_raw_, key_, scratch_;
  std::optional<std::int64_t> base_;
  // What a row gave for each column (scratch for check_row).
  enum column_value : std::uint8_t { absent, null, valid, invalid };
  std::vector<column_value> value_;
  sync_request* out_ = nullptr;
};

}  // namespace edgesync::validation
