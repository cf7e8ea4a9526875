// The client core end to end, in virtual time: real SQLite (generated DDL
// and triggers) on each client, the simulated server, and the scheduler.
#include <gtest/gtest.h>

#include <set>

#include "client_sim.h"
#include "common/json_scan.h"
#include "sql/ddl.h"
#include "support.h"

namespace edgesync {
namespace {

using client::sync_state;
using testing::sim_client;
using testing::sim_response;
using testing::world;

json body(const sim_client::request& r) { return parse_json(r.body).value(); }

std::string error_body(const std::string& code, const std::string& message,
                       const std::string& path = "") {
  return dump_json(
      {{"protocol", 1},
       {"error", {{"code", code}, {"message", message}, {"path", path}}}});
}

client::config quiet_config() {
  client::config c;
  c.debounce_ms = 1000;
  c.periodic_ms = 30000;
  return c;
}

std::string insert_project(const std::string& id, const std::string& name) {
  return "INSERT INTO projects (id, ownerId, name, archived, updatedAt) VALUES "
         "('" +
         id + "', 'u1', '" + name + "', 0, '2026-11-22T08:00:00.000Z')";
}

// ------------------------------------------------------------- open, push

TEST(ClientSync, FirstOpenPersistsAClientIdAndPullsOnce) {
  world w;
  sim_client a(w, "a");
  a.open();
  ASSERT_TRUE(w.settle());
  std::string id = a.state("client_id");
  EXPECT_EQ(id.substr(0, 2), "c_");
  EXPECT_EQ(id.size(), 18u);
  EXPECT_TRUE(client::is_valid_client_id(id));
  EXPECT_EQ(a.db().value("SELECT node FROM sync_clock"), id);
  ASSERT_EQ(a.sent.size(), 1u) << "a pull on load";
  json req = body(a.sent[0]);
  EXPECT_EQ(req["protocol"], 1);
  EXPECT_EQ(req["clientId"], id);
  EXPECT_EQ(req["schemaVersion"], 1);
  EXPECT_TRUE(req["batch"].is_null());
  EXPECT_TRUE(req["cursor"].is_null());
  EXPECT_EQ(req["pageSize"], 500);
  EXPECT_FALSE(a.sent[0].keepalive);
  EXPECT_EQ(a.core().current_status().state, sync_state::idle);
  EXPECT_EQ(a.core().current_status().client_id, id);
  EXPECT_TRUE(a.core().current_status().last_synced_at.has_value());
  EXPECT_EQ(a.state("cursor"), "0:1000");
  // A second page load keeps the id.
  a.close();
  a.open();
  ASSERT_TRUE(w.settle());
  EXPECT_EQ(a.state("client_id"), id);
}

TEST(ClientSync, TheBatchFollowsTheProtocol) {
  world w;
  sim_client a(w, "a", quiet_config());
  a.open();
  ASSERT_TRUE(w.settle());
  a.write(insert_project("p1", "Alpha"));
  a.write(
      "INSERT INTO workflowNodes (id, projectId, ownerId, label, x, y, data) "
      "VALUES "
      "('n1', 'p1', 'u1', 'Start', 10, 20, '{\"a\":[1,true]}')");
  a.write(
      "INSERT INTO workflowEdges (projectId, edgeId, ownerId, source, target) "
      "VALUES "
      "('p1', 'e1', 'u1', 'n1', 'n2')");
  a.write("INSERT INTO documents (id, ownerId, title) VALUES (7, 'u1', 'Doc')");
  a.send(client::events::sync_now{});
  ASSERT_TRUE(w.settle());
  std::int64_t node_version =
      w.server.find("workflowNodes", json{"n1"})->version;
  // Edits of synced rows: a field-level update and deletes.
  a.write("UPDATE workflowNodes SET label = 'Begin', x = 12 WHERE id = 'n1'");
  a.write("UPDATE workflowNodes SET y = 21 WHERE id = 'n1'");
  a.write("DELETE FROM workflowEdges WHERE edgeId = 'e1'");
  a.write("DELETE FROM documents WHERE id = 7");
  a.send(client::events::sync_now{});
  ASSERT_TRUE(w.settle());

  ASSERT_EQ(a.sent.size(), 3u);
  json first = body(a.sent[1]);
  EXPECT_EQ(first["batch"]["seq"], 1);
  const json& ch = first["batch"]["changes"];
  ASSERT_EQ(ch.size(), 4u);
  EXPECT_EQ(ch[0]["table"], "projects");
  EXPECT_EQ(ch[0]["op"], "upsert");
  EXPECT_EQ(ch[0]["row"], (json{{"id", "p1"},
                                {"ownerId", "u1"},
                                {"name", "Alpha"},
                                {"archived", false},
                                {"updatedAt", "2026-11-22T08:00:00.000Z"}}));
  EXPECT_TRUE(ch[0]["baseVersion"].is_null());
  EXPECT_FALSE(ch[0].contains("changed"));
  EXPECT_EQ(ch[1]["row"]["data"], (json{{"a", json::array({1, true})}}));
  std::string hlc = ch[0]["hlc"].get<std::string>();
  EXPECT_EQ(hlc.size(), 22u + a.state("client_id").size());
  EXPECT_EQ(hlc.substr(22), a.state("client_id"));
  EXPECT_LT(ch[0]["hlc"].get<std::string>(), ch[1]["hlc"].get<std::string>());

  json second = body(a.sent[2]);
  EXPECT_EQ(second["batch"]["seq"], 2);
  EXPECT_EQ(second["cursor"],
            first["cursor"].is_null() ? json("0:1000") : second["cursor"]);
  const json& ch2 = second["batch"]["changes"];
  ASSERT_EQ(ch2.size(), 3u) << "two node updates compacted into one";
  EXPECT_EQ(ch2[0]["table"], "workflowNodes");
  EXPECT_EQ(ch2[0]["changed"], (json{"label", "x", "y"}));
  EXPECT_EQ(ch2[0]["baseVersion"], node_version)
      << "based on the version the first push got";
  EXPECT_EQ(ch2[1]["op"], "delete");
  EXPECT_EQ(ch2[1]["row"], (json{{"projectId", "p1"}, {"edgeId", "e1"}}))
      << "a delete carries the primary key columns";
  EXPECT_EQ(ch2[2]["row"], (json{{"id", 7}}));
  EXPECT_EQ(a.outbox_size(), 0);
  EXPECT_EQ(a.rows("workflowNodes"), w.server.live_rows("workflowNodes"));
  EXPECT_EQ(w.server.live_rows("workflowEdges").size(), 0u);
  EXPECT_EQ(a.state("seq"), "3");
}

TEST(ClientSync, OnlyAcknowledgedOutboxRowsAreDeleted) {
  world w;
  w.latency = 400;
  sim_client a(w, "a", quiet_config());
  a.open();
  ASSERT_TRUE(w.settle());
  a.write(insert_project("p1", "One"));
  a.send(client::events::sync_now{});
  ASSERT_TRUE(a.in_flight.has_value());
  // Written while the batch is in flight: not part of it.
  a.write(insert_project("p2", "Two"));
  a.write("UPDATE projects SET name = 'One!' WHERE id = 'p1'");
  w.run_for(400);
  EXPECT_EQ(a.outbox_size(), 2) << "only the acknowledged row left the outbox";
  EXPECT_EQ(a.db().value("SELECT group_concat(pk) FROM (SELECT pk FROM "
                         "sync_outbox ORDER BY id)"),
            "[\"p2\"],[\"p1\"]");
  EXPECT_EQ(a.db().value(
                "SELECT base_version FROM sync_outbox WHERE pk = '[\"p1\"]'"),
            std::to_string(w.server.find("projects", json{"p1"})->version))
      << "the later edit is re-based on the acknowledged write";
  ASSERT_TRUE(w.settle());
  EXPECT_EQ(a.outbox_size(), 0);
  EXPECT_EQ(a.rows("projects"), w.server.live_rows("projects"));
  EXPECT_TRUE(a.conflicts.empty());
}

// ------------------------------------------------------------------ apply

TEST(ClientApply, PulledRowsLandWithoutReenteringTheOutbox) {
  world w;
  sim_client a(w, "a", quiet_config()), b(w, "b", quiet_config());
  a.open();
  b.open();
  ASSERT_TRUE(w.settle());
  b.write(
      "INSERT INTO projects (id, ownerId, name, archived, updatedAt) VALUES "
      "('p1', 'u1', 'From B', 1, '2026-11-22T08:00:00.000Z')");
  b.write(
      "INSERT INTO workflowNodes (id, projectId, ownerId, label, x, y, data) "
      "VALUES "
      "('n1', 'p1', 'u1', 'L', 1.5, 2, "
      "'{\"deep\":{\"list\":[1,2,3]},\"s\":\"x\"}')");
  b.write(
      "INSERT INTO settings (key, ownerId, value) VALUES ('theme', 'u1', "
      "'\"dark\"')");
  b.write(
      "INSERT INTO workflowEdges (projectId, edgeId, ownerId, source, target) "
      "VALUES "
      "('p1', 'e1', 'u1', 'n1', 'n1')");
  b.send(client::events::sync_now{});
  ASSERT_TRUE(w.settle());
  a.send(client::events::sync_now{});
  ASSERT_TRUE(w.settle());
  EXPECT_EQ(a.outbox_size(), 0)
      << "applied under the guard: no echo into the outbox";
  EXPECT_EQ(a.db().value("SELECT count(*) FROM sync_apply_guard"), "0");
  for (const char* t :
       {"projects", "workflowNodes", "settings", "workflowEdges"})
    EXPECT_EQ(a.rows(t), b.rows(t)) << t;
  EXPECT_EQ(a.db().value("SELECT archived FROM projects"), "1")
      << "booleans as 0/1";
  EXPECT_EQ(a.db().value("SELECT typeof(x) || typeof(data) FROM workflowNodes"),
            "realtext");
  EXPECT_EQ(
      a.db().value(
          "SELECT json_extract(data, '$.deep.list[2]') FROM workflowNodes"),
      "3");
  EXPECT_EQ(a.db().value("SELECT value FROM settings"), "\"dark\"")
      << "JSON text";
  EXPECT_EQ(a.db().value("SELECT count(*) FROM sync_rows"), "4")
      << "versions recorded";
  ASSERT_FALSE(a.applied.empty());
  EXPECT_EQ(a.applied.back().rows, 4);
  EXPECT_EQ(a.applied.back().tables,
            (std::vector<std::string>{"projects", "workflowNodes",
                                      "workflowEdges", "settings"}));
  // Tombstones propagate.
  b.write("DELETE FROM projects WHERE id = 'p1'");
  b.write("DELETE FROM workflowEdges WHERE edgeId = 'e1'");
  b.send(client::events::sync_now{});
  ASSERT_TRUE(w.settle());
  a.send(client::events::sync_now{});
  ASSERT_TRUE(w.settle());
  EXPECT_TRUE(a.rows("projects").empty());
  EXPECT_TRUE(a.rows("workflowEdges").empty());
  EXPECT_EQ(a.outbox_size(), 0);
  // B's own writes never came back to it as pulled changes (no echoes).
  for (const auto& r : b.sent)
    EXPECT_TRUE(parse_json(r.response.body).value()["changes"].empty())
        << r.response.body;
}

TEST(ClientApply, APulledRowNeverOverwritesAPendingLocalEdit) {
  world w;
  w.latency = 300;
  sim_client a(w, "a", quiet_config()), b(w, "b", quiet_config());
  a.open();
  b.open();
  ASSERT_TRUE(w.settle());
  a.write(insert_project("p1", "orig"));
  a.write(
      "INSERT INTO workflowEdges (projectId, edgeId, ownerId, source, target) "
      "VALUES "
      "('p', 'e1', 'u1', 's', 'orig')");
  a.send(client::events::sync_now{});
  ASSERT_TRUE(w.settle());
  b.send(client::events::sync_now{});
  ASSERT_TRUE(w.settle());
  std::string v1 =
      a.db().value("SELECT version FROM sync_rows WHERE pk = '[\"p1\"]'");
  b.write("UPDATE projects SET name = 'from B' WHERE id = 'p1'");
  b.write("UPDATE workflowEdges SET target = 'from B' WHERE edgeId = 'e1'");
  b.send(client::events::sync_now{});
  ASSERT_TRUE(w.settle());

  // A pulls B's rows while it has unsent edits of the same rows.
  a.send(client::events::sync_now{});
  ASSERT_TRUE(a.in_flight.has_value());
  EXPECT_TRUE(body(*a.in_flight)["batch"].is_null())
      << "nothing pending when it left";
  a.write("UPDATE projects SET name = 'from A' WHERE id = 'p1'");
  a.write("UPDATE workflowEdges SET target = 'from A' WHERE edgeId = 'e1'");
  w.run_for(w.latency);
  ASSERT_FALSE(a.in_flight.has_value());
  EXPECT_EQ(a.db().value("SELECT name FROM projects"), "from A")
      << "the pending edit stays";
  EXPECT_EQ(a.db().value("SELECT target FROM workflowEdges"), "from A");
  EXPECT_EQ(a.db().value("SELECT version FROM sync_rows WHERE pk = '[\"p1\"]'"),
            v1)
      << "the skipped version is not recorded: the edit stays based on what A "
         "saw";
  EXPECT_EQ(a.outbox_size(), 2);

  // The server's resolution of A's edits decides: server-wins keeps B's edge
  // (a conflict the app hears about), last-writer-wins takes A's newer edit.
  ASSERT_TRUE(w.settle());
  ASSERT_EQ(a.conflicts.size(), 1u);
  EXPECT_EQ(a.conflicts[0].table, "workflowEdges");
  EXPECT_EQ(a.conflicts[0].reason, "stale");
  EXPECT_EQ(a.conflicts[0].pk, (json{"p", "e1"}));
  EXPECT_EQ(a.conflicts[0].row["target"], "from B");
  EXPECT_EQ(a.db().value("SELECT target FROM workflowEdges"), "from B");
  EXPECT_EQ(a.db().value("SELECT name FROM projects"), "from A");
  b.send(client::events::sync_now{});
  ASSERT_TRUE(w.settle());
  for (const char* t : {"projects", "workflowEdges"}) {
    EXPECT_EQ(a.rows(t), w.server.live_rows(t)) << t;
    EXPECT_EQ(b.rows(t), w.server.live_rows(t)) << t;
  }
}

TEST(ClientApply, RejectedChangesAreReportedDroppedAndDoNotBlockTheQueue) {
  world w;
  sim_client a(w, "a", quiet_config()), b(w, "b", quiet_config());
  a.open();
  b.open();
  ASSERT_TRUE(w.settle());
  a.write(
      "INSERT INTO documents (id, ownerId, title, revision) VALUES (1, 'u1', "
      "'v1', 1)");
  a.send(client::events::sync_now{});
  ASSERT_TRUE(w.settle());
  b.send(client::events::sync_now{});
  ASSERT_TRUE(w.settle());
  b.write("UPDATE documents SET title = 'B wins', revision = 2 WHERE id = 1");
  b.send(client::events::sync_now{});
  ASSERT_TRUE(w.settle());
  // A edits the stale copy (reject-stale), and makes an unrelated edit.
  a.write("UPDATE documents SET title = 'stale edit' WHERE id = 1");
  a.write(insert_project("p1", "unrelated"));
  a.send(client::events::sync_now{});
  ASSERT_TRUE(w.settle());
  ASSERT_EQ(a.rejections.size(), 1u);
  const auto& r = a.rejections[0];
  EXPECT_EQ(r.table, "documents");
  EXPECT_EQ(r.pk, json::array({1}));
  EXPECT_EQ(r.op, "upsert");
  EXPECT_EQ(r.reason, "stale");
  EXPECT_EQ(r.row["title"], "B wins");
  EXPECT_EQ(a.db().value("SELECT title FROM documents"), "B wins")
      << "the server copy replaced the rejected edit";
  EXPECT_EQ(a.outbox_size(), 0) << "the rejected change left the queue";
  EXPECT_EQ(w.server.live_rows("projects").size(), 1u)
      << "the rest went through";
  // The next edit is based on the server copy and goes through.
  a.write("UPDATE documents SET title = 'fresh edit' WHERE id = 1");
  a.send(client::events::sync_now{});
  ASSERT_TRUE(w.settle());
  EXPECT_EQ(a.rejections.size(), 1u);
  EXPECT_EQ(w.server.live_rows("documents")[0]["title"], "fresh edit");
}

TEST(ClientApply, ValidationErrorsDropOnlyTheChangesTheyPointAt) {
  world w;
  sim_client a(w, "a", quiet_config());
  a.open();
  ASSERT_TRUE(w.settle());
  a.write(insert_project("p1", "fine"));
  a.write(insert_project("p2", "BAD"));
  a.write(insert_project("p3", "also fine"));
  a.write(
      "INSERT INTO settings (key, ownerId, value) VALUES ('k', 'u1', "
      "'\"BAD\"')");
  a.send(client::events::sync_now{});
  ASSERT_TRUE(w.settle());
  ASSERT_EQ(a.rejections.size(), 2u);
  EXPECT_EQ(a.rejections[0].pk, json::array({"p2"}));
  EXPECT_EQ(a.rejections[0].reason, "invalid");
  EXPECT_EQ(a.rejections[0].code, "type_mismatch");
  EXPECT_EQ(a.rejections[0].path, "batch.changes[1].row.name");
  EXPECT_EQ(a.rejections[1].table, "settings");
  EXPECT_EQ(w.server.live_rows("projects").size(), 2u);
  EXPECT_EQ(a.outbox_size(), 0);
  // The refused batch was never applied, so the resend reuses its seq.
  ASSERT_EQ(a.sent.size(), 3u);
  EXPECT_EQ(body(a.sent[1])["batch"]["seq"], 1);
  EXPECT_EQ(body(a.sent[2])["batch"]["seq"], 1);
  EXPECT_EQ(body(a.sent[2])["batch"]["changes"].size(), 2u);
  EXPECT_EQ(a.state("seq"), "2");
  EXPECT_EQ(a.core().current_status().state, sync_state::idle);
}

// ------------------------------------------ reconciliation (sync_base)
//
// Whenever a row's local queue ends — acknowledged, conflict, rejected, or
// its pulled row was skipped meanwhile — the device ends with the server's
// row plus whatever is still pending (issue 7).

const char* const kTables[] = {"projects", "workflowNodes", "workflowEdges",
                               "settings", "documents"};

// Every device equals the server; nothing queued, no server rows kept aside.
void expect_converged(world& w, std::initializer_list<sim_client*> devices) {
  for (auto* c : devices) {
    EXPECT_EQ(c->outbox_size(), 0) << c->name;
    EXPECT_EQ(c->db().value("SELECT count(*) FROM sync_base"), "0") << c->name;
    for (const char* t : kTables)
      EXPECT_EQ(c->rows(t), w.server.live_rows(t)) << c->name << ": " << t;
  }
}

// One row `k` per table (one table per conflict policy).
struct policy_case {
  const char* table;
  json pk;
  std::string insert_a, insert_b, remove, update_b, update_a1, update_a2;
};

std::vector<policy_case> policy_cases() {
  return {
      {"projects", json{"k"},
       "INSERT INTO projects (id, ownerId, name) VALUES ('k', 'u1', 'A')",
       "INSERT INTO projects (id, ownerId, name) VALUES ('k', 'u1', 'B')",
       "DELETE FROM projects WHERE id = 'k'",
       "UPDATE projects SET name = 'B2' WHERE id = 'k'",
       "UPDATE projects SET name = 'A1' WHERE id = 'k'",
       "UPDATE projects SET archived = 1 WHERE id = 'k'"},
      {"workflowNodes", json{"k"},
       "INSERT INTO workflowNodes (id, projectId, ownerId, label) VALUES "
       "('k', 'p', 'u1', 'A')",
       "INSERT INTO workflowNodes (id, projectId, ownerId, label) VALUES "
       "('k', 'p', 'u1', 'B')",
       "DELETE FROM workflowNodes WHERE id = 'k'",
       "UPDATE workflowNodes SET x = 2.5 WHERE id = 'k'",
       "UPDATE workflowNodes SET label = 'A1' WHERE id = 'k'",
       "UPDATE workflowNodes SET y = 7 WHERE id = 'k'"},
      {"workflowEdges", json{"p", "k"},
       "INSERT INTO workflowEdges (projectId, edgeId, ownerId, source, target) "
       "VALUES ('p', 'k', 'u1', 's', 'A')",
       "INSERT INTO workflowEdges (projectId, edgeId, ownerId, source, target) "
       "VALUES ('p', 'k', 'u1', 's', 'B')",
       "DELETE FROM workflowEdges WHERE edgeId = 'k'",
       "UPDATE workflowEdges SET target = 'B2' WHERE edgeId = 'k'",
       "UPDATE workflowEdges SET target = 'A1' WHERE edgeId = 'k'",
       "UPDATE workflowEdges SET source = 'A2' WHERE edgeId = 'k'"},
      {"settings", json{"k"},
       "INSERT INTO settings (key, ownerId, value) VALUES ('k', 'u1', '\"A\"')",
       "INSERT INTO settings (key, ownerId, value) VALUES ('k', 'u1', '\"B\"')",
       "DELETE FROM settings WHERE key = 'k'",
       "UPDATE settings SET value = '[2]' WHERE key = 'k'",
       "UPDATE settings SET value = '{\"a\":1}' WHERE key = 'k'",
       "UPDATE settings SET value = '{\"a\":2}' WHERE key = 'k'"},
      {"documents", json{9},
       "INSERT INTO documents (id, ownerId, title) VALUES (9, 'u1', 'A')",
       "INSERT INTO documents (id, ownerId, title) VALUES (9, 'u1', 'B')",
       "DELETE FROM documents WHERE id = 9",
       "UPDATE documents SET title = 'B2' WHERE id = 9",
       "UPDATE documents SET title = 'A1' WHERE id = 9",
       "UPDATE documents SET body = 'A2' WHERE id = 9"},
  };
}

// The last request that carried a batch.
json last_batch(const sim_client& c) {
  for (auto it = c.sent.rbegin(); it != c.sent.rend(); ++it) {
    json b = body(*it)["batch"];
    if (!b.is_null()) return b;
  }
  return nullptr;
}

std::string base_of(sim_client& c, const policy_case& pc) {
  auto r = c.db().query("SELECT version, row FROM sync_base WHERE tbl = '" +
                        std::string(pc.table) + "' AND pk = '" +
                        dump_json(pc.pk) + "'");
  return r.empty() ? "<none>" : r[0][0] + " " + r[0][1];
}

TEST(ClientReconcile, InsertAndDeleteQueuedWhileAPullBringsAnotherDevicesRow) {
  for (const auto& pc : policy_cases()) {
    SCOPED_TRACE(pc.table);
    world w;
    w.latency = 300;
    sim_client a(w, "a", quiet_config()), b(w, "b", quiet_config());
    a.open();
    b.open();
    ASSERT_TRUE(w.settle());
    b.write(pc.insert_b);
    b.send(client::events::sync_now{});
    ASSERT_TRUE(w.settle());
    std::int64_t b_version = w.server.find(pc.table, pc.pk)->version;

    // A's pull (which brings B's row) is on its way when A inserts and
    // deletes the same key.
    a.send(client::events::sync_now{});
    ASSERT_TRUE(a.in_flight.has_value());
    a.write(pc.insert_a);
    a.write(pc.remove);
    w.run_for(w.latency);
    ASSERT_FALSE(a.in_flight.has_value());
    EXPECT_TRUE(a.rows(pc.table).empty()) << "the pending delete stays";
    EXPECT_EQ(a.outbox_size(), 2);
    EXPECT_EQ(base_of(a, pc).substr(0, std::to_string(b_version).size() + 1),
              std::to_string(b_version) + " ")
        << "the skipped row is kept as the server's truth: " << base_of(a, pc);

    // The queue ends with the server's answer to the delete, which is sent:
    // it is the newest write of the key.
    ASSERT_TRUE(w.settle());
    json sent = last_batch(a)["changes"];
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0]["op"], "delete");
    EXPECT_TRUE(sent[0]["baseVersion"].is_null());
    std::string t = pc.table;
    bool stale_policy = t == "workflowEdges" || t == "documents";
    if (stale_policy) {
      // Server-wins / reject-stale: the delete never saw B's row; B's row
      // stays and comes back to A.
      ASSERT_NE(w.server.find(pc.table, pc.pk), nullptr);
      EXPECT_EQ(a.rows(pc.table).size(), 1u);
      if (t == "documents") {
        ASSERT_EQ(a.rejections.size(), 1u);
        EXPECT_TRUE(a.rejections[0].restored);
        EXPECT_FALSE(a.rejections[0].deleted);
        EXPECT_EQ(a.rejections[0].row["title"], "B");
      } else {
        ASSERT_EQ(a.conflicts.size(), 1u);
        EXPECT_TRUE(a.conflicts[0].restored);
        EXPECT_EQ(a.conflicts[0].row["target"], "B");
      }
    } else {
      // Last-writer-wins (row and field) and client-wins: the delete wins.
      EXPECT_EQ(w.server.find(pc.table, pc.pk), nullptr);
      EXPECT_TRUE(a.rejections.empty());
      EXPECT_TRUE(a.conflicts.empty());
    }
    EXPECT_EQ(a.db().value("SELECT version FROM sync_rows WHERE tbl = '" + t +
                           "' AND pk = '" + dump_json(pc.pk) + "'"),
              std::to_string(w.server.tables[t][dump_json(pc.pk)].version))
        << "the next edit is based on the server's version";
    b.send(client::events::sync_now{});
    ASSERT_TRUE(w.settle());
    expect_converged(w, {&a, &b});
  }
}

