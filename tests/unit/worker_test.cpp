// The server core without a database: validation (every error with a path),
// clock clamping, the request state machine and the shape of its SQL plans.
#include <gtest/gtest.h>

#include <random>

#include "server/server.h"
#include "sql/pg_sync_call.h"
#include "sql/server_postgres.h"
#include "support.h"

namespace edgesync {
namespace {

schema test_schema() {
  auto r =
      parse_schema(testing::read_repo_file("tests/fixtures/schema.v1.json"));
  EXPECT_TRUE(r.ok());
  return r.value();
}

constexpr std::int64_t kNow = 1'700'000'000'000;

std::string hlc(std::int64_t ms) {
  std::string d = std::to_string(ms);
  return std::string(15 - d.size(), '0') + d + ":00000:client-a1";
}

std::string body_with(const std::string& changes,
                      const std::string& extra = "") {
  return R"({"protocol":1,"clientId":"client-a1","schemaVersion":1,"batch":{"seq":3,"changes":)" +
         changes + "}" + extra + "}";
}

request_error expect_error(const std::string& body, server_limits limits = {}) {
  auto v = validate_request(test_schema(), limits, body, kNow);
  EXPECT_TRUE(std::holds_alternative<request_error>(v)) << body;
  if (!std::holds_alternative<request_error>(v)) return {};
  return std::get<request_error>(v);
}

TEST(Validate, AcceptsAWellFormedBatch) {
  std::string b = body_with(
      R"([{"id":1,"table":"projects","op":"upsert","row":{"id":"p1","name":"A","ownerId":"evil"},"hlc":")" +
          hlc(kNow) + R"(","baseVersion":null},
      {"id":2,"table":"workflowEdges","op":"delete","row":{"projectId":"p1","edgeId":"e1"},"hlc":")" +
          hlc(kNow) + R"(","baseVersion":5}])",
      R"(,"cursor":"42:7","pageSize":10)");
  auto v = validate_request(test_schema(), {}, b, kNow);
  ASSERT_TRUE(std::holds_alternative<sync_request>(v));
  const auto& r = std::get<sync_request>(v);
  EXPECT_EQ(r.seq, 3);
  ASSERT_EQ(r.changes.size(), 2u);
  ASSERT_EQ(r.groups.size(), 2u);
  EXPECT_EQ(r.groups[0].input, R"([{"id":"p1","name":"A","_es_i":0,"_es_h":")" +
                                   hlc(kNow) + R"(","_es_b":null}])")
      << "the client's bytes pass through; the owner comes from the token";
  EXPECT_EQ(r.groups[1].input,
            R"([{"projectId":"p1","edgeId":"e1","_es_i":1,"_es_h":")" +
                hlc(kNow) + R"(","_es_b":5}])");
  EXPECT_EQ(r.changes[1].op, change_op::remove);
  EXPECT_EQ(r.cursor.xid, 42u);
  EXPECT_EQ(r.cursor.version, 7);
  EXPECT_EQ(r.page_size, 10);
}

// A cursor inside a scope's backfill has a third part (the row); a
// two-part cursor means row = version. Only the canonical form is accepted.
TEST(Validate, CursorsOfTwoAndThreeParts) {
  auto cursor_of = [](const std::string& c) {
    return validate_request(
        test_schema(), {},
        R"({"protocol":1,"clientId":"client-a1","schemaVersion":1,"cursor":")" +
            c + R"("})",
        kNow);
  };
  auto two = cursor_of("42:7");
  ASSERT_TRUE(std::holds_alternative<sync_request>(two));
  EXPECT_EQ(std::get<sync_request>(two).cursor.row, 7);
  EXPECT_EQ(std::get<sync_request>(two).cursor.to_string(), "42:7");
  auto three = cursor_of("42:7:3");
  ASSERT_TRUE(std::holds_alternative<sync_request>(three));
  const pull_cursor& c = std::get<sync_request>(three).cursor;
  EXPECT_EQ(c.xid, 42U);
  EXPECT_EQ(c.version, 7);
  EXPECT_EQ(c.row, 3);
  EXPECT_EQ(c.to_string(), "42:7:3");
  for (const char* bad :
       {"42:7:7", "42:7:", "42:7:-1", "42:7:3:1", "42::3", "42:7:x", ":7:3"}) {
    auto v = cursor_of(bad);
    ASSERT_TRUE(std::holds_alternative<request_error>(v)) << bad;
    EXPECT_EQ(std::get<request_error>(v).errors[0].path, "cursor") << bad;
  }
}

