// Number text conversions the JSON reader and writer need. The build links
// one implementation: the C library's natively (common/number_text.cpp),
// the JS engine's in the WASM modules (hosts/wasm/number_text.cpp): musl's
// strtod and printf would add ~19 kB of long double code to the browser
// module, and the engine's conversions are exact too.
#pragma once

#include <string>

namespace edgesync {

/// The double the JSON number text `text` denotes, correctly rounded.
double number_from_text(const std::string& text);

/// Writes finite, positive `d` as "d[.ddd]e[+-]x" with the fewest digits
/// that read back to it (NUL-terminated).
void shortest_exponential(double d, char (&buf)[40]);

}  // namespace edgesync
