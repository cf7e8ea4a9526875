// The hybrid logical clock: the C++ rules, the triggers' SQL and the absorb
// SQL the core emits all agree; stamps are monotonic, absorb server time and
// survive counter overflow.
#include <gtest/gtest.h>

#include "client_sim.h"
#include "protocol/hlc.h"
#include "sql/ddl.h"
#include "support.h"

namespace edgesync {
namespace {

TEST(Hlc, TickFollowsTheWallClockAndCountsWithinOneMs) {
  hlc c{100, 0, "n"};
  EXPECT_EQ(hlc_tick(c, 200), (hlc{200, 0, "n"}));
  EXPECT_EQ(hlc_tick(c, 100), (hlc{100, 1, "n"}));
  EXPECT_EQ(hlc_tick(c, 50), (hlc{100, 1, "n"}))
      << "a clock going back never rewinds";
}

TEST(Hlc, CounterOverflowBorrowsTheNextMs) {
  hlc c{100, hlc_max_counter, "n"};
  hlc next = hlc_tick(c, 100);
  EXPECT_EQ(next, (hlc{101, 0, "n"}));
  EXPECT_LT(c, next);
  EXPECT_EQ(format_hlc(next).size(), format_hlc(c).size()) << "fixed width";
}

TEST(Hlc, MonotonicOverManyTicksWithAStuckOrBackwardsClock) {
  hlc c{1000, 0, "n"};
  std::string last = format_hlc(c);
  for (int i = 0; i < 250000; ++i) {
    std::int64_t wall = 1000 - (i % 7);  // stuck and jittering backwards
    c = hlc_tick(c, wall);
    std::string s = format_hlc(c);
    ASSERT_LT(last, s) << "string order is clock order";
    last = s;
  }
  EXPECT_EQ(c.ms, 1002) << "250000 ticks borrowed two ms";
}

TEST(Hlc, AbsorbNeverMovesBackAndResetsTheCounter) {
  hlc c{100, 7, "n"};
  EXPECT_EQ(hlc_absorb(c, 90), c);
  EXPECT_EQ(hlc_absorb(c, 100), c);
  EXPECT_EQ(hlc_absorb(c, 150), (hlc{150, 0, "n"}));
  EXPECT_LT((hlc{150, 0, "z"}), hlc_tick(hlc_absorb(c, 150), 120))
      << "the next local stamp orders after the server time";
}

TEST(Hlc, FormatAndParseRoundTrip) {
  hlc c{1763798400000, 42, "c_3f9a1b2c4d5e6f70"};
  EXPECT_EQ(format_hlc(c), "001763798400000:00042:c_3f9a1b2c4d5e6f70");
  auto p = parse_hlc(format_hlc(c));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.value(), c);
  EXPECT_FALSE(parse_hlc("1763798400000:42:x").ok());
  EXPECT_FALSE(parse_hlc("00176379840000a:00042:x").ok());
  auto empty_node = parse_hlc("001763798400000:00042:");
  ASSERT_TRUE(empty_node.ok());
  EXPECT_EQ(empty_node.value().node, "");
}

// The triggers tick sync_clock with SQLite's wall clock; a clock pinned in
// the future (as the virtual-time tests do) exercises the counter path.
class HlcSql : public ::testing::Test {
 protected:
  void SetUp() override {
    s_ = parse_schema(testing::read_repo_file("tests/fixtures/schema.v1.json"))
             .value();
    ASSERT_EQ(db_.exec(sqlite_ddl(s_)), "");
    ASSERT_EQ(db_.exec("UPDATE sync_clock SET node = 'c_node0001'"), "");
  }
  hlc clock() {
    auto r = db_.query("SELECT ms, ctr, node FROM sync_clock");
    return hlc{std::stoll(r[0][0]), std::stoi(r[0][1]), r[0][2]};
  }
  void absorb(std::int64_t t) {
    client::effects::run_sql fx{1, "test", true, {{sqlite_absorb_sql(), {t}}}};
    ASSERT_TRUE(std::holds_alternative<client::events::sql_done>(db_.run(fx)));
  }
  schema s_;
  testing::sql_conn db_;
};

TEST_F(HlcSql, TriggersTickLikeHlcTickIncludingOverflow) {
  const std::int64_t future = 4'000'000'000'000;
  ASSERT_EQ(db_.exec("UPDATE sync_clock SET ms = " + std::to_string(future) +
                     ", ctr = 99998"),
            "");
  hlc expect = clock();
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(db_.exec("INSERT INTO settings (key, ownerId, value) VALUES ('k" +
                       std::to_string(i) + "', 'u1', '1')"),
              "");
    expect = hlc_tick(expect, 0);  // the wall clock is behind the pinned ms
    EXPECT_EQ(clock(), expect);
  }
  EXPECT_EQ(expect.ms, future + 1) << "99998 -> 99999 -> overflow -> 0 -> 1";
  auto stamps = db_.query("SELECT hlc FROM sync_outbox ORDER BY id");
  ASSERT_EQ(stamps.size(), 4u);
  EXPECT_EQ(stamps[0][0], "004000000000000:99999:c_node0001");
  EXPECT_EQ(stamps[1][0], "004000000000001:00000:c_node0001");
  for (std::size_t i = 1; i < stamps.size(); ++i)
    EXPECT_LT(stamps[i - 1][0], stamps[i][0]);
}

TEST_F(HlcSql, WallClockTicksResetTheCounter) {
  ASSERT_EQ(db_.exec("UPDATE sync_clock SET ms = 1, ctr = 500"), "");
  ASSERT_EQ(
      db_.exec(
          "INSERT INTO settings (key, ownerId, value) VALUES ('a', 'u1', '1')"),
      "");
  hlc c = clock();
  EXPECT_GT(c.ms, 1'600'000'000'000) << "took the wall clock";
  EXPECT_LT(c.ctr, 500);
}

TEST_F(HlcSql, AbsorbSqlMatchesHlcAbsorb) {
  const std::int64_t t0 = 4'000'000'000'000;
  ASSERT_EQ(db_.exec("UPDATE sync_clock SET ms = " + std::to_string(t0) +
                     ", ctr = 9"),
            "");
  for (std::int64_t server : {t0 - 5, t0, t0 + 1, t0 + 1000, t0 + 999}) {
    hlc want = hlc_absorb(clock(), server);
    absorb(server);
    EXPECT_EQ(clock(), want) << server;
  }
  EXPECT_EQ(clock(), (hlc{t0 + 1000, 0, "c_node0001"}));
  // The next local write stamps after the absorbed server time.
  ASSERT_EQ(
      db_.exec(
          "INSERT INTO settings (key, ownerId, value) VALUES ('b', 'u1', '1')"),
      "");
  EXPECT_EQ(db_.value("SELECT hlc FROM sync_outbox"),
            "004000000001000:00001:c_node0001");
}

}  // namespace
}  // namespace edgesync
