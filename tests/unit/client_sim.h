// A simulated world for the client core: a real native SQLite database per
// client (running the generated DDL and triggers), an in-memory server that
// implements the protocol's semantics (seq dedupe, versions from one
// sequence, the five conflict policies, tombstones, pulls without echoes),
// and a virtual clock. drive()-style helpers run everything until quiet.
#pragma once

#include <sqlite3.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "client/client.h"
#include "common/json_util.h"
#include "schema/schema.h"
#include "support.h"

namespace edgesync::testing {

/// A native SQLite connection (support.h) that can run the core's sql effects.
class sql_conn : public sqlite_db {
 public:
  /// Opens an in-memory database; `virtual_clock` makes SQLite's 'now'
  /// (the triggers' HLC and created_at) read the running world's clock.
  explicit sql_conn(bool virtual_clock = false);

  /// Runs one sql effect like a host would; returns the completion event.
  client::event run(const client::effects::run_sql& fx);
  /// Number of sql effects run.
  int effects_run = 0;
};

/// A canned HTTP answer.
struct sim_response {
  sim_response(int s = 200, std::string b = "",
               std::optional<std::int64_t> retry_after = std::nullopt)
      : status(s), body(std::move(b)), retry_after_ms(retry_after) {}
  int status;
  std::string body;
  std::optional<std::int64_t> retry_after_ms;  ///< a Retry-After header
};

/// The protocol's server semantics in memory (one user, "u1").
class sim_server {
 public:
  explicit sim_server(const schema& s);

  /// Handles one POST /sync at server time `now`.
  sim_response handle(const std::string& body, const std::string& token,
                      std::int64_t now);

  /// One stored row.
  struct row_state {
    json row;
    std::int64_t version = 0;
    bool deleted = false;
    std::string hlc;
    std::map<std::string, std::string> field_hlc;
    std::string origin;
  };
  /// What the server remembers of a client.
  struct client_state {
    std::int64_t last_seq = 0;
    json last_results = json::array();
  };

  // ---- knobs
  std::int64_t schema_version = 1;
  std::string token = "t1";
  std::size_t max_changes = 10000;
  std::size_t max_body = 8u << 20;
  /// Keys (table name + key JSON, e.g. `projects["p9"]`) whose rows belong
  /// to another user: every change of them is rejected as forbidden.
  std::set<std::string> foreign_keys;
  /// Answers instead of the server when it returns a value.
  std::function<std::optional<sim_response>(const json& request)> intercept;

  // ---- state
  std::map<std::string, std::map<std::string, row_state>> tables;
  std::map<std::string, client_state> clients;
  std::int64_t version = 1000;
  int batches_applied = 0;  ///< non-duplicate batches with changes
  int duplicates = 0;       ///< batches answered as duplicates
  std::vector<json> log;    ///< every request body, parsed

  /// Live (not deleted) rows of a table, ordered by key.
  std::vector<json> live_rows(const std::string& table) const;
  /// A stored row (nullptr when absent or deleted).
  const row_state* find(const std::string& table, const json& pk) const;

 private:
  json apply(const table& t, const json& change, const std::string& client_id);
  const schema& schema_;
};

class world;

/// One client: a local database, the core, and a host loop around them.
class sim_client {
 public:
  sim_client(world& w, std::string name, client::config cfg = {});
  ~sim_client();

  /// Creates the core on the local database (a page load).
  void open(bool online = true);
  /// Drops the core and any request in flight (the tab closes).
  void close();
  /// Runs app SQL (triggers fill the outbox) and tells the core.
  void write(const std::string& sql);
  /// Feeds an event at the world's current time and runs the effects.
  void send(const client::event& e);

  sql_conn& db() { return db_; }
  client::engine& core() { return *core_; }
  const client::engine& core() const { return *core_; }
  bool is_open() const { return core_ != nullptr; }
  /// The local rows of a table as JSON objects (as the triggers render
  /// them), ordered by key.
  std::vector<json> rows(const std::string& table);
  /// Outbox row count.
  int outbox_size();
  /// sync_state value of `key` ("<null>" when absent).
  std::string state(const std::string& key);

  // ---- what the host saw
  struct request {
    std::uint64_t id = 0;
    std::string body;
    bool keepalive = false;
    std::int64_t sent_at = 0;
    std::int64_t deliver_at = 0;
    bool failed = false;  ///< deliver http_failed instead of the response
    sim_response response;
  };
  std::optional<request> in_flight;
  std::vector<request> sent;
  std::optional<std::int64_t> timer;
  std::vector<client::status> statuses;
  std::vector<client::effects::rejected> rejections;
  std::vector<client::effects::conflict> conflicts;
  std::vector<client::effects::changes_applied> applied;
  std::vector<std::uint64_t> aborted;
  int token_refreshes = 0;
  /// What the host answers to refresh_token (and the token it then holds).
  bool refresh_succeeds = true;
  std::string refreshed_token = "t1";
  std::string token = "t1";
  /// The next response is lost after the server committed it.
  int lose_responses = 0;
  /// No request reaches the server (cable unplugged).
  bool network_down = false;
  /// Set when the core sent a request while another was in flight.
  bool double_in_flight = false;

  const std::string name;
  client::config cfg;

 private:
  void run_effects();
  world& w_;
  sql_conn db_;
  std::unique_ptr<client::engine> core_;
};

/// The shared clock, server and network.
class world {
 public:
  explicit world(const char* schema_file = "tests/fixtures/schema.v1.json");
  ~world();
  world(const world&) = delete;
  world& operator=(const world&) = delete;

  schema s;
  std::int64_t now = 1'763'798'400'000;  ///< 2025-11-22, virtual
  std::int64_t latency = 40;
  sim_server server;
  std::vector<sim_client*> clients;

  /// Handles the earliest pending timer or delivery at or before `limit`.
  bool step(std::int64_t limit);
  /// Advances the clock by `ms`, handling everything due.
  void run_for(std::int64_t ms);
  /// Runs until every client is quiet (only the periodic timer left) or
  /// `max_ms` of virtual time passed; returns true when quiet.
  bool settle(std::int64_t max_ms = 600000);
  /// True when no client has work under way or scheduled soon.
  bool quiet() const;
};

/// Schema-ordered key of a row.
json key_of(const table& t, const json& row);

}  // namespace edgesync::testing
