#include "client_sim.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "schema/policy.h"
#include "sql/ddl.h"
#include "support.h"

namespace edgesync::testing {

namespace {

const json& at(const json& o, const char* key) {
  static const json null_value;
  if (!o.is_object()) return null_value;
  auto it = o.find(key);
  return it == o.end() ? null_value : *it;
}

std::string error_json(const std::string& code, const std::string& path,
                       const std::string& message,
                       json extra = json::object()) {
  json err = {
      {"code", code},
      {"message", message},
      {"path", path},
      {"errors",
       json::array({{{"code", code}, {"path", path}, {"message", message}}})}};
  json body = {{"protocol", 1}, {"error", err}};
  for (auto it = extra.begin(); it != extra.end(); ++it)
    body[it.key()] = it.value();
  return dump_json(body);
}

// The clock SQLite reads through the test VFS: the running world's.
const std::int64_t* g_virtual_now = nullptr;
constexpr std::int64_t kUnixEpochJulianMs = 210866760000000;

int virtual_time_int64(sqlite3_vfs*, sqlite3_int64* out) {
  *out = (g_virtual_now ? *g_virtual_now : 0) + kUnixEpochJulianMs;
  return SQLITE_OK;
}

int virtual_time(sqlite3_vfs*, double* out) {
  *out = static_cast<double>((g_virtual_now ? *g_virtual_now : 0) +
                             kUnixEpochJulianMs) /
         86400000.0;
  return SQLITE_OK;
}

// The default VFS with its clock replaced; registered once.
const char* virtual_clock_vfs() {
  static sqlite3_vfs vfs = [] {
    sqlite3_vfs v = *sqlite3_vfs_find(nullptr);
    v.zName = "es_virtual_clock";
    v.pNext = nullptr;
    v.xCurrentTime = virtual_time;
    if (v.iVersion >= 2) v.xCurrentTimeInt64 = virtual_time_int64;
    return v;
  }();
  static bool registered = sqlite3_vfs_register(&vfs, 0) == SQLITE_OK;
  return registered ? vfs.zName : nullptr;
}

}  // namespace

json key_of(const table& t, const json& row) {
  json out = json::array();
  for (auto k : t.primary_key)
    out.push_back(at(row, t.columns[k].name.c_str()));
  return out;
}

// ---------------------------------------------------------------- sql_conn

sql_conn::sql_conn(bool virtual_clock)
    : sqlite_db(virtual_clock ? virtual_clock_vfs() : nullptr) {}

client::event sql_conn::run(const client::effects::run_sql& fx) {
  ++effects_run;
  auto failed = [&](const std::string& msg) -> client::event {
    if (fx.tx) exec("ROLLBACK");
    return client::events::sql_failed{fx.id, msg};
  };
  if (fx.tx) {
    std::string e = exec("BEGIN IMMEDIATE");
    if (!e.empty()) return client::events::sql_failed{fx.id, e};
  }
  client::events::sql_done done{fx.id, {}};
  for (const auto& s : fx.statements) {
    sqlite3_stmt* st = nullptr;
    const char* tail = nullptr;
    if (sqlite3_prepare_v2(handle(), s.sql.c_str(), -1, &st, &tail) !=
        SQLITE_OK)
      return failed(std::string(sqlite3_errmsg(handle())) + " in: " + s.sql);
    EXPECT_TRUE(tail == nullptr || *tail == '\0')
        << "one statement per entry: " << s.sql;
    int i = 1;
    for (const auto& p : s.params) {
      if (std::holds_alternative<std::nullptr_t>(p))
        sqlite3_bind_null(st, i);
      else if (auto* n = std::get_if<std::int64_t>(&p))
        sqlite3_bind_int64(st, i, *n);
      else if (auto* d = std::get_if<double>(&p))
        sqlite3_bind_double(st, i, *d);
      else if (auto* t = std::get_if<std::string>(&p))
        sqlite3_bind_text(st, i, t->data(), static_cast<int>(t->size()),
                          SQLITE_TRANSIENT);
      else {
        // A segment binds as a BLOB of its bytes, as the JS host binds it.
        const auto& r = std::get<client::effects::raw_text>(p).text;
        sqlite3_bind_blob(st, i, r.data(), static_cast<int>(r.size()),
                          SQLITE_TRANSIENT);
      }
      ++i;
    }
    std::string first;
    int rc;
    bool got = false;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      if (!got && sqlite3_column_count(st) > 0) {
        const unsigned char* t = sqlite3_column_text(st, 0);
        if (t) first = reinterpret_cast<const char*>(t);
        got = true;
      }
    }
    if (rc != SQLITE_DONE) {
      std::string msg = std::string(sqlite3_errmsg(handle())) + " in: " + s.sql;
      sqlite3_finalize(st);
      return failed(msg);
    }
    sqlite3_finalize(st);
    if (s.out) done.values.push_back(std::move(first));
  }
  if (fx.tx) {
    std::string e = exec("COMMIT");
    if (!e.empty()) return failed(e);
  }
  return done;
}

