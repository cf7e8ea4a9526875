#include "protocol/hlc.h"

#include <charconv>
#include <cstdio>

#include "sql/ddl.h"

namespace edgesync::client {

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
  char buf[32];
  std::snprintf(buf, sizeof buf, "%015lld:%05d:", static_cast<long long>(c.ms),
                static_cast<int>(c.ctr));
  return buf + c.node;
}

result<hlc> parse_hlc(std::string_view text) {
  auto bad = [&] {
    return error{error_code::invalid_request, "",
                 "expected an HLC stamp MMMMMMMMMMMMMMM:CCCCC:node, got \"" +
                     std::string(text) + "\""};
  };
  if (text.size() < 22 || text[15] != ':' || text[21] != ':') return bad();
  hlc out;
  auto r1 = std::from_chars(text.data(), text.data() + 15, out.ms);
  auto r2 = std::from_chars(text.data() + 16, text.data() + 21, out.ctr);
  if (r1.ec != std::errc() || r1.ptr != text.data() + 15 ||
      r2.ec != std::errc() || r2.ptr != text.data() + 21 || out.ms < 0 ||
      out.ctr < 0)
    return bad();
  out.node = std::string(text.substr(22));
  return out;
}

std::string sqlite_absorb_sql() {
  return std::string("UPDATE ") + quote_ident(sqlite_names::clock) +
         " SET ms = CASE WHEN ?1 > ms THEN ?1 ELSE ms END, "
         "ctr = CASE WHEN ?1 > ms THEN 0 ELSE ctr END WHERE id = 1";
}

}  // namespace edgesync::client
