#include "protocol/hlc.h"

#include "protocol/protocol.h"
#include "sql/ddl.h"

namespace edgesync {

namespace {

// True when s[from, from + n) are all decimal digits; their value in `out`.
bool read_digits(std::string_view s, std::size_t from, int n,
                 std::int64_t& out) {
  out = 0;
  if (from + static_cast<std::size_t>(n) > s.size()) return false;
  for (std::size_t i = from; i < from + static_cast<std::size_t>(n); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

// The fixed-width head of a stamp: ms, counter and both separators.
bool read_head(std::string_view s, std::int64_t& ms, std::int64_t& ctr) {
  return s.size() >= hlc_node_offset && read_digits(s, 0, hlc_ms_digits, ms) &&
         s[hlc_ms_digits] == hlc_separator &&
         read_digits(s, hlc_ms_digits + 1, hlc_counter_digits, ctr) &&
         s[hlc_node_offset - 1] == hlc_separator;
}

// `v` in decimal zero-padded to `width` characters, as printf's "%0*lld"
// (printf itself would pull ~7 kB into the browser module).
std::string padded(std::int64_t v, int width) {
  std::string s = std::to_string(v);
  std::size_t at = s[0] == '-' ? 1 : 0;
  if (s.size() < static_cast<std::size_t>(width))
    s.insert(at, static_cast<std::size_t>(width) - s.size(), '0');
  return s;
}

}  // namespace

hlc hlc_tick(const hlc& c, std::int64_t now_ms) {
  hlc out = c;
  if (now_ms > c.ms) {
    out.ms = now_ms;
    out.ctr = 0;
  } else if (c.ctr >= hlc_max_counter) {
    out.ms = c.ms + 1;
    out.ctr = 0;
  } else {
    out.ctr = c.ctr + 1;
  }
  return out;
}

hlc hlc_absorb(const hlc& c, std::int64_t remote_ms) {
  hlc out = c;
  if (remote_ms > c.ms) {
    out.ms = remote_ms;
    out.ctr = 0;
  }
  return out;
}

std::string format_hlc(const hlc& c) {
  std::string out = padded(c.ms, hlc_ms_digits);
  out += hlc_separator;
  out += padded(c.ctr, hlc_counter_digits);
  out += hlc_separator;
  out += c.node;
  return out;
}

std::string format_hlc_ms(std::int64_t ms) { return padded(ms, hlc_ms_digits); }

result<hlc> parse_hlc(std::string_view text) {
  std::int64_t ms = 0, ctr = 0;
  if (!read_head(text, ms, ctr))
    return error{error_code::invalid_request, "",
                 "expected an HLC stamp " + hlc_pattern() + ", got \"" +
                     std::string(text) + "\""};
  return hlc{ms, static_cast<std::int32_t>(ctr),
             std::string(text.substr(hlc_node_offset))};
}

std::optional<std::int64_t> wire_hlc_ms(std::string_view stamp) {
  std::int64_t ms = 0, ctr = 0;
  if (!read_head(stamp, ms, ctr)) return std::nullopt;
  std::string_view node = stamp.substr(hlc_node_offset);
  if (node.empty() || node.size() > client_id_max_length) return std::nullopt;
  for (char c : node)
    if (!is_client_id_char(c)) return std::nullopt;
  return ms;
}

std::string hlc_pattern() {
  return std::string(hlc_ms_digits, 'M') + hlc_separator +
         std::string(hlc_counter_digits, 'C') + hlc_separator + "node";
}

std::string sqlite_format_hlc_sql() {
  const std::string sep(1, hlc_separator);
  return "printf('%0" + std::to_string(hlc_ms_digits) + "d" + sep + "%0" +
         std::to_string(hlc_counter_digits) + "d" + sep + "%s', ms, ctr, node)";
}

std::string sqlite_tick_sql() {
  const std::string max = std::to_string(hlc_max_counter);
  return std::string("UPDATE ") + quote_ident(sqlite_names::clock) +
         " SET (ms, ctr) = (SELECT CASE WHEN n > ms THEN n WHEN ctr >= " + max +
         " THEN ms + 1 ELSE ms END, CASE WHEN n > ms THEN 0 WHEN ctr >= " +
         max + " THEN 0 ELSE ctr + 1 END FROM (SELECT " + sqlite_now_ms +
         " AS n))";
}

std::string sqlite_absorb_sql() {
  return std::string("UPDATE ") + quote_ident(sqlite_names::clock) +
         " SET ms = CASE WHEN ?1 > ms THEN ?1 ELSE ms END, "
         "ctr = CASE WHEN ?1 > ms THEN 0 ELSE ctr END WHERE id = 1";
}

}  // namespace edgesync
