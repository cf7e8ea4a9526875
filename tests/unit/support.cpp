#include "support.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "sql/ddl.h"

namespace edgesync::testing {

namespace {
std::string repo_path(const std::string& rel) {
  const char* root = std::getenv("ES_SOURCE_DIR");
  return std::string(root ? root : ES_SOURCE_DIR_FALLBACK) + "/" + rel;
}
}  // namespace

std::string read_repo_file(const std::string& rel) {
  std::ifstream f(repo_path(rel), std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void write_repo_file(const std::string& rel, const std::string& text) {
  std::ofstream f(repo_path(rel), std::ios::binary);
  f << text;
}

bool update_golden() {
  const char* v = std::getenv("UPDATE_GOLDEN");
  return v != nullptr && std::string(v) == "1";
}

namespace {
// edgesync_now_ms(): the clock of the connection's VFS in Unix ms, so a test
// VFS with a virtual clock (client_sim) drives the triggers' HLC too.
void now_ms(sqlite3_context* ctx, int, sqlite3_value**) {
  constexpr sqlite3_int64 unix_epoch_julian_ms = 210866760000000;
  auto* vfs = static_cast<sqlite3_vfs*>(sqlite3_user_data(ctx));
  sqlite3_int64 t = 0;
  if (vfs->iVersion >= 2 && vfs->xCurrentTimeInt64) {
    vfs->xCurrentTimeInt64(vfs, &t);
  } else {
    double d = 0;
    vfs->xCurrentTime(vfs, &d);
    t = static_cast<sqlite3_int64>(d * 86400000.0);
  }
  sqlite3_result_int64(ctx, t - unix_epoch_julian_ms);
}
}  // namespace

sqlite_db::sqlite_db(const char* vfs) {
  sqlite3_open_v2(":memory:", &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                  vfs);
  sqlite3_create_function(db_, sqlite_now_function, 0,
                          SQLITE_UTF8 | SQLITE_INNOCUOUS, sqlite3_vfs_find(vfs),
                          now_ms, nullptr, nullptr);
}
sqlite_db::~sqlite_db() { sqlite3_close(db_); }

std::string sqlite_db::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return msg;
  }
  return "";
}

std::vector<std::vector<std::string>> sqlite_db::query(const std::string& sql) {
  std::vector<std::vector<std::string>> rows;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
    return {{std::string("ERROR: ") + sqlite3_errmsg(db_)}};
  while (sqlite3_step(st) == SQLITE_ROW) {
    std::vector<std::string> row;
    for (int i = 0; i < sqlite3_column_count(st); ++i) {
      const unsigned char* t = sqlite3_column_text(st, i);
      row.emplace_back(t ? reinterpret_cast<const char*>(t) : "<null>");
    }
    rows.push_back(std::move(row));
  }
  sqlite3_finalize(st);
  return rows;
}

std::string sqlite_db::value(const std::string& sql) {
  auto rows = query(sql);
  return rows.empty() || rows[0].empty() ? "" : rows[0][0];
}

}  // namespace edgesync::testing