// -------------------------------------------------------------- sim_server

sim_server::sim_server(const schema& s)
    : schema_version(s.version), schema_(s) {}

std::vector<json> sim_server::live_rows(const std::string& table) const {
  std::vector<json> out;
  auto it = tables.find(table);
  if (it == tables.end()) return out;
  for (const auto& [key, r] : it->second)
    if (!r.deleted) out.push_back(r.row);
  return out;
}

const sim_server::row_state* sim_server::find(const std::string& table,
                                              const json& pk) const {
  auto it = tables.find(table);
  if (it == tables.end()) return nullptr;
  auto r = it->second.find(dump_json(pk));
  if (r == it->second.end() || r->second.deleted) return nullptr;
  return &r->second;
}

json sim_server::apply(const table& t, const json& c,
                       const std::string& client_id) {
  const std::string& op = c["op"].get_ref<const std::string&>();
  const json& row = c["row"];
  std::string hlc = c["hlc"].get<std::string>();
  std::optional<std::int64_t> base;
  if (at(c, "baseVersion").is_number_integer())
    base = c["baseVersion"].get<std::int64_t>();
  json key = key_of(t, row);
  auto& rows = tables[t.name];
  auto found = rows.find(dump_json(key));
  row_state* cur = found == rows.end() ? nullptr : &found->second;
  json res = {{"id", c["id"]}};
  if (foreign_keys.count(t.name + dump_json(key))) {
    res["status"] = "rejected";
    res["reason"] = "forbidden";
    res["message"] = "the row belongs to another user";
    return res;
  }
  // Who wins is the policy's rule (edgesync/policy.h), the same table the
  // server's merge SQL is generated from.
  const policy_rule& rule = rule_of(t.policy);
  auto accepted = [&](bool is_delete) {
    bool row_rule = rule.accept == accept_rule::newer_hlc ? hlc > cur->hlc
                    : rule.accept == accept_rule::base_version
                        ? base == cur->version
                        : true;
    return rule.per_field && !is_delete ? !cur->deleted || row_rule : row_rule;
  };
  auto lose = [&]() {
    res["status"] = to_string(rule.loser);
    res["reason"] = rule.reason;
    res["version"] = cur->version;
    res["deleted"] = cur->deleted;
    res["row"] = cur->deleted ? json(nullptr) : cur->row;
    return res;
  };
  std::string owner = t.columns[t.owner].name;
  if (op == "delete") {
    if (cur == nullptr) {
      res["status"] = "applied";
      res["version"] = nullptr;
      if (rule.accept != accept_rule::newer_hlc) return res;
      // A clock-ordered delete is remembered as a tombstone (like the server).
      row_state r;
      r.row = key;
      r.deleted = true;
      r.version = ++version;
      r.hlc = hlc;
      r.origin = client_id;
      rows[dump_json(key)] = r;
      res["version"] = r.version;
      return res;
    }
    bool ok = accepted(true);
    // A delete of a tombstone is done either way; accepted, it raises the
    // tombstone's clock.
    if (cur->deleted && !ok) {
      res["status"] = "applied";
      res["version"] = cur->version;
      return res;
    }
    if (!ok) return lose();
    cur->deleted = true;
    cur->version = ++version;
    cur->hlc = std::max(cur->hlc, hlc);
    cur->origin = client_id;
    res["status"] = "applied";
    res["version"] = cur->version;
    return res;
  }
  json full = json::object();
  for (const auto& col : t.columns) full[col.name] = at(row, col.name.c_str());
  full[owner] = "u1";
  if (cur == nullptr) {
    row_state r;
    r.row = full;
    r.version = ++version;
    r.hlc = hlc;
    for (const auto& col : t.columns) r.field_hlc[col.name] = hlc;
    r.origin = client_id;
    rows[dump_json(key)] = r;
    res["status"] = "applied";
    res["version"] = r.version;
    if (t.policy == conflict_policy::lww_field) res["row"] = r.row;
    return res;
  }
  if (!accepted(false)) return lose();
  if (rule.per_field && !cur->deleted) {
    const json& changed = at(c, "changed");
    for (std::size_t i = 0; i < t.columns.size(); ++i) {
      const std::string& name = t.columns[i].name;
      if (t.is_pk(i) || i == t.owner) continue;
      bool listed = changed.is_null() ||
                    std::find(changed.begin(), changed.end(), json(name)) !=
                        changed.end();
      auto fh = cur->field_hlc.find(name);
      std::string cur_h = fh == cur->field_hlc.end() ? cur->hlc : fh->second;
      if (listed && hlc > cur_h) {
        cur->row[name] = full[name];
        cur->field_hlc[name] = hlc;
      }
    }
    cur->hlc = std::max(cur->hlc, hlc);
  } else {
    cur->row = full;
    cur->hlc = hlc;
    for (const auto& col : t.columns) cur->field_hlc[col.name] = hlc;
  }
  cur->deleted = false;
  cur->version = ++version;
  cur->origin = client_id;
  res["status"] = "applied";
  res["version"] = cur->version;
  if (t.policy == conflict_policy::lww_field) res["row"] = cur->row;
  return res;
}

