// Exception-free JSON helpers shared by the core areas (the WASM build runs
// with -fno-exceptions, so nothing here may throw).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace edgesync {

/// The JSON document type of the core (nlohmann/json; parse with
/// parse_json, never with json::parse).
using json = nlohmann::json;

/// Parses JSON without exceptions; on failure the error says where.
result<json> parse_json(std::string_view text);

/// Serializes without exceptions (invalid UTF-8 is replaced, not thrown).
std::string dump_json(const json& j);

/// Appends `v` as a JSON string (escaped; the bytes are not checked: for
/// text known to be UTF-8).
void append_json_string(std::string& out, std::string_view v);

/// Appends `v` as a JSON string as dump_json writes one: invalid UTF-8
/// replaced by U+FFFD per maximal subpart (nlohmann's error_handler_t::replace).
void append_json_text(std::string& out, std::string_view v);

/// `base.key` (or `key` when base is empty).
std::string path_key(std::string_view base, std::string_view key);
/// `base[i]`.
std::string path_index(std::string_view base, std::size_t i);

/// `[{"code","path","message"},…]`: errors as the control envelopes carry them.
json errors_json(const std::vector<error>& errs);
/// The same as JSON text.
std::string errors_text(const std::vector<error>& errs);

/// `{"ok":false,"errors":[…]}` serialized: the error envelope of control ops.
std::string error_envelope(const std::vector<error>& errs);

/// `{"ok":true,"result":value}` serialized: the success envelope of control ops.
std::string ok_envelope(const json& value);

/// A member of an object, or null when absent or not an object: documents
/// come from outside, and nlohmann's const operator[] on a missing key is
/// undefined behaviour.
const json& member(const json& o, const char* key);

/// An integer value, or nothing for any other kind.
std::optional<std::int64_t> opt_int(const json& j);

/// The short name of a JSON value's kind, for "expected X, got Y" messages.
const char* json_kind(const json& j);

}  // namespace edgesync
