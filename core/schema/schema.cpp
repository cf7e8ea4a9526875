#include "schema/schema.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <set>

#include "common/json_util.h"
#include "sql/ddl.h"

namespace edgesync {

const char* to_string(error_code code) {
  switch (code) {
    case error_code::ok:
      return "ok";
    case error_code::invalid_json:
      return "invalid_json";
    case error_code::invalid_schema:
      return "invalid_schema";
    case error_code::invalid_request:
      return "invalid_request";
    case error_code::unknown_table:
      return "unknown_table";
    case error_code::unknown_column:
      return "unknown_column";
    case error_code::type_mismatch:
      return "type_mismatch";
    case error_code::value_out_of_range:
      return "value_out_of_range";
    case error_code::missing_primary_key:
      return "missing_primary_key";
    case error_code::duplicate_row:
      return "duplicate_row";
    case error_code::schema_version_mismatch:
      return "schema_version_mismatch";
    case error_code::destructive_migration:
      return "destructive_migration";
    case error_code::payload_too_large:
      return "payload_too_large";
    case error_code::client_id_conflict:
      return "client_id_conflict";
    case error_code::unauthorized:
      return "unauthorized";
    case error_code::internal:
      return "internal";
    case error_code::unavailable:
      return "unavailable";
  }
  return "internal";
}

std::string error::to_string() const {
  return path.empty() ? message : path + ": " + message;
}

namespace {

constexpr std::array<std::pair<const char*, column_type>, 7> kTypes{{
    {"text", column_type::text},
    {"integer", column_type::integer},
    {"real", column_type::real},
    {"boolean", column_type::boolean},
    {"timestamp", column_type::timestamp},
    {"json", column_type::json_doc},
    {"blob_ref", column_type::blob_ref},
}};

constexpr std::array<std::pair<const char*, conflict_policy>, 5> kPolicies{{
    {"lww", conflict_policy::lww},
    {"lww-field", conflict_policy::lww_field},
    {"server-wins", conflict_policy::server_wins},
    {"client-wins", conflict_policy::client_wins},
    {"reject-stale", conflict_policy::reject_stale},
}};

// PostgreSQL functions take at most 100 arguments; json_build_object needs 2
// per column.
constexpr std::size_t kMaxColumns = 48;

// SQLite compares names case-insensitively, so every name rule does too.
std::string lowercase(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return lower;
}

// Prefixes owned by edgesync's own tables and columns on either side.
bool is_reserved(std::string_view name) {
  std::string lower = lowercase(name);
  return lower.rfind("sync_", 0) == 0 || lower.rfind("edgesync", 0) == 0 ||
         lower.rfind("_es", 0) == 0 || lower.rfind("sqlite_", 0) == 0 ||
         lower.rfind("pg_", 0) == 0;
}
constexpr const char* kReservedPrefixes =
    "sync_, edgesync, _es, sqlite_, pg_; compared case-insensitively";

// PostgreSQL's system columns: CREATE TABLE refuses a column of that name.
bool is_pg_system_column(std::string_view name) {
  std::string lower = lowercase(name);
  for (const char* sys : {"tableoid", "xmin", "cmin", "xmax", "cmax", "ctid"})
    if (lower == sys) return true;
  return false;
}

// The longest server table name whose pull index name (the name plus
// pg_names::pull_index_suffix) PostgreSQL keeps whole: it truncates longer
// identifiers to 63 bytes, and `CREATE INDEX IF NOT EXISTS` of a truncated
// name can silently match another object.
constexpr std::size_t kMaxServerTableName =
    63 - std::char_traits<char>::length(pg_names::pull_index_suffix);

// Collects errors while walking the document so all are reported at once.
class checker {
 public:
  std::vector<error> errors;

  void fail(std::string path, std::string message) {
    errors.push_back(
        {error_code::invalid_schema, std::move(path), std::move(message)});
  }

  // Rejects keys outside `allowed` so typos ("primaryKeys") are caught.
  void only_keys(const json& obj, const std::string& path,
                 std::initializer_list<const char*> allowed) {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      const std::string& k = it.key();
      bool ok = std::any_of(allowed.begin(), allowed.end(),
                            [&](const char* a) { return k == a; });
      if (!ok) fail(path_key(path, k), "unknown key \"" + k + "\"");
    }
  }

