// A validating, allocation-light JSON scanner for the hot path: request
// bodies are read once, values are checked in place, and row values are
// passed on as the original bytes instead of being parsed into a DOM and
// serialized again (the worker's CPU budget is ~10 ms per MB).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace edgesync {

/// The kind of the next JSON value.
enum class json_kind_t {
  object,
  array,
  string,
  number,
  boolean,
  null,
  invalid
};

/// A cursor over JSON text. Every method validates what it consumes; after a
/// failure `failed()` is true and `error()` says where and why.
class json_scanner {
 public:
  /// A scanner at the start of `text` (viewed, not copied).
  explicit json_scanner(std::string_view text) : s_(text) {}

  /// Kind of the value at the cursor (after whitespace), without consuming.
  json_kind_t peek();
  /// Consumes `{`; false (and an error) otherwise.
  bool begin_object();
  /// Consumes `[`; false (and an error) otherwise.
  bool begin_array();
  /// Inside an object: reads the next key into `key` and the `:` after it.
  /// Returns false at `}` (consumed) or on error.
  bool next_key(std::string& key);
  /// Like next_key, but `key` views the input (or, for a key with escapes,
  /// an internal buffer valid until the next call): no copy on the hot path.
  bool next_key(std::string_view& key);
  /// Inside an array: true if another element follows, false at `]`
  /// (consumed) or on error.
  bool next_element();
  /// Reads a string value (unescaped into `out`).
  bool read_string(std::string& out);
  /// Reads a number; `is_integer` says whether it has no fraction/exponent
  /// and fits in int64 (then `value` holds it).
  bool read_number(bool& is_integer, std::int64_t& value);
  /// Reads true/false.
  bool read_bool(bool& value);
  /// Reads null.
  bool read_null();
  /// Skips any value, validating it; returns its raw text.
  std::string_view skip_value();
  /// True when only whitespace remains.
  bool at_end();
  /// True when `v` views the input (a key from next_key(string_view&) does
  /// unless it had escapes).
  bool views_input(std::string_view v) const {
    return v.data() >= s_.data() &&
           v.data() + v.size() <= s_.data() + s_.size();
  }

  /// Skips whitespace and returns the offset where the next value starts.
  std::size_t mark() {
    ws();
    return p_;
  }
  /// Current byte offset.
  std::size_t offset() const { return p_; }
  /// The raw text between two offsets.
  std::string_view slice(std::size_t from, std::size_t to) const {
    return s_.substr(from, to - from);
  }
  /// True after any syntax error.
  bool failed() const { return !err_.empty(); }
  /// False once a number was consumed (read or skipped, at any depth) that
  /// PostgreSQL's numeric type — and so jsonb — cannot hold; not a syntax
  /// error, so the caller reports it where the value belongs.
  bool numbers_fit_pg_numeric() const { return numbers_fit_pg_numeric_; }
  /// Restarts the check of numbers_fit_pg_numeric() (before a value).
  void reset_pg_numeric_check() { numbers_fit_pg_numeric_ = true; }
  /// "malformed JSON at byte N: reason", or "".
  const std::string& error() const { return err_; }
  /// Records a failure at the cursor (the first one wins); returns false.
  /// For callers that refuse what the grammar allows (depth, range).
  bool fail(const char* why);

 private:
  void ws();
  bool expect(char c);
  bool scan_string(std::string* out);
  bool scan_number(bool* is_integer, std::int64_t* value);
  bool scan_literal(std::string_view word);
  bool skip(int depth);

  std::string_view s_;
  std::size_t p_ = 0;
  std::string err_;
  bool first_ = true;  // no comma before the first member/element
  bool numbers_fit_pg_numeric_ = true;
  std::string key_buf_;
};

}  // namespace edgesync