struct bad_request {
  const char* name;
  std::string body;
  int status;
  const char* code;
  const char* path;
};

class BadRequest : public ::testing::TestWithParam<bad_request> {};

TEST_P(BadRequest, ReportsStatusCodeAndPath) {
  const auto& c = GetParam();
  request_error e = expect_error(c.body);
  EXPECT_EQ(e.status, c.status) << c.name;
  ASSERT_FALSE(e.errors.empty());
  EXPECT_STREQ(to_string(e.errors[0].code), c.code)
      << c.name << ": " << e.errors[0].to_string();
  EXPECT_EQ(e.errors[0].path, c.path) << c.name;
}

std::string change(const std::string& table, const std::string& row,
                   const std::string& op = "upsert") {
  return R"([{"id":1,"table":")" + table + R"(","op":")" + op + R"(","row":)" +
         row + R"(,"hlc":")" + hlc(kNow) + R"("}])";
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadRequest,
    ::testing::Values(
        bad_request{"not json", "{", 400, "invalid_json", ""},
        bad_request{"array", "[]", 400, "invalid_request", ""},
        bad_request{"protocol", R"({"protocol":2})", 400, "invalid_request",
                    "protocol"},
        bad_request{"client id",
                    R"({"protocol":1,"clientId":"x","schemaVersion":1})", 400,
                    "invalid_request", "clientId"},
        bad_request{
            "schema version",
            R"({"protocol":1,"clientId":"client-a1","schemaVersion":2})", 409,
            "schema_version_mismatch", "schemaVersion"},
        bad_request{
            "unknown field",
            R"({"protocol":1,"clientId":"client-a1","schemaVersion":1,"lastSyncAt":1})",
            400, "invalid_request", "lastSyncAt"},
        bad_request{"unknown table",
                    body_with(change("users", R"({"id":"u"})")), 400,
                    "unknown_table", "batch.changes[0].table"},
        bad_request{
            "unknown column",
            body_with(change("projects", R"({"id":"p","name":"n","x":1})")),
            400, "unknown_column", "batch.changes[0].row.x"},
        bad_request{"integer as string",
                    body_with(change("documents", R"({"id":"7"})")), 400,
                    "type_mismatch", "batch.changes[0].row.id"},
        bad_request{"boolean as number",
                    body_with(change("projects",
                                     R"({"id":"p","name":"n","archived":1})")),
                    400, "type_mismatch", "batch.changes[0].row.archived"},
        bad_request{
            "local timestamp",
            body_with(change(
                "projects",
                R"({"id":"p","name":"n","updatedAt":"2026-01-01T10:00:00"})")),
            400, "type_mismatch", "batch.changes[0].row.updatedAt"},
        bad_request{"missing key",
                    body_with(change("workflowEdges", R"({"projectId":"p"})",
                                     "delete")),
                    400, "missing_primary_key", "batch.changes[0].row.edgeId"},
        bad_request{"not null", body_with(change("projects", R"({"id":"p"})")),
                    400, "type_mismatch", "batch.changes[0].row.name"},
        bad_request{
            "bad op",
            body_with(change("projects", R"({"id":"p","name":"n"})", "merge")),
            400, "invalid_request", "batch.changes[0].op"},
        bad_request{
            "bad hlc",
            body_with(
                R"([{"id":1,"table":"settings","op":"upsert","row":{"key":"k"},"hlc":"yesterday"}])"),
            400, "invalid_request", "batch.changes[0].hlc"},
        bad_request{
            "bad seq",
            R"({"protocol":1,"clientId":"client-a1","schemaVersion":1,"batch":{"seq":0,"changes":[]}})",
            400, "invalid_request", "batch.seq"},
        bad_request{
            "bad page size",
            R"({"protocol":1,"clientId":"client-a1","schemaVersion":1,"pageSize":0})",
            400, "invalid_request", "pageSize"},
        bad_request{
            "bad cursor",
            R"({"protocol":1,"clientId":"client-a1","schemaVersion":1,"cursor":"12"})",
            400, "invalid_request", "cursor"},
        // F9: the unknown member is named, with its own path.
        bad_request{
            "unknown change field",
            body_with(
                R"([{"id":1,"table":"settings","op":"upsert","row":{"key":"k"},"hlc":")" +
                hlc(kNow) + R"(","foo":1}])"),
            400, "invalid_request", "batch.changes[0].foo"},
        // F6: a member given twice is refused, never merged.
        bad_request{
            "row twice",
            body_with(
                R"([{"id":1,"table":"settings","op":"upsert","row":{"key":"a"},"row":{"key":"b"},"hlc":")" +
                hlc(kNow) + R"("}])"),
            400, "invalid_request", "batch.changes[0].row"},
        bad_request{
            "table after row",
            body_with(
                R"([{"id":1,"table":"settings","op":"upsert","row":{"key":"a"},"table":"projects","hlc":")" +
                hlc(kNow) + R"("}])"),
            400, "invalid_request", "batch.changes[0].table"},
        bad_request{"column twice",
                    body_with(change("settings", R"({"key":"a","key":"b"})")),
                    400, "invalid_request", "batch.changes[0].row.key"},
        bad_request{"column null then set",
                    body_with(change("settings",
                                     R"({"key":"a","value":null,"value":1})")),
                    400, "invalid_request", "batch.changes[0].row.value"},
        bad_request{"null in a not-null column",
                    body_with(change("projects", R"({"id":"p","name":null})")),
                    400, "type_mismatch", "batch.changes[0].row.name"},
        bad_request{"null key",
                    body_with(change("settings", R"({"key":null})")), 400,
                    "missing_primary_key", "batch.changes[0].row.key"},
        bad_request{
            "protocol twice",
            R"({"protocol":1,"protocol":1,"clientId":"client-a1","schemaVersion":1})",
            400, "invalid_request", "protocol"},
        bad_request{
            "batch twice",
            R"({"protocol":1,"clientId":"client-a1","schemaVersion":1,"batch":null,"batch":{"seq":1,"changes":[]}})",
            400, "invalid_request", "batch"},
        bad_request{
            "changes twice",
            R"({"protocol":1,"clientId":"client-a1","schemaVersion":1,"batch":{"seq":1,"changes":[],"changes":[]}})",
            400, "invalid_request", "batch.changes"}),
    [](const auto& p) {
      std::string n = p.param.name;
      for (char& ch : n)
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
      return n;
    });

