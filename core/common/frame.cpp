#include "common/frame.h"

namespace edgesync {

result<frame_in> parse_frame(std::string_view input) {
  auto nl = input.find('\n');
  if (nl == std::string_view::npos)
    return error{error_code::invalid_request, "",
                 "framed input needs a metadata line ending in a newline"};
  auto meta = parse_json(input.substr(0, nl));
  if (!meta) return meta.errors();
  frame_in out;
  out.meta = std::move(meta.value());
  if (!out.meta.is_object())
    return error{error_code::invalid_request, "",
                 "frame metadata must be an object"};
  std::size_t pos = nl + 1;
  auto segs = out.meta.find("segments");
  if (segs != out.meta.end()) {
    if (!segs->is_array())
      return error{error_code::invalid_request, "segments",
                   "expected an array"};
    for (std::size_t i = 0; i < segs->size(); ++i) {
      const json& len = (*segs)[i];
      if (!len.is_number_unsigned() ||
          len.get<std::size_t>() > input.size() - pos)
        return error{error_code::invalid_request, path_index("segments", i),
                     "segment length missing or past the end of the input"};
      out.segments.push_back(input.substr(pos, len.get<std::size_t>()));
      pos += len.get<std::size_t>();
    }
  }
  if (pos != input.size())
    return error{error_code::invalid_request, "segments",
                 "segment lengths do not add up to the input size"};
  return out;
}

std::string build_frame(json meta, const std::vector<std::string>& segments) {
  return build_frame_of_views(
      std::move(meta),
      std::vector<std::string_view>(segments.begin(), segments.end()));
}

namespace {

// Appends the newline and the segments to the metadata line `out`.
std::string with_segments(std::string out,
                          const std::vector<std::string_view>& segments) {
  std::size_t total = 0;
  for (const auto& s : segments) total += s.size();
  out.reserve(out.size() + 1 + total);
  out += '\n';
  for (const auto& s : segments) out += s;
  return out;
}

}  // namespace

std::string build_frame_of_views(
    json meta, const std::vector<std::string_view>& segments) {
  json lens = json::array();
  for (const auto& s : segments) lens.push_back(s.size());
  meta["segments"] = std::move(lens);
  return with_segments(dump_json(meta), segments);
}

std::string build_frame_of_text(std::string_view members,
                                const std::vector<std::string_view>& segments) {
  std::string out = "{";
  out += members;
  out += ",\"segments\":[";
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(segments[i].size());
  }
  out += "]}";
  return with_segments(std::move(out), segments);
}

std::string error_frame(const std::vector<error>& errs) {
  return build_frame_of_text(
      "\"errors\":" + errors_text(errs) + ",\"ok\":false", {});
}

}  // namespace edgesync
