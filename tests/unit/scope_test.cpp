// Scopes and roles in the schema: a scope's root, membership and scoped
// tables get their access kinds; bad declarations report a path each; the
// rule table is the documented one; the generated SQL is a golden file.
#include <gtest/gtest.h>

#include <cctype>

#include "schema/access.h"
#include "schema/schema.h"
#include "sql/ddl.h"
#include "sql/pg_sync_function.h"
#include "support.h"

namespace edgesync {
namespace {

using testing::read_repo_file;

std::string shared() {
  return read_repo_file("tests/fixtures/schema.shared.json");
}

// The shared schema with `from` replaced by `to` (once).
std::string edited(const std::string& from, const std::string& to) {
  std::string s = shared();
  auto at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

TEST(Scope, ParsesTheSharedSchema) {
  auto r = parse_schema(shared());
  ASSERT_TRUE(r.ok()) << r.errors()[0].to_string();
  const schema& s = r.value();
  ASSERT_EQ(s.scopes.size(), 1U);
  const scope_def& d = s.scopes[0];
  EXPECT_EQ(d.name, "project");
  EXPECT_EQ(s.tables[d.root].name, "projects");
  EXPECT_EQ(s.tables[d.members].name, "projectMembers");
  const table& m = s.tables[d.members];
  EXPECT_EQ(m.columns[d.member_user].name, "userId");
  EXPECT_EQ(m.columns[d.member_role].name, "role");
  EXPECT_EQ(m.columns[m.scope_column].name, "projectId");
  EXPECT_EQ(s.find_table("projects")->access, access_kind::root);
  EXPECT_EQ(m.access, access_kind::members);
  const table* nodes = s.find_table("nodes");
  EXPECT_EQ(nodes->access, access_kind::scoped);
  EXPECT_EQ(nodes->columns[nodes->scope_column].name, "projectId");
  EXPECT_FALSE(nodes->columns[nodes->scope_column].nullable);
  EXPECT_EQ(s.find_table("notes")->access, access_kind::owner);
  EXPECT_EQ(s.find_table("notes")->scope, -1);
}

struct bad_scope {
  const char* name;
  std::string text;
  const char* path;
};

class BadScope : public ::testing::TestWithParam<bad_scope> {};

TEST_P(BadScope, ReportsPath) {
  auto r = parse_schema(GetParam().text);
  ASSERT_FALSE(r.ok());
  bool found = false;
  for (const auto& e : r.errors()) found = found || e.path == GetParam().path;
  EXPECT_TRUE(found) << GetParam().name << ": " << r.errors()[0].to_string();
}

INSTANTIATE_TEST_SUITE_P(
    Scopes, BadScope,
    ::testing::Values(
        bad_scope{"unknown scope",
                  edited(R"("name": "project",
        "column")",
                         R"("name": "team",
        "column")"),
                  "tables[2].scope.name"},
        bad_scope{"unknown root",
                  edited(R"("root": "projects")", R"("root": "nope")"),
                  "scopes[0].root"},
        bad_scope{"unknown member column",
                  edited(R"("user": "userId")", R"("user": "uid")"),
                  "scopes[0].members.user"},
        bad_scope{"scoped table before its scope's tables",
                  R"({"version":1,
                      "scopes":[{"name":"p","root":"r","members":{"table":"m",
                        "scope":"r","user":"u","role":"role"}}],
                      "tables":[
                        {"name":"n","primaryKey":"id","owner":"o",
                         "scope":{"name":"p","column":"r"},
                         "columns":[{"name":"id","type":"text"},{"name":"o","type":"text"},
                                    {"name":"r","type":"text"}]},
                        {"name":"r","primaryKey":"id","owner":"o",
                         "columns":[{"name":"id","type":"text"},{"name":"o","type":"text"}]},
                        {"name":"m","primaryKey":["r","u"],"owner":"o",
                         "columns":[{"name":"r","type":"text"},{"name":"u","type":"text"},
                                    {"name":"role","type":"text"},{"name":"o","type":"text"}]}]})",
                  "tables[0].scope.name"},
        bad_scope{
            "scope without scopes",
            R"({"version":1,"tables":[{"name":"a","primaryKey":"id","owner":"o",
                      "scope":{"name":"p","column":"s"},
                      "columns":[{"name":"id","type":"text"},{"name":"o","type":"text"},
                                 {"name":"s","type":"text"}]}]})",
            "tables[0].scope"},
        bad_scope{"role column in the key",
                  edited(R"("role": "role")", R"("role": "projectId")"),
                  "scopes[0].members.role"}),
    [](const auto& p) {
      std::string n = p.param.name;
      for (char& c : n)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      return n;
    });

TEST(Scope, TheRuleTableIsTheDocumentedOne) {
  const access_rule& scoped = access_of(access_kind::scoped);
  EXPECT_EQ(scoped.to_read, role::read);
  EXPECT_EQ(scoped.to_write, role::write);
  EXPECT_EQ(scoped.to_delete, role::write);
  const access_rule& root = access_of(access_kind::root);
  EXPECT_EQ(root.to_write, role::write);
  EXPECT_EQ(root.to_delete, role::admin);
  EXPECT_TRUE(root.creates_scope);
  const access_rule& members = access_of(access_kind::members);
  EXPECT_EQ(members.to_write, role::admin);
  EXPECT_EQ(members.to_delete, role::admin);
  EXPECT_TRUE(members.may_leave);
  EXPECT_FALSE(scoped.may_leave);
  EXPECT_EQ(parse_role("write"), role::write);
  EXPECT_FALSE(parse_role("owner").has_value());
}

TEST(Scope, GoldenDdl) {
  auto r = parse_schema(shared());
  ASSERT_TRUE(r.ok());
  std::string pg = sql::server_ddl(r.value());
  // The scope's indexes and the creator trigger, and no owner pull index on
  // a scoped table.
  EXPECT_NE(pg.find("\"nodes__es_sx\" ON \"nodes\" (\"project_id\", "
                    "\"_es_xid\", \"_es_version\")"),
            std::string::npos);
  EXPECT_NE(pg.find("\"project_members__es_mu\" ON \"project_members\" "
                    "(\"user_id\", \"_es_xid\", \"_es_version\")"),
            std::string::npos);
  EXPECT_NE(pg.find("AFTER INSERT ON \"projects\""), std::string::npos);
  EXPECT_EQ(pg.find("\"nodes__es_pull\""), std::string::npos);
  EXPECT_NE(pg.find("\"notes__es_pull\""), std::string::npos);
  if (testing::update_golden()) {
    testing::write_repo_file("tests/golden/shared.pg.sql", pg);
    return;
  }
  EXPECT_TRUE(pg == read_repo_file("tests/golden/shared.pg.sql"))
      << "tests/golden/shared.pg.sql differs; re-run with UPDATE_GOLDEN=1 "
         "and review";
}

}  // namespace
}  // namespace edgesync
