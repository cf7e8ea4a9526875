// The /sync answer reader (core/client/client_response.h): one pass over the
// body; each pulled row written as an array of its column values, the values
// as the server wrote them, members read as JSON means them.
#include "client/client_response.h"

#include <gtest/gtest.h>

#include "support.h"

namespace edgesync {
namespace {

using client::detail::read_sync_answer;
using client::detail::sync_answer;

const schema& test_schema() {
  static const schema s =
      parse_schema(testing::read_repo_file("tests/fixtures/schema.v1.json"))
          .value();
  return s;
}

std::string answer(const std::string& changes,
                   const std::string& extra = "\"ack\":null,\"results\":[]") {
  return "{\"protocol\":1,\"serverTime\":5," + extra +
         ",\"changes\":" + changes + ",\"cursor\":\"1:9\",\"hasMore\":true}";
}

// The row arrays bound for table `t`, in order.
std::vector<std::string> rows(const sync_answer& a, const std::string& t) {
  std::vector<std::string> out;
  int ti = test_schema().table_index(t);
  auto it = a.pulled.tables.find(static_cast<std::size_t>(ti));
  if (it == a.pulled.tables.end()) return out;
  for (std::size_t i = 0; i < it->second.spans.size(); ++i)
    out.emplace_back(it->second.row(i));
  return out;
}

TEST(ClientResponse, WritesEachRowAsAnArrayOfItsColumns) {
  // projects: id, ownerId, name, archived, updatedAt.
  const std::string p1 =
      "{\"table\":\"projects\",\"op\":\"upsert\",\"version\":7,"
      "\"row\":{\"id\":\"p1\",\"name\":\"x \\\"q\\\"\",\"archived\":true}}";
  const std::string p2 =
      "{ \"row\" : {\"name\":\"y\",\"id\":\"p2\"}, \"table\":\"projects\", "
      "\"version\":8, \"op\":\"delete\" }";
  std::string body = answer("[" + p1 + " , " + p2 + "]");
  sync_answer a = read_sync_answer(body, test_schema());
  ASSERT_EQ(a.error, "");
  EXPECT_FALSE(a.has_ack);
  EXPECT_EQ(a.cursor, "1:9");
  EXPECT_TRUE(a.has_more);
  EXPECT_EQ(a.server_time, 5);
  EXPECT_EQ(a.pulled.rows, 2);
  const auto& pt = a.pulled.tables.begin()->second;
  // Values as the server wrote them (escapes kept), absent columns null.
  const std::string r1 = "[7,0,\"p1\",null,\"x \\\"q\\\"\",true,null]";
  const std::string r2 = "[8,1,\"p2\",null,\"y\",null,null]";
  EXPECT_EQ(rows(a, "projects"), (std::vector<std::string>{r1, r2}));
  EXPECT_EQ(*pt.text, "[" + r1 + "," + r2 + "]") << "bound as it is";
  EXPECT_EQ(pt.replaced, 0);
  EXPECT_EQ(pt.deletes, 1);
  EXPECT_EQ(*pt.key_of[0], "[\"p1\"]");
  EXPECT_EQ(pt.versions[1], 8);
}

TEST(ClientResponse, ReadsMembersAsJsonMeansThem) {
  // Each once needed a rewrite: an escaped member name, a column twice, an
  // escaped key, a float version, a key with a non-canonical number, an
  // escaped column name, a member given twice.
  const std::vector<std::string> odd = {
      "{\"table\":\"projects\",\"op\":\"upsert\",\"version\":2,"
      "\"r\\u006fw\":{\"id\":\"b\",\"name\":\"B\"}}",
      "{\"table\":\"projects\",\"op\":\"upsert\",\"version\":3,"
      "\"row\":{\"id\":\"c\",\"name\":\"first\",\"name\":\"last\"}}",
      "{\"table\":\"projects\",\"op\":\"upsert\",\"version\":4,"
      "\"row\":{\"id\":\"\\u0064\",\"n\\u0061me\":\"D\"}}",
      "{\"table\":\"documents\",\"op\":\"upsert\",\"version\":4.5,"
      "\"row\":{\"id\":1,\"title\":\"t\"}}",
      "{\"table\":\"documents\",\"op\":\"upsert\",\"version\":6,"
      "\"row\":{\"id\":2.0e0,\"title\":\"u\"}}",
      "{\"table\":\"projects\",\"op\":\"delete\",\"op\":\"upsert\","
      "\"version\":\"9\",\"row\":{\"id\":\"e\"},\"row\":{\"id\":\"f\"}}",
  };
  std::string list = "[";
  for (const auto& o : odd) list += (list.size() > 1 ? ",\n " : "") + o;
  list += "]";
  sync_answer a = read_sync_answer(answer(list), test_schema());
  ASSERT_EQ(a.error, "");
  EXPECT_EQ(a.pulled.rows, 6);
  auto p = rows(a, "projects");
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(p[0], "[2,0,\"b\",null,\"B\",null,null]");
  EXPECT_EQ(p[1], "[3,0,\"c\",null,\"last\",null,null]");
  EXPECT_EQ(p[2], "[4,0,\"\\u0064\",null,\"D\",null,null]");
  EXPECT_EQ(p[3], "[null,0,\"f\",null,null,null,null]");
  const auto& projects = a.pulled.tables.at(
      static_cast<std::size_t>(test_schema().table_index("projects")));
  EXPECT_EQ(*projects.key_of[2], "[\"d\"]") << "keys compare unescaped";
  EXPECT_EQ(*projects.key_of[3], "[\"f\"]");
  EXPECT_EQ(projects.deletes, 0);
  auto d = rows(a, "documents");
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0], "[null,0,1,null,\"t\",null,null,null]");
  EXPECT_EQ(d[1], "[6,0,2.0e0,null,\"u\",null,null,null]");
  const auto& docs = a.pulled.tables.at(
      static_cast<std::size_t>(test_schema().table_index("documents")));
  EXPECT_EQ(*docs.key_of[1], "[2.0]");
}