  // Reads a required or optional identifier; returns "" on error.
  std::string ident(const json& obj, const std::string& path, const char* key,
                    bool required) {
    auto it = obj.find(key);
    std::string p = path_key(path, key);
    if (it == obj.end()) {
      if (required) fail(p, "is required");
      return "";
    }
    if (!it->is_string()) {
      fail(p, std::string("expected a string, got ") + json_kind(*it));
      return "";
    }
    const auto& s = it->get_ref<const std::string&>();
    if (!is_valid_identifier(s)) {
      fail(p, "\"" + s +
                  "\" is not a valid identifier (letters, digits and _, "
                  "not starting with a digit, at most 63 characters)");
      return "";
    }
    if (is_reserved(s)) {
      fail(p,
           "\"" + s + "\" uses a reserved prefix (" + kReservedPrefixes + ")");
      return "";
    }
    return s;
  }

  // The server name of a table or column: `serverName` when given (checked
  // by ident), else derived from the client name — and then checked here
  // with the same rules, the error at the client name's path.
  std::string server_name(const json& obj, const std::string& path,
                          const std::string& client_name) {
    std::string given = ident(obj, path, "serverName", false);
    if (!given.empty() || client_name.empty() || obj.contains("serverName"))
      return given;
    std::string derived = to_snake_case(client_name);
    std::string p = path_key(path, "name");
    std::string why;
    if (!is_valid_identifier(derived))
      why = "is longer than 63 characters";
    else if (is_reserved(derived))
      why = std::string("uses a reserved prefix (") + kReservedPrefixes + ")";
    if (!why.empty()) {
      fail(p, "the server name \"" + derived + "\" derived from \"" +
                  client_name + "\" " + why +
                  "; rename it or set \"serverName\"");
      return "";
    }
    return derived;
  }

  // Where a server name's error points: `serverName` when given, else the
  // client name it was derived from.
  static std::string server_name_path(const json& obj,
                                      const std::string& path) {
    return path_key(path, obj.contains("serverName") ? "serverName" : "name");
  }

  column parse_column(const json& c, const std::string& path) {
    column col;
    if (!c.is_object()) {
      fail(path, std::string("expected an object, got ") + json_kind(c));
      return col;
    }
    only_keys(
        c, path,
        {"name", "serverName", "type", "nullable", "media", "description"});
    col.name = ident(c, path, "name", true);
    col.server_name = server_name(c, path, col.name);
    if (is_pg_system_column(col.server_name)) {
      fail(server_name_path(c, path),
           "the server column \"" + col.server_name +
               "\" is a PostgreSQL system column name; rename it or set "
               "\"serverName\"");
      col.server_name.clear();
    }
    auto t = c.find("type");
    if (t == c.end()) {
      fail(path_key(path, "type"), "is required");
    } else if (!t->is_string()) {
      fail(path_key(path, "type"),
           std::string("expected a string, got ") + json_kind(*t));
    } else {
      const auto& s = t->get_ref<const std::string&>();
      auto it = std::find_if(kTypes.begin(), kTypes.end(),
                             [&](const auto& p) { return s == p.first; });
      if (it == kTypes.end()) {
        fail(path_key(path, "type"),
             "unknown type \"" + s +
                 "\" (expected text, integer, real, boolean, timestamp, json "
                 "or blob_ref)");
      } else {
        col.type = it->second;
      }
    }
    if (auto n = c.find("nullable"); n != c.end()) {
      if (!n->is_boolean())
        fail(path_key(path, "nullable"),
             std::string("expected a boolean, got ") + json_kind(*n));
      else
        col.nullable = n->get<bool>();
    }
    if (auto m = c.find("media"); m != c.end()) {
      std::string mp = path_key(path, "media");
      if (col.type != column_type::blob_ref)
        fail(mp, std::string("only a blob_ref column takes \"media\" (this "
                             "one is ") +
                     to_string(col.type) + ")");
      else
        col.media = parse_media(*m, mp);
    }
    return col;
  }