TEST(Validate, TooManyChangesIs413) {
  server_limits l;
  l.max_changes = 1;
  std::string two =
      R"([{"id":1,"table":"settings","op":"upsert","row":{"key":"a"},"hlc":")" +
      hlc(kNow) +
      R"("},{"id":2,"table":"settings","op":"upsert","row":{"key":"b"},"hlc":")" +
      hlc(kNow) + R"("}])";
  request_error e = expect_error(body_with(two), l);
  EXPECT_EQ(e.status, 413);
  EXPECT_EQ(e.errors[0].code, error_code::payload_too_large);
}

// F1 (security probe): 100 unknown top-level fields filled the stored
// errors; each later change without table, op, hlc or row then looked clean
// (the error count no longer grew) and was closed into a group that did not
// exist. The cap now only limits what is stored.
TEST(Validate, F1ErrorCapNeverChangesADecision) {
  std::string body = "{";
  for (int i = 0; i < 100; ++i)
    body += "\"junk" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  body +=
      R"("protocol":1,"clientId":"client-a1","schemaVersion":1,"batch":{"seq":1,"changes":[)";
  for (int i = 1; i <= 50; ++i)
    body += (i > 1 ? ",{\"id\":" : "{\"id\":") + std::to_string(i) + "}";
  body += "]}}";
  request_error e = expect_error(body);
  EXPECT_EQ(e.status, 400);
  ASSERT_EQ(e.errors.size(), 100u) << "at most 100 errors are stored";
  EXPECT_EQ(e.errors[0].path, "junk0");
  EXPECT_EQ(e.errors[99].path, "junk99");

  // Through the server: refused at begin, nothing in flight, and the next
  // valid request builds exactly its own input.
  server srv{test_schema(), {}};
  step_output o = srv.begin("u1", body, kNow);
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.status, 400);
  EXPECT_TRUE(o.statements.empty());
  EXPECT_EQ(srv.in_flight(), 0u);
  auto v = validate_request(
      test_schema(), {}, body_with(change("settings", R"({"key":"k"})")), kNow);
  ASSERT_TRUE(std::holds_alternative<sync_request>(v));
  EXPECT_EQ(
      std::get<sync_request>(v).groups[0].input,
      R"([{"key":"k","_es_i":0,"_es_h":")" + hlc(kNow) + R"(","_es_b":null}])");
}