TEST(ClientReconcile, ARejectedForbiddenInsertIsRemovedLocally) {
  world w;
  sim_client a(w, "a", quiet_config());
  a.open();
  ASSERT_TRUE(w.settle());
  w.server.foreign_keys.insert("projects[\"p9\"]");
  w.server.foreign_keys.insert("workflowEdges[\"p\",\"e9\"]");
  a.write(insert_project("p9", "another users key"));
  a.write(insert_project("p1", "mine"));
  a.write(
      "INSERT INTO workflowEdges (projectId, edgeId, ownerId, source, target) "
      "VALUES ('p', 'e9', 'u1', 's', 't')");
  a.write("UPDATE workflowEdges SET target = 't2' WHERE edgeId = 'e9'");
  a.send(client::events::sync_now{});
  ASSERT_TRUE(w.settle());
  ASSERT_EQ(a.rejections.size(), 2u);
  for (const auto& r : a.rejections) {
    EXPECT_EQ(r.reason, "forbidden");
    EXPECT_TRUE(r.restored);
    EXPECT_TRUE(r.deleted) << "the user may not see the server's row";
    EXPECT_TRUE(r.row.is_null());
  }
  EXPECT_EQ(a.rejections[0].pk, json{"p9"});
  EXPECT_EQ(a.rejections[1].pk, (json{"p", "e9"}));
  EXPECT_EQ(a.db().value("SELECT group_concat(id) FROM projects"), "p1")
      << "the refused row left the device, the other stayed";
  EXPECT_EQ(a.db().value("SELECT count(*) FROM workflowEdges"), "0");
  ASSERT_FALSE(a.applied.empty());
  EXPECT_EQ(a.applied.back().tables,
            (std::vector<std::string>{"projects", "workflowEdges"}))
      << "the app hears that rows went away";
  expect_converged(w, {&a});
}

