// The C library's number conversions (native builds; see number_text.h).
#include "common/number_text.h"

#include <cstdio>
#include <cstdlib>

namespace edgesync {

double number_from_text(const std::string& text) {
  return std::strtod(text.c_str(), nullptr);
}

void shortest_exponential(double d, char (&buf)[40]) {
  for (int prec = 0; prec < 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*e", prec, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
}

}  // namespace edgesync