TEST(Validate, TooManyChangesIs413EvenAfter100Errors) {
  server_limits l;
  l.max_changes = 3;
  std::string changes = "[";
  for (int i = 0; i < 150; ++i)
    changes += (i ? "," : "") + std::string(R"({"id":1,"table":"nope"})");
  changes += "]";
  request_error e = expect_error(body_with(changes), l);
  EXPECT_EQ(e.status, 413);
  ASSERT_FALSE(e.errors.empty());
  EXPECT_EQ(e.errors[0].code, error_code::payload_too_large)
      << "the error that decides the status comes first";
  EXPECT_LE(e.errors.size(), 100u);
}

TEST(Limits, MaxBodyBytesIsCappedToWhatTheCoreHolds) {
  auto over = parse_limits(json{{"maxBodyBytes", 1LL << 30}});
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.errors()[0].path, "limits.maxBodyBytes");
  EXPECT_NE(over.errors()[0].message.find(std::to_string(max_body_bytes_cap)),
            std::string::npos);
  auto at = parse_limits(json{{"maxBodyBytes", max_body_bytes_cap}});
  ASSERT_TRUE(at.ok());
  EXPECT_EQ(at.value().max_body_bytes, max_body_bytes_cap);
}

// Values at PostgreSQL's limits (tests/fixtures/value-boundaries.json, which
// tests/node/worker-values.test.mjs runs against PostgreSQL itself).
std::string expand(std::string text) {
  // `@{s*n}`: s repeated n times.
  for (std::size_t at = text.find("@{"); at != std::string::npos;
       at = text.find("@{", at)) {
    std::size_t star = text.find('*', at), end = text.find('}', at);
    std::string unit = text.substr(at + 2, star - at - 2);
    std::size_t n = std::stoul(text.substr(star + 1, end - star - 1));
    std::string rep;
    for (std::size_t k = 0; k < n; ++k) rep += unit;
    text.replace(at, end + 1 - at, rep);
    at += rep.size();
  }
  return text;
}

std::string base_row(const std::string& table) {
  if (table == "workflowNodes") return R"("id":"n","projectId":"p")";
  if (table == "projects") return R"("id":"p","name":"n")";
  if (table == "workflowEdges") return R"("source":"a","target":"b")";
  return "";
}

TEST(Validate, ValuesAtPostgresLimits) {
  auto doc = parse_json(
      testing::read_repo_file("tests/fixtures/value-boundaries.json"));
  ASSERT_TRUE(doc.ok());
  const json& cases = doc.value()["cases"];
  ASSERT_GT(cases.size(), 50u);
  for (const json& c : cases) {
    std::string table = c["table"], column = c["column"];
    std::string row = base_row(table);
    auto add = [&row](const std::string& k, const std::string& raw) {
      row += (row.empty() ? "\"" : ",\"") + k + "\":" + expand(raw);
    };
    if (c.contains("with"))
      for (auto it = c["with"].begin(); it != c["with"].end(); ++it)
        add(it.key(), it.value().get<std::string>());
    add(column, c["value"].get<std::string>());
    std::string body = body_with(change(table, "{" + row + "}"));
    std::string label = table + "." + column + " = " +
                        c["value"].get<std::string>().substr(0, 60);
    auto v = validate_request(test_schema(), {}, body, kNow);
    if (c["accepted"].get<bool>()) {
      EXPECT_TRUE(std::holds_alternative<sync_request>(v)) << label;
      if (auto* e = std::get_if<request_error>(&v))
        ADD_FAILURE() << e->errors[0].to_string();
      continue;
    }
    auto* e = std::get_if<request_error>(&v);
    ASSERT_NE(e, nullptr) << label << " must be refused";
    EXPECT_EQ(e->status, 400) << label;
    ASSERT_EQ(e->errors.size(), 1u) << label;
    EXPECT_STREQ(to_string(e->errors[0].code),
                 c.value("code", "value_out_of_range").c_str())
        << label << ": " << e->errors[0].to_string();
    EXPECT_EQ(e->errors[0].path, "batch.changes[0].row." + column) << label;
  }
}