  // `media`: {"maxBytes": <1..kMaxMediaBytes>, "mime": ["type/subtype", ..]}.
  media_limits parse_media(const json& m, const std::string& path) {
    media_limits out;
    if (!m.is_object()) {
      fail(path, std::string("expected {\"maxBytes\": <bytes>, \"mime\": "
                             "[<types>]}, got ") +
                     json_kind(m));
      return out;
    }
    only_keys(m, path, {"maxBytes", "mime"});
    std::string bp = path_key(path, "maxBytes");
    auto b = m.find("maxBytes");
    if (b == m.end())
      fail(bp, "is required: the largest file accepted, in bytes");
    else if (!b->is_number_integer() || b->get<std::int64_t>() < 1 ||
             b->get<std::int64_t>() > kMaxMediaBytes)
      fail(bp, "expected an integer from 1 to " +
                   std::to_string(kMaxMediaBytes) + " (bytes)");
    else
      out.max_bytes = b->get<std::int64_t>();
    std::string tp = path_key(path, "mime");
    auto t = m.find("mime");
    if (t == m.end()) {
      fail(tp, "is required: the MIME types accepted, e.g. [\"image/png\"]");
    } else if (!t->is_array() || t->empty()) {
      fail(tp, "expected a non-empty array of MIME types");
    } else {
      for (std::size_t i = 0; i < t->size(); ++i) {
        std::string ip = path_index(tp, i);
        const json& v = (*t)[i];
        if (!v.is_string() || !is_mime_type(v.get_ref<const std::string&>())) {
          fail(ip,
               "expected a lowercase MIME type \"type/subtype\" without "
               "parameters or wildcards, e.g. \"image/png\"");
          continue;
        }
        const auto& s = v.get_ref<const std::string&>();
        if (std::find(out.mime.begin(), out.mime.end(), s) != out.mime.end())
          fail(ip, "\"" + s + "\" is listed twice");
        else
          out.mime.push_back(s);
      }
    }
    return out;
  }

  // Resolves a column reference by client name; -1 (and an error) if absent.
  int column_ref(const table& t, const json& v, const std::string& path) {
    if (!v.is_string()) {
      fail(path, std::string("expected a column name, got ") + json_kind(v));
      return -1;
    }
    int i = t.column_index(v.get_ref<const std::string&>());
    if (i < 0)
      fail(path, "no column named \"" + v.get<std::string>() + "\" in table");
    return i;
  }

