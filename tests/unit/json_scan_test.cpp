// json_scanner: the hot-path validator must accept exactly valid JSON (and
// reject what PostgreSQL would later fail a transaction on).
#include "edgesync/json_scan.h"

#include <gtest/gtest.h>

namespace edgesync {
namespace {

bool valid(std::string_view text) {
  json_scanner js(text);
  return !js.skip_value().empty() && js.at_end() && !js.failed();
}

TEST(JsonScan, AcceptsValidDocuments) {
  EXPECT_TRUE(valid(R"({"a":[1,-2.5e3,true,false,null,"x\u00e9\n"],"b":{}})"));
  EXPECT_TRUE(valid("\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\""));  // é € 😀
  EXPECT_TRUE(valid(R"("\ud83d\ude00")"));
  EXPECT_TRUE(valid("  [ ]  "));
}

TEST(JsonScan, RejectsInvalidDocuments) {
  for (std::string_view bad :
       {"{", "[1,]", "{\"a\" 1}", "01", "1.", "-", "\"\\x\"", "\"\x01\"",
        "\"\xff\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "\"\\ud83d\"",
        "\"\\u0000\"", "tru", "nul", "{\"a\":1,}", "[1 2]"}) {
    EXPECT_FALSE(valid(bad)) << bad;
  }
  std::string deep(300, '[');
  deep += std::string(300, ']');
  EXPECT_FALSE(valid(deep)) << "nesting is bounded";
}

TEST(JsonScan, KeysAreViewedOrDecoded) {
  json_scanner js(R"({"plain":1,"esc\u0061ped":2})");
  ASSERT_TRUE(js.begin_object());
  std::string_view key;
  bool is_int = false;
  std::int64_t v = 0;
  ASSERT_TRUE(js.next_key(key));
  EXPECT_EQ(key, "plain");
  ASSERT_TRUE(js.read_number(is_int, v));
  ASSERT_TRUE(js.next_key(key));
  EXPECT_EQ(key, "escaped");
  ASSERT_TRUE(js.read_number(is_int, v));
  EXPECT_EQ(v, 2);
  EXPECT_FALSE(js.next_key(key));
  EXPECT_FALSE(js.failed());
}

TEST(JsonScan, IntegersAndTheirLimits) {
  auto number = [](std::string_view text, bool& is_int) {
    json_scanner js(text);
    std::int64_t v = 0;
    EXPECT_TRUE(js.read_number(is_int, v)) << text;
    return v;
  };
  bool is_int = false;
  EXPECT_EQ(number("9223372036854775807", is_int), INT64_MAX);
  EXPECT_TRUE(is_int);
  EXPECT_EQ(number("-9223372036854775808", is_int), INT64_MIN);
  EXPECT_TRUE(is_int);
  number("9223372036854775808", is_int);
  EXPECT_FALSE(is_int) << "beyond int64 is not an integer column value";
  number("1e2", is_int);
  EXPECT_FALSE(is_int);
}

TEST(JsonScan, ErrorsSayWhere) {
  json_scanner js(R"({"a": [1, 2,, 3]})");
  js.skip_value();
  ASSERT_TRUE(js.failed());
  EXPECT_NE(js.error().find("malformed JSON at byte 12"), std::string::npos)
      << js.error();
}

}  // namespace
}  // namespace edgesync