sim_response sim_server::handle(const std::string& body, const std::string& tok,
                                std::int64_t now) {
  auto parsed = parse_json(body);
  if (!parsed) return {400, error_json("invalid_json", "", "not JSON")};
  const json req = parsed.value();
  log.push_back(req);
  if (intercept)
    if (auto r = intercept(req)) return *r;
  if (tok != token) return {401, error_json("unauthorized", "", "bad token")};
  if (!req.is_object() || at(req, "protocol") != 1)
    return {400,
            error_json("invalid_request", "protocol", "protocol must be 1")};
  if (at(req, "schemaVersion") != schema_version)
    return {409, error_json("schema_version_mismatch", "schemaVersion",
                            "schema differs",
                            {{"serverSchemaVersion", schema_version}})};
  const std::string client_id = at(req, "clientId").get<std::string>();
  if (body.size() > max_body)
    return {413, error_json("payload_too_large", "", "body too large")};
  const json& batch = at(req, "batch");
  json results = json::array();
  bool duplicate = false;
  if (batch.is_object()) {
    const json& changes = batch["changes"];
    if (changes.size() > max_changes)
      return {413, error_json("payload_too_large", "batch.changes",
                              "too many changes")};
    // Validation: any string "BAD" is a type error; two changes of one row
    // are a duplicate_row — both reported with their paths.
    json errs = json::array();
    std::map<std::string, std::size_t> seen;
    for (std::size_t i = 0; i < changes.size(); ++i) {
      const json& c = changes[i];
      const table* t = schema_.find_table(c["table"].get<std::string>());
      std::string p = "batch.changes[" + std::to_string(i) + "]";
      if (t == nullptr) {
        errs.push_back({{"code", "unknown_table"},
                        {"path", p + ".table"},
                        {"message", "?"}});
        continue;
      }
      for (auto it = c["row"].begin(); it != c["row"].end(); ++it)
        if (it.value() == "BAD")
          errs.push_back({{"code", "type_mismatch"},
                          {"path", p + ".row." + it.key()},
                          {"message", "BAD is not a valid value"}});
      std::string k = t->name + dump_json(key_of(*t, c["row"]));
      if (seen.count(k))
        errs.push_back(
            {{"code", "duplicate_row"}, {"path", p}, {"message", "dup"}});
      seen[k] = i;
    }
    if (!errs.empty()) {
      json e = errs[0];
      e["errors"] = errs;
      return {400, dump_json({{"protocol", 1}, {"error", e}})};
    }
    std::int64_t seq = batch["seq"].get<std::int64_t>();
    client_state& cs = clients[client_id];
    if (seq <= cs.last_seq) {
      duplicate = true;
      ++duplicates;
      results = seq == cs.last_seq ? cs.last_results : json::array();
    } else {
      for (const json& c : changes)
        results.push_back(apply(
            *schema_.find_table(c["table"].get<std::string>()), c, client_id));
      cs.last_seq = seq;
      cs.last_results = results;
      if (!changes.empty()) ++batches_applied;
    }
  }
  // Pull: rows with version > cursor, not last written by this client.
  std::int64_t from = 0;
  if (at(req, "cursor").is_string()) {
    const std::string& cur = req["cursor"].get_ref<const std::string&>();
    from = std::stoll(cur.substr(cur.find(':') + 1));
  }
  std::size_t page = at(req, "pageSize").is_number_integer()
                         ? req["pageSize"].get<std::size_t>()
                         : 500;
  std::vector<std::pair<std::int64_t, json>> found;
  for (const auto& t : schema_.tables) {
    auto it = tables.find(t.name);
    if (it == tables.end()) continue;
    for (const auto& [key, r] : it->second) {
      if (r.version <= from || r.origin == client_id) continue;
      json row = r.deleted ? json::object() : r.row;
      if (r.deleted) {
        json k = parse_json(key).value();
        for (std::size_t i = 0; i < t.primary_key.size(); ++i)
          row[t.columns[t.primary_key[i]].name] = k[i];
      }
      found.emplace_back(r.version,
                         json{{"table", t.name},
                              {"op", r.deleted ? "delete" : "upsert"},
                              {"version", r.version},
                              {"row", row}});
    }
  }
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  bool has_more = found.size() > page;
  json changes = json::array();
  for (std::size_t i = 0; i < found.size() && i < page; ++i)
    changes.push_back(found[i].second);
  std::int64_t next = has_more ? found[page - 1].first : version;
  json resp = {{"protocol", 1},
               {"serverTime", now},
               {"ack", batch.is_object() ? json{{"seq", batch["seq"]},
                                                {"duplicate", duplicate}}
                                         : json(nullptr)},
               {"results", results},
               {"changes", changes},
               {"cursor", "0:" + std::to_string(std::max(next, from))},
               {"hasMore", has_more}};
  return {200, dump_json(resp)};
}