// Seeded mutations of valid bodies (bytes dropped, duplicated, swapped,
// members repeated): the validator never crashes, and whatever it accepts
// is well-formed merge input — one JSON object per change, in its group.
TEST(Validate, MutatedBodiesNeverBuildInvalidMergeJson) {
  const schema s = test_schema();
  const std::vector<std::string> seeds = {
      body_with(
          R"([{"id":1,"table":"workflowNodes","op":"upsert","row":{"id":"n1","projectId":"p","x":1.5,"data":{"a":[1,"b"]}},"changed":["x"],"hlc":")" +
          hlc(kNow) +
          R"(","baseVersion":3},{"id":2,"table":"workflowEdges","op":"delete","row":{"projectId":"p","edgeId":"e"},"hlc":")" +
          hlc(kNow) + R"("}])"),
      body_with(change(
          "projects",
          R"({"id":"p\u00e9","name":"n","updatedAt":"2026-01-01T00:00:00Z"})"))};
  std::mt19937 rng(20240607);
  auto pick = [&rng](std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
  };
  std::size_t accepted = 0;
  for (int iter = 0; iter < 4000; ++iter) {
    std::string b = seeds[pick(seeds.size())];
    for (int k = 1 + static_cast<int>(pick(3)); k > 0; --k) {
      std::size_t at = pick(b.size()), len = 1 + pick(12);
      switch (pick(4)) {
        case 0:
          b.erase(at, len);
          break;
        case 1:
          b.insert(at, b.substr(pick(b.size()), len));
          break;
        case 2:
          std::swap(b[at], b[pick(b.size())]);
          break;
        default:
          b.insert(at, ",\"row\":{\"id\":\"z\"}");
          break;
      }
    }
    auto v = validate_request(s, {}, b, kNow);
    auto* req = std::get_if<sync_request>(&v);
    if (req == nullptr) {
      EXPECT_FALSE(std::get<request_error>(v).errors.empty()) << b;
      continue;
    }
    ++accepted;
    std::size_t total = 0;
    for (const change_group& g : req->groups) {
      auto parsed = parse_json(g.input);
      ASSERT_TRUE(parsed.ok()) << b << "\n-> " << g.input;
      ASSERT_TRUE(parsed.value().is_array());
      EXPECT_EQ(parsed.value().size(), g.changes.size()) << g.input;
      total += g.changes.size();
    }
    EXPECT_EQ(total, req->changes.size());
    for (const edgesync::change& c : req->changes) {
      auto one = parse_json(std::string_view(req->groups[c.group].input)
                                .substr(c.from, c.to - c.from));
      ASSERT_TRUE(one.ok());
      EXPECT_TRUE(one.value().is_object());
    }
  }
  EXPECT_GT(accepted, 0u) << "some mutations stay valid";
}

TEST(Validate, OversizeBodyIs413BeforeParsing) {
  server_limits l;
  l.max_body_bytes = 1024;
  request_error e = expect_error(std::string(2000, ' '), l);
  EXPECT_EQ(e.status, 413);
}

TEST(Validate, ClocksFarAheadAreClamped) {
  auto v = validate_request(
      test_schema(), {},
      body_with(
          change("settings", R"({"key":"k"})")
              .replace(change("settings", R"({"key":"k"})").find(hlc(kNow)),
                       hlc(kNow).size(), hlc(kNow + 3'600'000))),
      kNow);
  ASSERT_TRUE(std::holds_alternative<sync_request>(v));
  EXPECT_NE(std::get<sync_request>(v).groups[0].input.find(hlc(kNow + 60'000)),
            std::string::npos);
  auto near = validate_request(
      test_schema(), {}, body_with(change("settings", R"({"key":"k"})")), kNow);
  EXPECT_NE(std::get<sync_request>(near).groups[0].input.find(hlc(kNow)),
            std::string::npos)
      << "near clocks are kept";
}

TEST(Validate, ErrorBodyCarriesAllErrors) {
  std::string b = body_with(
      R"([{"id":1,"table":"nope","op":"upsert","row":{},"hlc":"x"}])");
  request_error e = expect_error(b);
  EXPECT_GE(e.errors.size(), 2u);
  auto body = parse_json(error_body(e.errors));
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(body.value()["protocol"], 1);
  EXPECT_EQ(body.value()["error"]["errors"].size(), e.errors.size());
}

// The state machine, driven with canned query results.
class ServerMachine : public ::testing::Test {
 protected:
  server srv_{test_schema(), {}};
  std::string batch_ = body_with(
      R"([{"id":10,"table":"projects","op":"upsert","row":{"id":"p1","name":"A"},"hlc":")" +
      hlc(kNow) +
      R"("},{"id":11,"table":"projects","op":"upsert","row":{"id":"p2","name":"B"},"hlc":")" +
      hlc(kNow) +
      R"("},{"id":12,"table":"projects","op":"delete","row":{"id":"p0"},"hlc":")" +
      hlc(kNow) +
      R"("},{"id":13,"table":"documents","op":"upsert","row":{"id":1},"hlc":")" +
      hlc(kNow) + R"("}])");
};