TEST(ClientReconcile, ARejectedStaleUpdateRollsBackToTheServerRow) {
  world w;
  w.latency = 300;
  sim_client a(w, "a", quiet_config()), b(w, "b", quiet_config());
  a.open();
  b.open();
  ASSERT_TRUE(w.settle());
  a.write(
      "INSERT INTO documents (id, ownerId, title, revision) VALUES (1, 'u1', "
      "'v1', 1)");
  a.send(client::events::sync_now{});
  ASSERT_TRUE(w.settle());
  b.send(client::events::sync_now{});
  ASSERT_TRUE(w.settle());
  b.write("UPDATE documents SET title = 'B', revision = 2 WHERE id = 1");
  b.send(client::events::sync_now{});
  ASSERT_TRUE(w.settle());
  // A's pull brings B's row while A edits the stale copy: the pulled row is
  // skipped and kept aside; the edit is refused.
  a.send(client::events::sync_now{});
  a.write("UPDATE documents SET title = 'stale A' WHERE id = 1");
  w.run_for(w.latency);
  EXPECT_EQ(a.db().value("SELECT title FROM documents"), "stale A");
  EXPECT_EQ(a.db().value("SELECT json_extract(row, '$.title') FROM sync_base"),
            "B");
  ASSERT_TRUE(w.settle());
  ASSERT_EQ(a.rejections.size(), 1u);
  EXPECT_EQ(a.rejections[0].reason, "stale");
  EXPECT_TRUE(a.rejections[0].restored);
  EXPECT_EQ(a.rejections[0].row["title"], "B");
  EXPECT_EQ(a.rejections[0].version,
            w.server.find("documents", json{1})->version);
  EXPECT_EQ(a.db().value("SELECT title FROM documents"), "B");
  expect_converged(w, {&a, &b});
  // The next edit is based on B's version and goes through.
  a.write("UPDATE documents SET title = 'A on B' WHERE id = 1");
  a.send(client::events::sync_now{});
  ASSERT_TRUE(w.settle());
  EXPECT_EQ(a.rejections.size(), 1u);
  b.send(client::events::sync_now{});
  ASSERT_TRUE(w.settle());
  EXPECT_EQ(w.server.live_rows("documents")[0]["title"], "A on B");
  expect_converged(w, {&a, &b});
}

TEST(ClientReconcile, AnInvalidChangeRollsBackToTheServerRow) {
  world w;
  sim_client a(w, "a", quiet_config());
  a.open();
  ASSERT_TRUE(w.settle());
  a.write(insert_project("p1", "orig"));
  a.send(client::events::sync_now{});
  ASSERT_TRUE(w.settle());
  a.write("UPDATE projects SET name = 'BAD' WHERE id = 'p1'");  // refused
  a.write(insert_project("p2", "BAD"));                         // refused
  a.write(insert_project("p3", "fine"));
  a.send(client::events::sync_now{});
  ASSERT_TRUE(w.settle());
  ASSERT_EQ(a.rejections.size(), 2u);
  EXPECT_EQ(a.rejections[0].reason, "invalid");
  EXPECT_TRUE(a.rejections[0].restored);
  EXPECT_EQ(a.rejections[0].row["name"], "orig");
  EXPECT_EQ(a.rejections[0].version,
            w.server.find("projects", json{"p1"})->version);
  EXPECT_TRUE(a.rejections[1].restored);
  EXPECT_TRUE(a.rejections[1].deleted) << "the server never had p2";
  EXPECT_EQ(a.db().value("SELECT group_concat(id || ':' || name) FROM "
                         "(SELECT * FROM projects ORDER BY id)"),
            "p1:orig,p3:fine");
  expect_converged(w, {&a});
}