// -------------------------------------------------------------- sim_client

sim_client::sim_client(world& w, std::string n, client::config c)
    : name(std::move(n)), cfg(std::move(c)), w_(w), db_(true) {
  EXPECT_EQ(db_.exec(sqlite_ddl(w.s)), "");
  w.clients.push_back(this);
}

sim_client::~sim_client() {
  auto& v = w_.clients;
  v.erase(std::remove(v.begin(), v.end(), this), v.end());
}

void sim_client::open(bool online) {
  client::open_options o;
  o.schema = w_.s;
  o.config = cfg;
  // A deterministic "random" seed per client name.
  std::string seed = "0123456789abcdef";
  for (std::size_t i = 0; i < name.size() && i < seed.size(); ++i)
    seed[i] = "0123456789abcdef"[static_cast<unsigned char>(name[i]) % 16];
  o.seed = seed + "00112233";
  o.online = online;
  o.now_ms = w_.now;
  core_ = std::make_unique<client::engine>(std::move(o));
  timer.reset();
  in_flight.reset();
  run_effects();
}

void sim_client::close() {
  core_.reset();
  in_flight.reset();
  timer.reset();
}

void sim_client::write(const std::string& sql) {
  std::string e = db_.exec(sql);
  EXPECT_EQ(e, "") << sql;
  if (core_) send(client::events::local_change{});
}

void sim_client::send(const client::event& e) {
  core_->handle(w_.now, e);
  run_effects();
}

