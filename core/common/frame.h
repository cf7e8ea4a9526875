// Framed documents for operations that carry large raw payloads (request
// bodies, query results, response bodies): one line of JSON metadata, then
// the raw segments back to back, their byte lengths listed in meta.segments.
// Raw bytes are never escaped into JSON strings, so they cost one copy.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/json_util.h"
#include "common/result.h"

namespace edgesync {

/// A parsed frame: metadata and views of the segments (into the input).
struct frame_in {
  json meta;
  std::vector<std::string_view> segments;
};

/// Splits `META\nSEG0SEG1…`; errors name the field that is wrong.
result<frame_in> parse_frame(std::string_view input);

/// Builds a frame; sets meta["segments"] to the segment lengths.
std::string build_frame(json meta, const std::vector<std::string>& segments);
/// The same, from views (the caller keeps the bytes alive).
std::string build_frame_of_views(json meta,
                                 const std::vector<std::string_view>& segments);

/// The same from metadata text: `members` are the JSON object's members
/// (without braces), all sorting before "segments".
std::string build_frame_of_text(std::string_view members,
                                const std::vector<std::string_view>& segments);

/// An error frame: meta {"ok":false,"errors":[…]} and no segments.
std::string error_frame(const std::vector<error>& errs);

/// Runs `f(meta, segments)` on the frame in `input`, or answers the frame's
/// parse errors as an error frame (every framed operation starts so).
template <typename F>
std::string with_frame(std::string_view input, F&& f) {
  auto frame = parse_frame(input);
  if (!frame) return error_frame(frame.errors());
  return f(frame.value().meta, frame.value().segments);
}

}  // namespace edgesync