TEST(ClientReconcile, OnlyAnInsertOverAStoredRowCapturesABase) {
  // A first write that stores a row where none was keeps no base (nothing
  // to keep); its queue still ends as if the server had none. An insert
  // that replaces a synced row keeps that row.
  world w;
  sim_client a(w, "a", quiet_config());
  a.open();
  ASSERT_TRUE(w.settle());
  a.write(insert_project("p1", "orig"));
  EXPECT_EQ(a.db().value("SELECT count(*) FROM sync_base"), "0");
  a.send(client::events::sync_now{});
  ASSERT_TRUE(w.settle());
  a.write(insert_project("p2", "BAD"));  // refused
  a.write(
      "INSERT OR REPLACE INTO projects (id, ownerId, name) VALUES ('p1', "
      "'u1', 'BAD')");  // refused
  EXPECT_EQ(a.db().value("SELECT group_concat(pk || ' ' || ifnull(json_extract("
                         "row, '$.name'), 'none')) FROM sync_base"),
            "[\"p1\"] orig");
  a.send(client::events::sync_now{});
  ASSERT_TRUE(w.settle());
  ASSERT_EQ(a.rejections.size(), 2u);
  for (const auto& r : a.rejections) EXPECT_TRUE(r.restored);
  EXPECT_TRUE(a.rejections[0].deleted) << "the server never had p2";
  EXPECT_EQ(a.rejections[1].row["name"], "orig");
  EXPECT_EQ(a.db().value("SELECT group_concat(id || ':' || name) FROM "
                         "(SELECT * FROM projects ORDER BY id)"),
            "p1:orig");
  expect_converged(w, {&a});
}

TEST(ClientReconcile, ACompactedUpdateChainWhosePullWasSkipped) {
  for (const auto& pc : policy_cases()) {
    SCOPED_TRACE(pc.table);
    world w;
    w.latency = 300;
    sim_client a(w, "a", quiet_config()), b(w, "b", quiet_config());
    a.open();
    b.open();
    ASSERT_TRUE(w.settle());
    a.write(pc.insert_a);
    a.send(client::events::sync_now{});
    ASSERT_TRUE(w.settle());
    b.send(client::events::sync_now{});
    ASSERT_TRUE(w.settle());
    b.write(pc.update_b);
    b.send(client::events::sync_now{});
    ASSERT_TRUE(w.settle());

    // A's pull brings B's update while A makes two edits of the same row.
    a.send(client::events::sync_now{});
    a.write(pc.update_a1);
    a.write(pc.update_a2);
    w.run_for(w.latency);
    EXPECT_EQ(a.outbox_size(), 2);
    EXPECT_NE(base_of(a, pc), "<none>");
    ASSERT_TRUE(w.settle());
    json sent = last_batch(a)["changes"];
    ASSERT_EQ(sent.size(), 1u) << "the two edits went as one change";
    b.send(client::events::sync_now{});
    ASSERT_TRUE(w.settle());
    expect_converged(w, {&a, &b});
    std::string t = pc.table;
    const auto& server_row = w.server.tables[t][dump_json(pc.pk)];
    if (t == "workflowNodes") {
      // Field-level: B's x and A's label and y are all kept.
      EXPECT_EQ(server_row.row["x"], 2.5);
      EXPECT_EQ(server_row.row["label"], "A1");
      EXPECT_EQ(server_row.row["y"], 7);
    }
    EXPECT_EQ(a.db().value("SELECT version FROM sync_rows WHERE tbl = '" + t +
                           "' AND pk = '" + dump_json(pc.pk) + "'"),
              std::to_string(server_row.version));
  }
}

TEST(ClientReconcile, LaterEditsStayWhileAnEarlierOneIsAnswered) {
  // A batch is in flight when the app edits the same row again: the answer
  // to the first edit does not touch the row (the second is pending), and
  // the row is reconciled only when the second is answered.
  world w;
  w.latency = 300;
  sim_client a(w, "a", quiet_config());
  a.open();
  ASSERT_TRUE(w.settle());
  a.write(insert_project("p1", "one"));
  a.send(client::events::sync_now{});
  ASSERT_TRUE(a.in_flight.has_value());
  a.write("UPDATE projects SET name = 'two' WHERE id = 'p1'");
  w.run_for(w.latency);
  EXPECT_EQ(a.db().value("SELECT name FROM projects"), "two");
  EXPECT_EQ(a.db().value("SELECT json_extract(row, '$.name') FROM sync_base"),
            "one")
      << "the server's row is the acknowledged first edit";
  ASSERT_TRUE(w.settle());
  EXPECT_EQ(a.db().value("SELECT name FROM projects"), "two");
  expect_converged(w, {&a});
}

TEST(ClientReconcile, NoOpWritesLeaveNoServerRowAside) {
  // An ignored insert or an upsert that changes nothing captures the row
  // but queues nothing; the next transaction of the core forgets it, and a
  // pulled row for the key still lands.
  world w;
  sim_client a(w, "a", quiet_config()), b(w, "b", quiet_config());
  a.open();
  b.open();
  ASSERT_TRUE(w.settle());
  a.write(insert_project("p1", "one"));
  a.send(client::events::sync_now{});
  ASSERT_TRUE(w.settle());
  a.write(
      "INSERT OR IGNORE INTO projects (id, ownerId, name) VALUES ('p1', "
      "'u1', 'ignored')");
  a.write(
      "INSERT INTO projects (id, ownerId, name) VALUES ('p1', 'u1', "
      "'one') ON CONFLICT DO UPDATE SET name = excluded.name");
  EXPECT_EQ(a.outbox_size(), 0);
  b.send(client::events::sync_now{});
  ASSERT_TRUE(w.settle());
  b.write("UPDATE projects SET name = 'from B' WHERE id = 'p1'");
  b.send(client::events::sync_now{});
  ASSERT_TRUE(w.settle());
  a.send(client::events::sync_now{});
  ASSERT_TRUE(w.settle());
  EXPECT_EQ(a.db().value("SELECT name FROM projects"), "from B");
  expect_converged(w, {&a, &b});
}

// --------------------------------------------------------------- scheduler

TEST(ClientScheduler, DebouncePushesAfterWritesPauseButNotLaterThanTheCap) {
  world w;
  sim_client a(w, "a", quiet_config());
  a.open();
  ASSERT_TRUE(w.settle());
  std::size_t before = a.sent.size();
  std::int64_t t0 = w.now;
  a.write(insert_project("p1", "1"));
  w.run_for(600);
  a.write("UPDATE projects SET name = '2'");
  w.run_for(600);
  a.write("UPDATE projects SET name = '3'");
  w.run_for(999);
  EXPECT_EQ(a.sent.size(), before) << "still within the debounce window";
  w.run_for(1);
  ASSERT_EQ(a.sent.size(), before + 1);
  EXPECT_EQ(a.sent.back().sent_at, t0 + 2200);
  ASSERT_TRUE(w.settle());
  EXPECT_EQ(body(a.sent.back())["batch"]["changes"].size(), 1u);
  // A steady stream of writes still syncs within maxDebounceMs (10 s).
  before = a.sent.size();
  std::int64_t t1 = w.now;
  for (int i = 0; i < 30 && a.sent.size() == before; ++i) {
    a.write("UPDATE projects SET name = 'typing " + std::to_string(i) + "'");
    w.run_for(500);
  }
  ASSERT_GT(a.sent.size(), before);
  EXPECT_EQ(a.sent[before].sent_at, t1 + 10000);
}

TEST(ClientScheduler, PeriodicSyncPullsEvery30Seconds) {
  world w;
  sim_client a(w, "a");
  a.open();
  ASSERT_TRUE(w.settle());
  std::int64_t first = a.sent[0].sent_at;
  w.run_for(95000);
  ASSERT_EQ(a.sent.size(), 4u);
  for (std::size_t i = 1; i < a.sent.size(); ++i)
    EXPECT_EQ(a.sent[i].sent_at - a.sent[i - 1].sent_at, 30000 + w.latency)
        << i;
  EXPECT_EQ(a.sent[0].sent_at, first);
}

TEST(ClientScheduler, OfflineIsAStateNotAnError) {
  world w;
  sim_client a(w, "a", quiet_config());
  a.open();
  ASSERT_TRUE(w.settle());
  a.send(client::events::connectivity{false});
  EXPECT_EQ(a.core().current_status().state, sync_state::offline);
  EXPECT_FALSE(a.core().current_status().last_error.has_value());
  std::size_t before = a.sent.size();
  a.write(insert_project("p1", "offline edit"));
  EXPECT_EQ(a.core().current_status().pending, 1);
  w.run_for(120000);
  EXPECT_EQ(a.sent.size(), before)
      << "no request while offline, no timer either";
  EXPECT_FALSE(a.timer.has_value());
  a.send(client::events::connectivity{true});
  ASSERT_EQ(a.sent.size(), before + 1) << "immediately on online";
  ASSERT_TRUE(w.settle());
  EXPECT_EQ(a.core().current_status().state, sync_state::idle);
  EXPECT_EQ(a.core().current_status().pending, 0);
  EXPECT_EQ(w.server.live_rows("projects").size(), 1u);
}

TEST(ClientScheduler, NetworkFailuresShowOfflineAndRetryWithTheSameBatch) {
  world w;
  sim_client a(w, "a", quiet_config());
  a.open();
  ASSERT_TRUE(w.settle());
  a.network_down = true;
  a.write(insert_project("p1", "x"));
  a.send(client::events::sync_now{});
  w.run_for(w.latency);
  const auto& st = a.core().current_status();
  EXPECT_EQ(st.state, sync_state::offline);
  ASSERT_TRUE(st.last_error.has_value());
  EXPECT_EQ(st.last_error->code, "network");
  ASSERT_TRUE(st.next_retry_at.has_value());
  w.run_for(5000);
  a.network_down = false;
  ASSERT_TRUE(w.settle());
  EXPECT_EQ(a.core().current_status().state, sync_state::idle);
  EXPECT_FALSE(a.core().current_status().last_error.has_value());
  // Every attempt carried the same sealed batch.
  std::set<std::string> batches;
  for (std::size_t i = 1; i < a.sent.size(); ++i)
    if (!body(a.sent[i])["batch"].is_null())
      batches.insert(dump_json(body(a.sent[i])["batch"]));
  EXPECT_EQ(batches.size(), 1u);
  EXPECT_GE(a.sent.size(), 3u);
}