  table parse_table(const json& tj, const std::string& path) {
    table t;
    if (!tj.is_object()) {
      fail(path, std::string("expected an object, got ") + json_kind(tj));
      return t;
    }
    only_keys(tj, path,
              {"name", "serverName", "columns", "primaryKey", "owner",
               "conflict", "scope", "description"});
    t.name = ident(tj, path, "name", true);
    t.server_name = server_name(tj, path, t.name);
    if (t.server_name.size() > kMaxServerTableName) {
      fail(server_name_path(tj, path),
           "the server table name \"" + t.server_name + "\" has " +
               std::to_string(t.server_name.size()) + " characters; at most " +
               std::to_string(kMaxServerTableName) +
               " fit, because its index \"" + t.server_name +
               pg_names::pull_index_suffix +
               "\" must stay within PostgreSQL's 63-byte names");
      t.server_name.clear();
    } else if (t.server_name.find("__es_") != std::string::npos) {
      fail(server_name_path(tj, path),
           "\"" + t.server_name +
               "\" contains \"__es_\", reserved for the names of edgesync's "
               "indexes");
      t.server_name.clear();
    }

    auto cols = tj.find("columns");
    std::string cpath = path_key(path, "columns");
    if (cols == tj.end()) {
      fail(cpath, "is required");
    } else if (!cols->is_array() || cols->empty()) {
      fail(cpath, "expected a non-empty array of columns");
    } else if (cols->size() > kMaxColumns) {
      // SQLite json_object() and PostgreSQL json_build_object() cap arguments.
      fail(cpath, "at most " + std::to_string(kMaxColumns) +
                      " columns per table are supported");
    } else {
      std::set<std::string> names, server_names;  // lowercase
      for (std::size_t i = 0; i < cols->size(); ++i) {
        std::string p = path_index(cpath, i);
        column col = parse_column((*cols)[i], p);
        if (!col.name.empty() && !names.insert(lowercase(col.name)).second)
          fail(path_key(p, "name"),
               "duplicate column \"" + col.name +
                   "\" (names are compared case-insensitively, as SQLite "
                   "does)");
        else if (!col.server_name.empty() &&
                 !server_names.insert(lowercase(col.server_name)).second)
          fail(server_name_path((*cols)[i], p),
               "duplicate server column \"" + col.server_name + "\"");
        t.columns.push_back(std::move(col));
      }
    }

    std::string pkpath = path_key(path, "primaryKey");
    auto pk = tj.find("primaryKey");
    if (pk == tj.end()) {
      fail(pkpath, "is required");
    } else if (pk->is_string()) {
      if (int i = column_ref(t, *pk, pkpath); i >= 0)
        t.primary_key.push_back(i);
    } else if (pk->is_array() && !pk->empty()) {
      for (std::size_t i = 0; i < pk->size(); ++i) {
        int ci = column_ref(t, (*pk)[i], path_index(pkpath, i));
        if (ci < 0) continue;
        if (t.is_pk(ci))
          fail(path_index(pkpath, i), "column listed twice in the key");
        else
          t.primary_key.push_back(ci);
      }
    } else {
      fail(pkpath, "expected a column name or a non-empty array of them");
    }
    for (std::size_t k = 0; k < t.primary_key.size(); ++k) {
      column& c = t.columns[t.primary_key[k]];
      if (c.type != column_type::text && c.type != column_type::integer)
        fail(pkpath, "key column \"" + c.name + "\" must be text or integer");
      c.nullable = false;
    }

    std::string opath = path_key(path, "owner");
    auto owner = tj.find("owner");
    if (owner == tj.end()) {
      fail(opath,
           "is required: name the column holding the owning user's id "
           "(set by the server from the token)");
    } else if (int i = column_ref(t, *owner, opath); i >= 0) {
      t.owner = static_cast<std::size_t>(i);
      if (t.columns[t.owner].type != column_type::text)
        fail(opath, "owner column must have type text");
      if (t.is_pk(t.owner))
        fail(opath,
             "the owner column cannot be part of the primary key: the server "
             "sets it from the token, so a client could not name the row");
      t.columns[t.owner].nullable = false;
    }

    if (auto c = tj.find("conflict"); c != tj.end()) {
      std::string p = path_key(path, "conflict");
      if (!c->is_string()) {
        fail(p, std::string("expected a string, got ") + json_kind(*c));
      } else {
        const auto& s = c->get_ref<const std::string&>();
        auto it = std::find_if(kPolicies.begin(), kPolicies.end(),
                               [&](const auto& q) { return s == q.first; });
        if (it == kPolicies.end())
          fail(p, "unknown conflict policy \"" + s +
                      "\" (expected lww, lww-field, server-wins, client-wins "
                      "or reject-stale)");
        else
          t.policy = it->second;
      }
    }
    return t;
  }

  // A column of `t` named by `key` of `obj` (a string); -1 and an error when
  // missing or unknown.
  int named_column(const table& t, const json& obj, const std::string& path,
                   const char* key) {
    auto it = obj.find(key);
    if (it == obj.end()) {
      fail(path_key(path, key), "is required");
      return -1;
    }
    return column_ref(t, *it, path_key(path, key));
  }

  // The table with client name `v`, or -1 (and an error).
  int table_ref(const schema& s, const json& v, const std::string& path) {
    if (!v.is_string()) {
      fail(path, std::string("expected a table name, got ") + json_kind(v));
      return -1;
    }
    int i = s.table_index(v.get_ref<const std::string&>());
    if (i < 0) fail(path, "no table named \"" + v.get<std::string>() + "\"");
    return i;
  }