// The one statement's answer: head, results, pull changes, pull meta.
std::string answer(const std::string& head, const std::string& results,
                   const std::string& changes, const std::string& meta) {
  return head + "\n" + results + "\n" + changes + "\n" + meta;
}

TEST_F(ServerMachine, ARequestIsOneStatementCallingTheRequestFunction) {
  step_output o = srv_.begin("u1", batch_, kNow);
  ASSERT_FALSE(o.done);
  ASSERT_EQ(o.statements.size(), 1u) << "one round trip";
  EXPECT_TRUE(o.statements[0].sql.empty()) << "the text is a segment";
  EXPECT_TRUE(o.statements[0].params.empty())
      << "values are inlined: no Parse/Describe round trip first";
  const std::string& text = o.segments.at(o.statements[0].sql_segment);
  EXPECT_EQ(text.rfind("SELECT " + srv_.functions_name() + "(E'u1', ", 0), 0u)
      << text.substr(0, 80);
  // Two groups of projects (upsert, delete) and one of documents: kinds
  // table*2+op, the change ids in request order.
  EXPECT_NE(text.find("ARRAY[10,11,12,13]::bigint[]"), std::string::npos);
  EXPECT_NE(text.find("ARRAY[0,1,8]::int[]"), std::string::npos);
  std::int64_t st = srv_.last_state();
  std::string results =
      R"([{"id":10,"status":"applied","version":5},{"id":11,"status":"rejected","reason":"forbidden","message":"m"},{"id":12,"status":"applied","version":null},{"id":13,"status":"rejected","reason":"stale","version":4,"deleted":false,"row":{"id":1}}])";
  o = srv_.step(st,
                {answer(R"({"dup":false})", results, "[]",
                        R"({"xmin":"900","n":0,"lx":null,"lv":null})")},
                kNow + 5);
  ASSERT_TRUE(o.done);
  EXPECT_EQ(o.status, 200);
  EXPECT_FALSE(o.rollback);
  auto body = parse_json(o.segments[0]);
  ASSERT_TRUE(body.ok()) << o.segments[0];
  EXPECT_EQ(body.value()["cursor"], "900:0");
  EXPECT_EQ(body.value()["serverTime"], kNow + 5);
  EXPECT_EQ(body.value()["ack"]["duplicate"], false);
  EXPECT_NE(o.segments[0].find("\"results\":" + results + ","),
            std::string::npos)
      << "results pass through untouched";
  EXPECT_EQ(srv_.in_flight(), 0u);
}

TEST_F(ServerMachine, ARetriedBatchRepeatsTheStoredResults) {
  srv_.begin("u1", batch_, kNow);
  step_output o =
      srv_.step(srv_.last_state(),
                {answer(R"({"dup":true})",
                        R"([{"id":10,"status":"applied","version":5}])", "[]",
                        R"({"xmin":"1","n":0})")},
                kNow);
  auto body = parse_json(o.segments[0]);
  EXPECT_EQ(body.value()["ack"]["duplicate"], true);
  EXPECT_EQ(body.value()["results"][0]["version"], 5);
}

TEST_F(ServerMachine, AnotherUsersClientIdAnswers403) {
  srv_.begin("u2", batch_, kNow);
  step_output o =
      srv_.step(srv_.last_state(), {sql::sync_client_conflict}, kNow);
  ASSERT_TRUE(o.done);
  EXPECT_EQ(o.status, 403);
  EXPECT_TRUE(o.rollback);
  EXPECT_NE(o.segments[0].find("client_id_conflict"), std::string::npos);
  EXPECT_EQ(srv_.in_flight(), 0u);
}