TEST(ClientScheduler, BackoffGrowsWithJitterAndIsCapped) {
  world w;
  client::config cfg = quiet_config();
  cfg.backoff_base_ms = 1000;
  cfg.backoff_max_ms = 20000;
  sim_client a(w, "a", cfg);
  w.server.intercept = [](const json&) {
    return std::optional<sim_response>(
        sim_response{503, error_body("unavailable", "db down")});
  };
  a.open();
  w.run_for(200000);
  ASSERT_GE(a.sent.size(), 10u);
  std::int64_t max_seen = 0;
  for (std::size_t n = 1; n < a.sent.size(); ++n) {
    std::int64_t delay = a.sent[n].sent_at - a.sent[n - 1].sent_at - w.latency;
    std::int64_t d = std::min<std::int64_t>(
        20000, std::int64_t{1000} << std::min<std::size_t>(n - 1, 20));
    EXPECT_GE(delay, d / 2) << "attempt " << n;
    EXPECT_LE(delay, d) << "attempt " << n;
    max_seen = std::max(max_seen, delay);
  }
  EXPECT_GT(max_seen, 10000) << "reached the cap region";
  const auto& st = a.core().current_status();
  EXPECT_EQ(st.state, sync_state::error);
  ASSERT_TRUE(st.last_error.has_value());
  EXPECT_EQ(st.last_error->code, "unavailable");
  EXPECT_EQ(st.last_error->http_status, 503);
  ASSERT_TRUE(st.next_retry_at.has_value());
  EXPECT_GT(*st.next_retry_at, w.now - 20000);
  // Jitter differs between clients with different seeds.
  sim_client b(w, "bb", cfg);
  b.open();
  w.run_for(20000);
  ASSERT_GE(b.sent.size(), 4u);
  bool differs = false;
  for (std::size_t n = 2; n < 4; ++n)
    differs |= (b.sent[n].sent_at - b.sent[n - 1].sent_at) !=
               (a.sent[n].sent_at - a.sent[n - 1].sent_at);
  EXPECT_TRUE(differs);
  // Recovery: idle again, and the next failure starts from the base delay.
  w.server.intercept = nullptr;
  a.send(client::events::sync_now{});
  ASSERT_TRUE(w.settle());
  EXPECT_EQ(a.core().current_status().state, sync_state::idle);
  EXPECT_FALSE(a.core().current_status().last_error.has_value());
  EXPECT_FALSE(a.core().current_status().next_retry_at.has_value());
  w.server.intercept = [](const json&) {
    return std::optional<sim_response>(
        sim_response{500, error_body("internal", "bug")});
  };
  a.send(client::events::sync_now{});
  w.run_for(w.latency);
  ASSERT_TRUE(a.core().current_status().next_retry_at.has_value());
  EXPECT_LE(*a.core().current_status().next_retry_at - w.now, 1000);
}

TEST(ClientScheduler, RetryAfterFromTheServerIsAFloorForTheBackoff) {
  world w;
  sim_client a(w, "a", quiet_config());
  w.server.intercept = [](const json&) {
    return std::optional<sim_response>(
        sim_response{503, error_body("unavailable", "db down"), 45000});
  };
  a.open();
  w.run_for(100);
  ASSERT_TRUE(a.core().current_status().next_retry_at.has_value());
  EXPECT_EQ(*a.core().current_status().next_retry_at,
            a.sent[0].sent_at + w.latency + 45000);
  w.server.intercept = nullptr;
  ASSERT_TRUE(w.settle());
  ASSERT_EQ(a.sent.size(), 2u);
  EXPECT_EQ(a.sent[1].sent_at - a.sent[0].sent_at, w.latency + 45000);
}

TEST(ClientScheduler, AnEarlyTickReArmsTheTimer) {
  world w;
  sim_client a(w, "a", quiet_config());
  a.open();
  ASSERT_TRUE(w.settle());
  w.latency = 100000;
  a.send(client::events::sync_now{});
  ASSERT_TRUE(a.timer.has_value());
  std::int64_t deadline = *a.timer;
  EXPECT_EQ(deadline, w.now + 30000) << "the request timeout";
  // The host's timer fires early (or for another reason): it must be set
  // again, or the request would never time out.
  a.timer.reset();
  w.now += 10;
  a.send(client::events::tick{});
  ASSERT_TRUE(a.timer.has_value());
  EXPECT_EQ(*a.timer, deadline);
  w.run_for(30000);
  EXPECT_EQ(a.aborted.size(), 1u);
}

TEST(ClientScheduler, UnauthorizedAsksForOneFreshTokenThenReportsAnError) {
  world w;
  sim_client a(w, "a", quiet_config());
  w.server.token = "t2";
  a.refreshed_token = "t2";
  a.open();
  ASSERT_TRUE(w.settle());
  EXPECT_EQ(a.token_refreshes, 1);
  EXPECT_EQ(a.sent.size(), 2u) << "the same request again with the new token";
  EXPECT_EQ(a.sent[0].body, a.sent[1].body);
  EXPECT_EQ(a.core().current_status().state, sync_state::idle);

  // The token goes bad and a refresh does not help: one refresh, then error.
  w.server.token = "t9";
  a.refreshed_token = "t3";
  a.write(insert_project("p1", "x"));
  a.send(client::events::sync_now{});
  w.run_for(3 * w.latency);
  EXPECT_EQ(a.token_refreshes, 2);
  const auto& st = a.core().current_status();
  EXPECT_EQ(st.state, sync_state::error);
  ASSERT_TRUE(st.last_error.has_value());
  EXPECT_EQ(st.last_error->code, "unauthorized");
  EXPECT_EQ(a.sent.size(), 4u);
  // A refresh that fails outright also ends in the error state.
  a.refresh_succeeds = false;
  a.send(client::events::sync_now{});
  w.run_for(w.latency);
  EXPECT_EQ(a.token_refreshes, 3);
  EXPECT_EQ(a.core().current_status().last_error->code, "unauthorized");
  // Signing in again (a fresh token) resumes at once.
  a.refresh_succeeds = true;
  a.token = "t9";
  std::size_t before = a.sent.size();
  a.send(client::events::token_refreshed{});
  EXPECT_EQ(a.sent.size(), before + 1);
  ASSERT_TRUE(w.settle());
  EXPECT_EQ(a.core().current_status().state, sync_state::idle);
  EXPECT_EQ(a.outbox_size(), 0);
}

TEST(ClientScheduler, NeverTwoRequestsInFlight) {
  world w;
  w.latency = 5000;
  sim_client a(w, "a", quiet_config());
  a.open();
  for (int i = 0; i < 20; ++i) {
    a.write(insert_project("p" + std::to_string(i), "x"));
    a.send(client::events::sync_now{});
    a.send(client::events::connectivity{true});
    a.send(client::events::visibility{true});
    a.send(client::events::visibility{false});
    w.run_for(700);
  }
  ASSERT_TRUE(w.settle());
  EXPECT_FALSE(a.double_in_flight);
  for (std::size_t i = 1; i < a.sent.size(); ++i)
    EXPECT_GE(a.sent[i].sent_at, a.sent[i - 1].sent_at + w.latency);
  EXPECT_EQ(w.server.live_rows("projects").size(), 20u);
  EXPECT_EQ(a.outbox_size(), 0);
}

TEST(ClientScheduler, HidingThePageFlushesWithKeepalive) {
  world w;
  sim_client a(w, "a", quiet_config());
  a.open();
  ASSERT_TRUE(w.settle());
  std::size_t before = a.sent.size();
  a.send(client::events::visibility{false});
  EXPECT_EQ(a.sent.size(), before) << "nothing to flush";
  a.write(insert_project("p1", "unsaved"));
  a.send(client::events::visibility{false});
  ASSERT_EQ(a.sent.size(), before + 1) << "no debounce on the way out";
  EXPECT_TRUE(a.sent.back().keepalive);
  ASSERT_TRUE(w.settle());
  EXPECT_EQ(w.server.live_rows("projects").size(), 1u);
  // A big outbox: the flush batch stays under the keepalive limit.
  std::string big(1000, 'z');
  for (int i = 0; i < 200; ++i)
    a.write(insert_project("q" + std::to_string(i), big));
  before = a.sent.size();
  a.send(client::events::visibility{false});
  ASSERT_EQ(a.sent.size(), before + 1);
  EXPECT_TRUE(a.sent.back().keepalive);
  EXPECT_LE(a.sent.back().body.size(), 60000u);
  EXPECT_GT(a.sent.back().body.size(), 40000u);
  ASSERT_TRUE(w.settle());
  EXPECT_EQ(w.server.live_rows("projects").size(), 201u)
      << "the rest follows normally";
  for (std::size_t i = before + 1; i < a.sent.size(); ++i)
    EXPECT_FALSE(a.sent[i].keepalive);
}

TEST(ClientScheduler, ARequestThatHangsTimesOutAndIsResentUnchanged) {
  world w;
  sim_client a(w, "a", quiet_config());
  a.open();
  ASSERT_TRUE(w.settle());
  a.write(insert_project("p1", "x"));
  w.latency = 100000;
  a.send(client::events::sync_now{});
  w.run_for(30000);
  ASSERT_EQ(a.aborted.size(), 1u);
  EXPECT_EQ(a.core().current_status().last_error->code, "timeout");
  w.latency = 40;
  ASSERT_TRUE(w.settle());
  ASSERT_GE(a.sent.size(), 3u);
  EXPECT_EQ(a.sent[a.sent.size() - 1].body, a.sent[a.sent.size() - 2].body);
  EXPECT_EQ(w.server.batches_applied, 1);
  EXPECT_EQ(w.server.duplicates, 1) << "the hung request had been applied";
  EXPECT_EQ(a.outbox_size(), 0);
}

TEST(ClientScheduler, HasMorePullsTheNextPageImmediately) {
  world w;
  client::config cfg = quiet_config();
  cfg.page_size = 100;
  sim_client a(w, "a", cfg), b(w, "b", cfg);
  a.open();
  b.open();
  ASSERT_TRUE(w.settle());
  std::string sql = "INSERT INTO settings (key, ownerId, value) VALUES ";
  for (int i = 0; i < 250; ++i)
    sql +=
        std::string(i ? "," : "") + "('k" + std::to_string(i) + "', 'u1', '1')";
  b.write(sql);
  b.send(client::events::sync_now{});
  ASSERT_TRUE(w.settle());
  std::size_t before = a.sent.size();
  std::int64_t t0 = w.now;
  a.send(client::events::sync_now{});
  ASSERT_TRUE(w.settle());
  EXPECT_EQ(a.sent.size(), before + 3);
  EXPECT_EQ(a.sent.back().sent_at, t0 + 2 * w.latency) << "back to back";
  EXPECT_EQ(a.rows("settings").size(), 250u);
}

// ------------------------------------------------------------------ errors

TEST(ClientErrors, SchemaVersionMismatchStopsWithAClearStatus) {
  world w;
  w.server.schema_version = 2;
  sim_client a(w, "a", quiet_config());
  a.open();
  w.run_for(1000);
  const auto& st = a.core().current_status();
  EXPECT_EQ(st.state, sync_state::error);
  ASSERT_TRUE(st.last_error.has_value());
  EXPECT_EQ(st.last_error->code, "schema_version_mismatch");
  EXPECT_EQ(st.last_error->http_status, 409);
  EXPECT_NE(
      st.last_error->message.find("schema version 1 but the server has 2"),
      std::string::npos)
      << st.last_error->message;
  a.write(insert_project("p1", "kept"));
  a.send(client::events::sync_now{});
  w.run_for(120000);
  EXPECT_EQ(a.sent.size(), 1u) << "stopped: no retries";
  EXPECT_EQ(a.outbox_size(), 1) << "local changes stay queued";
  EXPECT_TRUE(a.core().quiescent());
}

