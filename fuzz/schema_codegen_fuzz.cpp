// Target: the schema parser and the code generators. The input is a schema
// document.
//
// Properties:
//  - a refused schema comes with errors (invalid_json or invalid_schema);
//  - an accepted schema has what every generator relies on: tables with
//    columns, a key and an owner; names that are valid identifiers without a
//    reserved prefix (client and derived server names), unique per kind —
//    client names case-insensitively (SQLite folds case), PostgreSQL
//    relations (tables, pull indexes) after truncation at 63 bytes; key
//    columns of type text or integer; an owner of type text outside the key;
//  - it produces SQLite and PostgreSQL DDL, the same bytes every time;
//  - the SQLite DDL runs in a fresh database (SQLite 3, in memory), twice
//    (it is idempotent), and every statement the client core prepares for
//    the schema's tables compiles against it;
//  - the same schema one version up is an additive migration of itself (both
//    dialects), and the SQLite one runs; a migration from the test schema
//    (tests/fixtures/schema.v1.json) is produced by both dialects or
//    refused by both, and when produced it runs on the old database.
#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <unordered_set>

#include "fuzz_support.h"
#include "sql/client_sqlite.h"
#include "sql/ddl.h"

namespace {

using edgesync::column_type;
using edgesync::fuzz::excerpt;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool reserved(const std::string& name) {
  std::string l = lower(name);
  for (const char* p : {"sync_", "edgesync", "_es", "sqlite_", "pg_"})
    if (l.rfind(p, 0) == 0) return true;
  return false;
}

void check_name(const std::string& name, const std::string& what) {
  ES_FUZZ_CHECK(edgesync::is_valid_identifier(name) && !reserved(name),
                what + " \"" + excerpt(name) + "\" is not a usable identifier");
}

// An in-memory SQLite database, emptied for each use: opening a fresh one
// per input costs more than the rest of the target together.
struct db {
  sqlite3* h = nullptr;
  db() {
    sqlite3_open_v2(":memory:", &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                    nullptr);
    // The triggers' HLC clock, registered by every host (a fixed time is
    // enough: statements are only compiled and the DDL run).
    sqlite3_create_function(
        h, edgesync::sqlite_now_function, 0, SQLITE_UTF8 | SQLITE_INNOCUOUS,
        nullptr,
        [](sqlite3_context* ctx, int, sqlite3_value**) {
          sqlite3_result_int64(ctx, 1'700'000'000'000);
        },
        nullptr, nullptr);
  }
  ~db() { sqlite3_close(h); }
  db(const db&) = delete;
  db& operator=(const db&) = delete;

  // Drops everything (SQLite's documented reset: RESET_DATABASE + VACUUM).
  void reset() {
    sqlite3_db_config(h, SQLITE_DBCONFIG_RESET_DATABASE, 1, nullptr);
    sqlite3_exec(h, "VACUUM", nullptr, nullptr, nullptr);
    sqlite3_db_config(h, SQLITE_DBCONFIG_RESET_DATABASE, 0, nullptr);
  }
  // Runs statements; returns the error message or "".
  std::string exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(h, sql.c_str(), nullptr, nullptr, &err) == SQLITE_OK)
      return "";
    std::string msg = err != nullptr ? err : "unknown error";
    sqlite3_free(err);
    return msg;
  }
  // Compiles one statement; returns the error message or "".
  std::string prepare(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    int rc = sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr);
    std::string msg = rc == SQLITE_OK ? "" : sqlite3_errmsg(h);
    sqlite3_finalize(st);
    return msg;
  }
};

// True the first time `sql` is seen: SQLite work dominates the target's
// cost, and mutations of an accepted schema (a description, spacing, key
// order) mostly give DDL that was checked already.
bool first_time(const std::string& sql) {
  static std::unordered_set<std::string> seen;
  if (seen.size() > 20000) seen.clear();
  return seen.insert(sql).second;
}

// The one database the target uses, empty.
db& fresh_db() {
  static db d;
  d.reset();
  return d;
}

void check_structure(const edgesync::schema& s) {
  ES_FUZZ_CHECK(s.version >= 1 && !s.tables.empty(),
                "an accepted schema has a version and tables");
  // SQLite folds the case of names; PostgreSQL's quoted ones do not, but it
  // truncates them at 63 bytes (relations: tables and their pull indexes).
  std::set<std::string> names, relations;
  for (const auto& t : s.tables) {
    check_name(t.name, "table name");
    check_name(t.server_name, "table server name");
    ES_FUZZ_CHECK(names.insert(lower(t.name)).second,
                  "table \"" + t.name + "\" twice (case-insensitively)");
    ES_FUZZ_CHECK(relations.insert(t.server_name.substr(0, 63)).second,
                  "PostgreSQL relation \"" + t.server_name + "\" twice");
    std::string index = (t.server_name + "__es_pull").substr(0, 63);
    ES_FUZZ_CHECK(relations.insert(index).second,
                  "PostgreSQL relation \"" + index + "\" (an index) twice");
    ES_FUZZ_CHECK(!t.columns.empty() && !t.primary_key.empty(),
                  "table " + t.name + " has columns and a key");
    ES_FUZZ_CHECK(t.owner < t.columns.size(), "owner index in range");
    if (t.owner >= t.columns.size()) return;
    std::set<std::string> cols, server_cols;
    for (const auto& c : t.columns) {
      check_name(c.name, "column name");
      check_name(c.server_name, "column server name");
      ES_FUZZ_CHECK(cols.insert(lower(c.name)).second,
                    "column \"" + c.name + "\" twice in " + t.name);
      ES_FUZZ_CHECK(
          server_cols.insert(c.server_name).second,
          "server column \"" + c.server_name + "\" twice in " + t.name);
    }
    for (std::size_t k : t.primary_key) {
      ES_FUZZ_CHECK(k < t.columns.size(), "key index in range");
      if (k >= t.columns.size()) return;
      ES_FUZZ_CHECK(t.columns[k].type == column_type::text ||
                        t.columns[k].type == column_type::integer,
                    "key column type");
      ES_FUZZ_CHECK(k != t.owner, "the owner column \"" + t.columns[k].name +
                                      "\" is part of the key of " + t.name);
    }
    ES_FUZZ_CHECK(t.columns[t.owner].type == column_type::text,
                  "owner column type");
  }
}

