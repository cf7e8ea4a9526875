// The JS engine's number conversions for the WASM modules (the core's
// common/number_text.h; natively the C library's): exact like strtod,
// shortest round trip like %.17g tried upwards, without musl's long double
// code in the browser module.
#include "common/number_text.h"

#include <emscripten/emscripten.h>

namespace {

// NOLINTBEGIN
EM_JS(double, es_js_number, (const char* p, int n), {
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCharCode(HEAPU8[p + i]);
  return Number(s);
});
EM_JS(int, es_js_exponential, (double d, char* buf), {
  const s = d.toExponential();
  for (let i = 0; i < s.length; i++) HEAPU8[buf + i] = s.charCodeAt(i);
  HEAPU8[buf + s.length] = 0;
  return s.length;
});
// NOLINTEND

}  // namespace

namespace edgesync {

double number_from_text(const std::string& text) {
  return es_js_number(text.data(), static_cast<int>(text.size()));
}

void shortest_exponential(double d, char (&buf)[40]) {
  es_js_exponential(d, buf);
}

}  // namespace edgesync
