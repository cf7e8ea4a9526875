#include "sql/ddl.h"

#include <string_view>

#include "common/json_util.h"
#include "protocol/hlc.h"
#include "sql/pg_notify.h"
#include "sql/pg_triggers.h"

namespace edgesync {

const char* sqlite_type(column_type t) {
  switch (t) {
    case column_type::integer:
    case column_type::boolean:
      return "INTEGER";
    case column_type::real:
      return "REAL";
    default:
      return "TEXT";
  }
}

const char* pg_type(column_type t) {
  switch (t) {
    case column_type::text:
    case column_type::blob_ref:
      return "text";
    case column_type::integer:
      return "bigint";
    case column_type::real:
      return "double precision";
    case column_type::boolean:
      return "boolean";
    case column_type::timestamp:
      return "timestamptz";
    case column_type::json_doc:
      return "jsonb";
  }
  return "text";
}

namespace {

using std::string;

string q(std::string_view s) { return quote_ident(s); }
string lit(std::string_view s) { return quote_literal(s); }

// `"a", "b"` over the given column indexes, client or server names.
string column_list(const table& t, const std::vector<std::size_t>& idx,
                   bool server) {
  string out;
  for (std::size_t k = 0; k < idx.size(); ++k) {
    if (k) out += ", ";
    const column& c = t.columns[idx[k]];
    out += q(server ? c.server_name : c.name);
  }
  return out;
}

// --- SQLite -----------------------------------------------------------------

// The JSON value of one column of NEW/OLD, typed as the protocol expects.
string sqlite_json_value(const column& c, const char* rec) {
  string ref = string(rec) + "." + q(c.name);
  switch (c.type) {
    case column_type::boolean:
      return "CASE WHEN " + ref + " IS NULL THEN NULL WHEN " + ref +
             " THEN json('true') ELSE json('false') END";
    case column_type::json_doc:
      return "json(" + ref + ")";
    default:
      return ref;
  }
}

string sqlite_pk_json(const table& t, const char* rec) {
  string out = "json_array(";
  for (std::size_t k = 0; k < t.primary_key.size(); ++k) {
    if (k) out += ", ";
    out += string(rec) + "." + q(t.columns[t.primary_key[k]].name);
  }
  return out + ")";
}

string sqlite_row_json(const table& t, const char* rec) {
  string out = "json_object(";
  for (std::size_t i = 0; i < t.columns.size(); ++i) {
    if (i) out += ", ";
    out += lit(t.columns[i].name) + ", " + sqlite_json_value(t.columns[i], rec);
  }
  return out + ")";
}

// Advances the hybrid logical clock: max(physical, last) with a counter that
// rolls into the next millisecond rather than overflowing its digits. The
// host's clock function is read once per tick.
string sqlite_clock_tick() { return "  " + sqlite_tick_sql() + ";\n"; }

string sqlite_outbox_insert(const table& t, const char* op, const char* rec,
                            const string& row, const string& changed) {
  string pk = sqlite_pk_json(t, rec);
  return string("  INSERT INTO ") + q(sqlite_names::outbox) +
         " (tbl, pk, op, row, changed, hlc, base_version, created_at)\n"
         "    SELECT " +
         lit(t.name) + ", " + pk + ", '" + op + "', " + row + ", " + changed +
         ",\n      " + sqlite_format_hlc_sql() +
         ",\n      (SELECT version FROM " + q(sqlite_names::rows) +
         " WHERE tbl = " + lit(t.name) + " AND pk = " + pk + "),\n      " +
         sqlite_now_ms + "\n    FROM " + q(sqlite_names::clock) + ";\n";
}

string sqlite_guard() {
  return string("NOT EXISTS (SELECT 1 FROM ") + q(sqlite_names::guard) + ")";
}

string sqlite_pk_same(const table& t) {
  string out;
  for (std::size_t k = 0; k < t.primary_key.size(); ++k) {
    if (k) out += " AND ";
    const string& n = t.columns[t.primary_key[k]].name;
    out += "OLD." + q(n) + " IS NEW." + q(n);
  }
  return out;
}

// Keeps the server's truth for a row as its first local change is made:
// while a key has no outbox entries its local row is the server's row as
// last known (sync_rows has its version), so that row is copied to
// sync_base before the write's outbox row is queued. The client core
// reconciles the local row to sync_base whenever the key's queue ends
// (docs/client.md). `key` is the json_array of the key, `row` the row's JSON
// (or NULL). A first write that stores a row where none was needs no
// capture: the core gives such a key the base "no row" when its queue ends
// (implicit_bases_sql).
string sqlite_base_capture(const table& t, const string& key, const string& row,
                           const string& also = "") {
  // Explicit NOT EXISTS tests, not INSERT OR IGNORE: an app statement's own
  // conflict clause (INSERT OR REPLACE …) would override the trigger's.
  // `also` (a test of the trigger's record only) comes first: when it fails
  // the key is neither built nor looked up; then the outbox, which a key
  // edited again already has.
  return string("  INSERT INTO ") + q(sqlite_names::base) +
         " (tbl, pk, version, row)\n    SELECT " + lit(t.name) + ", " + key +
         ", (SELECT version FROM " + q(sqlite_names::rows) +
         " WHERE tbl = " + lit(t.name) + " AND pk = " + key + "), " + row +
         "\n    WHERE " + (also.empty() ? "" : also + "\n      AND ") +
         "NOT EXISTS (SELECT 1 FROM " + q(sqlite_names::outbox) +
         " WHERE tbl = " + lit(t.name) + " AND pk = " + key +
         ")\n      AND NOT EXISTS (SELECT 1 FROM " + q(sqlite_names::base) +
         " WHERE tbl = " + lit(t.name) + " AND pk = " + key + ");\n";
}

// The stored row at the key of record `rec` as JSON (NULL when none), or
// with `exists` whether there is one.
string sqlite_row_at(const table& t, const char* rec, bool exists) {
  string where;
  for (std::size_t k = 0; k < t.primary_key.size(); ++k) {
    if (k) where += " AND ";
    const string& n = t.columns[t.primary_key[k]].name;
    where += "o." + q(n) + " = " + rec + "." + q(n);
  }
  string from = " FROM " + q(t.name) + " AS o WHERE " + where + ")";
  if (exists) return "EXISTS (SELECT 1" + from;
  return "(SELECT " + sqlite_row_json(t, "o") + from;
}

// `"a", "b"` of the key columns, client names.
string key_column_names(const table& t) {
  return column_list(t, t.primary_key, false);
}

// One trigger per event where the event allows it (each trigger is a
// sub-program run per written row): AFTER UPDATE and AFTER DELETE capture
// the base from OLD and queue the write; an insert and a key change need a
// BEFORE trigger, since the row they may replace is gone afterwards.
string sqlite_triggers(const table& t) {
  string out;
  string base = "sync_" + t.name;
  auto trig = [&](const string& suffix) { return q(base + "_" + suffix); };
  const string guard = sqlite_guard();

  // Only an insert over a stored row (INSERT OR REPLACE, or an upsert that
  // updates) captures; the row's key decides, before any other work.
  out += "DROP TRIGGER IF EXISTS " + trig("base_insert") + ";\n";
  out += "CREATE TRIGGER " + trig("base_insert") + " BEFORE INSERT ON " +
         q(t.name) + "\nWHEN " + guard + " AND " +
         sqlite_row_at(t, "NEW", true) + "\nBEGIN\n" +
         sqlite_base_capture(t, sqlite_pk_json(t, "NEW"),
                             sqlite_row_at(t, "NEW", false)) +
         "END;\n";
  out += "DROP TRIGGER IF EXISTS " + trig("insert") + ";\n";
  out +=
      "CREATE TRIGGER " + trig("insert") + " AFTER INSERT ON " + q(t.name) +
      "\nWHEN " + guard + "\nBEGIN\n" + sqlite_clock_tick() +
      sqlite_outbox_insert(t, "I", "NEW", sqlite_row_json(t, "NEW"), "NULL") +
      "END;\n";

  // A no-op UPDATE records nothing; `changed` lists the columns that moved
  // so lww-field can merge per column.
  string any_changed, changed_list;
  for (std::size_t i = 0; i < t.columns.size(); ++i) {
    const string& n = t.columns[i].name;
    string diff = "OLD." + q(n) + " IS NOT NEW." + q(n);
    if (i) {
      any_changed += " OR ";
      changed_list += " UNION ALL ";
    }
    any_changed += diff;
    changed_list += "SELECT " + lit(n) + " AS c WHERE " + diff;
  }
  string changed = "(SELECT json_group_array(c) FROM (" + changed_list + "))";
  out += "DROP TRIGGER IF EXISTS " + trig("update") + ";\n";
  out +=
      "CREATE TRIGGER " + trig("update") + " AFTER UPDATE ON " + q(t.name) +
      "\nWHEN " + guard + " AND (" + sqlite_pk_same(t) + ") AND (" +
      any_changed + ")\nBEGIN\n" +
      sqlite_base_capture(t, sqlite_pk_json(t, "OLD"),
                          sqlite_row_json(t, "OLD")) +
      sqlite_clock_tick() +
      sqlite_outbox_insert(t, "U", "NEW", sqlite_row_json(t, "NEW"), changed) +
      "END;\n";

  // Changing a key is a delete of the old row and an insert of the new one,
  // which replaces whatever was stored at the new key. `UPDATE OF` the key
  // columns: statements that do not set them never run these.
  const string rekey = " UPDATE OF " + key_column_names(t) + " ON " +
                       q(t.name) + "\nWHEN " + guard + " AND NOT (" +
                       sqlite_pk_same(t) + ")\nBEGIN\n";
  out += "DROP TRIGGER IF EXISTS " + trig("base_rekey") + ";\n";
  out += "CREATE TRIGGER " + trig("base_rekey") + " BEFORE" + rekey +
         sqlite_base_capture(t, sqlite_pk_json(t, "OLD"),
                             sqlite_row_json(t, "OLD")) +
         sqlite_base_capture(t, sqlite_pk_json(t, "NEW"),
                             sqlite_row_at(t, "NEW", false)) +
         "END;\n";
  out += "DROP TRIGGER IF EXISTS " + trig("rekey") + ";\n";
  out +=
      "CREATE TRIGGER " + trig("rekey") + " AFTER" + rekey +
      sqlite_clock_tick() +
      sqlite_outbox_insert(t, "D", "OLD", "NULL", "NULL") +
      sqlite_clock_tick() +
      sqlite_outbox_insert(t, "I", "NEW", sqlite_row_json(t, "NEW"), "NULL") +
      "END;\n";

  out += "DROP TRIGGER IF EXISTS " + trig("delete") + ";\n";
  out += "CREATE TRIGGER " + trig("delete") + " AFTER DELETE ON " + q(t.name) +
         "\nWHEN " + guard + "\nBEGIN\n" +
         sqlite_base_capture(t, sqlite_pk_json(t, "OLD"),
                             sqlite_row_json(t, "OLD")) +
         sqlite_clock_tick() +
         sqlite_outbox_insert(t, "D", "OLD", "NULL", "NULL") + "END;\n";
  // Triggers of earlier releases, now folded into the ones above.
  for (const char* gone : {"base_update", "base_delete"})
    out += "DROP TRIGGER IF EXISTS " + trig(gone) + ";\n";
  return out;
}

string sqlite_column_def(const column& c) {
  string out = q(c.name) + " " + sqlite_type(c.type);
  if (!c.nullable) out += " NOT NULL";
  return out;
}

string sqlite_create_table(const table& t) {
  string out = "CREATE TABLE IF NOT EXISTS " + q(t.name) + " (\n";
  for (const column& c : t.columns) out += "  " + sqlite_column_def(c) + ",\n";
  out += "  PRIMARY KEY (" + column_list(t, t.primary_key, false) + ")\n);\n";
  return out;
}

string sqlite_bookkeeping(std::int64_t version) {
  string out;
  out += string("CREATE TABLE IF NOT EXISTS ") + q(sqlite_names::outbox) +
         " (\n"
         "  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
         "  tbl TEXT NOT NULL,\n"
         "  pk TEXT NOT NULL,\n"
         "  op TEXT NOT NULL CHECK (op IN ('I', 'U', 'D')),\n"
         "  row TEXT,\n"
         "  changed TEXT,\n"
         "  hlc TEXT NOT NULL,\n"
         "  base_version INTEGER,\n"
         "  created_at INTEGER NOT NULL\n"
         ");\n";
  out += string("CREATE INDEX IF NOT EXISTS ") + q("sync_outbox_row") + " ON " +
         q(sqlite_names::outbox) + " (tbl, pk);\n";
  out += string("CREATE TABLE IF NOT EXISTS ") + q(sqlite_names::state) +
         " (key TEXT PRIMARY KEY, value) WITHOUT ROWID;\n";
  out += string("CREATE TABLE IF NOT EXISTS ") + q(sqlite_names::clock) +
         " (\n  id INTEGER PRIMARY KEY CHECK (id = 1),\n"
         "  ms INTEGER NOT NULL,\n  ctr INTEGER NOT NULL,\n"
         "  node TEXT NOT NULL\n);\n";
  out += string("INSERT OR IGNORE INTO ") + q(sqlite_names::clock) +
         " (id, ms, ctr, node) VALUES (1, 0, 0, '');\n";
  out += string("CREATE TABLE IF NOT EXISTS ") + q(sqlite_names::guard) +
         " (id INTEGER PRIMARY KEY CHECK (id = 1));\n";
  out += string("CREATE TABLE IF NOT EXISTS ") + q(sqlite_names::rows) +
         " (\n  tbl TEXT NOT NULL,\n  pk TEXT NOT NULL,\n"
         "  version INTEGER NOT NULL,\n  PRIMARY KEY (tbl, pk)\n"
         ") WITHOUT ROWID;\n";
  // The server's row (JSON; NULL: none the user may see) and its version for
  // keys whose local row has changes pending (sqlite_base_capture).
  out += string("CREATE TABLE IF NOT EXISTS ") + q(sqlite_names::base) +
         " (\n  tbl TEXT NOT NULL,\n  pk TEXT NOT NULL,\n"
         "  version INTEGER,\n  row TEXT,\n  PRIMARY KEY (tbl, pk)\n"
         ") WITHOUT ROWID;\n";
  out += string("INSERT OR IGNORE INTO ") + q(sqlite_names::state) +
         " (key, value) VALUES ('schema_version', " + std::to_string(version) +
         ");\n";
  return out;
}

// --- PostgreSQL -------------------------------------------------------------

string pg_column_def(const column& c) {
  string out = q(c.server_name) + " " + pg_type(c.type);
  if (!c.nullable) out += " NOT NULL";
  return out;
}

string pg_create_table(const table& t) {
  string out = "CREATE TABLE IF NOT EXISTS " + q(t.server_name) + " (\n";
  for (const column& c : t.columns) out += "  " + pg_column_def(c) + ",\n";
  // Sync bookkeeping: a server version per write, the writing transaction's
  // id for the pull cursor, a tombstone flag, clocks and the last writer.
  out += string("  \"_es_version\" bigint NOT NULL DEFAULT nextval(") +
         lit(pg_names::version_seq) +
         "),\n"
         "  \"_es_xid\" xid8 NOT NULL DEFAULT pg_current_xact_id(),\n"
         "  \"_es_deleted\" boolean NOT NULL DEFAULT false,\n"
         "  \"_es_hlc\" text COLLATE \"C\" NOT NULL DEFAULT '',\n"
         "  \"_es_field_hlc\" jsonb NOT NULL DEFAULT '{}',\n"
         "  \"_es_origin\" text,\n"
         "  \"_es_updated_at\" timestamptz NOT NULL DEFAULT now(),\n";
  out += "  PRIMARY KEY (" + column_list(t, t.primary_key, true) + ")\n);\n";
  // A table that already existed (made by the app's own migrations) gets
  // the sync columns here, before the pull index needs them.
  out += pg_adopt_table(t);
  auto index = [&](const char* suffix, const string& cols) {
    out += "CREATE INDEX IF NOT EXISTS " + q(t.server_name + suffix) + " ON " +
           q(t.server_name) + " (" + cols + ");\n";
  };
  if (t.access == access_kind::owner) {
    index(pg_names::pull_index_suffix,
          q(t.columns[t.owner].server_name) + ", \"_es_xid\", \"_es_version\"");
  } else if (t.access != access_kind::root) {  // a root row: its key index
    const string sc = q(t.columns[t.scope_column].server_name);
    index(pg_names::scope_index_suffix, sc + ", \"_es_xid\", \"_es_version\"");
    index(pg_names::scope_version_index_suffix, sc + ", \"_es_version\"");
  }
  return out;
}

// The smallest stamp at stamp `h`'s ms and counter (a SQL text
// expression): `h` with an empty node. Every stamp a client sends has a
// non-empty node, so this orders just below `h` and every stamp of the same
// tick, and above every earlier tick (a counter step back could tie a
// device's previous write exactly).
string pg_hlc_floor(const string& h) {
  return "substr(" + h + ", 1, " + std::to_string(hlc_node_offset) + ")";
}

// A membership table: its index by member; the root table: the trigger that
// makes a new scope's creator (the root row's owner) its admin, in the
// same transaction, whoever inserts the row (the sync endpoint or the
// app's backend).
string pg_scope_objects(const schema& s, const table& t) {
  if (t.access == access_kind::members) {
    const scope_def& d = s.scopes[t.scope];
    return "CREATE INDEX IF NOT EXISTS " +
           q(t.server_name + pg_names::member_index_suffix) + " ON " +
           q(t.server_name) + " (" + q(t.columns[d.member_user].server_name) +
           ", \"_es_xid\", \"_es_version\");\n";
  }
  if (t.access != access_kind::root) return "";
  const scope_def& d = s.scopes[t.scope];
  const table& m = s.tables[d.members];
  string fn = q(t.server_name + pg_names::creator_suffix);
  string cols = q(m.columns[m.scope_column].server_name) + ", " +
                q(m.columns[d.member_user].server_name) + ", " +
                q(m.columns[d.member_role].server_name) + ", " +
                q(m.columns[m.owner].server_name);
  string vals = "NEW." + q(t.columns[t.scope_column].server_name) + ", NEW." +
                q(t.columns[t.owner].server_name) + ", " +
                lit(to_string(role::admin)) + ", NEW." +
                q(t.columns[t.owner].server_name);
  // The sync endpoint's insert (it names its client in _es_origin): the
  // membership takes the root row's tick with an empty node (pg_hlc_floor),
  // so it orders among the creator's own changes and not by the server's
  // wall clock:
  // implied by the insert, it yields to any change the creator makes at or
  // after it (a leave or role change wins, as on the creator's device, even
  // when clamping gave both the same stamp).
  // Origin '' (no client id is empty): every device pulls it, the
  // creator's own included, and the direct-write trigger leaves it alone.
  // A backend's own insert: the direct-write trigger stamps it.
  string out =
      "CREATE OR REPLACE FUNCTION " + fn +
      "() RETURNS trigger LANGUAGE plpgsql AS $es$\nBEGIN\n"
      "  IF NEW.\"_es_origin\" IS NOT NULL THEN\n    INSERT INTO " +
      q(m.server_name) + " (" + cols +
      ", \"_es_version\", \"_es_xid\", \"_es_hlc\", \"_es_origin\") "
      "VALUES (" +
      vals + ", nextval(" + lit(pg_names::version_seq) +
      "), pg_current_xact_id(), " + pg_hlc_floor("NEW.\"_es_hlc\"") +
      ", '') ON CONFLICT DO "
      "NOTHING;\n  ELSE\n    INSERT INTO " +
      q(m.server_name) + " (" + cols + ") VALUES (" + vals +
      ") ON CONFLICT DO NOTHING;\n  END IF;\n  RETURN NULL;\nEND $es$;\n";
  out +=
      "DO $es$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid "
      "= " +
      lit(q(t.server_name)) + "::regclass AND tgname = " +
      lit(t.server_name + pg_names::creator_suffix) + ") THEN CREATE TRIGGER " +
      fn + " AFTER INSERT ON " + q(t.server_name) +
      " FOR EACH ROW EXECUTE FUNCTION " + fn + "(); END IF; END $es$;\n";
  return out;
}

string pg_record_version(std::int64_t version) {
  return string("INSERT INTO ") + q(pg_names::schema) +
         " (id, version) VALUES (1, " + std::to_string(version) +
         ")\n  ON CONFLICT (id) DO UPDATE SET version = GREATEST(" +
         q(pg_names::schema) +
         ".version, EXCLUDED.version), applied_at = now();\n";
}

string pg_bookkeeping() {
  string out;
  out += string("CREATE SEQUENCE IF NOT EXISTS ") + q(pg_names::version_seq) +
         ";\n";
  out += string("CREATE TABLE IF NOT EXISTS ") + q(pg_names::clients) +
         " (\n"
         "  client_id text PRIMARY KEY,\n"
         "  user_id text NOT NULL,\n"
         "  last_seq bigint NOT NULL DEFAULT 0,\n"
         "  last_results jsonb,\n"
         "  created_at timestamptz NOT NULL DEFAULT now(),\n"
         "  seen_at timestamptz NOT NULL DEFAULT now()\n"
         ");\n";
  out += string("CREATE TABLE IF NOT EXISTS ") + q(pg_names::schema) +
         " (\n"
         "  id integer PRIMARY KEY CHECK (id = 1),\n"
         "  version bigint NOT NULL,\n"
         "  applied_at timestamptz NOT NULL DEFAULT now()\n"
         ");\n";
  out += string("CREATE TABLE IF NOT EXISTS ") + q(pg_names::conflicts) +
         " (\n"
         "  id bigserial PRIMARY KEY,\n"
         "  at timestamptz NOT NULL DEFAULT now(),\n"
         "  user_id text NOT NULL,\n"
         "  client_id text NOT NULL,\n"
         "  table_name text NOT NULL,\n"
         "  pk jsonb NOT NULL,\n"
         "  policy text NOT NULL,\n"
         "  outcome text NOT NULL,\n"
         "  client_row jsonb,\n"
         "  server_row jsonb\n"
         ");\n";
  out += string("CREATE INDEX IF NOT EXISTS ") + q("edgesync_conflicts_user") +
         " ON " + q(pg_names::conflicts) + " (user_id, id);\n";
  return out;
}

// Checks that `to` only adds to `from`; returns the errors it finds.
std::vector<error> check_additive(const schema& from, const schema& to) {
  std::vector<error> errs;
  auto fail = [&](string path, string msg) {
    errs.push_back(
        {error_code::destructive_migration, std::move(path), std::move(msg)});
  };
  if (to.version <= from.version)
    fail("version", "the new schema version (" + std::to_string(to.version) +
                        ") must be greater than the old one (" +
                        std::to_string(from.version) + ")");
  for (const table& old_t : from.tables) {
    int ti = to.table_index(old_t.name);
    if (ti < 0) {
      fail("tables", "table \"" + old_t.name +
                         "\" was removed; dropping synced data is refused "
                         "(keep the table, or migrate by hand)");
      continue;
    }
    const table& new_t = to.tables[ti];
    string tp = path_index("tables", static_cast<std::size_t>(ti));
    if (new_t.server_name != old_t.server_name)
      fail(tp + ".serverName", "renaming a table is refused");
    for (const column& oc : old_t.columns) {
      int ci = new_t.column_index(oc.name);
      if (ci < 0) {
        fail(tp + ".columns", "column \"" + oc.name +
                                  "\" was removed; dropping synced data is "
                                  "refused");
        continue;
      }
      const column& nc = new_t.columns[ci];
      string cp = path_index(tp + ".columns", static_cast<std::size_t>(ci));
      if (nc.type != oc.type)
        fail(cp + ".type", string("changing the type from ") +
                               to_string(oc.type) + " to " +
                               to_string(nc.type) + " is refused");
      if (nc.server_name != oc.server_name)
        fail(cp + ".serverName", "renaming a column is refused");
      if (nc.nullable != oc.nullable)
        fail(cp + ".nullable", "changing nullability is refused");
    }
    auto names = [](const table& t, const std::vector<std::size_t>& idx) {
      std::vector<string> out;
      out.reserve(idx.size());
      for (auto i : idx) out.push_back(t.columns[i].name);
      return out;
    };
    if (names(new_t, new_t.primary_key) != names(old_t, old_t.primary_key))
      fail(tp + ".primaryKey", "changing the primary key is refused");
    if (new_t.columns[new_t.owner].name != old_t.columns[old_t.owner].name)
      fail(tp + ".owner", "changing the owner column is refused");
    // Devices hold exactly the rows their access let them pull.
    if (new_t.access != old_t.access ||
        (new_t.access != access_kind::owner &&
         (new_t.columns[new_t.scope_column].name !=
              old_t.columns[old_t.scope_column].name ||
          to.scopes[new_t.scope].name != from.scopes[old_t.scope].name)))
      fail(tp + ".scope",
           "changing how a table's rows are authorized (owner or scope) is "
           "refused");
    for (std::size_t ci = 0; ci < new_t.columns.size(); ++ci) {
      const column& nc = new_t.columns[ci];
      if (old_t.find_column(nc.name) == nullptr && !nc.nullable)
        fail(path_index(tp + ".columns", ci) + ".nullable",
             "a column added to an existing table must be nullable (existing "
             "rows have no value for \"" +
                 nc.name + "\")");
    }
  }
  return errs;
}

}  // namespace

string sqlite_ddl(const schema& s) {
  string out = "-- edgesync SQLite schema v" + std::to_string(s.version) +
               " (generated; idempotent)\n";
  out += sqlite_bookkeeping(s.version);
  for (const table& t : s.tables) {
    out += sqlite_create_table(t);
    out += sqlite_triggers(t);
  }
  return out;
}

// Refuses to run an older schema against a database a newer one has set up.
string pg_version_guard(std::int64_t version) {
  string v = std::to_string(version);
  return string("DO $$ BEGIN IF (SELECT version FROM ") + q(pg_names::schema) +
         " WHERE id = 1) > " + v +
         " THEN RAISE EXCEPTION 'edgesync: the database has a newer schema "
         "version than this server (v" +
         v + "); deploy the newer server'; END IF; END $$;\n";
}

string pg_ddl(const schema& s) {
  string out = "-- edgesync PostgreSQL schema v" + std::to_string(s.version) +
               " (generated; idempotent)\n";
  out += pg_bookkeeping();
  out += pg_version_guard(s.version);
  for (const table& t : s.tables) {
    out += pg_create_table(t);
    // A table created by an older schema version gets the columns added
    // since (additive changes only; they are nullable by the migration rules).
    for (std::size_t i = 0; i < t.columns.size(); ++i) {
      if (t.is_pk(i) || i == t.owner) continue;
      const column& c = t.columns[i];
      out += "ALTER TABLE " + q(t.server_name) + " ADD COLUMN IF NOT EXISTS " +
             q(c.server_name) + " " + pg_type(c.type) + ";\n";
    }
    out += pg_direct_write_trigger(t);
    out += pg_notify_triggers(s, t);
  }
  // After every table: the creator trigger inserts into the membership table.
  for (const table& t : s.tables) out += pg_scope_objects(s, t);
  out += pg_record_version(s.version);
  return out;
}

result<string> sqlite_migration(const schema& from, const schema& to) {
  auto errs = check_additive(from, to);
  if (!errs.empty()) return errs;
  string out = "-- edgesync SQLite migration v" + std::to_string(from.version) +
               " -> v" + std::to_string(to.version) + " (generated)\n";
  for (const table& t : to.tables) {
    const table* old_t = from.find_table(t.name);
    if (old_t == nullptr) {
      out += sqlite_create_table(t);
      out += sqlite_triggers(t);
      continue;
    }
    bool added = false;
    for (const column& c : t.columns) {
      if (old_t->find_column(c.name) != nullptr) continue;
      out += "ALTER TABLE " + q(t.name) + " ADD COLUMN " +
             sqlite_column_def(c) + ";\n";
      added = true;
    }
    // Triggers serialize every column, so they are rebuilt when one is added.
    if (added) out += sqlite_triggers(t);
  }
  out += string("INSERT OR REPLACE INTO ") + q(sqlite_names::state) +
         " (key, value) VALUES ('schema_version', " +
         std::to_string(to.version) + ");\n";
  return out;
}

result<string> pg_migration(const schema& from, const schema& to) {
  auto errs = check_additive(from, to);
  if (!errs.empty()) return errs;
  string out = "-- edgesync PostgreSQL migration v" +
               std::to_string(from.version) + " -> v" +
               std::to_string(to.version) + " (generated; idempotent)\n";
  for (const table& t : to.tables) {
    const table* old_t = from.find_table(t.name);
    if (old_t == nullptr) {
      out += pg_create_table(t);
      out += pg_direct_write_trigger(t);
      out += pg_notify_triggers(to, t);
      continue;
    }
    bool added = false;
    for (const column& c : t.columns) {
      if (old_t->find_column(c.name) != nullptr) continue;
      out += "ALTER TABLE " + q(t.server_name) + " ADD COLUMN IF NOT EXISTS " +
             pg_column_def(c) + ";\n";
      added = true;
    }
    // The trigger compares every column, so it is rebuilt when one is added.
    if (added) out += pg_direct_write_trigger(t);
  }
  for (const table& t : to.tables)
    if (from.find_table(t.name) == nullptr) out += pg_scope_objects(to, t);
  out += pg_record_version(to.version);
  return out;
}

}  // namespace edgesync
