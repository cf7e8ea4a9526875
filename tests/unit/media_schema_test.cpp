// Per-column media limits of blob_ref columns ("media": {maxBytes, mime}):
// parsed into the schema, bad ones reported with their path, and the media
// plan (`schema.media_sql`) the host's upload endpoints run.
#include <gtest/gtest.h>

#include <string>

#include "common/json_util.h"
#include "control/control.h"
#include "schema/schema.h"

namespace edgesync {
namespace {

// A one-table schema whose `file` column carries `media` (raw JSON) and
// whose type is `type`.
std::string with_media(const std::string& media,
                       const std::string& type = "blob_ref") {
  return R"({"version": 1, "tables": [{"name": "docs", "primaryKey": "id",
    "owner": "ownerId", "columns": [{"name": "id", "type": "text"},
    {"name": "ownerId", "type": "text"},
    {"name": "file", "type": ")" +
         type + R"(", "media": )" + media + R"(},
    {"name": "plain", "type": "blob_ref"}]}]})";
}

TEST(MediaSchema, ParsesLimits) {
  auto r = parse_schema(with_media(
      R"({"maxBytes": 10485760, "mime": ["image/png", "image/jpeg"]})"));
  ASSERT_TRUE(r.ok()) << r.errors()[0].to_string();
  const table& t = r.value().tables[0];
  const column* c = t.find_column("file");
  ASSERT_TRUE(c->media.has_value());
  EXPECT_EQ(c->media->max_bytes, 10485760);
  EXPECT_EQ(c->media->mime,
            (std::vector<std::string>{"image/png", "image/jpeg"}));
  EXPECT_FALSE(t.find_column("plain")->media.has_value());
}

struct bad_media {
  const char* media;
  const char* type;
  const char* path;     // exact path of the first error
  const char* message;  // a substring of its message
};

class BadMedia : public ::testing::TestWithParam<bad_media> {};

TEST_P(BadMedia, ReportsPathAndReason) {
  const bad_media& c = GetParam();
  auto r = parse_schema(with_media(c.media, c.type));
  ASSERT_FALSE(r.ok()) << c.media;
  const error& e = r.errors()[0];
  EXPECT_EQ(e.code, error_code::invalid_schema);
  EXPECT_EQ(e.path, c.path) << e.to_string();
  EXPECT_NE(e.message.find(c.message), std::string::npos) << e.to_string();
}

constexpr const char* kCol = "tables[0].columns[2].media";

