#include "sql/pg_sync_call.h"

#include <cstdint>
#include <string>
#include <vector>

namespace edgesync::sql {

namespace {

using std::string;

// `ARRAY[1,2,…]::<type>`.
string int_array(const std::vector<std::int64_t>& v, const char* type) {
  string out = "ARRAY[";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(v[i]);
  }
  return out + "]::" + type;
}

}  // namespace

string pg_string(std::string_view text) {
  string out;
  out.reserve(text.size() + 8);
  out += "E'";
  // Whole runs between the characters to double (a request is megabytes).
  constexpr std::string_view kDoubled = "'\\";
  std::size_t from = 0;
  std::size_t at = text.find_first_of(kDoubled);
  while (at != std::string_view::npos) {
    out.append(text.substr(from, at + 1 - from));
    out += text[at];
    from = at + 1;
    at = text.find_first_of(kDoubled, from);
  }
  out.append(text.substr(from));
  out += '\'';
  return out;
}

string sync_call(const string& name, const sync_request& req,
                 const string& user_id) {
  std::vector<std::int64_t> ids, kinds;
  ids.reserve(req.changes.size());
  for (const change& c : req.changes) ids.push_back(c.id);
  std::size_t size = 256;
  for (const change_group& g : req.groups) {
    kinds.push_back(static_cast<std::int64_t>(change_kind(g.table, g.op)));
    size += g.input.size() + 16;
  }
  string out;
  out.reserve(size + ids.size() * 8);
  out += "SELECT " + name + "(" + pg_string(user_id) + ", " +
         pg_string(req.client_id) + ", " +
         (req.has_batch ? std::to_string(req.seq) : string("NULL")) + ", " +
         std::to_string(req.changes.size()) + ", " +
         int_array(ids, "bigint[]") + ", " + int_array(kinds, "int[]") +
         ", ARRAY[";
  for (std::size_t gi = 0; gi < req.groups.size(); ++gi) {
    if (gi) out += ',';
    out += pg_string(req.groups[gi].input);
  }
  out += "]::text[], '" + std::to_string(req.cursor.xid) + "', '" +
         std::to_string(req.cursor.version) + "', '" +
         std::to_string(req.page_size + 1) + "', '" +
         std::to_string(req.cursor.row) + "') AS j";
  return out;
}

}  // namespace edgesync::sql