TEST(ClientErrors, ClientIdConflictStops) {
  world w;
  w.server.intercept = [](const json&) {
    return std::optional<sim_response>(
        sim_response{403, error_body("client_id_conflict",
                                     "belongs to another user", "clientId")});
  };
  sim_client a(w, "a", quiet_config());
  a.open();
  w.run_for(100000);
  EXPECT_EQ(a.sent.size(), 1u);
  EXPECT_EQ(a.core().current_status().state, sync_state::error);
  EXPECT_EQ(a.core().current_status().last_error->code, "client_id_conflict");
}

TEST(ClientErrors, PayloadTooLargeHalvesTheBatchUntilItFits) {
  world w;
  w.server.max_changes = 3;
  sim_client a(w, "a", quiet_config());
  a.open();
  ASSERT_TRUE(w.settle());
  for (int i = 0; i < 10; ++i)
    a.write(insert_project("p" + std::to_string(i), "x"));
  a.send(client::events::sync_now{});
  ASSERT_TRUE(w.settle());
  EXPECT_EQ(w.server.live_rows("projects").size(), 10u);
  EXPECT_TRUE(a.rejections.empty());
  EXPECT_EQ(a.outbox_size(), 0);
  std::vector<std::size_t> sizes;
  for (const auto& r : a.sent)
    if (!body(r)["batch"].is_null())
      sizes.push_back(body(r)["batch"]["changes"].size());
  // Each 413 halves the change count and the byte budget of the last body.
  EXPECT_EQ(sizes, (std::vector<std::size_t>{10, 4, 2, 2, 2, 2, 2}));
}

TEST(ClientErrors, AChangeTooLargeOnItsOwnIsRejected) {
  world w;
  w.server.max_body = 4000;
  sim_client a(w, "a", quiet_config());
  a.open();
  ASSERT_TRUE(w.settle());
  a.write(insert_project("huge", std::string(5000, 'h')));
  a.write(insert_project("small", "s"));
  a.send(client::events::sync_now{});
  ASSERT_TRUE(w.settle());
  ASSERT_EQ(a.rejections.size(), 1u);
  EXPECT_EQ(a.rejections[0].pk, json::array({"huge"}));
  EXPECT_EQ(a.rejections[0].reason, "too_large");
  EXPECT_EQ(a.rejections[0].code, "payload_too_large");
  ASSERT_EQ(w.server.live_rows("projects").size(), 1u);
  EXPECT_EQ(a.outbox_size(), 0);
}

TEST(ClientErrors, ABatchTheServerAlreadyPassedProbesForAFreshSeq) {
  world w;
  sim_client a(w, "a", quiet_config());
  a.open();
  ASSERT_TRUE(w.settle());
  // The server has seen seq 40 from this client id (a restored backup).
  w.server.clients[a.state("client_id")].last_seq = 40;
  a.write(insert_project("p1", "x"));
  a.send(client::events::sync_now{});
  ASSERT_TRUE(w.settle());
  EXPECT_EQ(w.server.live_rows("projects").size(), 1u);
  EXPECT_EQ(a.outbox_size(), 0);
  EXPECT_GT(std::stoll(a.state("seq")), 41);
  EXPECT_LT(a.sent.size(), 12u) << "exponential probing";
}

// ------------------------------------------------------------- persistence

TEST(ClientPersistence, SeqAndCursorSurviveAReload) {
  world w;
  sim_client a(w, "a", quiet_config()), b(w, "b", quiet_config());
  a.open();
  b.open();
  ASSERT_TRUE(w.settle());
  for (int i = 0; i < 3; ++i) {
    a.write(insert_project("p" + std::to_string(i), "x"));
    b.write("INSERT INTO settings (key, ownerId, value) VALUES ('k" +
            std::to_string(i) + "', 'u1', '1')");
    a.send(client::events::sync_now{});
    b.send(client::events::sync_now{});
    ASSERT_TRUE(w.settle());
  }
  a.send(client::events::sync_now{});
  ASSERT_TRUE(w.settle());
  std::int64_t seq = a.core().next_seq();
  json cursor = a.core().cursor();
  EXPECT_EQ(seq, 4);
  EXPECT_EQ(a.state("seq"), "4");
  EXPECT_EQ(a.state("cursor"), cursor.get<std::string>());
  a.close();
  a.open();
  EXPECT_EQ(a.core().next_seq(), 4);
  EXPECT_EQ(a.core().cursor(), cursor);
  ASSERT_TRUE(w.settle());
  json req = body(a.sent.back());
  EXPECT_EQ(req["cursor"], cursor) << "continues where it stopped";
  a.write(insert_project("p9", "after reload"));
  a.send(client::events::sync_now{});
  ASSERT_TRUE(w.settle());
  EXPECT_EQ(body(a.sent.back())["batch"]["seq"], 4);
  EXPECT_EQ(a.rows("settings").size(), 3u);
  EXPECT_EQ(w.server.duplicates, 0);
}

TEST(ClientPersistence, ALostResponseIsResentWithTheSameSeqAndAppliedOnce) {
  world w;
  sim_client a(w, "a", quiet_config());
  a.open();
  ASSERT_TRUE(w.settle());
  a.write(
      "INSERT INTO documents (id, ownerId, title, revision) VALUES (1, 'u1', "
      "'a', 1)");
  a.send(client::events::sync_now{});
  ASSERT_TRUE(w.settle());
  a.write("UPDATE documents SET title = 'b' WHERE id = 1");
  a.lose_responses = 1;
  a.send(client::events::sync_now{});
  ASSERT_TRUE(w.settle());
  EXPECT_EQ(w.server.batches_applied, 2);
  EXPECT_EQ(w.server.duplicates, 1);
  ASSERT_GE(a.sent.size(), 4u);
  EXPECT_EQ(body(a.sent[2])["batch"], body(a.sent[3])["batch"]);
  EXPECT_TRUE(a.rejections.empty())
      << "a re-applied edit would be stale (reject-stale table)";
  EXPECT_EQ(a.outbox_size(), 0);
  EXPECT_EQ(a.db().value("SELECT version FROM sync_rows"),
            std::to_string(w.server.find("documents", json{1})->version));
}

TEST(ClientPersistence, AReloadWithABatchInFlightResendsExactlyThatBatch) {
  world w;
  sim_client a(w, "a", quiet_config());
  a.open();
  ASSERT_TRUE(w.settle());
  a.write(insert_project("p1", "one"));
  a.write(insert_project("p2", "two"));
  a.lose_responses = 1;
  a.send(client::events::sync_now{});
  std::string lost = a.in_flight->body;
  a.close();  // the tab closes before the answer
  // Edits while closed (another tab wrote to the database).
  a.db().exec("UPDATE projects SET name = 'one!' WHERE id = 'p1'");
  a.db().exec(insert_project("p3", "three"));
  a.open();
  ASSERT_TRUE(w.settle());
  json resent = body(a.sent[2]);
  EXPECT_EQ(resent["batch"], parse_json(lost).value()["batch"])
      << "same seq, same changes";
  EXPECT_EQ(w.server.duplicates, 1);
  EXPECT_EQ(body(a.sent.back())["batch"]["seq"], 2);
  EXPECT_EQ(a.outbox_size(), 0);
  EXPECT_EQ(a.rows("projects"), w.server.live_rows("projects"));
  EXPECT_EQ(w.server.live_rows("projects")[0]["name"], "one!");
  EXPECT_EQ(w.server.live_rows("projects").size(), 3u);
}

// ------------------------------------------------------------- convergence

// A small deterministic generator for the convergence run.
struct lcg {
  std::uint64_t s;
  std::uint64_t next(std::uint64_t n) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return (s >> 33) % n;
  }
};

std::string random_write(lcg& r, sim_client& c, int step) {
  static const char* tables[] = {"projects", "workflowNodes", "workflowEdges",
                                 "settings", "documents"};
  std::string t = tables[r.next(5)];
  int key = static_cast<int>(r.next(3));
  std::string k = std::to_string(key);
  std::string n = std::to_string(step);
  bool del = r.next(5) == 0;
  if (t == "projects") {
    bool exists = c.db().value("SELECT count(*) FROM projects WHERE id = 'p" +
                               k + "'") == "1";
    if (del) return "DELETE FROM projects WHERE id = 'p" + k + "'";
    // Writes that replace a row or change nothing.
    if (r.next(6) == 0)
      return "INSERT OR REPLACE INTO projects (id, ownerId, name) VALUES ('p" +
             k + "', 'u1', 'r" + n + "')";
    if (r.next(6) == 0)
      return "INSERT OR IGNORE INTO projects (id, ownerId, name) VALUES ('p" +
             k + "', 'u1', 'i" + n + "')";
    if (!exists) return insert_project("p" + k, "n" + n);
    return "UPDATE projects SET name = 'n" + n +
           "', archived = " + std::to_string(step % 2) + " WHERE id = 'p" + k +
           "'";
  }
  if (t == "workflowNodes") {
    bool exists =
        c.db().value("SELECT count(*) FROM workflowNodes WHERE id = 'n" + k +
                     "'") == "1";
    if (del) return "DELETE FROM workflowNodes WHERE id = 'n" + k + "'";
    if (!exists)
      return "INSERT INTO workflowNodes (id, projectId, ownerId, label, x, y, "
             "data) VALUES ('n" +
             k + "', 'p', 'u1', 'l" + n + "', " + n + ".5, 1, '{\"v\":" + n +
             "}')";
    if (r.next(2))
      return "UPDATE workflowNodes SET label = 'l" + n + "' WHERE id = 'n" + k +
             "'";
    return "UPDATE workflowNodes SET x = " + n + ".25, data = '[" + n +
           "]' WHERE id = 'n" + k + "'";
  }
  if (t == "workflowEdges") {
    if (del) return "DELETE FROM workflowEdges WHERE edgeId = 'e" + k + "'";
    return "INSERT INTO workflowEdges (projectId, edgeId, ownerId, source, "
           "target) VALUES "
           "('p', 'e" +
           k + "', 'u1', 's', 't" + n +
           "') ON CONFLICT DO UPDATE SET target = "
           "excluded.target";
  }
  if (t == "settings") {
    if (del) return "DELETE FROM settings WHERE key = 'k" + k + "'";
    return "INSERT INTO settings (key, ownerId, value) VALUES ('k" + k +
           "', 'u1', '" + n +
           "') ON CONFLICT DO UPDATE SET value = excluded.value";
  }
  if (del) return "DELETE FROM documents WHERE id = " + k;
  return "INSERT INTO documents (id, ownerId, title, revision) VALUES (" + k +
         ", 'u1', 't" + n + "', " + n +
         ") ON CONFLICT DO UPDATE SET title = excluded.title, revision = "
         "excluded.revision";
}