INSTANTIATE_TEST_SUITE_P(
    Cases, BadMedia,
    ::testing::Values(
        bad_media{R"({"maxBytes": 1, "mime": ["image/png"]})", "text", kCol,
                  "only a blob_ref column"},
        bad_media{R"("10MB")", "blob_ref", kCol, "expected {\"maxBytes\""},
        bad_media{R"({"mime": ["image/png"]})", "blob_ref",
                  "tables[0].columns[2].media.maxBytes", "is required"},
        bad_media{R"({"maxBytes": 0, "mime": ["image/png"]})", "blob_ref",
                  "tables[0].columns[2].media.maxBytes", "from 1 to"},
        bad_media{R"({"maxBytes": 1.5, "mime": ["image/png"]})", "blob_ref",
                  "tables[0].columns[2].media.maxBytes", "an integer"},
        bad_media{R"({"maxBytes": 6000000000, "mime": ["image/png"]})",
                  "blob_ref", "tables[0].columns[2].media.maxBytes",
                  "5368709120"},
        bad_media{R"({"maxBytes": 10})", "blob_ref",
                  "tables[0].columns[2].media.mime", "is required"},
        bad_media{R"({"maxBytes": 10, "mime": []})", "blob_ref",
                  "tables[0].columns[2].media.mime", "non-empty array"},
        bad_media{R"({"maxBytes": 10, "mime": ["image/png", "Image/PNG"]})",
                  "blob_ref", "tables[0].columns[2].media.mime[1]",
                  "lowercase MIME type"},
        bad_media{R"({"maxBytes": 10, "mime": ["image/*"]})", "blob_ref",
                  "tables[0].columns[2].media.mime[0]", "wildcards"},
        bad_media{R"({"maxBytes": 10, "mime": ["text/plain; charset=utf-8"]})",
                  "blob_ref", "tables[0].columns[2].media.mime[0]",
                  "parameters"},
        bad_media{R"({"maxBytes": 10, "mime": ["image/png", "image/png"]})",
                  "blob_ref", "tables[0].columns[2].media.mime[1]",
                  "listed twice"},
        bad_media{R"({"maxBytes": 10, "mime": ["image/png"], "max": 3})",
                  "blob_ref", "tables[0].columns[2].media.max",
                  "unknown key"}));

TEST(MediaSchema, MimeTypes) {
  EXPECT_TRUE(is_mime_type("image/png"));
  EXPECT_TRUE(is_mime_type("application/vnd.ms-excel"));
  EXPECT_TRUE(is_mime_type("image/svg+xml"));
  EXPECT_FALSE(is_mime_type("image"));
  EXPECT_FALSE(is_mime_type("image/"));
  EXPECT_FALSE(is_mime_type("/png"));
  EXPECT_FALSE(is_mime_type("image/png/x"));
  EXPECT_FALSE(is_mime_type("IMAGE/png"));
  EXPECT_FALSE(is_mime_type("../etc/passwd"));
}

TEST(MediaSchema, ValidateDescribesLimits) {
  auto out = parse_json(control(
      "schema.validate",
      with_media(R"({"maxBytes": 2048, "mime": ["application/pdf"]})")));
  ASSERT_TRUE(out.ok());
  const json& cols = out.value()["result"]["tables"][0]["columns"];
  EXPECT_EQ(cols[2]["media"]["maxBytes"], 2048);
  EXPECT_EQ(cols[2]["media"]["mime"][0], "application/pdf");
  EXPECT_FALSE(cols[3].contains("media"));
}

TEST(MediaSchema, PlanListsOnlyColumnsWithLimits) {
  auto out = parse_json(control(
      "schema.media_sql",
      with_media(R"({"maxBytes": 2048, "mime": ["image/png", "x-a/b"]})")));
  ASSERT_TRUE(out.ok());
  const json& v = out.value()["result"];
  EXPECT_NE(v["ddl"].get<std::string>().find("edgesync_media_uploads"),
            std::string::npos);
  ASSERT_EQ(v["columns"].size(), 1u);
  const json& c = v["columns"][0];
  EXPECT_EQ(c["table"], "docs");
  EXPECT_EQ(c["column"], "file");
  EXPECT_EQ(c["maxBytes"], 2048);
  EXPECT_EQ(c["magic"]["image/png"][0][0]["hex"], "89504e470d0a1a0a");
  EXPECT_TRUE(c["magic"]["x-a/b"].empty());
  // The owner rule of the sync, on the row named by $2, for the user $1.
  const std::string w = c["writeSql"];
  EXPECT_NE(w.find("es_r.\"owner_id\" = $1::text"), std::string::npos) << w;
  EXPECT_NE(w.find("es_r.\"id\" = ($2::jsonb->>0)::text"), std::string::npos)
      << w;
  EXPECT_NE(c["readSql"].get<std::string>().find("\"edgesync_media\""),
            std::string::npos);
}

// The lifecycle: the download tells "not uploaded yet" from "no file" by the
// column's value, and the sweep's statements follow the row by its key and
// its tombstone flag.
TEST(MediaSchema, PlanHasLifecycleStatements) {
  auto out = parse_json(
      control("schema.media_sql",
              with_media(R"({"maxBytes": 2048, "mime": ["image/png"]})")));
  ASSERT_TRUE(out.ok());
  const json& v = out.value()["result"];
  const std::string ddl = v["ddl"];
  EXPECT_NE(ddl.find("ADD COLUMN IF NOT EXISTS \"orphaned_at\" timestamptz"),
            std::string::npos)
      << ddl;
  EXPECT_NE(ddl.find("CREATE INDEX IF NOT EXISTS \"edgesync_media_user\""),
            std::string::npos);
  // Every statement of the DDL may run again (idempotent).
  for (std::size_t at = ddl.find("CREATE "); at != std::string::npos;
       at = ddl.find("CREATE ", at + 1)) {
    EXPECT_NE(ddl.substr(at, 40).find("IF NOT EXISTS"), std::string::npos)
        << ddl.substr(at, 60);
  }
  const json& c = v["columns"][0];
  const std::string r = c["readSql"];
  EXPECT_NE(r.find("es_x.ref"), std::string::npos) << r;
  EXPECT_NE(r.find("es_r.\"file\"::text END AS ref"), std::string::npos) << r;

  const std::string o = c["orphanSql"];
  EXPECT_EQ(o.rfind("UPDATE \"edgesync_media\" es_o", 0), 0u) << o;
  EXPECT_NE(o.find("es_o.\"tbl\" = 'docs' AND es_o.\"col\" = 'file'"),
            std::string::npos)
      << o;
  // The row by the record's key, live, and naming the record's object.
  EXPECT_NE(o.find("es_r.\"id\" = (es_o.\"pk\"->>0)::text"), std::string::npos)
      << o;
  EXPECT_NE(o.find("NOT es_r.\"_es_deleted\""), std::string::npos) << o;
  EXPECT_NE(o.find("es_r.\"file\" = es_o.\"key\""), std::string::npos) << o;
  EXPECT_NE(o.find("$1::timestamptz"), std::string::npos) << o;
  EXPECT_EQ(o.find("$2"), std::string::npos) << o;

  const std::string e = c["expireSql"];
  EXPECT_EQ(e.rfind("DELETE FROM \"edgesync_media\" es_o", 0), 0u) << e;
  EXPECT_NE(e.find("es_o.\"orphaned_at\" <= $1::timestamptz AND NOT EXISTS"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("es_o.\"key\" = ANY ($2::text[])"), std::string::npos) << e;
  EXPECT_NE(e.find("RETURNING es_o.\"key\""), std::string::npos) << e;
}

// A composite key: each key column from its place in the record's key.
TEST(MediaSchema, SweepFollowsACompositeKey) {
  auto out = parse_json(control("schema.media_sql", R"({"version": 1,
    "tables": [{"name": "pics", "primaryKey": ["albumId", "n"],
      "owner": "ownerId", "columns": [{"name": "albumId", "type": "text"},
      {"name": "n", "type": "integer"}, {"name": "ownerId", "type": "text"},
      {"name": "img", "type": "blob_ref",
       "media": {"maxBytes": 10, "mime": ["image/png"]}}]}]})"));
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out.value()["ok"], true) << out.value().dump();
  const std::string o = out.value()["result"]["columns"][0]["orphanSql"];
  EXPECT_NE(o.find("es_r.\"album_id\" = (es_o.\"pk\"->>0)::text"),
            std::string::npos)
      << o;
  EXPECT_NE(o.find("es_r.\"n\" = (es_o.\"pk\"->>1)::"), std::string::npos) << o;
  EXPECT_NE(o.find("jsonb_array_length(es_o.\"pk\") = 2"), std::string::npos)
      << o;
}

TEST(MediaSchema, PlanReportsABadSchema) {
  auto out = parse_json(control("schema.media_sql", with_media("3")));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out.value()["ok"], false);
}

}  // namespace
}  // namespace edgesync
