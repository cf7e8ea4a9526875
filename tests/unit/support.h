// Helpers for the GoogleTest suites: fixture files and a tiny SQLite wrapper.
#pragma once

#include <sqlite3.h>

#include <string>
#include <vector>

namespace edgesync::testing {

/// Reads a file relative to the repository root.
std::string read_repo_file(const std::string& rel);
/// Writes a file relative to the repository root (golden updates).
void write_repo_file(const std::string& rel, const std::string& text);
/// True when UPDATE_GOLDEN=1: golden files are rewritten, not compared.
bool update_golden();

/// An in-memory SQLite database for executing generated SQL.
class sqlite_db {
 public:
  /// Opens an in-memory database, through the named VFS when given.
  explicit sqlite_db(const char* vfs = nullptr);
  ~sqlite_db();
  sqlite_db(const sqlite_db&) = delete;
  sqlite_db& operator=(const sqlite_db&) = delete;

  /// Runs one or more statements; returns the error message or "".
  std::string exec(const std::string& sql);
  /// Runs a query and returns rows of text cells (NULL as "<null>").
  std::vector<std::vector<std::string>> query(const std::string& sql);
  /// The first cell of the first row ("" when none).
  std::string value(const std::string& sql);
  /// The raw connection, for tests that bind parameters themselves.
  sqlite3* handle() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace edgesync::testing
