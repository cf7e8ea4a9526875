// The hybrid logical clock and its stamp format, stated once: the client's
// SQLite triggers (generated from these constants by sqlite_tick_sql and
// sqlite_format_hlc_sql), the client core (which absorbs the server's clock
// from each response) and the server core (which validates and clamps the
// stamps of a batch) all use what is declared here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace edgesync {

/// Decimal digits of a stamp's physical part (ms), zero-padded.
inline constexpr int hlc_ms_digits = 15;
/// Decimal digits of a stamp's logical counter, zero-padded.
inline constexpr int hlc_counter_digits = 5;
/// Separates ms, counter and node in a stamp.
inline constexpr char hlc_separator = ':';

namespace detail {
constexpr std::int64_t pow10(int n) { return n == 0 ? 1 : 10 * pow10(n - 1); }
}  // namespace detail

/// Largest counter value (99999); one more tick moves the clock to the next ms.
inline constexpr std::int32_t hlc_max_counter =
    static_cast<std::int32_t>(detail::pow10(hlc_counter_digits) - 1);
/// Largest physical part: a stamp holds 15 decimal digits of ms.
inline constexpr std::int64_t hlc_max_ms = detail::pow10(hlc_ms_digits) - 1;
/// Offset of the node in a stamp (after ms, counter and two separators).
inline constexpr std::size_t hlc_node_offset =
    hlc_ms_digits + 1 + hlc_counter_digits + 1;

/// A clock reading: physical ms, logical counter, node (client id).
struct hlc {
  std::int64_t ms = 0;
  std::int32_t ctr = 0;
  std::string node;

  /// Total order: ms, then counter, then node (as the server compares them).
  friend bool operator<(const hlc& a, const hlc& b) {
    if (a.ms != b.ms) return a.ms < b.ms;
    if (a.ctr != b.ctr) return a.ctr < b.ctr;
    return a.node < b.node;
  }
  /// Field-wise equality.
  friend bool operator==(const hlc& a, const hlc& b) {
    return a.ms == b.ms && a.ctr == b.ctr && a.node == b.node;
  }
};

/// The clock after a local event at wall time `now_ms` (the trigger rule):
/// a newer wall clock resets the counter; otherwise the counter grows, and
/// past hlc_max_counter the physical part borrows one ms so stamps stay
/// strictly increasing and keep their fixed width.
hlc hlc_tick(const hlc& c, std::int64_t now_ms);

/// The clock after receiving a remote physical time (the server's
/// `serverTime`): never moves backwards; a newer remote time resets the
/// counter so the next local stamp orders after everything the server saw.
hlc hlc_absorb(const hlc& c, std::int64_t remote_ms);

/// `MMMMMMMMMMMMMMM:CCCCC:node` — 15-digit ms, 5-digit counter, node; the
/// fixed widths make string order equal clock order.
std::string format_hlc(const hlc& c);

/// The physical part of a stamp: `ms` zero-padded to hlc_ms_digits.
std::string format_hlc_ms(std::int64_t ms);

/// Parses a stamp made by format_hlc (or by the triggers); the node may be
/// empty (writes made before the client id existed).
result<hlc> parse_hlc(std::string_view text);

/// The physical ms of a stamp the server accepts: fixed-width digits and a
/// node of 1–64 client-id characters; nullopt for anything else.
std::optional<std::int64_t> wire_hlc_ms(std::string_view stamp);

/// The stamp format as the protocol describes it: "MMMMMMMMMMMMMMM:CCCCC:node".
std::string hlc_pattern();

/// A SQLite expression formatting the columns `ms`, `ctr` and `node` of the
/// clock row as format_hlc does.
std::string sqlite_format_hlc_sql();

/// The SQLite statement (no `;`) ticking sync_clock by hlc_tick's rule
/// against the host clock function; SQLite evaluates every SET expression
/// against the old row.
std::string sqlite_tick_sql();

/// SQL absorbing parameter ?1 (server ms) into sync_clock, same rule as
/// hlc_absorb.
std::string sqlite_absorb_sql();

}  // namespace edgesync
