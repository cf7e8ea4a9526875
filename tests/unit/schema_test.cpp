// Schema parsing and validation: good schemas parse, bad ones report every
// error with a JSON path and never crash.
#include "schema/schema.h"

#include <gtest/gtest.h>

#include "common/json_util.h"
#include "control/control.h"
#include "support.h"

namespace edgesync {
namespace {

using testing::read_repo_file;

TEST(Schema, ParsesTheTestSchema) {
  auto r = parse_schema(read_repo_file("tests/fixtures/schema.v1.json"));
  ASSERT_TRUE(r.ok()) << r.errors()[0].to_string();
  const schema& s = r.value();
  EXPECT_EQ(s.version, 1);
  ASSERT_EQ(s.tables.size(), 5u);
  const table* nodes = s.find_table("workflowNodes");
  ASSERT_NE(nodes, nullptr);
  EXPECT_EQ(nodes->server_name, "workflow_nodes");
  EXPECT_EQ(nodes->policy, conflict_policy::lww_field);
  EXPECT_EQ(nodes->columns[nodes->owner].server_name, "owner_id");
  EXPECT_FALSE(nodes->columns[nodes->owner].nullable);
  const table* edges = s.find_table("workflowEdges");
  ASSERT_NE(edges, nullptr);
  ASSERT_EQ(edges->primary_key.size(), 2u);
  EXPECT_EQ(edges->columns[edges->primary_key[1]].name, "edgeId");
  EXPECT_EQ(s.find_table("documents")->columns[5].type, column_type::blob_ref);
}

TEST(Schema, SnakeCase) {
  EXPECT_EQ(to_snake_case("userId"), "user_id");
  EXPECT_EQ(to_snake_case("workflowNodes"), "workflow_nodes");
  EXPECT_EQ(to_snake_case("HTTPCode"), "http_code");
  EXPECT_EQ(to_snake_case("already_snake"), "already_snake");
  EXPECT_EQ(to_snake_case("x2Y"), "x2_y");
}

TEST(Schema, Identifiers) {
  EXPECT_TRUE(is_valid_identifier("tasks_2"));
  EXPECT_FALSE(is_valid_identifier("2tasks"));
  EXPECT_FALSE(is_valid_identifier("a-b"));
  EXPECT_FALSE(is_valid_identifier("a\"b"));
  EXPECT_FALSE(is_valid_identifier(std::string(64, 'a')));
  EXPECT_EQ(quote_ident("a\"b"), "\"a\"\"b\"");
  EXPECT_EQ(quote_literal("it's"), "'it''s'");
}

struct bad_case {
  const char* file;
  const char* code;
  const char* path;     // exact path of the first error
  const char* message;  // a substring of its message
};

class BadSchema : public ::testing::TestWithParam<bad_case> {};

TEST_P(BadSchema, ReportsPathAndReason) {
  const bad_case& c = GetParam();
  std::string text =
      read_repo_file(std::string("tests/fixtures/bad-schemas/") + c.file);
  ASSERT_FALSE(text.empty()) << c.file;
  auto r = parse_schema(text);
  ASSERT_FALSE(r.ok()) << c.file << " should be rejected";
  const error& e = r.errors()[0];
  EXPECT_STREQ(to_string(e.code), c.code) << e.to_string();
  EXPECT_EQ(e.path, c.path) << e.to_string();
  EXPECT_NE(e.message.find(c.message), std::string::npos) << e.to_string();
}

INSTANTIATE_TEST_SUITE_P(
    Files, BadSchema,
    ::testing::Values(
        bad_case{"not-json.json", "invalid_json", "", "malformed JSON at byte"},
        bad_case{"not-object.json", "invalid_schema", "", "got array"},
        bad_case{"missing-version.json", "invalid_schema", "version",
                 "is required"},
        bad_case{"bad-version.json", "invalid_schema", "version",
                 "integer >= 1"},
        bad_case{"empty-tables.json", "invalid_schema", "tables", "non-empty"},
        bad_case{"unknown-type.json", "invalid_schema",
                 "tables[0].columns[1].type", "unknown type \"strng\""},
        bad_case{"injection-table.json", "invalid_schema", "tables[0].name",
                 "not a valid identifier"},
        bad_case{"injection-column.json", "invalid_schema",
                 "tables[0].columns[1].name", "not a valid identifier"},
        bad_case{"injection-server-name.json", "invalid_schema",
                 "tables[0].serverName", "not a valid identifier"},
        bad_case{"duplicate-column.json", "invalid_schema",
                 "tables[0].columns[1].name", "duplicate column"},
        bad_case{"duplicate-table.json", "invalid_schema", "tables[1].name",
                 "duplicate table"},
        bad_case{"pk-unknown-column.json", "invalid_schema",
                 "tables[0].primaryKey[1]", "no column named \"nope\""},
        bad_case{"pk-json-type.json", "invalid_schema", "tables[0].primaryKey",
                 "must be text or integer"},
        bad_case{"missing-owner.json", "invalid_schema", "tables[0].owner",
                 "is required"},
        bad_case{"owner-not-text.json", "invalid_schema", "tables[0].owner",
                 "must have type text"},
        bad_case{"unknown-policy.json", "invalid_schema", "tables[0].conflict",
                 "unknown conflict policy \"newest\""},
        bad_case{"unknown-key.json", "invalid_schema", "tables[0].primaryKeys",
                 "unknown key"},
        bad_case{"reserved-name.json", "invalid_schema", "tables[0].name",
                 "reserved prefix"},
        bad_case{"column-not-object.json", "invalid_schema",
                 "tables[0].columns[0]", "expected an object"},
        bad_case{"nullable-not-bool.json", "invalid_schema",
                 "tables[0].columns[1].nullable", "expected a boolean"},
        // The server name derived from a client name obeys the same rules.
        bad_case{"derived-reserved-name.json", "invalid_schema",
                 "tables[0].name",
                 "server name \"pg_class\" derived from \"PgClass\" uses a "
                 "reserved prefix"},
        bad_case{"derived-sync-outbox.json", "invalid_schema", "tables[0].name",
                 "\"sync_outbox\" derived from"},
        bad_case{"derived-too-long.json", "invalid_schema",
                 "tables[0].columns[2].name", "longer than 63 characters"},
        // SQLite compares names case-insensitively.
        bad_case{"case-duplicate-table.json", "invalid_schema",
                 "tables[1].name", "duplicate table \"VX\""},
        bad_case{"case-duplicate-column.json", "invalid_schema",
                 "tables[0].columns[3].name", "duplicate column \"note\""},
        // PostgreSQL would truncate the pull index name at 63 bytes.
        bad_case{"long-table-name.json", "invalid_schema", "tables[0].name",
                 "at most 54 fit"},
        bad_case{"index-infix.json", "invalid_schema", "tables[0].name",
                 "contains \"__es_\""},
        bad_case{"pkey-collision.json", "invalid_schema", "tables[1].name",
                 "primary key index"},
        bad_case{"system-column.json", "invalid_schema",
                 "tables[0].columns[2].name", "PostgreSQL system column"},
        bad_case{"owner-in-key.json", "invalid_schema", "tables[0].owner",
                 "cannot be part of the primary key"}));

TEST(Schema, ReportsAllErrorsAtOnce) {
  auto r = parse_schema(
      R"({"version":0,"tables":[{"name":"a","columns":[{"name":"id","type":"uuid"},{"name":"o","type":"text"}],"primaryKey":"id","owner":"o","conflict":"x"}]})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.errors().size(), 3u);
}

TEST(Schema, ControlEnvelopeCarriesErrors) {
  auto env = parse_json(control("schema.validate", "{\"version\":1}"));
  ASSERT_TRUE(env.ok());
  EXPECT_FALSE(env.value()["ok"].get<bool>());
  EXPECT_EQ(env.value()["errors"][0]["code"], "invalid_schema");
  EXPECT_EQ(env.value()["errors"][0]["path"], "tables");
  auto unknown = parse_json(control("no.such.op", "{}"));
  EXPECT_EQ(unknown.value()["errors"][0]["code"], "invalid_request");
}

TEST(Schema, NeverCrashesOnTruncatedInput) {
  // Every prefix of a valid schema is either valid or a clean error.
  std::string text = read_repo_file("tests/fixtures/schema.v1.json");
  for (std::size_t n = 0; n < text.size(); n += 7) {
    auto r = parse_schema(std::string_view(text).substr(0, n));
    EXPECT_FALSE(r.ok());
  }
}

}  // namespace
}  // namespace edgesync
