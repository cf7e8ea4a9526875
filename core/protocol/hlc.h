// The client's hybrid logical clock. The SQLite triggers tick it inside every
// write (see sql/ddl.cpp); the client core absorbs the server's clock from
// each response. These functions state the same rules in C++ so the two can
// be tested against each other and so the core can emit the absorb SQL.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace edgesync::client {

/// Largest counter value; one more tick moves the clock to the next ms.
inline constexpr std::int32_t hlc_max_counter = 99999;
/// Largest physical part: a stamp holds 15 decimal digits of ms.
inline constexpr std::int64_t hlc_max_ms = 999'999'999'999'999;

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

/// Parses a stamp made by format_hlc (or by the triggers).
result<hlc> parse_hlc(std::string_view text);

/// SQL absorbing parameter ?1 (server ms) into sync_clock, same rule as
/// hlc_absorb. SQLite evaluates every SET expression against the old row.
std::string sqlite_absorb_sql();

}  // namespace edgesync::client
