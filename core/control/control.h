// The one control entry point shared by the WASM exports, the CLI and the
// tests: an operation name plus a UTF-8 JSON document in, a JSON envelope out.
#pragma once

#include <string>
#include <string_view>

namespace edgesync {

/// Runs `op` on `input` and returns `{"ok":true,"result":...}` or
/// `{"ok":false,"errors":[{"code","path","message"}]}`. Never throws.
/// Operations are listed in docs/architecture.md ("Control operations").
std::string control(std::string_view op, std::string_view input);

/// Forgets every open server and client and restarts handle numbering, so
/// that a sequence of operations replays identically (tests, fuzzing).
void control_reset();

}  // namespace edgesync