class ClientConvergence : public ::testing::TestWithParam<int> {};

TEST_P(ClientConvergence, TwoClientsConvergeThroughTheServer) {
  world w;
  w.latency = 120;
  client::config cfg = quiet_config();
  cfg.debounce_ms = 300;
  cfg.page_size = 7;
  cfg.max_batch_changes = 5;
  sim_client a(w, "a", cfg), b(w, "b", cfg);
  a.open();
  b.open();
  lcg r{static_cast<std::uint64_t>(GetParam())};
  for (int step = 0; step < 300; ++step) {
    sim_client& c = r.next(2) ? a : b;
    switch (r.next(12)) {
      case 0:
        c.send(client::events::sync_now{});
        break;
      case 1:
        c.send(client::events::connectivity{false});
        break;
      case 2:
        c.send(client::events::connectivity{true});
        break;
      case 3:
        c.lose_responses = 1;
        break;
      case 4:
        if (r.next(3) == 0) {
          c.close();
          c.open();
        }
        break;
      default:
        c.write(random_write(r, c, step));
        break;
    }
    w.run_for(static_cast<std::int64_t>(r.next(400)));
  }
  for (auto* c : {&a, &b}) {
    c->lose_responses = 0;
    c->send(client::events::connectivity{true});
  }
  ASSERT_TRUE(w.settle());
  for (int round = 0; round < 2; ++round)
    for (auto* c : {&a, &b}) {
      c->send(client::events::sync_now{});
      ASSERT_TRUE(w.settle());
    }
  EXPECT_FALSE(a.double_in_flight || b.double_in_flight);
  EXPECT_EQ(a.outbox_size(), 0);
  EXPECT_EQ(b.outbox_size(), 0);
  for (auto* c : {&a, &b})
    EXPECT_EQ(c->db().value("SELECT count(*) FROM sync_base"), "0");
  for (const char* t : {"projects", "workflowNodes", "workflowEdges",
                        "settings", "documents"}) {
    EXPECT_EQ(a.rows(t), w.server.live_rows(t)) << t;
    EXPECT_EQ(b.rows(t), w.server.live_rows(t)) << t;
  }
  EXPECT_GT(w.server.batches_applied, 10);
}

INSTANTIATE_TEST_SUITE_P(Seeds, ClientConvergence, ::testing::Range(1, 25));

// ------------------------------------------- server bytes vs the DOM path

// One engine on its own database, driven by hand so that a test can answer
// its requests with exact bytes and look at the sql effects it asks for.
struct driven {
  explicit driven(const schema& s) {
    EXPECT_EQ(db.exec(sqlite_ddl(s)), "");
    client::open_options o;
    o.schema = s;
    o.seed = "0123456789abcdef";
    o.now_ms = now;
    core = std::make_unique<client::engine>(std::move(o));
    run();
  }
  // Performs effects until the core waits for an HTTP answer (or is idle).
  void run() {
    std::vector<client::event> events;
    for (;;) {
      for (auto& f : core->poll()) {
        if (auto* q = std::get_if<client::effects::run_sql>(&f)) {
          sqls.push_back(*q);
          events.push_back(db.run(*q));
        } else if (auto* h = std::get_if<client::effects::send_http>(&f)) {
          http = *h;
        } else if (auto* a =
                       std::get_if<client::effects::changes_applied>(&f)) {
          applied.push_back(*a);
        } else if (auto* r = std::get_if<client::effects::rejected>(&f)) {
          rejected.push_back(*r);
        }
      }
      if (events.empty()) return;
      client::event e = std::move(events.front());
      events.erase(events.begin());
      core->handle(now, e);
    }
  }
  void answer(const std::string& body) {
    ASSERT_TRUE(http.has_value());
    std::uint64_t id = http->id;
    http.reset();
    core->handle(now, client::events::http_response{id, 200, body, {}});
    run();
  }
  const client::effects::run_sql& last(const std::string& purpose) {
    for (auto it = sqls.rbegin(); it != sqls.rend(); ++it)
      if (it->purpose == purpose) return *it;
    ADD_FAILURE() << "no " << purpose << " effect";
    return sqls.front();
  }
  // The local tables and sync_rows as text. JSON columns are compared as
  // documents: the server-bytes path keeps the server's member order where
  // the DOM path re-serialized them (alphabetically).
  std::string dump(const schema& s) {
    std::string out;
    for (const auto& t : s.tables)
      for (auto r : db.query("SELECT * FROM " + quote_ident(t.name) +
                             " ORDER BY 1, 2")) {
        for (std::size_t i = 0; i < r.size() && i < t.columns.size(); ++i)
          if (t.columns[i].type == column_type::json_doc && r[i] != "<null>")
            r[i] = dump_json(parse_json(r[i]).value());
        out += t.name + ": " + dump_json(r) + "\n";
      }
    for (const auto& r :
         db.query("SELECT tbl, pk, version FROM sync_rows ORDER BY 1, 2"))
      out += "sync_rows: " + dump_json(r) + "\n";
    return out;
  }

  std::int64_t now = 1'763'798'400'000;
  testing::sql_conn db;
  std::unique_ptr<client::engine> core;
  std::optional<client::effects::send_http> http;
  std::vector<client::effects::run_sql> sqls;
  std::vector<client::effects::changes_applied> applied;
  std::vector<client::effects::rejected> rejected;
};

std::string pull_body(const std::string& changes, const std::string& cursor) {
  return "{\"protocol\":1,\"serverTime\":1763798400000,\"ack\":null,"
         "\"results\":[],\"changes\":" +
         changes + ",\"cursor\":\"" + cursor + "\",\"hasMore\":false}";
}

// True when the apply binds the pulled rows as row arrays ([version,
// deleted, column values…]) whose values are the answer's own bytes: every
// value occurs verbatim in `answer` (not parsed and written again).
bool binds_answer_bytes(const client::effects::run_sql& fx,
                        const std::string& answer) {
  bool any = false;
  for (const auto& st : fx.statements) {
    if (st.sql.find("j.value ->> 0") == std::string::npos) continue;
    for (const auto& p : st.params) {
      const auto* t = std::get_if<client::effects::raw_text>(&p);
      if (t == nullptr) continue;
      json_scanner sc(t->text);
      if (!sc.begin_array()) return false;
      while (sc.next_element()) {
        if (!sc.begin_array()) return false;
        for (int i = 0; sc.next_element(); ++i) {
          std::string_view v = sc.skip_value();
          if (sc.failed()) return false;
          if (i >= 2 && v != "null" && answer.find(v) == std::string::npos)
            return false;
        }
        any = true;
      }
    }
  }
  return any;
}

TEST(ClientApply, PulledRowsApplyAlikeHoweverWritten) {
  schema s =
      parse_schema(testing::read_repo_file("tests/fixtures/schema.v1.json"))
          .value();
  const std::string first =
      "[{\"table\":\"projects\",\"op\":\"upsert\",\"version\":10,\"row\":"
      "{\"id\":\"p1\",\"ownerId\":\"u1\",\"name\":\"one\",\"archived\":false,"
      "\"updatedAt\":\"2026-11-22T08:00:00.000Z\"}},"
      "{\"table\":\"projects\",\"op\":\"upsert\",\"version\":11,\"row\":"
      "{\"id\":\"p2\",\"ownerId\":\"u1\",\"name\":\"two\"}},"
      "{\"table\":\"workflowNodes\",\"op\":\"upsert\",\"version\":12,\"row\":"
      "{\"id\":\"n1\",\"projectId\":\"p1\",\"ownerId\":\"u1\",\"x\":1.5,"
      "\"data\":{\"z\":1,\"a\":[1,2]}}}]";
  // Every kind of element: older than known (skipped), a row with a pending
  // local edit (skipped), new rows, a tombstone, a JSON column holding a
  // string / null / an object, a composite and an integer key, no version,
  // an unknown table, a non-object, a row without its key, members in any
  // order, booleans and whitespace.
  const std::string second =
      "[ {\"table\":\"projects\",\"op\":\"upsert\",\"version\":5,\"row\":"
      "{\"id\":\"p1\",\"ownerId\":\"u1\",\"name\":\"older\"}},"
      "{\"version\":21,\"row\":{\"id\":\"p2\",\"ownerId\":\"u1\",\"name\":"
      "\"server\"},\"table\":\"projects\",\"op\":\"upsert\"},"
      "{\"table\":\"projects\",\"op\":\"upsert\",\"version\":22,\"row\":"
      "{\"id\":\"p3\",\"ownerId\":\"u1\",\"name\":\"th\\u00e9 \\\"3\\\"\","
      "\"archived\":true}},"
      "{\"table\":\"workflowNodes\",\"op\":\"delete\",\"version\":23,\"row\":"
      "{\"id\":\"n1\"}},"
      "{\"table\":\"settings\",\"op\":\"upsert\",\"version\":24,\"row\":"
      "{\"key\":\"a\",\"ownerId\":\"u1\",\"value\":{\"b\":1,\"a\":[true,null]}}"
      "},"
      "{\"table\":\"settings\",\"op\":\"upsert\",\"version\":25,\"row\":"
      "{\"key\":\"b\",\"ownerId\":\"u1\",\"value\":\"dark\"}},"
      "{\"table\":\"settings\",\"op\":\"upsert\",\"version\":26,\"row\":"
      "{\"key\":\"c\",\"ownerId\":\"u1\",\"value\":null}},"
      "{\"table\":\"workflowEdges\",\"op\":\"upsert\",\"version\":27,\"row\":"
      "{\"projectId\":\"p\",\"edgeId\":\"e1\",\"ownerId\":\"u1\",\"source\":"
      "\"s\",\"target\":\"t\"}},"
      "{\"table\":\"documents\",\"op\":\"upsert\",\"version\":28,\"row\":"
      "{\"id\":7,\"ownerId\":\"u1\",\"title\":\"doc\",\"revision\":3}},"
      "{\"table\":\"documents\",\"op\":\"upsert\",\"version\":null,\"row\":"
      "{\"id\":-8,\"ownerId\":\"u1\",\"title\":\"unversioned\"}},"
      "{\"table\":\"nope\",\"op\":\"upsert\",\"version\":29,\"row\":{\"id\":1}}"
      ","
      "42,"
      "{\"table\":\"projects\",\"op\":\"upsert\",\"version\":30,\"row\":"
      "{\"ownerId\":\"u1\",\"name\":\"no key\"}} ]";
  // The same changes plus a repeat of one of them (the same row, version
  // and values) written oddly (a member named twice, a member name with an
  // escape): the tables must come out the same.
  std::string second_dom = second;
  second_dom.insert(second_dom.rfind(']'),
                    ",{\"table\":\"settings\",\"op\":\"delete\",\"op\":"
                    "\"upsert\",\"version\":26,\"r\\u006fw\":{\"key\":\"c\","
                    "\"ownerId\":\"u1\",\"value\":null}}");

  std::string dumps[2];
  for (int dom = 0; dom < 2; ++dom) {
    driven d(s);
    d.answer(pull_body(first, "1:12"));
    EXPECT_TRUE(binds_answer_bytes(d.last("apply"), first));
    ASSERT_TRUE(d.http.has_value() == false);
    d.core->handle(d.now, client::events::sync_now{});
    d.run();
    ASSERT_TRUE(d.http.has_value());
    // Edited locally while the pull is on its way.
    EXPECT_EQ(d.db.exec("UPDATE projects SET name = 'local' WHERE id = 'p2'"),
              "");
    d.answer(pull_body(dom ? second_dom : second, "1:30"));
    EXPECT_TRUE(binds_answer_bytes(d.last("apply"), second));
    ASSERT_EQ(d.applied.size(), 2u);
    EXPECT_EQ(d.applied.back().rows, 10);
    EXPECT_EQ(
        d.applied.back().tables,
        (std::vector<std::string>{"projects", "workflowNodes", "workflowEdges",
                                  "settings", "documents"}));
    EXPECT_EQ(d.core->cursor(), "1:30");
    dumps[dom] = d.dump(s);
  }
  EXPECT_EQ(dumps[0], dumps[1]);
  for (const char* expected :
       {"projects: [\"p1\",\"u1\",\"one\",\"0\"",
        "projects: [\"p2\",\"u1\",\"local\"", "th\xc3\xa9 ", "[\"a\",\"u1\",",
        "[\"b\",\"u1\",\"\\\"dark\\\"\"]", "[\"c\",\"u1\",\"<null>\"]",
        "documents: [\"-8\"", "sync_rows: [\"documents\",\"[7]\",\"28\"]",
        "sync_rows: [\"projects\",\"[\\\"p1\\\"]\",\"10\"]",
        "sync_rows: [\"projects\",\"[\\\"p2\\\"]\",\"11\"]",
        "sync_rows: [\"workflowEdges\",\"[\\\"p\\\",\\\"e1\\\"]\",\"27\"]"})
    EXPECT_NE(dumps[0].find(expected), std::string::npos) << expected << "\n"
                                                          << dumps[0];
  EXPECT_EQ(dumps[0].find("workflowNodes: "), std::string::npos) << dumps[0];
  EXPECT_EQ(dumps[0].find("[-8]"), std::string::npos) << "no version";
}

