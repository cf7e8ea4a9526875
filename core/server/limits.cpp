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
  auto read = [&](const limit_spec& spec, auto& field) {
    const std::string key(spec.key);
    const std::int64_t lo = spec.min, hi = spec.max;
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return;
    if (!it->is_number_integer() || it->get<std::int64_t>() < lo ||
        it->get<std::int64_t>() > hi) {
      errs.push_back({error_code::invalid_request, path_key("limits", key),
                      "expected an integer between " + std::to_string(lo) +
                          " and " + std::to_string(hi)});
      return;
    }
    field = static_cast<std::remove_reference_t<decltype(field)>>(
        it->get<std::int64_t>());
  };
  read(limit_max_body_bytes, l.max_body_bytes);
  read(limit_max_changes, l.max_changes);
  read(limit_max_page_size, l.max_page_size);
  read(limit_default_page_size, l.default_page_size);
  read(limit_max_clock_skew_ms, l.max_clock_skew_ms);
  if (!errs.empty()) return errs;
  l.default_page_size = std::min(l.default_page_size, l.max_page_size);
  return l;
}

}  // namespace edgesync