TEST_F(ServerMachine, PagesAdvanceTheCursorAndNeverGoBack) {
  std::string pull_only =
      R"({"protocol":1,"clientId":"client-a1","schemaVersion":1,"cursor":"500:3","pageSize":2})";
  step_output o = srv_.begin("u1", pull_only, kNow);
  const std::string& text = o.segments.at(o.statements[0].sql_segment);
  EXPECT_NE(text.find(", NULL, 0, ARRAY[]::bigint[]"), std::string::npos)
      << "no batch: seq NULL";
  EXPECT_NE(text.find("'500', '3', '3', '3') AS j"), std::string::npos)
      << "cursor, page size + 1 (detects more pages), cursor row";
  o = srv_.step(srv_.last_state(),
                {answer(R"({"dup":false})", "[]", R"([{"a":1},{"a":2}])",
                        R"({"xmin":"990","n":3,"lx":"600","lv":9})")},
                kNow);
  auto body = parse_json(o.segments[0]);
  EXPECT_EQ(body.value()["cursor"], "600:9");
  EXPECT_EQ(body.value()["hasMore"], true);
  EXPECT_EQ(body.value()["changes"].size(), 2u);
  EXPECT_TRUE(body.value()["ack"].is_null());

  srv_.begin("u1", pull_only, kNow);
  o = srv_.step(
      srv_.last_state(),
      {answer(R"({"dup":false})", "[]", "[]", R"({"xmin":"400","n":0})")},
      kNow);
  EXPECT_EQ(parse_json(o.segments[0]).value()["cursor"], "500:3")
      << "xmin below the cursor";
}

TEST_F(ServerMachine, GarbageAnswersFailCleanly) {
  for (const char* bad :
       {"not json", "{\"dup\":false}\n[]", "{\"dup\":1}\n[]\n[]\n{}",
        "{\"dup\":false}\n[]\n[]\n{}"}) {
    srv_.begin("u1", batch_, kNow);
    step_output o = srv_.step(srv_.last_state(), {bad}, kNow);
    EXPECT_TRUE(o.done) << bad;
    EXPECT_EQ(o.status, 500) << bad;
    EXPECT_TRUE(o.rollback);
  }
  EXPECT_EQ(srv_.in_flight(), 0u);
  step_output o = srv_.step(12345, {}, kNow);
  EXPECT_EQ(o.status, 500);
}

TEST(Sql, InlinedValuesCannotEscapeTheirLiterals) {
  // The user id comes from a token: quotes and backslashes stay inside the
  // literal whatever standard_conforming_strings says.
  EXPECT_EQ(sql::pg_string(R"(a'b\c)"), R"(E'a''b\\c')");
  server srv{test_schema(), {}};
  step_output o = srv.begin(
      R"(u'); DROP TABLE x; --\)",
      body_with(change("projects", R"({"id":"p1","name":"it's"})")), kNow);
  const std::string& text = o.segments.at(o.statements[0].sql_segment);
  EXPECT_NE(text.find(R"(E'u''); DROP TABLE x; --\\')"), std::string::npos);
  EXPECT_NE(text.find(R"("name":"it''s")"), std::string::npos);
}

TEST(Sql, RequestFunctionsAreNamedByTheirText) {
  server a{test_schema(), {}};
  server b{test_schema(), {}};
  EXPECT_EQ(a.functions_name(), b.functions_name()) << "deterministic";
  EXPECT_EQ(a.functions_name().rfind("edgesync_", 0), 0u);
  EXPECT_NE(a.functions_ddl().find("CREATE OR REPLACE FUNCTION " +
                                   a.functions_name() + "("),
            std::string::npos);
  schema other = test_schema();
  other.tables[0].policy = conflict_policy::client_wins;
  server c{other, {}};
  EXPECT_NE(a.functions_name(), c.functions_name())
      << "another rule: another function (a rolling deploy runs both)";
}

TEST(Sql, IdentifiersAreQuotedAndParametersUsed) {
  schema s = test_schema();
  std::string up = sql::upsert(s, s.tables[2]);  // composite key, server-wins
  EXPECT_NE(up.find("ON CONFLICT (\"project_id\", \"edge_id\")"),
            std::string::npos);
  EXPECT_NE(up.find("x.\"_es_b\" IS NOT DISTINCT FROM c.\"_es_version\""),
            std::string::npos);
  EXPECT_NE(up.find("jsonb_to_recordset($1::text::jsonb)"), std::string::npos);
  std::string pull = sql::pull(s);
  EXPECT_NE(pull.find("pg_snapshot_xmin(pg_current_snapshot())"),
            std::string::npos);
  EXPECT_EQ(pull.find("'u1'"), std::string::npos)
      << "values are the request function's parameters";
}

}  // namespace
}  // namespace edgesync
