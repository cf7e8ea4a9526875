// The `client.*` control operations: the exact frames a JS host exchanges
// with the core. A tiny host written against the JSON vocabulary alone runs
// a full push/pull against the simulated server.
#include <gtest/gtest.h>

#include "client_sim.h"
#include "common/frame.h"
#include "control/client_ops.h"
#include "sql/ddl.h"
#include "support.h"

namespace edgesync {
namespace {

struct answer {
  json meta;
  std::vector<std::string> segments;
};

answer call(const std::string& op, const json& meta,
            const std::vector<std::string>& segments = {}) {
  std::string out;
  EXPECT_TRUE(client_control(op, build_frame(meta, segments), out));
  auto f = parse_frame(out);
  EXPECT_TRUE(f.ok()) << out;
  answer a;
  if (!f.ok()) return a;
  a.meta = f.value().meta;
  for (auto s : f.value().segments) a.segments.emplace_back(s);
  return a;
}

std::string schema_text() {
  return testing::read_repo_file("tests/fixtures/schema.v1.json");
}

// Decodes a JSON `sql` effect into the typed form the test connection runs.
client::effects::run_sql decode_sql(const json& e,
                                    const std::vector<std::string>& segs) {
  client::effects::run_sql fx;
  fx.id = e["id"].get<std::uint64_t>();
  fx.purpose = e["purpose"].get<std::string>();
  fx.tx = e["tx"].get<bool>();
  for (const json& s : e["statements"]) {
    client::effects::statement st;
    st.sql = s["sql"].get<std::string>();
    st.out = s["out"].get<bool>();
    for (const json& p : s["params"]) {
      if (p.is_null())
        st.params.push_back(nullptr);
      else if (p.is_number_integer())
        st.params.push_back(p.get<std::int64_t>());
      else if (p.is_number())
        st.params.push_back(p.get<double>());
      else if (p.is_string())
        st.params.push_back(p.get<std::string>());
      else
        st.params.push_back(
            client::effects::raw_text{segs.at(p["seg"].get<std::size_t>())});
    }
    fx.statements.push_back(std::move(st));
  }
  return fx;
}

TEST(ClientControl, OpenAnswersWithAHandleAndTheLoadQuery) {
  answer a = call("client.open", {{"schema", parse_json(schema_text()).value()},
                                  {"config", {{"debounceMs", 500}}},
                                  {"seed", "00112233445566778899aabb"},
                                  {"now", 1763798400000}});
  ASSERT_EQ(a.meta["ok"], true) << a.meta;
  ASSERT_TRUE(a.meta["client"].is_number_integer());
  const json& fx = a.meta["effects"];
  ASSERT_EQ(fx.size(), 2u) << fx;
  EXPECT_EQ(fx[0]["type"], "sql");
  EXPECT_EQ(fx[0]["purpose"], "load");
  EXPECT_EQ(fx[0]["tx"], false);
  EXPECT_EQ(fx[0]["statements"][0]["out"], true);
  EXPECT_EQ(fx[0]["statements"][0]["params"], json::array());
  EXPECT_EQ(fx[1], (json{{"type", "status"},
                         {"status",
                          {{"state", "syncing"},
                           {"pending", 0},
                           {"lastSyncedAt", nullptr},
                           {"lastError", nullptr},
                           {"nextRetryAt", nullptr},
                           {"clientId", ""}}}}));
  answer st = call("client.status", {{"client", a.meta["client"]}});
  EXPECT_EQ(st.meta["status"]["state"], "syncing");
  EXPECT_EQ(call("client.close", {{"client", a.meta["client"]}}).meta["ok"],
            true);
  answer gone =
      call("client.handle",
           {{"client", a.meta["client"]}, {"type", "tick"}, {"now", 1}});
  EXPECT_EQ(gone.meta["ok"], false);
  EXPECT_EQ(gone.meta["errors"][0]["path"], "client");
}

TEST(ClientControl, ErrorsNameTheOffendingField) {
  auto first_error = [](const answer& a) { return a.meta["errors"][0]; };
  json schema = parse_json(schema_text()).value();
  answer a =
      call("client.open", {{"schema", schema},
                           {"config", {{"debounceMz", 1}, {"pageSize", 0}}},
                           {"seed", "00112233445566778899"},
                           {"now", 1}});
  ASSERT_EQ(a.meta["ok"], false);
  EXPECT_EQ(a.meta["errors"].size(), 2u);
  EXPECT_EQ(a.meta["errors"][0]["path"], "config.debounceMz");
  EXPECT_EQ(a.meta["errors"][1]["path"], "config.pageSize");
  EXPECT_EQ(first_error(call(
                "client.open",
                {{"schema", schema}, {"seed", "short"}, {"now", 1}}))["path"],
            "seed");
  EXPECT_EQ(first_error(call("client.open",
                             {{"schema", {{"version", 1}, {"tables", 5}}},
                              {"seed", "00112233445566778899"},
                              {"now", 1}}))["path"]
                .get<std::string>()
                .substr(0, 6),
            "schema");
  EXPECT_EQ(first_error(call("client.open", {{"schema", schema},
                                             {"seed", "00112233445566778899"},
                                             {"clientId", "bad id!"},
                                             {"now", 1}}))["path"],
            "clientId");
  answer ok =
      call("client.open",
           {{"schema", schema}, {"seed", "00112233445566778899"}, {"now", 1}});
  json h = ok.meta["client"];
  EXPECT_EQ(first_error(call(
                "client.handle",
                {{"client", h}, {"type", "teleport"}, {"now", 1}}))["path"],
            "type");
  EXPECT_EQ(first_error(call("client.handle",
                             {{"client", h}, {"type", "tick"}}))["path"],
            "now");
  EXPECT_EQ(first_error(call(
                "client.handle",
                {{"client", h}, {"type", "sql_done"}, {"now", 1}}))["path"],
            "id");
  EXPECT_EQ(first_error(call("client.handle", {{"client", h},
                                               {"type", "http_response"},
                                               {"id", 1},
                                               {"now", 1}}))["path"],
            "status");
  EXPECT_EQ(call("client.handle", {{"client", h}, {"type", "tick"}, {"now", 2}})
                .meta["ok"],
            true);
  std::string out;
  EXPECT_TRUE(client_control("client.frobnicate",
                             build_frame({{"client", h}}, {}), out));
  EXPECT_FALSE(client_control("schema.validate", "{}", out))
      << "not a client op";
  call("client.close", {{"client", h}});
}

// A host written only against the documented JSON: runs sql effects on
// SQLite, answers http effects from the simulated server, keeps the timer.
TEST(ClientControl, AJsonHostSyncsEndToEnd) {
  testing::world w;
  testing::sql_conn db(true);
  ASSERT_EQ(db.exec(sqlite_ddl(w.s)), "");
  answer a = call("client.open", {{"schema", parse_json(schema_text()).value()},
                                  {"seed", "fedcba98765432100000"},
                                  {"now", w.now}});
  ASSERT_EQ(a.meta["ok"], true);
  json handle = a.meta["client"];
  std::vector<json> statuses, http, app_events;
  std::optional<std::int64_t> timer;

  // Runs effects in order; completions are fed only after the whole list
  // (a later status effect in the same list is newer than earlier ones).
  std::function<void(answer)> run = [&](answer first) {
    std::vector<std::pair<json, std::vector<std::string>>> events;
    answer ans = std::move(first);
    for (;;) {
      ASSERT_EQ(ans.meta["ok"], true) << ans.meta;
      for (const json& e : ans.meta["effects"]) {
        std::string type = e["type"].get<std::string>();
        if (type == "sql") {
          client::event done = db.run(decode_sql(e, ans.segments));
          auto* d = std::get_if<client::events::sql_done>(&done);
          ASSERT_NE(d, nullptr)
              << std::get<client::events::sql_failed>(done).message;
          events.push_back({{{"client", handle},
                             {"type", "sql_done"},
                             {"id", e["id"]},
                             {"now", w.now}},
                            d->values});
        } else if (type == "http") {
          EXPECT_EQ(e["method"], "POST");
          EXPECT_EQ(e["path"], "/sync");
          EXPECT_EQ(e["contentType"], "application/json");
          EXPECT_EQ(e["keepalive"], false);
          std::string body =
              ans.segments.at(e["body"]["seg"].get<std::size_t>());
          http.push_back(parse_json(body).value());
          testing::sim_response r = w.server.handle(body, "t1", w.now);
          events.push_back({{{"client", handle},
                             {"type", "http_response"},
                             {"id", e["id"]},
                             {"status", r.status},
                             {"now", w.now}},
                            {r.body}});
        } else if (type == "timer") {
          timer =
              e["at"].is_null()
                  ? std::nullopt
                  : std::optional<std::int64_t>(e["at"].get<std::int64_t>());
        } else if (type == "status") {
          statuses.push_back(e["status"]);
        } else {
          app_events.push_back(e);
        }
      }
      if (events.empty()) return;
      auto [meta, segs] = std::move(events.front());
      events.erase(events.begin());
      ans = call("client.handle", meta, segs);
    }
  };
  run(a);
  ASSERT_EQ(http.size(), 1u);
  EXPECT_EQ(statuses.back()["state"], "idle");
  EXPECT_EQ(statuses.back()["clientId"],
            db.value("SELECT value FROM sync_state WHERE key = 'client_id'"));
  ASSERT_TRUE(timer.has_value());
  EXPECT_EQ(*timer, w.now + 30000) << "the periodic sync";

  // Another device wrote a row; a local write here; the debounce timer.
  w.server.tables["settings"][dump_json(json{"k"})] =
      testing::sim_server::row_state{
          {{"key", "k"}, {"ownerId", "u1"}, {"value", {{"a", true}}}},
          ++w.server.version,
          false,
          "x",
          {},
          "other"};
  ASSERT_EQ(db.exec("INSERT INTO projects (id, ownerId, name) VALUES ('p1', "
                    "'u1', 'Alpha')"),
            "");
  run(call("client.handle",
           {{"client", handle}, {"type", "local_change"}, {"now", w.now}}));
  EXPECT_EQ(statuses.back()["pending"], 1);
  EXPECT_EQ(*timer, w.now + 1000);
  w.now += 1000;
  run(call("client.handle",
           {{"client", handle}, {"type", "tick"}, {"now", w.now}}));
  ASSERT_EQ(http.size(), 2u);
  EXPECT_EQ(http[1]["batch"]["changes"][0]["row"]["name"], "Alpha");
  EXPECT_EQ(db.value("SELECT count(*) FROM sync_outbox"), "0");
  EXPECT_EQ(db.value("SELECT value FROM settings"), "{\"a\":true}");
  ASSERT_EQ(app_events.size(), 2u);
  EXPECT_EQ(app_events[0],
            (json{{"type", "acked"},
                  {"table", "projects"},
                  {"pk", {"p1"}},
                  {"op", "upsert"},
                  {"version", w.server.find("projects", json{"p1"})->version},
                  {"ids", {1}}}))
      << "the server applied the write";
  EXPECT_EQ(app_events[1], (json{{"type", "changes"},
                                 {"tables", {"settings"}},
                                 {"rows", 1},
                                 {"revoked", json::array()}}));
  EXPECT_EQ(statuses.back()["state"], "idle");
  EXPECT_EQ(statuses.back()["pending"], 0);
  EXPECT_EQ(statuses.back()["lastSyncedAt"], w.now);
  call("client.close", {{"client", handle}});
}

// signOut(): the reset statements empty the synced tables and every piece of
// sync bookkeeping without queueing the deletes; the next open makes a new id.
TEST(ClientControl, ResetSqlEmptiesTheLocalDatabaseWithoutQueueing) {
  testing::world w;
  testing::sql_conn db(true);
  ASSERT_EQ(db.exec(sqlite_ddl(w.s)), "");
  ASSERT_EQ(db.exec("INSERT INTO projects (id, ownerId, name) VALUES ('p1', "
                    "'u1', 'Alpha');"
                    "INSERT INTO sync_state (key, value) VALUES ('client_id', "
                    "'c_0011223344556677'), ('seq', 4), ('cursor', 'x');"
                    "INSERT INTO sync_rows (tbl, pk, version) VALUES "
                    "('projects', '[\"p0\"]', 3);"
                    "UPDATE sync_clock SET node = 'c_0011223344556677'"),
            "");
  ASSERT_EQ(db.value("SELECT count(*) FROM sync_outbox"), "1");
  answer r =
      call("client.reset_sql", {{"schema", parse_json(schema_text()).value()}});
  ASSERT_EQ(r.meta["ok"], true) << r.meta;
  ASSERT_EQ(r.meta["tx"], true);
  json fx = r.meta;
  fx["id"] = 1;
  fx["purpose"] = "reset";
  client::event done = db.run(decode_sql(fx, {}));
  ASSERT_NE(std::get_if<client::events::sql_done>(&done), nullptr);
  EXPECT_EQ(db.value("SELECT count(*) FROM projects"), "0");
  EXPECT_EQ(db.value("SELECT count(*) FROM sync_outbox"), "0")
      << "the deletes were not queued";
  EXPECT_EQ(db.value("SELECT count(*) FROM sync_rows"), "0");
  EXPECT_EQ(db.value("SELECT count(*) FROM sync_base"), "0");
  EXPECT_EQ(db.value("SELECT count(*) FROM sync_apply_guard"), "0");
  EXPECT_EQ(db.value("SELECT group_concat(key) FROM sync_state"),
            "schema_version");
  EXPECT_EQ(db.value("SELECT node FROM sync_clock"), "");
  // Writes after the reset are queued again.
  ASSERT_EQ(db.exec("INSERT INTO projects (id, ownerId, name) VALUES ('p2', "
                    "'u2', 'Beta')"),
            "");
  EXPECT_EQ(db.value("SELECT count(*) FROM sync_outbox"), "1");
  // The claim at the first sign-in: rows without an owner become the user's,
  // again without queueing anything (the server set the same owner).
  ASSERT_EQ(db.exec("INSERT INTO projects (id, ownerId, name) VALUES ('p3', "
                    "'', 'Made signed out')"),
            "");
  answer c =
      call("client.claim_sql",
           {{"schema", parse_json(schema_text()).value()}, {"user", "alice"}});
  ASSERT_EQ(c.meta["ok"], true) << c.meta;
  json cfx = c.meta;
  cfx["id"] = 2;
  cfx["purpose"] = "claim";
  done = db.run(decode_sql(cfx, {}));
  ASSERT_NE(std::get_if<client::events::sql_done>(&done), nullptr);
  EXPECT_EQ(db.value("SELECT group_concat(id || '=' || ownerId) FROM "
                     "(SELECT * FROM projects ORDER BY id)"),
            "p2=u2,p3=alice");
  EXPECT_EQ(db.value("SELECT count(*) FROM sync_outbox"), "2");
  EXPECT_EQ(
      call("client.claim_sql", {{"schema", parse_json(schema_text()).value()}})
          .meta["errors"][0]["path"],
      "user");
  EXPECT_EQ(call("client.reset_sql", {{"schema", {{"version", 1}}}})
                .meta["errors"][0]["path"]
                .get<std::string>()
                .substr(0, 6),
            "schema");
}

}  // namespace
}  // namespace edgesync
