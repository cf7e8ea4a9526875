// The C ABI the JS hosts call. Documents cross the boundary as UTF-8 bytes:
// one call per operation, never one per row.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "control/control.h"

namespace {
std::string g_out;  // the last call's output; JS copies it out right away
}  // namespace

extern "C" {

/// Allocates n bytes in WASM memory for the host to write input into.
std::uint8_t* es_alloc(std::uint32_t n) {
  return static_cast<std::uint8_t*>(std::malloc(n == 0 ? 1 : n));
}

/// Frees a buffer from es_alloc.
void es_free(std::uint8_t* p) { std::free(p); }

/// Runs an operation; the JSON envelope is then at es_out_ptr/es_out_len.
std::uint32_t es_call(const char* op, std::uint32_t op_len,
                      const std::uint8_t* in, std::uint32_t in_len) {
  g_out = edgesync::control(
      std::string_view(op, op_len),
      std::string_view(reinterpret_cast<const char*>(in), in_len));
  return static_cast<std::uint32_t>(g_out.size());
}

/// Pointer to the last output.
const std::uint8_t* es_out_ptr() {
  return reinterpret_cast<const std::uint8_t*>(g_out.data());
}

/// Length of the last output in bytes.
std::uint32_t es_out_len() { return static_cast<std::uint32_t>(g_out.size()); }

/// Releases the last output's memory (useful after very large outputs).
void es_out_clear() { std::string().swap(g_out); }
}
