// The shared schema: one declarative description of the synced tables from
// which every SQL statement, validation rule and name mapping is derived.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "schema/access.h"

namespace edgesync {

/// Column types a schema may declare.
enum class column_type {
  text,       ///< UTF-8 string
  integer,    ///< 64-bit signed integer
  real,       ///< double
  boolean,    ///< true/false (SQLite stores 0/1)
  timestamp,  ///< ISO-8601 UTC string in JSON and SQLite; timestamptz in PG
  json_doc,   ///< a JSON document (SQLite TEXT, PostgreSQL jsonb)
  blob_ref,   ///< a reference (key/URL) to an object in blob storage
};

/// Per-table conflict policies, resolved on the server.
enum class conflict_policy {
  lww,           ///< last writer wins by row hybrid logical clock
  lww_field,     ///< last writer wins per column
  server_wins,   ///< a stale change (base version moved) is dropped
  client_wins,   ///< every change is applied
  reject_stale,  ///< a stale change is rejected and surfaced to the app
};

/// The schema spelling of a type ("text", "blob_ref", ...).
const char* to_string(column_type t);
/// The schema spelling of a policy ("lww", "lww-field", ...).
const char* to_string(conflict_policy p);

/// Upload limits of a `blob_ref` column that accepts files through the
/// host's media endpoints (docs/protocol.md, "Media"): `"media": {"maxBytes":
/// n, "mime": [..]}` in the schema.
struct media_limits {
  std::int64_t max_bytes = 0;  ///< the largest file, in bytes (>= 1)
  std::vector<std::string>
      mime;  ///< allowed MIME types ("image/png"), lowercase
};

/// The largest `maxBytes` a schema may declare (5 GiB, one S3 object part
/// limit; larger files need a multipart-to-storage backend).
inline constexpr std::int64_t kMaxMediaBytes = 5LL * 1024 * 1024 * 1024;

/// One synced column.
struct column {
  std::string name;         ///< client (camelCase) name
  std::string server_name;  ///< server (snake_case) name
  column_type type = column_type::text;
  bool nullable = true;  ///< false: inserts must carry a non-null value
  /// Upload limits (blob_ref columns only); absent: no uploads to it.
  std::optional<media_limits> media;
};

/// Index of the element of `items` whose `name` is `name`, or -1.
template <typename T>
int index_of_name(const std::vector<T>& items, std::string_view name) {
  for (std::size_t i = 0; i < items.size(); ++i)
    if (items[i].name == name) return static_cast<int>(i);
  return -1;
}

/// One synced table.
struct table {
  std::string name;         ///< client (camelCase) name
  std::string server_name;  ///< server (snake_case) name
  std::vector<column> columns;
  std::vector<std::size_t> primary_key;  ///< indexes into columns
  std::size_t owner = 0;                 ///< index of the owner column
  conflict_policy policy = conflict_policy::lww;
  /// How rows are authorized (schema/access.h); `owner` unless the table
  /// belongs to a scope.
  access_kind access = access_kind::owner;
  int scope = -1;                ///< index into schema::scopes, or -1
  std::size_t scope_column = 0;  ///< the column naming a row's scope

  // The lookups are inline: request validation runs them per field, and
  // the server module compiles the schema's parser for size.

  /// Index of the column with this client name, or -1.
  int column_index(std::string_view client_name) const {
    return index_of_name(columns, client_name);
  }
  /// The column with this client name, or nullptr.
  const column* find_column(std::string_view client_name) const {
    int i = column_index(client_name);
    return i < 0 ? nullptr : &columns[static_cast<std::size_t>(i)];
  }
  /// True when column i is part of the primary key.
  bool is_pk(std::size_t i) const {
    for (std::size_t k : primary_key)
      if (k == i) return true;
    return false;
  }
};

/// A scope (e.g. a project): its root table, whose key is the scope key,
/// and its membership table of (scope key, user, role) rows.
struct scope_def {
  std::string name;
  std::size_t root = 0;         ///< table index of the root table
  std::size_t members = 0;      ///< table index of the membership table
  std::size_t member_user = 0;  ///< column index of the member's user id
  std::size_t member_role = 0;  ///< column index of the member's role
};

/// A parsed, validated schema.
struct schema {
  std::int64_t version = 0;
  std::vector<table> tables;
  std::vector<scope_def> scopes;

  /// Index of the table with this client name, or -1.
  int table_index(std::string_view client_name) const {
    return index_of_name(tables, client_name);
  }
  /// The table with this client name, or nullptr.
  const table* find_table(std::string_view client_name) const {
    int i = table_index(client_name);
    return i < 0 ? nullptr : &tables[static_cast<std::size_t>(i)];
  }
};

/// Parses and validates a schema document; reports every error with its path.
result<schema> parse_schema(std::string_view json_text);

/// camelCase -> snake_case ("userId" -> "user_id", "HTTPCode" -> "http_code").
std::string to_snake_case(std::string_view name);

/// True for a lowercase MIME type "type/subtype" (RFC 6838 restricted names,
/// no parameters, no wildcards).
bool is_mime_type(std::string_view s);

/// True for a safe SQL identifier: [A-Za-z_][A-Za-z0-9_]{0,62}.
bool is_valid_identifier(std::string_view name);

/// Double-quotes an identifier (callers validate first; quotes are doubled).
std::string quote_ident(std::string_view name);

/// Single-quotes a SQL string literal, doubling embedded quotes.
std::string quote_literal(std::string_view text);

}  // namespace edgesync
