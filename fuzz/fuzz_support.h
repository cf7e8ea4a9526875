// Shared plumbing of the libFuzzer targets (see fuzz/README.md): the entry
// macro, property checks, and the fixed test schema.
//
// Every target is one file defining ES_FUZZ_TARGET(name). In the fuzz build
// (clang, -DEDGESYNC_FUZZ=ON) that is libFuzzer's LLVMFuzzerTestOneInput;
// in the native test build (ES_FUZZ_NO_MAIN) it is a plain function
// es_fuzz_<name> that tests/unit/fuzz_regression_test.cpp calls to replay
// committed crash inputs and seeds, without any fuzzer runtime.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "schema/schema.h"

namespace edgesync::fuzz {

/// Called with a broken property's description. The default prints it and
/// aborts (libFuzzer then saves the input); tests install a recorder.
using reporter = void (*)(const std::string& message);

/// Installs `r` as the reporter (nullptr restores the default).
void set_reporter(reporter r);

/// Reports a broken property at file:line.
void report(const char* file, int line, const char* expr,
            const std::string& detail);

/// The bytes of a file of the source tree (read once per path).
const std::string& source_file(const char* relative_path);

/// The fixed schema the request targets run against
/// (tests/fixtures/schema.v1.json).
const schema& test_schema();

/// The fuzz input as text.
inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// `text` with every number token (exactly per the JSON grammar, outside
/// strings) that overflows a double replaced by `0`; `changed` says whether
/// there was one. nlohmann refuses such numbers ("number overflow") while
/// json_scanner checks number syntax only (ranges are the validator's
/// business): the targets compare both on the rewritten text.
std::string finite_numbers(std::string_view text, bool* changed = nullptr);

/// Short printable excerpt of `text` for failure messages.
std::string excerpt(std::string_view text, std::size_t max = 200);

}  // namespace edgesync::fuzz

/// Checks a property of the code under test; `detail` says what was seen.
#define ES_FUZZ_CHECK(cond, detail)                                  \
  do {                                                               \
    if (!(cond))                                                     \
      ::edgesync::fuzz::report(__FILE__, __LINE__, #cond, (detail)); \
  } while (0)

#ifdef ES_FUZZ_NO_MAIN
#define ES_FUZZ_TARGET(name) \
  int es_fuzz_##name(const std::uint8_t* data, std::size_t size)
#else
#define ES_FUZZ_TARGET(name)                                      \
  int es_fuzz_##name(const std::uint8_t* data, std::size_t size); \
  extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, \
                                        std::size_t size) {       \
    return es_fuzz_##name(data, size);                            \
  }                                                               \
  int es_fuzz_##name(const std::uint8_t* data, std::size_t size)
#endif
