// json_scanner: the hot-path validator must accept exactly valid JSON (and
// reject what PostgreSQL would later fail a transaction on).
#include "common/json_scan.h"

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

// PostgreSQL's numeric (jsonb's numbers): exponent below INT_MAX/2, at most
// 16383 digits after the point, a first digit at most 10^131071. Every bound
// is checked against PostgreSQL itself in tests/node/worker-values.test.mjs.
TEST(JsonScan, NumbersOutsidePostgresNumericAreFlagged) {
  auto fits = [](std::string_view text) {
    json_scanner js(text);
    EXPECT_FALSE(js.skip_value().empty()) << text;
    EXPECT_TRUE(js.at_end()) << text;
    return js.numbers_fit_pg_numeric();
  };
  for (std::string_view ok :
       {"0", "-0.0", "1e131071", "9.9e131071", "1e-16383", "0e-16383",
        "0e1073741822", "123456789012345678901234567890", "1.5e-16382",
        R"({"a":[1,2.5,{"b":1e131071}]})"})
    EXPECT_TRUE(fits(ok)) << ok;
  for (std::string_view bad :
       {"1e131072", "-1e131072", "1e-16384", "10e-16384", "1.0e-16383",
        "0e-16384", "0e1073741823", "0e-1073741822", "1e99999999999999999999",
        R"([1,{"b":[1e1000000]}])"})
    EXPECT_FALSE(fits(bad)) << bad;
  std::string digits(131072, '7');
  EXPECT_TRUE(fits(digits)) << "131072 digits before the point";
  EXPECT_FALSE(fits(digits + "7"));
  json_scanner js("[1e131072, 1]");
  js.skip_value();
  EXPECT_FALSE(js.failed()) << "a range problem is not a syntax error";
  js.reset_pg_numeric_check();
  EXPECT_TRUE(js.numbers_fit_pg_numeric());
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
