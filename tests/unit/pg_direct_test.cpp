// The contract between the sync endpoint's merge SQL and the direct-write
// trigger (core/sql/pg_triggers.cpp): the trigger leaves alone an INSERT
// naming a client in _es_origin and an UPDATE that sets a new _es_version,
// so every write the endpoint makes must do one of those. These checks fail
// when a new endpoint write path would be mistaken for a direct write.
#include <gtest/gtest.h>

#include <string>

#include "sql/ddl.h"
#include "sql/pg_triggers.h"
#include "sql/server_postgres.h"
#include "support.h"

namespace edgesync {
namespace {

schema fixture() {
  auto r =
      parse_schema(testing::read_repo_file("tests/fixtures/schema.v1.json"));
  EXPECT_TRUE(r.ok());
  return r.value();
}

// Occurrences of `needle` in `hay`.
std::size_t count(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = hay.find(needle); p != std::string::npos;
       p = hay.find(needle, p + needle.size()))
    ++n;
  return n;
}

TEST(PgDirect, EveryEndpointUpdateSetsANewVersion) {
  for (const table& t : fixture().tables) {
    const std::string tbl = quote_ident(t.server_name);
    const std::string bump =
        "\"_es_version\" = nextval('edgesync_version_seq')";
    std::string up = sql::upsert(fixture(), t);
    EXPECT_EQ(count(up, "DO UPDATE SET"), 1U) << t.name;
    EXPECT_NE(up.find(bump, up.find("DO UPDATE SET")), std::string::npos)
        << t.name;
    std::string rm = sql::remove(fixture(), t);
    EXPECT_EQ(count(rm, "UPDATE " + tbl), 1U) << t.name;
    EXPECT_NE(rm.find(bump, rm.find("UPDATE " + tbl)), std::string::npos)
        << t.name;
  }
}

TEST(PgDirect, EveryEndpointInsertNamesTheClient) {
  for (const table& t : fixture().tables) {
    const std::string tbl = quote_ident(t.server_name);
    for (const std::string& s :
         {sql::upsert(fixture(), t), sql::remove(fixture(), t)}) {
      std::size_t inserts = count(s, "INSERT INTO " + tbl);
      // The origin is the last-but-one value; $3 is the client id.
      EXPECT_EQ(count(s, "\"_es_origin\", \"_es_updated_at\") SELECT"), inserts)
          << t.name;
      EXPECT_EQ(count(s, "$3, now() FROM d"), inserts) << t.name;
    }
  }
}

TEST(PgDirect, TriggerRecognisesTheEndpointAndStampsTheRest) {
  schema s = fixture();
  for (const table& t : s.tables) {
    std::string trig = pg_direct_write_trigger(t);
    EXPECT_NE(trig.find("IF NEW.\"_es_origin\" IS NOT NULL THEN RETURN NEW;"),
              std::string::npos);
    EXPECT_NE(trig.find("NEW.\"_es_version\" IS DISTINCT FROM "
                        "OLD.\"_es_version\""),
              std::string::npos);
    EXPECT_NE(trig.find("NEW.\"_es_origin\" := NULL;"), std::string::npos);
    EXPECT_NE(trig.find("current_setting('edgesync.purge', true)"),
              std::string::npos);
    EXPECT_NE(trig.find("BEFORE INSERT OR UPDATE OR DELETE ON " +
                        quote_ident(t.server_name)),
              std::string::npos);
  }
  // The full DDL installs one trigger per table, after adopting the table.
  std::string ddl = pg_ddl(s);
  for (const table& t : s.tables) {
    std::string tbl = quote_ident(t.server_name);
    auto adopt = ddl.find("ALTER TABLE " + tbl +
                          " ADD COLUMN IF NOT EXISTS \"_es_version\" bigint;");
    auto index =
        ddl.find("CREATE INDEX IF NOT EXISTS " +
                 quote_ident(t.server_name + pg_names::pull_index_suffix));
    ASSERT_NE(adopt, std::string::npos) << t.name;
    EXPECT_LT(adopt, index) << "the pull index needs the adopted columns";
    EXPECT_EQ(count(ddl, "CREATE TRIGGER " +
                             quote_ident(t.server_name +
                                         pg_names::direct_write_suffix)),
              1U);
  }
}

}  // namespace
}  // namespace edgesync