TEST(ClientApply, OddlyWrittenRowsStillApply) {
  schema s =
      parse_schema(testing::read_repo_file("tests/fixtures/schema.v1.json"))
          .value();
  // The same row twice (the newer wins), a key with escapes, a column named
  // twice (the last wins), a float version (not recorded), member names
  // with escapes.
  const std::string changes =
      "[{\"table\":\"projects\",\"op\":\"upsert\",\"version\":12,\"row\":"
      "{\"id\":\"p1\",\"ownerId\":\"u1\",\"name\":\"newer\"}},"
      "{\"table\":\"projects\",\"op\":\"upsert\",\"version\":11,\"row\":"
      "{\"id\":\"p1\",\"ownerId\":\"u1\",\"name\":\"older\"}},"
      "{\"table\":\"projects\",\"op\":\"upsert\",\"version\":13,\"row\":"
      "{\"id\":\"p\\u0032\",\"ownerId\":\"u1\",\"name\":\"a\",\"name\":\"b\"}},"
      "{\"table\":\"projects\",\"op\":\"upsert\",\"version\":14.5,\"row\":"
      "{\"id\":\"p3\",\"ownerId\":\"u1\",\"name\":\"c\"}},"
      "{\"table\":\"projects\",\"op\":\"upsert\",\"version\":15,"
      "\"\\u0072ow\":{\"id\":\"p4\",\"ownerId\":\"u1\",\"n\\u0061me\":\"d\"}}]";
  driven d(s);
  d.answer(pull_body(changes, "1:14"));
  // Even these: the values are bound as written ("p\u0032" stays escaped).
  EXPECT_TRUE(binds_answer_bytes(d.last("apply"), changes));
  EXPECT_EQ(d.dump(s),
            "projects: [\"p1\",\"u1\",\"newer\",\"<null>\",\"<null>\"]\n"
            "projects: [\"p2\",\"u1\",\"b\",\"<null>\",\"<null>\"]\n"
            "projects: [\"p3\",\"u1\",\"c\",\"<null>\",\"<null>\"]\n"
            "projects: [\"p4\",\"u1\",\"d\",\"<null>\",\"<null>\"]\n"
            "sync_rows: [\"projects\",\"[\\\"p1\\\"]\",\"12\"]\n"
            "sync_rows: [\"projects\",\"[\\\"p2\\\"]\",\"13\"]\n"
            "sync_rows: [\"projects\",\"[\\\"p4\\\"]\",\"15\"]\n");
}

TEST(ClientApply, AMalformedAnswerIsAnErrorWithoutSql) {
  schema s =
      parse_schema(testing::read_repo_file("tests/fixtures/schema.v1.json"))
          .value();
  for (std::string bad :
       {pull_body("[{\"table\":\"projects\",\"row\":{\"id\":\"p1\"}", "1:1"),
        pull_body("[{\"table\":\"projects\",\"row\":{\"id\":\"\xff\"}}]",
                  "1:1"),
        pull_body("{}", "1:1"), std::string("{\"protocol\":1} x")}) {
    driven d(s);
    std::size_t before = d.sqls.size();
    d.answer(bad);
    EXPECT_EQ(d.sqls.size(), before) << bad;
    ASSERT_TRUE(d.core->current_status().last_error.has_value()) << bad;
    EXPECT_EQ(d.core->current_status().last_error->code, "invalid_response")
        << bad;
  }
}

TEST(ClientSync, OutboxRowsTheSchemaDoesNotKnowAreRejectedTheRestIsSent) {
  schema s =
      parse_schema(testing::read_repo_file("tests/fixtures/schema.v1.json"))
          .value();
  driven d(s);
  d.answer(pull_body("[]", "1:0"));
  EXPECT_EQ(d.db.exec(insert_project("p1", "kept")), "");
  EXPECT_EQ(d.db.exec("INSERT INTO sync_outbox (tbl, pk, op, row, changed, "
                      "hlc, base_version, created_at) VALUES ('gone', "
                      "'[\"x\"]', 'I', '{\"id\":\"x\"}', NULL, "
                      "'001763798400000:00000:c_0123456789abcdef', NULL, 0)"),
            "");
  d.core->handle(d.now, client::events::sync_now{});
  d.run();
  ASSERT_TRUE(d.http.has_value());
  json sent = parse_json(d.http->body).value();
  ASSERT_EQ(sent["batch"]["changes"].size(), 1u);
  EXPECT_EQ(sent["batch"]["changes"][0]["row"]["name"], "kept");
  ASSERT_EQ(d.rejected.size(), 1u);
  EXPECT_EQ(d.rejected[0].code, "unknown_table");
  EXPECT_EQ(d.db.value("SELECT count(*) FROM sync_outbox WHERE tbl = 'gone'"),
            "0");
}

// ------------------------------------------------------------ streamed pulls

// One frame of a streamed pull: settings k<from>…k<to-1> at versions
// 1000+i, ending at cursor 0:<1000+to-1>.
std::string stream_frame(int from, int to, bool more) {
  std::string changes;
  for (int i = from; i < to; ++i) {
    if (!changes.empty()) changes += ',';
    changes += R"({"table":"settings","op":"upsert","version":)" +
               std::to_string(1000 + i) + R"(,"row":{"key":"k)" +
               std::to_string(i) + R"(","ownerId":"u1","value":1}})";
  }
  return R"({"protocol":1,"serverTime":1,"ack":null,"results":[],"rows":)" +
         std::to_string(to - from) + R"(,"changes":[)" + changes +
         R"(],"cursor":"0:)" + std::to_string(1000 + to - 1) +
         R"(","hasMore":)" + (more ? "true" : "false") + "}\n";
}

TEST(ClientStream, FramesApplyAsTheyArriveAndACutResumesFromTheLastOne) {
  world w;
  client::config cfg = quiet_config();
  cfg.stream = true;
  sim_client a(w, "a", cfg);
  a.open();
  ASSERT_TRUE(a.in_flight.has_value());
  json req = body(a.sent.back());
  EXPECT_EQ(req["stream"], true) << "a fresh device catches up streamed";
  EXPECT_FALSE(req.contains("pageSize"));
  std::uint64_t id = a.in_flight->id;
  a.in_flight.reset();
  std::string f1 = stream_frame(1, 4, true), f2 = stream_frame(4, 7, true);
  // A whole frame and a part of the next: the whole one is applied with
  // its cursor while the rest downloads.
  a.send(client::events::http_chunk{id, f1 + f2.substr(0, 30)});
  EXPECT_EQ(a.rows("settings").size(), 3u);
  EXPECT_EQ(a.state("cursor"), "0:1003");
  EXPECT_FALSE(a.in_flight.has_value()) << "still reading the stream";
  // The connection breaks: the next request goes on from the last applied
  // frame at once (no backoff: the stream made progress).
  a.send(client::events::http_failed{id, "connection reset"});
  ASSERT_TRUE(a.in_flight.has_value());
  json again = body(a.sent.back());
  EXPECT_EQ(again["cursor"], "0:1003");
  EXPECT_EQ(again["stream"], true);
  id = a.in_flight->id;
  a.in_flight.reset();
  // The rest, in two chunks; the last frame without its newline.
  std::string f3 = stream_frame(7, 9, false);
  f3.pop_back();
  a.send(client::events::http_chunk{id, f2.substr(0, 50)});
  a.send(client::events::http_chunk{id, f2.substr(50) + f3});
  EXPECT_EQ(a.rows("settings").size(), 6u);
  a.send(client::events::http_response{id, 200, "", std::nullopt});
  EXPECT_EQ(a.rows("settings").size(), 8u);
  EXPECT_EQ(a.state("cursor"), "0:1008");
  EXPECT_EQ(a.core().current_status().state, sync_state::idle);
  EXPECT_FALSE(a.core().current_status().last_error.has_value());
  // Caught up: the next pull is an ordinary page.
  a.send(client::events::sync_now{});
  ASSERT_TRUE(a.in_flight.has_value());
  json next = body(a.sent.back());
  EXPECT_FALSE(next.contains("stream"));
  EXPECT_EQ(next["pageSize"], 500);
}

}  // namespace
}  // namespace edgesync
