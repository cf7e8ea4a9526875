// Generated SQL: golden files (shared with the WASM node test) and execution
// of the SQLite DDL and triggers against real SQLite.
#include <gtest/gtest.h>

#include "common/json_util.h"
#include "schema/schema.h"
#include "sql/ddl.h"
#include "sql/pg_sync_function.h"
#include "support.h"

namespace edgesync {
namespace {

using testing::read_repo_file;
using testing::sqlite_db;

schema load(const char* rel) {
  auto r = parse_schema(read_repo_file(rel));
  EXPECT_TRUE(r.ok());
  return r.ok() ? r.value() : schema{};
}

void expect_golden(const std::string& rel, const std::string& actual) {
  if (testing::update_golden()) {
    testing::write_repo_file(rel, actual);
    return;
  }
  std::string expected = read_repo_file(rel);
  ASSERT_FALSE(expected.empty())
      << rel << " is missing; run with UPDATE_GOLDEN=1 to create it";
  EXPECT_EQ(actual, expected) << rel << " differs; if the change is intended "
                              << "re-run with UPDATE_GOLDEN=1 and review";
}

TEST(Codegen, GoldenFiles) {
  schema v1 = load("tests/fixtures/schema.v1.json");
  schema v2 = load("tests/fixtures/schema.v2.json");
  expect_golden("tests/golden/v1.sqlite.sql", sqlite_ddl(v1));
  expect_golden("tests/golden/v1.pg.sql", sql::server_ddl(v1));
  auto sm = sqlite_migration(v1, v2);
  auto pm = sql::server_migration(v1, v2);
  ASSERT_TRUE(sm.ok() && pm.ok());
  expect_golden("tests/golden/v1-v2.sqlite.sql", sm.value());
  expect_golden("tests/golden/v1-v2.pg.sql", pm.value());
}

class SqliteOutbox : public ::testing::Test {
 protected:
  void SetUp() override {
    s_ = load("tests/fixtures/schema.v1.json");
    ASSERT_EQ(db_.exec(sqlite_ddl(s_)), "");
    // Idempotent: safe to run on every app start.
    ASSERT_EQ(db_.exec(sqlite_ddl(s_)), "");
  }
  std::vector<std::vector<std::string>> outbox() {
    return db_.query(
        "SELECT tbl, pk, op, coalesce(row, '<null>'), coalesce(changed, "
        "'<null>'), hlc, coalesce(base_version, '<null>') FROM sync_outbox "
        "ORDER BY id");
  }
  schema s_;
  sqlite_db db_;
};

TEST_F(SqliteOutbox, InsertUpdateDeleteEachRecordAChange) {
  ASSERT_EQ(db_.exec("UPDATE sync_clock SET node = 'c1'"), "");
  ASSERT_EQ(db_.exec("INSERT INTO projects (id, ownerId, name, archived) "
                     "VALUES ('p1', 'u1', 'Alpha', 1)"),
            "");
  ASSERT_EQ(db_.exec("UPDATE projects SET name = 'Beta' WHERE id = 'p1'"), "");
  ASSERT_EQ(db_.exec("UPDATE projects SET name = 'Beta' WHERE id = 'p1'"), "")
      << "a no-op update";
  ASSERT_EQ(db_.exec("DELETE FROM projects WHERE id = 'p1'"), "");
  auto rows = outbox();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0][0], "projects");
  EXPECT_EQ(rows[0][1], "[\"p1\"]");
  EXPECT_EQ(rows[0][2], "I");
  EXPECT_EQ(rows[0][3],
            "{\"id\":\"p1\",\"ownerId\":\"u1\",\"name\":\"Alpha\","
            "\"archived\":true,\"updatedAt\":null}");
  EXPECT_EQ(rows[1][2], "U");
  EXPECT_EQ(rows[1][4], "[\"name\"]");
  EXPECT_EQ(rows[2][2], "D");
  EXPECT_EQ(rows[2][3], "<null>");
  // HLC stamps are fixed-width, end in the node id, and strictly increase.
  EXPECT_EQ(rows[0][5].size(), 15u + 1 + 5 + 1 + 2);
  EXPECT_EQ(rows[0][5].substr(22), "c1");
  EXPECT_LT(rows[0][5], rows[1][5]);
  EXPECT_LT(rows[1][5], rows[2][5]);
}

TEST_F(SqliteOutbox, CompositeKeysJsonAndBaseVersion) {
  ASSERT_EQ(db_.exec("INSERT INTO sync_rows VALUES ('workflowEdges', "
                     "'[\"p1\",\"e1\"]', 42)"),
            "");
  ASSERT_EQ(
      db_.exec("INSERT INTO workflowEdges VALUES ('p1','e1','u1','a','b')"),
      "");
  ASSERT_EQ(db_.exec("INSERT INTO workflowNodes (id, projectId, ownerId, data) "
                     "VALUES ('n1','p1','u1','{\"k\":[1,2]}')"),
            "");
  auto rows = outbox();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][1], "[\"p1\",\"e1\"]");
  EXPECT_EQ(rows[0][6], "42");
  EXPECT_NE(rows[1][3].find("\"data\":{\"k\":[1,2]}"), std::string::npos)
      << "json columns are embedded as JSON, not strings: " << rows[1][3];
  EXPECT_EQ(rows[1][6], "<null>");
}

