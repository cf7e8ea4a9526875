// Outbox compaction: every pair and every triple of I/U/D gives the same
// server row whether the raw outbox rows are applied one by one or the
// compacted change is applied once — first against a reference model of
// the server (all 27 triples, including sequences triggers cannot produce),
// then end to end through real triggers, the core and the simulated server
// for every conflict policy.
#include "client/client_compact.h"

#include <gtest/gtest.h>

#include "client_sim.h"

namespace edgesync {
namespace {

using client::compact_outbox;
using client::compacted_change;
using client::outbox_row;
using client::row_op;

// ---------------------------------------------------------------- model

// The server row in the model: absent, or a row object.
using model_row = std::optional<json>;

// Applies one change the way the server does for a last-writer-wins table
// (row-level: the whole row; field-level: only `changed` columns of a live
// row). No concurrent writer exists here, so every change wins.
void model_apply(model_row& s, row_op op, const json& row,
                 const std::optional<std::vector<std::string>>& changed,
                 bool field_level) {
  if (op == row_op::remove) {
    s.reset();
    return;
  }
  if (!s || !field_level || !changed || op == row_op::insert) {
    s = row;
    return;
  }
  for (const auto& c : *changed) (*s)[c] = row[c];
}

json fresh_row(int n) {
  return {{"id", "r"},
          {"name", "n" + std::to_string(n)},
          {"x", n * 10},
          {"y", n * 100},
          {"label", "l" + std::to_string(n)}};
}

const char* op_letters = "IUD";

struct sequence {
  std::vector<row_op> ops;
  std::string name() const {
    std::string s;
    for (auto o : ops) s += static_cast<char>(o);
    return s;
  }
};

std::vector<sequence> all_sequences() {
  std::vector<sequence> out;
  for (int n = 2; n <= 3; ++n) {
    int total = n == 2 ? 9 : 27;
    for (int code = 0; code < total; ++code) {
      sequence s;
      int c = code;
      for (int i = 0; i < n; ++i) {
        s.ops.push_back(static_cast<row_op>(op_letters[c % 3]));
        c /= 3;
      }
      out.push_back(s);
    }
  }
  return out;
}

// Builds the outbox rows a sequence leaves: each U changes a different set
// of columns; a U on an absent row or I on a present one still produce rows
// (they cannot come from the triggers, but compaction must stay total).
std::vector<outbox_row> make_rows(const sequence& seq, bool present,
                                  model_row& local) {
  std::vector<outbox_row> rows;
  local = present ? model_row(fresh_row(0)) : std::nullopt;
  std::optional<std::int64_t> base =
      present ? std::optional<std::int64_t>(7) : std::nullopt;
  const std::vector<std::vector<std::string>> column_sets = {
      {"name"}, {"x", "label"}, {"name", "y"}};
  std::int64_t id = 10;
  for (std::size_t i = 0; i < seq.ops.size(); ++i) {
    outbox_row r;
    r.id = id++;
    r.tbl = "t";
    r.pk = "[\"r\"]";
    r.op = seq.ops[i];
    r.hlc = "00000000000000" + std::to_string(i) + ":00000:c";
    r.base_version = base;
    if (r.op == row_op::insert) {
      local = fresh_row(static_cast<int>(i) + 1);
      r.row = *local;
    } else if (r.op == row_op::update) {
      json next = local ? *local : fresh_row(static_cast<int>(i) + 1);
      for (const auto& c : column_sets[i]) {
        json v = fresh_row(static_cast<int>(i) + 20)[c];
        next[c] = v;
      }
      local = next;
      r.row = next;
      r.changed = column_sets[i];
    } else {
      local.reset();
    }
    rows.push_back(r);
  }
  return rows;
}

class CompactModel : public ::testing::TestWithParam<bool> {};

// What the server holds when the compacted change arrives: nothing, the
// row the client knows, or a row of the same key that another device wrote
// and this client has not seen (its edits carry no base version).
enum class server_has { nothing, known_row, unseen_row };

TEST_P(CompactModel, EveryPairAndTripleMatchesTheRawSequence) {
  bool field_level = GetParam();
  int checked = 0;
  for (const auto& seq : all_sequences()) {
    for (server_has has :
         {server_has::nothing, server_has::known_row, server_has::unseen_row}) {
      model_row local;
      auto rows = make_rows(seq, has == server_has::known_row, local);
      model_row raw = has == server_has::known_row    ? model_row(fresh_row(0))
                      : has == server_has::unseen_row ? model_row(fresh_row(99))
                                                      : std::nullopt;
      model_row compacted = raw;
      for (const auto& r : rows)
        model_apply(raw, r.op, r.row, r.changed, field_level);
      auto c = compact_outbox(rows);
      ASSERT_EQ(c.changes.size(), 1u) << seq.name();
      for (const auto& ch : c.changes)
        model_apply(compacted, ch.op, ch.row, ch.changed, field_level);
      SCOPED_TRACE(seq.name() + (has == server_has::known_row
                                     ? " on a known row"
                                 : has == server_has::unseen_row
                                     ? " on a row another device wrote"
                                     : " on a new row"));
      EXPECT_EQ(compacted, raw);
      // Every id is covered exactly once, by the change.
      std::vector<std::int64_t> ids;
      for (const auto& ch : c.changes)
        ids.insert(ids.end(), ch.ids.begin(), ch.ids.end());
      std::sort(ids.begin(), ids.end());
      std::vector<std::int64_t> want;
      for (const auto& r : rows) want.push_back(r.id);
      EXPECT_EQ(ids, want);
      if (!c.changes.empty()) {
        EXPECT_EQ(c.changes[0].hlc, rows.back().hlc) << "the latest stamp";
        EXPECT_EQ(c.changes[0].base_version, rows.front().base_version)
            << "the earliest base version";
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 108);
}

INSTANTIATE_TEST_SUITE_P(Policies, CompactModel, ::testing::Values(false, true),
                         [](const auto& p) {
                           return p.param ? "FieldLevel" : "RowLevel";
                         });

TEST(Compact, TheDocumentedPairs) {
  auto row = [](std::int64_t id, row_op op, std::optional<std::int64_t> base,
                std::optional<std::vector<std::string>> changed =
                    std::nullopt) {
    outbox_row r;
    r.id = id;
    r.tbl = "t";
    r.pk = "[1]";
    r.op = op;
    r.row = op == row_op::remove ? json(nullptr) : json{{"id", 1}, {"v", id}};
    r.changed = std::move(changed);
    r.hlc = "h" + std::to_string(id);
    r.base_version = base;
    return r;
  };
  using V = std::vector<std::string>;
  // insert + update -> insert with the latest row
  auto c = compact_outbox(
      {row(1, row_op::insert, {}), row(2, row_op::update, {}, V{"v"})});
  ASSERT_EQ(c.changes.size(), 1u);
  EXPECT_EQ(c.changes[0].op, row_op::insert);
  EXPECT_EQ(c.changes[0].row["v"], 2);
  EXPECT_FALSE(c.changes[0].changed);
  EXPECT_EQ(c.changes[0].ids, (std::vector<std::int64_t>{1, 2}));
  // insert + delete -> delete, even of a row the server never had from this
  // client: another device may have inserted the same key, and this delete
  // is the newest write of it
  c = compact_outbox({row(1, row_op::insert, {}), row(2, row_op::remove, {})});
  ASSERT_EQ(c.changes.size(), 1u);
  EXPECT_EQ(c.changes[0].op, row_op::remove);
  EXPECT_EQ(c.changes[0].ids, (std::vector<std::int64_t>{1, 2}));
  EXPECT_FALSE(c.changes[0].base_version);
  // ...and of a row the server knows (the insert replaced it)
  c = compact_outbox({row(1, row_op::insert, 5), row(2, row_op::remove, 5)});
  ASSERT_EQ(c.changes.size(), 1u);
  EXPECT_EQ(c.changes[0].op, row_op::remove);
  // update + update -> union of changed, latest row and hlc, earliest base
  c = compact_outbox({row(1, row_op::update, 5, V{"a", "b"}),
                      row(2, row_op::update, 6, V{"b", "c"})});
  ASSERT_EQ(c.changes.size(), 1u);
  EXPECT_EQ(c.changes[0].op, row_op::update);
  EXPECT_EQ(*c.changes[0].changed, (V{"a", "b", "c"}));
  EXPECT_EQ(c.changes[0].row["v"], 2);
  EXPECT_EQ(c.changes[0].hlc, "h2");
  EXPECT_EQ(c.changes[0].base_version, 5);
  // update + delete -> delete
  c = compact_outbox(
      {row(1, row_op::update, 5, V{"a"}), row(2, row_op::remove, 5)});
  ASSERT_EQ(c.changes.size(), 1u);
  EXPECT_EQ(c.changes[0].op, row_op::remove);
  EXPECT_EQ(c.changes[0].base_version, 5);
  // delete + insert -> an update of the whole row, base = the delete's
  c = compact_outbox(
      {row(1, row_op::remove, 5), row(2, row_op::insert, std::nullopt)});
  ASSERT_EQ(c.changes.size(), 1u);
  EXPECT_EQ(c.changes[0].op, row_op::update);
  EXPECT_FALSE(c.changes[0].changed) << "all columns";
  EXPECT_EQ(c.changes[0].base_version, 5);
  EXPECT_EQ(c.changes[0].row["v"], 2);
}

TEST(Compact, KeepsRowsApartAndOrdersByFirstId) {
  auto row = [](std::int64_t id, const char* tbl, const char* pk, row_op op) {
    outbox_row r;
    r.id = id;
    r.tbl = tbl;
    r.pk = pk;
    r.op = op;
    r.row = json{{"id", pk}};
    r.hlc = "h";
    return r;
  };
  auto c = compact_outbox(
      {row(5, "b", "[1]", row_op::update), row(1, "a", "[1]", row_op::insert),
       row(3, "b", "[1]", row_op::insert), row(2, "a", "[2]", row_op::insert),
       row(4, "a", "[1]", row_op::update)});
  ASSERT_EQ(c.changes.size(), 3u);
  EXPECT_EQ(c.changes[0].ids, (std::vector<std::int64_t>{1, 4}));
  EXPECT_EQ(c.changes[1].ids, (std::vector<std::int64_t>{2}));
  EXPECT_EQ(c.changes[2].ids, (std::vector<std::int64_t>{3, 5}));
  EXPECT_EQ(c.changes[2].tbl, "b");
}

// ------------------------------------------------------- end to end

// Local SQL for one op on row `r1` of `table`, or "" when it cannot apply
// (update/delete of an absent row fire no trigger).
std::string op_sql(const std::string& table, char op, bool present, int step) {
  std::string n = std::to_string(step);
  if (table == "projects") {
    if (op == 'I')
      return std::string(present ? "INSERT OR REPLACE" : "INSERT") +
             " INTO projects (id, ownerId, name, archived, updatedAt) VALUES "
             "('r1', 'u1', "
             "'ins" +
             n + "', " + (step % 2 ? "1" : "0") + ", '2026-11-22T08:00:0" + n +
             ".000Z')";
    if (op == 'U')
      return "UPDATE projects SET name = 'upd" + n + "'" +
             (step == 1 ? ", archived = 1" : "") + " WHERE id = 'r1'";
    return "DELETE FROM projects WHERE id = 'r1'";
  }
  if (table == "workflowNodes") {
    if (op == 'I')
      return std::string(present ? "INSERT OR REPLACE" : "INSERT") +
             " INTO workflowNodes (id, projectId, ownerId, label, x, y, data) "
             "VALUES ('r1', "
             "'p', 'u1', 'ins" +
             n + "', " + n + ".5, 2, '{\"k\":[" + n + "]}')";
    if (op == 'U')
      return step == 1 ? "UPDATE workflowNodes SET x = 99.25, data = '[1,2]' "
                         "WHERE id = 'r1'"
                       : "UPDATE workflowNodes SET label = 'upd" + n +
                             "' WHERE id = 'r1'";
    return "DELETE FROM workflowNodes WHERE id = 'r1'";
  }
  if (table == "workflowEdges") {
    if (op == 'I')
      return std::string(present ? "INSERT OR REPLACE" : "INSERT") +
             " INTO workflowEdges (projectId, edgeId, ownerId, source, target) "
             "VALUES ('p', "
             "'r1', 'u1', 's" +
             n + "', 't" + n + "')";
    if (op == 'U')
      return "UPDATE workflowEdges SET target = 'u" + n +
             "' WHERE edgeId = 'r1'";
    return "DELETE FROM workflowEdges WHERE edgeId = 'r1'";
  }
  if (table == "settings") {
    if (op == 'I')
      return std::string(present ? "INSERT OR REPLACE" : "INSERT") +
             " INTO settings (key, ownerId, value) VALUES ('r1', 'u1', '\"v" +
             n + "\"')";
    if (op == 'U')
      return "UPDATE settings SET value = '{\"n\":" + n + "}' WHERE key = 'r1'";
    return "DELETE FROM settings WHERE key = 'r1'";
  }
  if (op == 'I')
    return std::string(present ? "INSERT OR REPLACE" : "INSERT") +
           " INTO documents (id, ownerId, title, body, revision) VALUES (1, "
           "'u1', 't" +
           n + "', 'b', " + n + ")";
  if (op == 'U')
    return "UPDATE documents SET title = 'u" + n + "' WHERE id = 1";
  return "DELETE FROM documents WHERE id = 1";
}

// Runs a sequence on a fresh client whose row starts synced (`present`) or
// absent; syncs after every op (`raw`) or once at the end. Returns the
// server's live rows of the table, and checks the client converged.
std::vector<json> run_sequence(const std::string& table, const std::string& ops,
                               bool present, bool raw, int& applied_batches) {
  testing::world w;
  client::config cfg;
  cfg.debounce_ms = 1000000;  // only explicit syncs
  cfg.periodic_ms = 10000000;
  testing::sim_client c(w, "a", cfg);
  c.open();
  EXPECT_TRUE(w.settle());
  bool exists = false;
  if (present) {
    c.write(op_sql(table, 'I', false, 0));
    c.send(client::events::sync_now{});
    EXPECT_TRUE(w.settle());
    exists = true;
  }
  int before = w.server.batches_applied;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    char op = ops[i];
    c.write(op_sql(table, op, exists, static_cast<int>(i) + 1));
    exists = op != 'D';
    if (raw) {
      c.send(client::events::sync_now{});
      EXPECT_TRUE(w.settle());
    }
  }
  c.send(client::events::sync_now{});
  EXPECT_TRUE(w.settle());
  applied_batches = w.server.batches_applied - before;
  EXPECT_EQ(c.outbox_size(), 0) << table << " " << ops;
  EXPECT_TRUE(c.rejections.empty()) << table << " " << ops;
  EXPECT_TRUE(c.conflicts.empty()) << table << " " << ops;
  std::vector<json> server_rows = w.server.live_rows(table);
  EXPECT_EQ(server_rows.size(), ops.back() == 'D' ? 0u : 1u)
      << table << " " << ops;
  EXPECT_GT(w.server.log.size(), 0u);
  EXPECT_EQ(c.rows(table), server_rows)
      << table << " " << ops << (raw ? " raw" : " compacted");
  return server_rows;
}

class CompactEndToEnd : public ::testing::TestWithParam<const char*> {};

TEST_P(CompactEndToEnd, EveryPossiblePairAndTripleSyncsLikeTheRawSequence) {
  std::string table = GetParam();
  int sequences = 0;
  for (const auto& seq : all_sequences()) {
    std::string ops = seq.name();
    for (bool present : {false, true}) {
      // Skip what the app cannot do: update or delete an absent row.
      bool exists = present, possible = true;
      for (char op : ops) {
        if (op != 'I' && !exists) possible = false;
        exists = op != 'D';
      }
      if (!possible) continue;
      SCOPED_TRACE(table + " " + ops +
                   (present ? " on a synced row" : " on a new row"));
      int raw_batches = 0, compacted_batches = 0;
      auto raw = run_sequence(table, ops, present, true, raw_batches);
      auto compacted =
          run_sequence(table, ops, present, false, compacted_batches);
      EXPECT_EQ(compacted, raw);
      EXPECT_LE(compacted_batches, 1);
      ++sequences;
    }
  }
  // Pairs: 3 from a new row (I then I/U/D), 7 from a synced one; triples:
  // 7 and 17 likewise.
  EXPECT_EQ(sequences, 3 + 7 + 7 + 17) << "possible pairs and triples";
}

INSTANTIATE_TEST_SUITE_P(Policies, CompactEndToEnd,
                         ::testing::Values("projects", "workflowNodes",
                                           "workflowEdges", "settings",
                                           "documents"));

}  // namespace
}  // namespace edgesync