TEST(ClientResponse, OfTwoElementsOfOneRowTheNewerWins) {
  std::string list =
      "[{\"table\":\"projects\",\"op\":\"upsert\",\"version\":9,\"row\":{"
      "\"id\":\"p\",\"name\":\"newer\"}},"
      "{\"table\":\"projects\",\"op\":\"delete\",\"version\":8,\"row\":{"
      "\"id\":\"p\"}},"
      "{\"table\":\"settings\",\"op\":\"upsert\",\"version\":3,\"row\":{"
      "\"key\":\"k\",\"value\":1}},"
      "{\"table\":\"settings\",\"op\":\"delete\",\"version\":3,\"row\":{"
      "\"key\":\"k\"}}]";
  sync_answer a = read_sync_answer(answer(list), test_schema());
  ASSERT_EQ(a.error, "");
  EXPECT_EQ(a.pulled.rows, 2);
  auto p = rows(a, "projects");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_NE(p[0].find("newer"), std::string::npos);
  auto s = rows(a, "settings");
  ASSERT_EQ(s, (std::vector<std::string>{"[3,1,\"k\",null,null]"}))
      << "a tie: the later";
  const auto& st = a.pulled.tables.at(3);
  EXPECT_EQ(st.deletes, 1);
  EXPECT_EQ(st.replaced, 1) << "the rows are joined again";
}

TEST(ClientResponse, SkipsWhatTheClientCannotUse) {
  std::string list =
      "[42,null,{\"table\":\"nope\",\"row\":{\"id\":1}},"
      "{\"table\":\"projects\",\"row\":[]},"
      "{\"table\":\"projects\",\"row\":{\"name\":\"no key\"}},"
      "{\"table\":\"projects\",\"row\":{\"id\":\"x\"},\"row\":null},"
      "{\"table\":\"projects\",\"version\":1,\"row\":{\"id\":\"ok\"}}]";
  sync_answer a = read_sync_answer(answer(list), test_schema());
  ASSERT_EQ(a.error, "");
  EXPECT_EQ(a.pulled.rows, 1);
  EXPECT_EQ(rows(a, "projects"),
            (std::vector<std::string>{"[1,0,\"ok\",null,null,null,null]"}));
}

TEST(ClientResponse, ReadsResults) {
  std::string results =
      "\"ack\":{\"seq\":4,\"duplicate\":false},\"results\":["
      "{\"id\":1,\"status\":\"applied\",\"version\":10},"
      "{\"id\":2,\"status\":\"conflict\",\"reason\":\"stale\",\"version\":3,"
      "\"deleted\":false,\"row\":{\"id\":\"x\"}},"
      "{\"id\":3,\"status\":\"rejected\",\"reason\":\"forbidden\","
      "\"message\":\"not yours\"},"
      "{\"id\":4,\"status\":\"weird\"},{\"status\":\"applied\"},7]";
  sync_answer a = read_sync_answer(answer("null", results), test_schema());
  ASSERT_EQ(a.error, "");
  EXPECT_TRUE(a.has_ack);
  EXPECT_EQ(a.ack_seq, 4);
  EXPECT_FALSE(a.ack_duplicate);
  EXPECT_EQ(a.result_count, 6u);
  ASSERT_EQ(a.results.size(), 3u);
  EXPECT_EQ(a.results[0].version, 10);
  EXPECT_TRUE(a.results[0].row.is_null());
  EXPECT_EQ(a.results[1].row, (json{{"id", "x"}}));
  EXPECT_EQ(a.results[1].reason, "stale");
  EXPECT_EQ(a.results[2].message, "not yours");
  EXPECT_FALSE(a.results[2].version);
  EXPECT_EQ(a.pulled.rows, 0);
}

TEST(ClientResponse, MalformedAnswersSayWhy) {
  const schema& s = test_schema();
  EXPECT_EQ(read_sync_answer("[1]", s).error, "not a JSON object");
  EXPECT_EQ(read_sync_answer("{\"protocol\":1} x", s).error,
            "not a JSON object");
  EXPECT_EQ(read_sync_answer("{\"protocol\":2}", s).error, "protocol is not 1");
  EXPECT_EQ(read_sync_answer("{\"protocol\":1,\"results\":{}}", s).error,
            "results is not an array");
  EXPECT_EQ(read_sync_answer("{\"protocol\":1,\"changes\":{}}", s).error,
            "changes is not an array");
  EXPECT_EQ(read_sync_answer(answer("[{\"table\":\"projects\"]"), s).error,
            "not a JSON object");
  // A trailing comma after an element that had to be rewritten.
  EXPECT_EQ(read_sync_answer(answer("[{\"table\":\"projects\",\"row\":{"
                                    "\"id\":\"a\",\"id\":\"b\"}},]"),
                             s)
                .error,
            "not a JSON object");
  // The last of two `changes` counts.
  EXPECT_EQ(
      read_sync_answer("{\"protocol\":1,\"changes\":{},\"changes\":[]}", s)
          .error,
      "");
}

}  // namespace
}  // namespace edgesync
