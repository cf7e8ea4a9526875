#include "client/client_compact.h"

#include <algorithm>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace edgesync::client {

namespace {

// A table row: `tbl` and `pk` of its outbox rows.
struct row_key {
  std::string_view tbl, pk;
  bool operator==(const row_key&) const = default;
};
struct row_key_hash {
  std::size_t operator()(const row_key& k) const {
    std::size_t h = std::hash<std::string_view>()(k.pk);
    return h ^ (std::hash<std::string_view>()(k.tbl) + 0x9e3779b9u + (h << 6) +
                (h >> 2));
  }
};

// The folded state of one table row while scanning its outbox rows.
enum class net { insert, update, remove };

struct group {
  std::int64_t first_id = 0;
  net state = net::insert;
  bool started = false;
  compacted_change change;
};

// Union of two `changed` lists; nullopt means "all columns" and absorbs.
std::optional<std::vector<std::string>> union_changed(
    const std::optional<std::vector<std::string>>& a,
    const std::optional<std::vector<std::string>>& b) {
  if (!a || !b) return std::nullopt;
  std::vector<std::string> out = *a;
  for (const auto& c : *b)
    if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
  return out;
}

void fold(group& g, const outbox_row& r) {
  compacted_change& c = g.change;
  c.ids.push_back(r.id);
  c.hlc = r.hlc;
  if (!g.started) {
    g.started = true;
    c.tbl = r.tbl;
    c.pk = r.pk;
    c.base_version = r.base_version;
    c.row = r.op == row_op::remove ? json(nullptr) : r.row;
    c.row_text = r.op == row_op::remove ? std::string_view() : r.row_text;
    c.changed = r.op == row_op::update ? r.changed : std::nullopt;
    g.state = r.op == row_op::insert   ? net::insert
              : r.op == row_op::update ? net::update
                                       : net::remove;
    return;
  }
  switch (g.state) {
    case net::insert:
      if (r.op == row_op::remove) {
        c.row = nullptr;
        c.row_text = {};
        g.state = net::remove;
      } else {
        c.row = r.row;  // I + U and I + I stay an insert of the latest row
        c.row_text = r.row_text;
      }
      return;
    case net::update:
      if (r.op == row_op::remove) {
        c.row = nullptr;
        c.row_text = {};
        c.changed = std::nullopt;
        g.state = net::remove;
      } else {
        c.row = r.row;
        c.row_text = r.row_text;
        c.changed = r.op == row_op::update ? union_changed(c.changed, r.changed)
                                           : std::nullopt;
      }
      return;
    case net::remove:
      if (r.op != row_op::remove) {
        c.row = r.row;
        c.row_text = r.row_text;
        c.changed = std::nullopt;  // the whole row is written again
        g.state = net::update;
      }
      return;
  }
}

}  // namespace

compaction compact_outbox(std::vector<outbox_row> rows) {
  std::sort(
      rows.begin(), rows.end(),
      [](const outbox_row& a, const outbox_row& b) { return a.id < b.id; });
  // Keys view the rows' own strings (alive until the end).
  std::unordered_map<row_key, std::size_t, row_key_hash> index;
  index.reserve(rows.size());
  std::vector<group> groups;
  groups.reserve(rows.size());
  for (const auto& r : rows) {
    auto [it, added] = index.emplace(row_key{r.tbl, r.pk}, groups.size());
    if (added) {
      groups.push_back(group{});
      groups.back().first_id = r.id;
    }
    fold(groups[it->second], r);
  }
  compaction out;
  for (auto& g : groups) {
    g.change.op = g.state == net::insert   ? row_op::insert
                  : g.state == net::update ? row_op::update
                                           : row_op::remove;
    out.changes.push_back(std::move(g.change));
  }
  return out;
}

}  // namespace edgesync::client
