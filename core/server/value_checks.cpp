// Checks of single values of a request: timestamps and numbers as PostgreSQL
// accepts them (HLC stamps and client ids: protocol/).
#include "server/value_checks.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>

namespace edgesync::validation {

bool digits(std::string_view s, std::size_t from, std::size_t n) {
  if (from + n > s.size()) return false;
  for (std::size_t i = from; i < from + n; ++i)
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  return true;
}

int num(std::string_view s, std::size_t from, std::size_t n) {
  int v = 0;
  for (std::size_t i = from; i < from + n; ++i) v = v * 10 + (s[i] - '0');
  return v;
}

// Days in a month of the proleptic Gregorian calendar PostgreSQL uses.
int days_in_month(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

// A fraction of a second (".ddd", at most 9 digits) in microseconds, rounded
// as PostgreSQL's ParseFractionalSecond does: strtod, then rint.
std::int64_t fraction_us(std::string_view frac) {
  char buf[16] = {};
  std::copy(frac.begin(), frac.end(), buf);
  return static_cast<std::int64_t>(std::rint(std::strtod(buf, nullptr) * 1e6));
}

// ISO-8601 date-time with a UTC offset, as PostgreSQL's timestamptz reads it:
// YYYY-MM-DD(T| )HH:MM[:SS[.fraction]](Z|±HH[:MM]|±HHMM). The ranges are
// PostgreSQL's: years from 0001, real calendar days, 24:00:00 as the end of
// a day, second 60 only when the fraction rounds to zero microseconds, UTC
// offsets up to ±15:59.
timestamp_check check_timestamp(std::string_view s) {
  timestamp_check r;
  auto bad = [&r] {
    r.verdict = timestamp_check::bad_format;
    return r;
  };
  if (s.size() < 17 || !digits(s, 0, 4) || s[4] != '-' || !digits(s, 5, 2) ||
      s[7] != '-' || !digits(s, 8, 2) || (s[10] != 'T' && s[10] != ' ') ||
      !digits(s, 11, 2) || s[13] != ':' || !digits(s, 14, 2))
    return bad();
  int year = num(s, 0, 4), month = num(s, 5, 2), day = num(s, 8, 2),
      hour = num(s, 11, 2), minute = num(s, 14, 2), second = 0;
  std::int64_t us = 0;
  std::size_t i = 16;
  if (i < s.size() && s[i] == ':') {
    if (!digits(s, i + 1, 2)) return bad();
    second = num(s, i + 1, 2);
    i += 3;
    if (i < s.size() && s[i] == '.') {
      std::size_t j = i + 1;
      while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j])))
        ++j;
      if (j == i + 1 || j - i - 1 > 9) return bad();
      us = fraction_us(s.substr(i, j - i));
      i = j;
    }
  }
  if (i == s.size()) return bad();  // an offset is required: no local times
  int offset_h = 0, offset_m = 0;
  if (s[i] == 'Z' || s[i] == 'z') {
    if (i + 1 != s.size()) return bad();
  } else if (s[i] == '+' || s[i] == '-') {
    if (!digits(s, i + 1, 2)) return bad();
    offset_h = num(s, i + 1, 2);
    std::size_t rest = s.size() - (i + 3);
    if (rest == 3 && s[i + 3] == ':' && digits(s, i + 4, 2))
      offset_m = num(s, i + 4, 2);
    else if (rest == 2 && digits(s, i + 3, 2))
      offset_m = num(s, i + 3, 2);
    else if (rest != 0)
      return bad();
  } else {
    return bad();
  }
  // A field outside its ISO-8601 range is not a timestamp at all.
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 24 ||
      minute > 59 || second > 60 || offset_m > 59)
    return bad();
  auto out = [&r](std::string why) {
    r.verdict = timestamp_check::out_of_range;
    r.why = std::move(why);
    return r;
  };
  if (year == 0) return out("there is no year 0000 (years start at 0001)");
  if (day > days_in_month(year, month))
    return out(std::string(s.substr(0, 10)) + " is not a calendar date");
  if (hour == 24 && (minute > 0 || second > 0 || us > 0))
    return out("the hour must be 00-23 (or 24:00:00, the end of the day)");
  if (second == 60 && us > 0)
    return out("a leap second (60) cannot have a fraction");
  if (offset_h > 15)
    return out("the UTC offset " + std::string(s.substr(i)) +
               " is out of range (-15:59 to +15:59)");
  return r;
}

// PostgreSQL's float8 input refuses a number that overflows to ±infinity or
// underflows to zero from nonzero digits; subnormal results are kept.
bool fits_float8(std::string_view number, std::string& buf) {
  buf.assign(number.data(), number.size());
  double v = std::strtod(buf.c_str(), nullptr);
  if (std::isinf(v)) return false;
  if (v != 0) return true;
  for (char ch : number) {
    if (ch == 'e' || ch == 'E') break;
    if (ch >= '1' && ch <= '9') return false;
  }
  return true;
}

const char* expected_kind(column_type t) {
  switch (t) {
    case column_type::integer:
      return "an integer";
    case column_type::real:
      return "a number";
    case column_type::boolean:
      return "a boolean";
    case column_type::timestamp:
      return "an ISO-8601 timestamp string with a UTC offset";
    case column_type::json_doc:
      return "a JSON value";
    default:
      return "a string";
  }
}

key_hash hash_key(std::size_t table, const std::string& key) {
  std::uint64_t a = 1469598103934665603ULL ^ table,
                b = 0x84222325cbf29ce4ULL + table;
  for (unsigned char ch : key) {
    a = (a ^ ch) * 1099511628211ULL;
    b = (b ^ ch) * 0x100000001b3ULL ^ (b >> 29);
  }
  return {a, b};
}

const char* kind_name(json_kind_t k) {
  switch (k) {
    case json_kind_t::object:
      return "object";
    case json_kind_t::array:
      return "array";
    case json_kind_t::string:
      return "string";
    case json_kind_t::number:
      return "number";
    case json_kind_t::boolean:
      return "boolean";
    case json_kind_t::null:
      return "null";
    default:
      return "invalid value";
  }
}

}  // namespace edgesync::validation