void sim_client::run_effects() {
  std::vector<client::event> queue;
  for (;;) {
    for (auto& fx : core_->poll()) {
      std::visit(
          [&](auto& f) {
            using T = std::decay_t<decltype(f)>;
            if constexpr (std::is_same_v<T, client::effects::run_sql>) {
              queue.push_back(db_.run(f));
            } else if constexpr (std::is_same_v<T,
                                                client::effects::send_http>) {
              if (in_flight) double_in_flight = true;
              request r;
              r.id = f.id;
              r.body = f.body;
              r.keepalive = f.keepalive;
              r.sent_at = w_.now;
              r.deliver_at = w_.now + w_.latency;
              if (network_down) {
                r.failed = true;
              } else {
                r.response =
                    w_.server.handle(f.body, token, w_.now + w_.latency / 2);
                if (lose_responses > 0) {
                  --lose_responses;
                  r.failed = true;
                }
              }
              sent.push_back(r);
              in_flight = r;
            } else if constexpr (std::is_same_v<T,
                                                client::effects::abort_http>) {
              aborted.push_back(f.id);
              if (in_flight && in_flight->id == f.id) in_flight.reset();
            } else if constexpr (std::is_same_v<T,
                                                client::effects::set_timer>) {
              timer = f.at_ms;
            } else if constexpr (std::is_same_v<
                                     T, client::effects::refresh_token>) {
              ++token_refreshes;
              if (refresh_succeeds) {
                token = refreshed_token;
                queue.push_back(client::events::token_refreshed{});
              } else {
                queue.push_back(client::events::token_failed{"signed out"});
              }
            } else if constexpr (std::is_same_v<
                                     T, client::effects::status_changed>) {
              statuses.push_back(f.status);
            } else if constexpr (std::is_same_v<T, client::effects::rejected>) {
              rejections.push_back(f);
            } else if constexpr (std::is_same_v<T, client::effects::conflict>) {
              conflicts.push_back(f);
            } else if constexpr (std::is_same_v<
                                     T, client::effects::changes_applied>) {
              applied.push_back(f);
            }
          },
          fx);
    }
    if (queue.empty()) return;
    client::event e = std::move(queue.front());
    queue.erase(queue.begin());
    core_->handle(w_.now, e);
  }
}

std::vector<json> sim_client::rows(const std::string& table_name) {
  const table* t = w_.s.find_table(table_name);
  std::string cols, order;
  for (std::size_t i = 0; i < t->columns.size(); ++i) {
    const column& c = t->columns[i];
    std::string ref = quote_ident(c.name);
    if (i) cols += ", ";
    cols += quote_literal(c.name) + ", ";
    if (c.type == column_type::boolean)
      cols += "CASE WHEN " + ref + " IS NULL THEN NULL WHEN " + ref +
              " THEN json('true') ELSE json('false') END";
    else if (c.type == column_type::json_doc)
      cols += "json(" + ref + ")";
    else
      cols += ref;
  }
  for (std::size_t k = 0; k < t->primary_key.size(); ++k)
    order += std::string(k ? ", " : "") +
             quote_ident(t->columns[t->primary_key[k]].name);
  std::vector<json> out;
  for (auto& r : db_.query("SELECT json_object(" + cols + ") FROM " +
                           quote_ident(t->name) + " ORDER BY " + order))
    out.push_back(parse_json(r[0]).value());
  return out;
}

int sim_client::outbox_size() {
  return std::stoi(db_.value("SELECT count(*) FROM sync_outbox"));
}

std::string sim_client::state(const std::string& key) {
  auto v = db_.query("SELECT value FROM sync_state WHERE key = '" + key + "'");
  return v.empty() ? "<null>" : v[0][0];
}

// ------------------------------------------------------------------- world

world::world(const char* schema_file)
    : s(parse_schema(read_repo_file(schema_file)).value()), server(s) {
  g_virtual_now = &now;
}

world::~world() {
  if (g_virtual_now == &now) g_virtual_now = nullptr;
}

bool world::step(std::int64_t limit) {
  sim_client* who = nullptr;
  std::int64_t when = limit + 1;
  bool is_delivery = false;
  for (auto* c : clients) {
    if (!c->is_open()) continue;
    if (c->in_flight && c->in_flight->deliver_at < when) {
      when = c->in_flight->deliver_at;
      who = c;
      is_delivery = true;
    }
    if (c->timer && *c->timer < when) {
      when = *c->timer;
      who = c;
      is_delivery = false;
    }
  }
  if (who == nullptr) return false;
  now = std::max(now, when);
  if (is_delivery) {
    sim_client::request r = *who->in_flight;
    who->in_flight.reset();
    if (r.failed)
      who->send(client::events::http_failed{r.id, "network error"});
    else
      who->send(client::events::http_response{
          r.id, r.response.status, r.response.body, r.response.retry_after_ms});
  } else {
    who->timer.reset();
    who->send(client::events::tick{});
  }
  return true;
}

void world::run_for(std::int64_t ms) {
  std::int64_t limit = now + ms;
  while (step(limit)) {
  }
  now = std::max(now, limit);
}

bool world::quiet() const {
  for (auto* c : clients) {
    if (!c->is_open()) continue;
    if (c->in_flight || !c->core().quiescent()) return false;
  }
  return true;
}

bool world::settle(std::int64_t max_ms) {
  std::int64_t limit = now + max_ms;
  while (!quiet()) {
    if (!step(limit)) return quiet();
  }
  return true;
}

}  // namespace edgesync::testing
