// The /sync answer reader (core/client/client_response.h): one pass over the
// body; pulled elements kept as the server's bytes unless SQLite could read
// those bytes differently from what the JSON means.
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

// The element texts bound for table `t`, in order.
std::vector<std::string> elems(const sync_answer& a, const std::string& t) {
  std::vector<std::string> out;
  int ti = test_schema().table_index(t);
  auto it = a.pulled.tables.find(static_cast<std::size_t>(ti));
  if (it == a.pulled.tables.end()) return out;
  for (auto e : it->second.elems) out.emplace_back(e);
  return out;
}

TEST(ClientResponse, ReadsTheMembersAndKeepsElementBytes) {
  const std::string p1 =
      "{\"table\":\"projects\",\"op\":\"upsert\",\"version\":7,"
      "\"row\":{\"id\":\"p1\",\"name\":\"x\"}}";
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
  EXPECT_TRUE(a.pulled.all_used);
  EXPECT_EQ(a.pulled.raw, "[" + p1 + " , " + p2 + "]");
  EXPECT_EQ(elems(a, "projects"), (std::vector<std::string>{p1, p2}));
  const auto& pt = a.pulled.tables.begin()->second;
  EXPECT_EQ(pt.deletes, 1);
  EXPECT_EQ(*pt.key_of[0], "[\"p1\"]");
  EXPECT_EQ(pt.versions[1], 8);
  for (auto e : pt.elems)
    EXPECT_TRUE(e.data() >= body.data() &&
                e.data() + e.size() <= body.data() + body.size())
        << "views the body";
}

TEST(ClientResponse, RewritesOnlyTheElementsSqliteMightMisread) {
  const std::string plain_a =
      "{\"table\":\"projects\",\"op\":\"upsert\",\"version\":1,"
      "\"row\":{\"id\":\"a\",\"name\":\"A\"}}";
  const std::string plain_z =
      "{\"table\":\"projects\",\"op\":\"upsert\",\"version\":5,"
      "\"row\":{\"id\":\"z\",\"name\":\"Z\"}}";
  // Each needs a rewrite: an escaped member name, a column twice, an
  // escaped key, a float version, a key with a non-canonical number.
  const std::vector<std::string> odd = {
      "{\"table\":\"projects\",\"op\":\"upsert\",\"version\":2,"
      "\"r\\u006fw\":{\"id\":\"b\",\"name\":\"B\"}}",
      "{\"table\":\"projects\",\"op\":\"upsert\",\"version\":3,"
      "\"row\":{\"id\":\"c\",\"name\":\"first\",\"name\":\"last\"}}",
      "{\"table\":\"projects\",\"op\":\"upsert\",\"version\":4,"
      "\"row\":{\"id\":\"\\u0064\",\"name\":\"D\"}}",
      "{\"table\":\"documents\",\"op\":\"upsert\",\"version\":4.5,"
      "\"row\":{\"id\":1,\"title\":\"t\"}}",
      "{\"table\":\"documents\",\"op\":\"upsert\",\"version\":6,"
      "\"row\":{\"id\":2.0e0,\"title\":\"u\"}}",
  };
  std::string list = "[" + plain_a;
  for (const auto& o : odd) list += ",\n " + o;
  list += " ," + plain_z + "]";
  sync_answer a = read_sync_answer(answer(list), test_schema());
  ASSERT_EQ(a.error, "");
  EXPECT_FALSE(a.pulled.all_used);
  EXPECT_EQ(a.pulled.rows, 7);
  EXPECT_EQ(a.pulled.owned.size(), 5u);
  auto p = elems(a, "projects");
  ASSERT_EQ(p.size(), 5u);
  EXPECT_EQ(p[0], plain_a);
  EXPECT_EQ(p[1],
            "{\"op\":\"upsert\",\"row\":{\"id\":\"b\",\"name\":\"B\"},"
            "\"table\":\"projects\",\"version\":2}");
  EXPECT_EQ(parse_json(p[2]).value()["row"]["name"], "last");
  EXPECT_EQ(parse_json(p[3]).value()["row"]["id"], "d");
  EXPECT_EQ(p[4], plain_z) << "the scanner picks up after a rewrite";
  auto d = elems(a, "documents");
  ASSERT_EQ(d.size(), 2u);
  EXPECT_TRUE(parse_json(d[0]).value()["version"].is_null());
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
  EXPECT_FALSE(a.pulled.all_used);
  auto p = elems(a, "projects");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_NE(p[0].find("newer"), std::string::npos);
  auto s = elems(a, "settings");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_NE(s[0].find("delete"), std::string::npos) << "a tie: the later";
  EXPECT_EQ(a.pulled.tables.at(3).deletes, 1);
}

TEST(ClientResponse, SkipsWhatTheClientCannotUse) {
  std::string list =
      "[42,null,{\"table\":\"nope\",\"row\":{\"id\":1}},"
      "{\"table\":\"projects\",\"row\":[]},"
      "{\"table\":\"projects\",\"row\":{\"name\":\"no key\"}},"
      "{\"table\":\"projects\",\"version\":1,\"row\":{\"id\":\"ok\"}}]";
  sync_answer a = read_sync_answer(answer(list), test_schema());
  ASSERT_EQ(a.error, "");
  EXPECT_EQ(a.pulled.rows, 1);
  EXPECT_FALSE(a.pulled.all_used);
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