// Every statement the client core prepares for `s` compiles on `d`.
void check_client_sql(db& d, const edgesync::schema& s,
                      const std::string& when) {
  namespace detail = edgesync::client::detail;
  auto compiles = [&](const std::string& sql, const std::string& what) {
    std::string err = d.prepare(sql);
    ES_FUZZ_CHECK(err.empty(), when + ": " + what + " does not compile (" +
                                   err + "): " + excerpt(sql, 400));
  };
  compiles(detail::load_sql(), "load");
  compiles(detail::read_outbox_sql(), "read_outbox");
  compiles(detail::rebase_outbox_sql(), "rebase_outbox");
  compiles(detail::record_own_versions_sql(), "record_own_versions");
  compiles(detail::base_results_sql(), "base_results");
  compiles(detail::reconcile_versions_sql(), "reconcile_versions");
  compiles(detail::drop_ended_bases_sql(), "drop_ended_bases");
  std::vector<detail::table_reconcile_sql> reconcile;
  for (const auto& t : s.tables) {
    for (bool deletes : {false, true}) {
      auto p = detail::pulled_sql(t, false, deletes);
      compiles(p.upsert, t.name + " pulled upsert");
      compiles(p.remove, t.name + " pulled remove");
      compiles(p.record, t.name + " pulled record");
      compiles(p.base, t.name + " pulled base");
    }
    compiles(detail::pulled_record_sql(t, false), t.name + " pulled record");
    reconcile.push_back(detail::reconcile_sql(t));
    compiles(reconcile.back().restore, t.name + " reconcile restore");
    compiles(reconcile.back().remove, t.name + " reconcile remove");
  }
  compiles(detail::reconciled_rows_sql(reconcile), "reconciled_rows");
}

}  // namespace

ES_FUZZ_TARGET(schema_codegen) {
  std::string_view text = edgesync::fuzz::as_text(data, size);
  auto parsed = edgesync::parse_schema(text);
  if (!parsed) {
    ES_FUZZ_CHECK(!parsed.errors().empty(), "refused without an error");
    for (const auto& e : parsed.errors())
      ES_FUZZ_CHECK(e.code == edgesync::error_code::invalid_json ||
                        e.code == edgesync::error_code::invalid_schema,
                    "error code of " + e.to_string());
    return 0;
  }
  const edgesync::schema& s = parsed.value();
  check_structure(s);

  std::string sqlite = edgesync::sqlite_ddl(s);
  std::string pg = edgesync::pg_ddl(s);
  ES_FUZZ_CHECK(!sqlite.empty() && !pg.empty(), "an accepted schema has DDL");
  ES_FUZZ_CHECK(sqlite == edgesync::sqlite_ddl(s) && pg == edgesync::pg_ddl(s),
                "DDL is deterministic");

  if (first_time(sqlite)) {
    db& d = fresh_db();
    std::string err = d.exec(sqlite);
    ES_FUZZ_CHECK(err.empty(), "the SQLite DDL fails (" + err +
                                   ") for schema " + excerpt(text, 400));
    if (!err.empty()) return 0;
    err = d.exec(sqlite);
    ES_FUZZ_CHECK(err.empty(), "the SQLite DDL is not idempotent: " + err);
    check_client_sql(d, s, "fresh DDL");

    // The same schema one version up: an empty, additive migration.
    edgesync::schema next = s;
    next.version = s.version + 1;
    auto sm = edgesync::sqlite_migration(s, next);
    auto pm = edgesync::pg_migration(s, next);
    ES_FUZZ_CHECK(sm.ok() && pm.ok(),
                  "a version bump alone is not an additive migration");
    if (sm) {
      err = d.exec(sm.value());
      ES_FUZZ_CHECK(err.empty(), "the version-bump migration fails: " + err);
    }
  }

  // From the test schema to this one.
  static const edgesync::schema& v1 = edgesync::fuzz::test_schema();
  auto sm = edgesync::sqlite_migration(v1, s);
  auto pm = edgesync::pg_migration(v1, s);
  ES_FUZZ_CHECK(sm.ok() == pm.ok(),
                "the dialects disagree on migrating from the test schema");
  if (sm && first_time(sm.value() + '\0' + sqlite)) {
    static const std::string v1_ddl = edgesync::sqlite_ddl(v1);
    db& d = fresh_db();
    std::string err = d.exec(v1_ddl);
    ES_FUZZ_CHECK(err.empty(), "the test schema's DDL fails: " + err);
    err = d.exec(sm.value());
    ES_FUZZ_CHECK(err.empty(), "the migration from the test schema fails (" +
                                   err + "): " + excerpt(sm.value(), 400));
    if (err.empty()) check_client_sql(d, s, "after the migration");
  } else if (!sm) {
    for (const auto& e : sm.errors())
      ES_FUZZ_CHECK(e.code == edgesync::error_code::destructive_migration,
                    "migration error code of " + e.to_string());
  }
  return 0;
}
