// Checks of single values of a request (internal to request validation):
// what PostgreSQL would refuse is found here, before any SQL runs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/json_scan.h"
#include "schema/schema.h"

namespace edgesync::validation {

/// True when s[from, from + n) are n decimal digits.
bool digits(std::string_view s, std::size_t from, std::size_t n);

/// The value of n decimal digits at s[from] (checked by digits()).
int num(std::string_view s, std::size_t from, std::size_t n);

/// Days in a month of the proleptic Gregorian calendar PostgreSQL uses.
int days_in_month(int year, int month);

/// A fraction of a second (".ddd", at most 9 digits) in microseconds, rounded
/// as PostgreSQL's ParseFractionalSecond does: strtod, then rint.
std::int64_t fraction_us(std::string_view frac);

/// A timestamp's verdict: accepted, not the accepted format, or well-formed
/// but refused by PostgreSQL's timestamptz (`why` says which field).
struct timestamp_check {
  enum verdict_t { ok, bad_format, out_of_range } verdict = ok;
  std::string why;
};

/// Checks an ISO-8601 date-time with a UTC offset as PostgreSQL's
/// timestamptz reads it.
timestamp_check check_timestamp(std::string_view s);

/// False for a number PostgreSQL's float8 input refuses (`buf` is scratch).
bool fits_float8(std::string_view number, std::string& buf);

/// What a value of a column type must be, for an error message.
const char* expected_kind(column_type t);

/// Two independent 64-bit FNV-1a hashes of (table, key): collisions between
/// distinct rows are practically impossible, and no key strings are stored.
struct key_hash {
  std::uint64_t a, b;
  bool operator==(const key_hash& o) const { return a == o.a && b == o.b; }
};
/// The hash-table hash of a key_hash.
struct key_hash_fn {
  std::size_t operator()(const key_hash& h) const {
    return static_cast<std::size_t>(h.a);
  }
};
/// The key_hash of one row's key in one table.
key_hash hash_key(std::size_t table, const std::string& key);

/// A JSON kind's name, for an error message.
const char* kind_name(json_kind_t k);

}  // namespace edgesync::validation
