// Server limits read from the host's configuration.
#include "server/limits.h"

#include <algorithm>
#include <string>
#include <type_traits>
#include <vector>

namespace edgesync {

result<server_limits> parse_limits(const json& j) {
  server_limits l;
  if (j.is_null()) return l;
  if (!j.is_object())
    return error{error_code::invalid_request, "limits", "expected an object"};
  std::vector<error> errs;
  auto read = [&](const char* key, auto& field, long long lo, long long hi) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return;
    if (!it->is_number_integer() || it->get<long long>() < lo ||
        it->get<long long>() > hi) {
      errs.push_back({error_code::invalid_request, path_key("limits", key),
                      "expected an integer between " + std::to_string(lo) +
                          " and " + std::to_string(hi)});
      return;
    }
    field = static_cast<std::remove_reference_t<decltype(field)>>(
        it->get<long long>());
  };
  read("maxBodyBytes", l.max_body_bytes, 1024,
       static_cast<long long>(max_body_bytes_cap));
  read("maxChanges", l.max_changes, 1, 1000000);
  read("maxPageSize", l.max_page_size, 1, 100000);
  read("defaultPageSize", l.default_page_size, 1, 100000);
  read("maxClockSkewMs", l.max_clock_skew_ms, 0, 1LL << 40);
  if (!errs.empty()) return errs;
  l.default_page_size = std::min(l.default_page_size, l.max_page_size);
  return l;
}

}  // namespace edgesync
