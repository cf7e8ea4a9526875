// The protocol facts module: `protocol.describe` reports what the cores
// enforce, the error body op builds the server's shape, and the SQLite
// triggers format stamps as format_hlc does.
#include "protocol/protocol.h"

#include <gtest/gtest.h>

#include "control/control.h"
#include "protocol/hlc.h"
#include "schema/schema.h"
#include "server/server.h"
#include "sql/ddl.h"
#include "support.h"

namespace edgesync {
namespace {

json call_ok(const char* op, const std::string& input) {
  auto env = parse_json(control(op, input));
  EXPECT_TRUE(env.ok());
  if (!env.ok()) return json();
  EXPECT_EQ(env.value().value("ok", false), true) << dump_json(env.value());
  return env.value().value("result", json());
}

TEST(Protocol, DescribeReportsWhatTheServerEnforces) {
  json d = call_ok("protocol.describe", "{}");
  EXPECT_EQ(d["version"], 1) << "the wire version is 1";
  EXPECT_EQ(d["version"], protocol_version);

  // The defaults are what a server opened without limits uses.
  server_limits none = parse_limits(json()).value();
  const json& def = d["limits"]["defaults"];
  EXPECT_EQ(def["maxBodyBytes"], none.max_body_bytes);
  EXPECT_EQ(def["maxChanges"], none.max_changes);
  EXPECT_EQ(def["maxPageSize"], none.max_page_size);
  EXPECT_EQ(def["defaultPageSize"], none.default_page_size);
  EXPECT_EQ(def["maxClockSkewMs"], none.max_clock_skew_ms);
  EXPECT_EQ(def["maxBodyBytes"], 8 << 20);

  // Each bound is exactly the edge parse_limits accepts.
  for (const auto& [key, b] : d["limits"]["bounds"].items()) {
    for (std::int64_t v :
         {b["min"].get<std::int64_t>(), b["max"].get<std::int64_t>()})
      EXPECT_TRUE(parse_limits(json{{key, v}}).ok()) << key << "=" << v;
    for (std::int64_t v :
         {b["min"].get<std::int64_t>() - 1, b["max"].get<std::int64_t>() + 1})
      EXPECT_FALSE(parse_limits(json{{key, v}}).ok()) << key << "=" << v;
  }
  EXPECT_EQ(d["limits"]["bounds"]["maxBodyBytes"]["max"], max_body_bytes_cap);
  EXPECT_EQ(d["maxKeyBytes"], max_key_bytes);
}

TEST(Protocol, DescribeStatesTheClientIdRuleAndHlcFormat) {
  json d = call_ok("protocol.describe", "{}");
  const json& id = d["clientId"];
  auto min = id["minLength"].get<std::size_t>();
  auto max = id["maxLength"].get<std::size_t>();
  EXPECT_EQ(min, 8u);
  EXPECT_EQ(max, 64u);
  EXPECT_TRUE(is_valid_client_id(std::string(min, 'a')));
  EXPECT_TRUE(is_valid_client_id(std::string(max, 'Z')));
  EXPECT_FALSE(is_valid_client_id(std::string(min - 1, 'a')));
  EXPECT_FALSE(is_valid_client_id(std::string(max + 1, 'a')));
  EXPECT_TRUE(is_valid_client_id("c_0-9AZaz"));
  EXPECT_FALSE(is_valid_client_id("c_0123456.")) << "only [A-Za-z0-9_-]";
  EXPECT_EQ(id["pattern"], "^[A-Za-z0-9_-]{8,64}$");

  const json& h = d["hlc"];
  EXPECT_EQ(h["format"], "MMMMMMMMMMMMMMM:CCCCC:node");
  EXPECT_EQ(h["maxCounter"], 99999);
  EXPECT_EQ(h["maxMs"], hlc_max_ms);
  std::string top = format_hlc({hlc_max_ms, hlc_max_counter, "n"});
  EXPECT_EQ(top.size(), h["msDigits"].get<std::size_t>() +
                            h["counterDigits"].get<std::size_t>() + 3);
  // The server accepts exactly the stamps with a client-id node.
  EXPECT_EQ(wire_hlc_ms(top), hlc_max_ms);
  EXPECT_FALSE(wire_hlc_ms(format_hlc({1, 0, ""})).has_value());
  EXPECT_FALSE(wire_hlc_ms(format_hlc({1, 0, std::string(65, 'n')})));
  EXPECT_FALSE(wire_hlc_ms(format_hlc({1, 0, "a.b"})));
  EXPECT_FALSE(wire_hlc_ms("-00000000000001:00000:n"));
  EXPECT_EQ(format_hlc_ms(42), "000000000000042");
}

TEST(Protocol, DescribeMapsEveryErrorCodeToItsStatus) {
  json codes = call_ok("protocol.describe", "{}")["errorCodes"];
  EXPECT_EQ(codes.size(), static_cast<std::size_t>(error_code::unavailable));
  EXPECT_EQ(codes["invalid_request"], 400);
  EXPECT_EQ(codes["unauthorized"], 401);
  EXPECT_EQ(codes["client_id_conflict"], 403);
  EXPECT_EQ(codes["schema_version_mismatch"], 409);
  EXPECT_EQ(codes["payload_too_large"], 413);
  EXPECT_EQ(codes["internal"], 500);
  EXPECT_EQ(codes["unavailable"], 503);
  EXPECT_FALSE(codes.contains("ok"));
}

TEST(Protocol, ErrorBodyOpBuildsTheServerShape) {
  std::vector<error> errs = {
      {error_code::unauthorized, "", "no token"},
      {error_code::type_mismatch, "batch.changes[0].row.a", "bad"}};
  json in = {{"errors", errors_json(errs)}, {"serverSchemaVersion", 3}};
  EXPECT_EQ(call_ok("protocol.error_body", dump_json(in)), error_body(errs, 3));
  EXPECT_EQ(error_body(errs, 3),
            R"({"error":{"code":"unauthorized","errors":[{"code":)"
            R"("unauthorized","message":"no token"},{"code":"type_mismatch",)"
            R"("message":"bad","path":"batch.changes[0].row.a"}],"message":)"
            R"("no token"},"protocol":1,"serverSchemaVersion":3})");
  // Hosts answer codes of their own (404, 405) in the same shape.
  json host = {{"errors", {{{"code", "not_found"}, {"message", "no"}}}}};
  EXPECT_EQ(call_ok("protocol.error_body", dump_json(host)),
            R"({"error":{"code":"not_found","errors":[{"code":"not_found",)"
            R"("message":"no"}],"message":"no"},"protocol":1})");
  auto bad = parse_json(control("protocol.error_body", "{}"));
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad.value()["ok"], false);
}

TEST(Protocol, TriggersFormatStampsLikeFormatHlc) {
  // The generated SQL carries the constants, never literals of its own.
  EXPECT_EQ(sqlite_format_hlc_sql(), "printf('%015d:%05d:%s', ms, ctr, node)");
  EXPECT_NE(sqlite_tick_sql().find(std::to_string(hlc_max_counter)),
            std::string::npos);
  testing::sqlite_db db;
  ASSERT_EQ(db.exec("CREATE TABLE sync_clock (ms INTEGER, ctr INTEGER, "
                    "node TEXT)"),
            "");
  for (hlc c : {hlc{0, 0, "n"}, hlc{1763798400000, 42, "c_0123456789"},
                hlc{hlc_max_ms, hlc_max_counter, ""}}) {
    ASSERT_EQ(db.exec("DELETE FROM sync_clock; INSERT INTO sync_clock "
                      "VALUES (" +
                      std::to_string(c.ms) + ", " + std::to_string(c.ctr) +
                      ", '" + c.node + "')"),
              "");
    EXPECT_EQ(
        db.value("SELECT " + sqlite_format_hlc_sql() + " FROM sync_clock"),
        format_hlc(c));
  }
}

}  // namespace
}  // namespace edgesync