  // Marks table `ti` as belonging to scope `si` through column `col`; a
  // table belongs to at most one scope.
  void join_scope(schema& s, std::size_t ti, std::size_t si, access_kind kind,
                  int col, const std::string& path) {
    table& t = s.tables[ti];
    if (t.scope >= 0) {
      fail(path, "table \"" + t.name + "\" already belongs to scope \"" +
                     s.scopes[t.scope].name + "\"");
      return;
    }
    t.scope = static_cast<int>(si);
    t.access = kind;
    if (col < 0) return;
    t.scope_column = static_cast<std::size_t>(col);
    column& c = t.columns[t.scope_column];
    if (c.type != column_type::text && c.type != column_type::integer)
      fail(path, "scope column \"" + c.name + "\" must be text or integer");
    if (static_cast<std::size_t>(col) == t.owner)
      fail(path, "the scope column cannot be the owner column");
    c.nullable = false;
  }

  // `scopes`: [{name, root, members: {table, scope, user, role}}].
  void parse_scopes(schema& s, const json& list) {
    if (!list.is_array()) {
      fail("scopes", std::string("expected an array, got ") + json_kind(list));
      return;
    }
    for (std::size_t i = 0; i < list.size(); ++i) {
      std::string p = path_index("scopes", i);
      const json& sj = list[i];
      if (!sj.is_object()) {
        fail(p, std::string("expected an object, got ") + json_kind(sj));
        continue;
      }
      only_keys(sj, p, {"name", "root", "members", "description"});
      scope_def d;
      d.name = ident(sj, p, "name", true);
      for (const auto& other : s.scopes)
        if (!d.name.empty() && other.name == d.name)
          fail(path_key(p, "name"), "duplicate scope \"" + d.name + "\"");
      std::size_t si = s.scopes.size();
      int root = -1;
      if (auto r = sj.find("root"); r == sj.end())
        fail(path_key(p, "root"),
             "is required: the table of the scope's own rows");
      else
        root = table_ref(s, *r, path_key(p, "root"));
      if (root >= 0) {
        table& rt = s.tables[root];
        if (rt.primary_key.size() != 1)
          fail(path_key(p, "root"),
               "the root table needs a one-column primary key: it is the "
               "scope key");
        else
          join_scope(s, root, si, access_kind::root,
                     static_cast<int>(rt.primary_key[0]), path_key(p, "root"));
        d.root = static_cast<std::size_t>(root);
      }
      std::string mp = path_key(p, "members");
      auto m = sj.find("members");
      if (m == sj.end() || !m->is_object()) {
        fail(mp,
             "expected {\"table\", \"scope\", \"user\", \"role\"}: the "
             "membership table and its columns");
        s.scopes.push_back(std::move(d));
        continue;
      }
      only_keys(*m, mp, {"table", "scope", "user", "role"});
      int mi = -1;
      if (auto mt = m->find("table"); mt == m->end())
        fail(path_key(mp, "table"), "is required");
      else
        mi = table_ref(s, *mt, path_key(mp, "table"));
      if (mi >= 0 && mi == root) {
        fail(path_key(mp, "table"), "must differ from the root table");
        mi = -1;
      }
      // A batch is merged table by table in schema order: a new scope's
      // root row (and with it its creator's membership) must be written
      // before the batch's other rows of that scope are checked.
      if (mi >= 0 && root >= 0 && mi < root)
        fail(path_key(mp, "table"),
             "the membership table must come after the root table in "
             "\"tables\" (a batch is merged in table order)");
      if (mi >= 0) {
        table& mt = s.tables[mi];
        int sc = named_column(mt, *m, mp, "scope");
        int uc = named_column(mt, *m, mp, "user");
        int rc = named_column(mt, *m, mp, "role");
        d.members = static_cast<std::size_t>(mi);
        if (sc >= 0 && uc >= 0 && rc >= 0) {
          join_scope(s, mi, si, access_kind::members, sc, mp);
          d.member_user = static_cast<std::size_t>(uc);
          d.member_role = static_cast<std::size_t>(rc);
          std::vector<std::size_t> key = mt.primary_key;
          std::sort(key.begin(), key.end());
          std::vector<std::size_t> want = {static_cast<std::size_t>(sc),
                                           static_cast<std::size_t>(uc)};
          std::sort(want.begin(), want.end());
          if (key != want)
            fail(path_key(mp, "table"),
                 "the membership table's primary key must be exactly its "
                 "scope and user columns");
          if (mt.columns[uc].type != column_type::text)
            fail(path_key(mp, "user"), "the user column must have type text");
          if (mt.columns[rc].type != column_type::text || mt.is_pk(rc))
            fail(path_key(mp, "role"),
                 "the role column must be a text column outside the key");
          mt.columns[rc].nullable = false;
          // The creator of a scope is made its admin by a generated insert
          // that names only these columns.
          for (std::size_t ci = 0; ci < mt.columns.size(); ++ci)
            if (!mt.columns[ci].nullable && !mt.is_pk(ci) &&
                ci != static_cast<std::size_t>(rc) && ci != mt.owner)
              fail(path_index(path_key(path_index("tables", mi), "columns"),
                              ci) +
                       ".nullable",
                   "columns of a membership table other than its key, role "
                   "and owner must be nullable");
          if (root >= 0 &&
              s.tables[root].columns[s.tables[root].primary_key[0]].type !=
                  mt.columns[sc].type)
            fail(path_key(mp, "scope"),
                 "must have the type of the root table's key");
        }
      }
      s.scopes.push_back(std::move(d));
    }
  }

