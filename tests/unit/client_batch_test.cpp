// Batch building (core/client/client_batch.h): the outbox document reader,
// the cut under a byte budget, and the persisted form of a sealed batch.
#include "client/client_batch.h"

#include <gtest/gtest.h>

#include "support.h"

namespace edgesync {
namespace {

using namespace client::detail;  // NOLINT(google-build-using-namespace)
using client::compact_outbox;
using client::row_op;

const schema& test_schema() {
  static const schema s =
      parse_schema(testing::read_repo_file("tests/fixtures/schema.v1.json"))
          .value();
  return s;
}

TEST(ClientBatch, ReadsTheOutboxDocumentRowsViewingItsBytes) {
  std::string doc =
      "{\"pending\":7,\"rows\":["
      "[1,\"projects\",\"[\\\"p1\\\"]\",\"I\",{\"id\":\"p1\",\"name\":\"a\"},"
      "null,\"001:00000:c\",null],"
      "[2,\"workflowNodes\",\"[\\\"n1\\\"]\",\"U\",{\"id\":\"n1\"},"
      "[\"label\",\"x\"],\"002:00000:c\",12],"
      "[3,\"projects\",\"[\\\"p1\\\"]\",\"D\",null,null,\"003:00000:c\",null],"
      "[4,\"gone\",\"[\\\"x\\\"]\",\"I\",{},null,\"004:00000:c\",null],"
      "[5,\"gone\",\"[\\\"x\\\"]\",\"U\",{},null,\"005:00000:c\",null],"
      "[6,\"projects\",\"[1,2]\",\"I\",{},null,\"006:00000:c\",null],"
      "[7,\"projects\",\"[\\\"p7\\\"]\",\"I\",[1],null,\"007:00000:c\",null],"
      "[8,\"projects\"]]}";
  outbox_read r = read_outbox(doc, test_schema());
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.pending, 7);
  EXPECT_EQ(r.count, 8u);
  ASSERT_EQ(r.rows.size(), 3u);
  EXPECT_EQ(r.rows[0].row_text, "{\"id\":\"p1\",\"name\":\"a\"}");
  EXPECT_TRUE(r.rows[0].row_text.data() >= doc.data() &&
              r.rows[0].row_text.data() < doc.data() + doc.size());
  EXPECT_EQ(r.rows[1].op, row_op::update);
  EXPECT_EQ(*r.rows[1].changed, (std::vector<std::string>{"label", "x"}));
  EXPECT_EQ(r.rows[1].base_version, 12);
  EXPECT_EQ(r.rows[2].op, row_op::remove);
  ASSERT_EQ(r.bad.size(), 4u) << "one entry per table row";
  EXPECT_EQ(r.bad[0].code, "unknown_table");
  EXPECT_EQ(r.bad[0].ids, (std::vector<std::int64_t>{4, 5}));
  EXPECT_EQ(r.bad[0].pk, json{"x"});
  EXPECT_EQ(r.bad[1].code, "missing_primary_key");
  EXPECT_EQ(r.bad[2].message, "malformed outbox row") << "row not an object";
  EXPECT_EQ(r.bad[3].ids, (std::vector<std::int64_t>{8})) << "too short";
  for (const char* bad :
       {"[]", "{\"rows\":[[\"x\"]]}", "{\"pending\":1}", "{\"rows\":[]} x"})
    EXPECT_NE(read_outbox(bad, test_schema()).error, "") << bad;
}

TEST(ClientBatch, CutsUnderTheBudgetAndRoundTripsTheSeal) {
  std::string doc = "{\"pending\":3,\"rows\":[";
  for (int i = 1; i <= 3; ++i) {
    if (i > 1) doc += ',';
    doc += "[" + std::to_string(i) + ",\"projects\",\"[\\\"p" +
           std::to_string(i) + "\\\"]\",\"I\",{\"id\":\"p" + std::to_string(i) +
           "\",\"name\":\"" + std::string(100, 'x') +
           "\"},null,\"001763798400000:00000:\",null]";
  }
  doc += "]}";
  outbox_read r = read_outbox(doc, test_schema());
  auto c = compact_outbox(std::move(r.rows));
  batch_plan all = build_batch(c.changes, test_schema(), "c_1", 4, 1 << 20);
  EXPECT_FALSE(all.full);
  ASSERT_EQ(all.batch.changes.size(), 3u);
  json parsed = parse_json(all.batch.text).value();
  EXPECT_EQ(parsed["seq"], 4);
  EXPECT_EQ(parsed["changes"][0]["hlc"], "001763798400000:00000:c_1")
      << "an empty node is filled with the client id";
  EXPECT_EQ(parsed["changes"][2]["row"]["id"], "p3");
  batch_plan cut = build_batch(c.changes, test_schema(), "c_1", 4, 500);
  EXPECT_TRUE(cut.full);
  EXPECT_EQ(cut.batch.changes.size(), 1u) << "the first always goes in";

  auto back = restore_sealed(4, all.batch.text, seal_meta(all.batch));
  ASSERT_TRUE(back.has_value());
  ASSERT_EQ(back->changes.size(), 3u);
  EXPECT_EQ(back->changes[1].pk, "[\"p2\"]");
  EXPECT_EQ(back->changes[1].covers, (std::vector<std::int64_t>{2}));
  EXPECT_EQ(back->changes[1].pk_values(), json{"p2"});
  auto rows = sent_rows(back->text);
  EXPECT_EQ(parse_json(rows.at(3)).value()["id"], "p3");
  EXPECT_FALSE(restore_sealed(4, "", "{}").has_value());

  json body = parse_json(request_body("c_1", 1, &all.batch, "1:2", 50)).value();
  EXPECT_EQ(body["clientId"], "c_1");
  EXPECT_EQ(body["batch"]["seq"], 4);
  EXPECT_EQ(body["cursor"], "1:2");
  EXPECT_EQ(body["pageSize"], 50);
  json pull = parse_json(request_body("c_1", 1, nullptr, nullptr, 50)).value();
  EXPECT_TRUE(pull["batch"].is_null());
  EXPECT_TRUE(pull["cursor"].is_null());
}

}  // namespace
}  // namespace edgesync