TEST_F(SqliteOutbox, RowsAppliedBySyncDoNotReenterTheOutbox) {
  ASSERT_EQ(db_.exec("BEGIN; INSERT INTO sync_apply_guard VALUES (1);"
                     "INSERT INTO projects (id, ownerId, name) VALUES "
                     "('p1','u1','A');"
                     "UPDATE projects SET name='B';"
                     "DELETE FROM projects;"
                     "DELETE FROM sync_apply_guard; COMMIT;"),
            "");
  EXPECT_TRUE(outbox().empty());
  ASSERT_EQ(db_.exec("INSERT INTO projects (id, ownerId, name) VALUES "
                     "('p2','u1','C')"),
            "");
  EXPECT_EQ(outbox().size(), 1u) << "guard lifted: local writes record again";
}

TEST_F(SqliteOutbox, ChangingTheKeyIsDeleteThenInsert) {
  ASSERT_EQ(db_.exec("INSERT INTO projects (id, ownerId, name) VALUES "
                     "('p1','u1','A'); DELETE FROM sync_outbox;"
                     "UPDATE projects SET id = 'p9' WHERE id = 'p1'"),
            "");
  auto rows = outbox();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][2], "D");
  EXPECT_EQ(rows[0][1], "[\"p1\"]");
  EXPECT_EQ(rows[1][2], "I");
  EXPECT_EQ(rows[1][1], "[\"p9\"]");
}

TEST_F(SqliteOutbox, ClockNeverGoesBackwards) {
  // A server clock far ahead is absorbed; local stamps keep increasing.
  ASSERT_EQ(db_.exec("UPDATE sync_clock SET ms = 99999999999999, ctr = 99998"),
            "");
  ASSERT_EQ(db_.exec("INSERT INTO settings VALUES ('a','u1','1');"
                     "INSERT INTO settings VALUES ('b','u1','2');"
                     "INSERT INTO settings VALUES ('c','u1','3')"),
            "");
  auto rows = outbox();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_LT(rows[0][5], rows[1][5]);
  EXPECT_LT(rows[1][5], rows[2][5]);
  EXPECT_EQ(rows[1][5].substr(0, 21), "100000000000000:00000");
}

TEST(Migration, AdditiveSqliteMigrationKeepsData) {
  schema v1 = load("tests/fixtures/schema.v1.json");
  schema v2 = load("tests/fixtures/schema.v2.json");
  sqlite_db db;
  ASSERT_EQ(db.exec(sqlite_ddl(v1)), "");
  ASSERT_EQ(db.exec("INSERT INTO projects (id, ownerId, name) VALUES "
                    "('p1','u1','A'); DELETE FROM sync_outbox;"),
            "");
  auto m = sqlite_migration(v1, v2);
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(db.exec(m.value()), "");
  EXPECT_EQ(db.query("SELECT name, coalesce(color,'-') FROM projects")[0],
            (std::vector<std::string>{"A", "-"}));
  ASSERT_EQ(db.exec("UPDATE projects SET color = 'red'; INSERT INTO tags "
                    "VALUES ('t1','u1','x')"),
            "");
  auto rows = db.query("SELECT tbl, row FROM sync_outbox ORDER BY id");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_NE(rows[0][1].find("\"color\":\"red\""), std::string::npos);
  EXPECT_EQ(rows[1][0], "tags");
  EXPECT_EQ(db.query("SELECT value FROM sync_state WHERE key = "
                     "'schema_version'")[0][0],
            "2");
}

TEST(Migration, DestructiveChangesAreRefused) {
  schema v2 = load("tests/fixtures/schema.v2.json");
  schema v3 = load("tests/fixtures/schema.v3-destructive.json");
  auto m = pg_migration(v2, v3);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.errors()[0].code, error_code::destructive_migration);
  EXPECT_EQ(m.errors()[0].path, "tables[0].columns");
  EXPECT_NE(m.errors()[0].message.find("\"archived\" was removed"),
            std::string::npos);
  auto back = sqlite_migration(v2, load("tests/fixtures/schema.v1.json"));
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.errors()[0].path, "version");
}

TEST(Migration, NewColumnsMustBeNullable) {
  schema v1 = load("tests/fixtures/schema.v1.json");
  schema v2 = v1;
  v2.version = 2;
  v2.tables[0].columns.push_back(
      {"rank", "rank", column_type::integer, false, std::nullopt});
  auto m = pg_migration(v1, v2);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.errors()[0].path, "tables[0].columns[5].nullable");
}

}  // namespace
}  // namespace edgesync