  // A table's `scope`: {"name": <scope>, "column": <its scope column>}.
  void parse_table_scope(schema& s, std::size_t ti, const json& v,
                         const std::string& path) {
    if (!v.is_object()) {
      fail(path, "expected {\"name\": <scope>, \"column\": <column>}");
      return;
    }
    only_keys(v, path, {"name", "column"});
    auto n = v.find("name");
    if (n == v.end() || !n->is_string()) {
      fail(path_key(path, "name"), "expected the name of a declared scope");
      return;
    }
    auto it = std::find_if(s.scopes.begin(), s.scopes.end(),
                           [&](const scope_def& d) { return d.name == *n; });
    if (it == s.scopes.end()) {
      fail(path_key(path, "name"),
           "no scope named \"" + n->get<std::string>() + "\" in \"scopes\"");
      return;
    }
    auto si = static_cast<std::size_t>(it - s.scopes.begin());
    int col = named_column(s.tables[ti], v, path, "column");
    if (col < 0) return;
    if (ti < it->members || ti < it->root)
      fail(path_key(path, "name"),
           "a table of a scope must come after the scope's root and "
           "membership tables in \"tables\" (a batch is merged in table "
           "order)");
    join_scope(s, ti, si, access_kind::scoped, col, path_key(path, "column"));
    const table& rt = s.tables[it->root];
    if (!rt.primary_key.empty() &&
        rt.columns[rt.primary_key[0]].type != s.tables[ti].columns[col].type)
      fail(path_key(path, "column"),
           "must have the type of the root table's key");
  }
};

}  // namespace

bool is_mime_type(std::string_view s) {
  // RFC 6838 restricted names, lowercase: type "/" subtype, each 1-127 of
  // [a-z0-9] then [a-z0-9!#$&^_.+-].
  auto part = [](std::string_view p) {
    if (p.empty() || p.size() > 127) return false;
    auto c0 = static_cast<unsigned char>(p[0]);
    if (!(std::islower(c0) || std::isdigit(c0))) return false;
    return std::all_of(p.begin(), p.end(), [](char ch) {
      auto c = static_cast<unsigned char>(ch);
      return std::islower(c) || std::isdigit(c) ||
             std::string_view("!#$&^_.+-").find(ch) != std::string_view::npos;
    });
  };
  auto slash = s.find('/');
  return slash != std::string_view::npos && part(s.substr(0, slash)) &&
         part(s.substr(slash + 1));
}

const char* to_string(column_type t) {
  for (const auto& [name, v] : kTypes)
    if (v == t) return name;
  return "text";
}

const char* to_string(conflict_policy p) {
  for (const auto& [name, v] : kPolicies)
    if (v == p) return name;
  return "lww";
}

result<schema> parse_schema(std::string_view json_text) {
  auto parsed = parse_json(json_text);
  if (!parsed) return parsed.errors();
  const json& root = parsed.value();
  checker ck;
  schema s;
  if (!root.is_object()) {
    ck.fail("", std::string("schema must be a JSON object, got ") +
                    json_kind(root));
    return ck.errors;
  }
  ck.only_keys(root, "",
               {"$schema", "version", "tables", "scopes", "description"});
  auto v = root.find("version");
  if (v == root.end()) {
    ck.fail("version", "is required (an integer >= 1)");
  } else if (!v->is_number_integer() || v->get<std::int64_t>() < 1) {
    ck.fail("version", "expected an integer >= 1");
  } else {
    s.version = v->get<std::int64_t>();
  }
  auto tables = root.find("tables");
  if (tables == root.end()) {
    ck.fail("tables", "is required");
  } else if (!tables->is_array() || tables->empty()) {
    ck.fail("tables", "expected a non-empty array of tables");
  } else {
    std::set<std::string> names, server_names;  // lowercase
    for (std::size_t i = 0; i < tables->size(); ++i) {
      std::string p = path_index("tables", i);
      table t = ck.parse_table((*tables)[i], p);
      if (!t.name.empty() && !names.insert(lowercase(t.name)).second)
        ck.fail(path_key(p, "name"),
                "duplicate table \"" + t.name +
                    "\" (names are compared case-insensitively, as SQLite "
                    "does)");
      else if (!t.server_name.empty() &&
               !server_names.insert(lowercase(t.server_name)).second)
        ck.fail(checker::server_name_path((*tables)[i], p),
                "duplicate server table \"" + t.server_name + "\"");
      s.tables.push_back(std::move(t));
    }
    // PostgreSQL names a table's primary key index "<table>_pkey"; a table
    // of that name would collide with it (CREATE TABLE IF NOT EXISTS would
    // then silently skip the table).
    for (std::size_t i = 0; i < s.tables.size(); ++i)
      for (const table& other : s.tables)
        if (!other.server_name.empty() && !s.tables[i].server_name.empty() &&
            lowercase(s.tables[i].server_name) ==
                lowercase(other.server_name + "_pkey"))
          ck.fail(
              checker::server_name_path((*tables)[i], path_index("tables", i)),
              "\"" + s.tables[i].server_name + "\" is the name of table \"" +
                  other.server_name + "\"'s primary key index in PostgreSQL");
  }
  // Scopes refer to tables by name, so they are read once the tables are.
  if (ck.errors.empty()) {
    if (auto sc = root.find("scopes"); sc != root.end()) {
      ck.parse_scopes(s, *sc);
      for (std::size_t i = 0; i < s.tables.size(); ++i) {
        const json& tj = (*tables)[i];
        if (auto ts = tj.find("scope"); ts != tj.end())
          ck.parse_table_scope(s, i, *ts,
                               path_key(path_index("tables", i), "scope"));
      }
    } else {
      for (std::size_t i = 0; i < s.tables.size(); ++i)
        if ((*tables)[i].contains("scope"))
          ck.fail(path_key(path_index("tables", i), "scope"),
                  "names a scope, but the schema declares no \"scopes\"");
    }
  }
  if (!ck.errors.empty()) return ck.errors;
  return s;
}

std::string to_snake_case(std::string_view name) {
  std::string out;
  for (std::size_t i = 0; i < name.size(); ++i) {
    unsigned char c = name[i];
    if (std::isupper(c)) {
      bool prev_lower =
          i > 0 && (std::islower(static_cast<unsigned char>(name[i - 1])) ||
                    std::isdigit(static_cast<unsigned char>(name[i - 1])));
      bool next_lower = i + 1 < name.size() &&
                        std::islower(static_cast<unsigned char>(name[i + 1]));
      bool prev_upper =
          i > 0 && std::isupper(static_cast<unsigned char>(name[i - 1]));
      if (!out.empty() && out.back() != '_' &&
          (prev_lower || (prev_upper && next_lower)))
        out += '_';
      out += static_cast<char>(std::tolower(c));
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

bool is_valid_identifier(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  auto c0 = static_cast<unsigned char>(name[0]);
  if (!(std::isalpha(c0) || c0 == '_')) return false;
  return std::all_of(name.begin(), name.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return (c < 128 && std::isalnum(c)) || c == '_';
  });
}

std::string quote_ident(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string quote_literal(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

}  // namespace edgesync
