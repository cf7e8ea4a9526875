#include "sql/pg_triggers.h"

#include <algorithm>
#include <string_view>
#include <vector>

#include "protocol/hlc.h"
#include "schema/policy.h"
#include "sql/ddl.h"

namespace edgesync {

namespace {

using std::string;

string q(std::string_view s) { return quote_ident(s); }
string lit(std::string_view s) { return quote_literal(s); }

/// The node of clocks the server stamps (direct writes, adoption); a stamp
/// of it never reaches a device, it only orders against device stamps.
constexpr const char* server_node = "server";

/// The server's wall clock in Unix ms, as SQL.
string pg_now_ms() {
  return "floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint";
}

/// A stamp in the HLC text format (core/protocol/hlc.h) from SQL `ms`, `ctr`.
string pg_format_hlc(const string& ms, const string& ctr) {
  return "lpad((" + ms + ")::text, " + std::to_string(hlc_ms_digits) +
         ", '0') || " + lit(string(1, hlc_separator)) + " || lpad((" + ctr +
         ")::text, " + std::to_string(hlc_counter_digits) + ", '0') || " +
         lit(string(1, hlc_separator) + server_node);
}

/// The regclass literal of the table (for catalog lookups).
string regclass(const table& t) { return lit(q(t.server_name)) + "::regclass"; }

/// NEW and OLD differ in some synced column (or in the deletion flag).
string any_changed(const table& t) {
  string out;
  for (const column& c : t.columns)
    out += "NEW." + q(c.server_name) + " IS DISTINCT FROM OLD." +
           q(c.server_name) + " OR ";
  return out + "NEW.\"_es_deleted\" IS DISTINCT FROM OLD.\"_es_deleted\"";
}

/// jsonb of every merged column's clock set to `stamp` (lww-field), or of
/// only those whose value changed when `changed_only`.
string field_clocks(const table& t, bool changed_only) {
  string out;
  for (std::size_t i = 0; i < t.columns.size(); ++i) {
    if (i == t.owner || t.is_pk(i)) continue;
    const column& c = t.columns[i];
    if (!out.empty()) out += ", ";
    out += lit(c.name) + ", ";
    out += changed_only ? "CASE WHEN NEW." + q(c.server_name) +
                              " IS DISTINCT FROM OLD." + q(c.server_name) +
                              " THEN stamp END"
                        : string("stamp");
  }
  if (out.empty()) return "'{}'::jsonb";
  return changed_only ? "jsonb_strip_nulls(jsonb_build_object(" + out + "))"
                      : "jsonb_build_object(" + out + ")";
}

/// The row's key, owner or scope differs between NEW and OLD.
string key_or_owner_changed(const table& t) {
  string out;
  for (std::size_t i = 0; i < t.columns.size(); ++i) {
    bool scope = t.access != access_kind::owner && i == t.scope_column;
    if (!t.is_pk(i) && i != t.owner && !scope) continue;
    if (!out.empty()) out += " OR ";
    const string& n = t.columns[i].server_name;
    out += "NEW." + q(n) + " IS DISTINCT FROM OLD." + q(n);
  }
  return out;
}

/// `text` for use inside a single-quoted SQL literal (quotes doubled).
string escape_in_literal(const string& text) {
  string l = lit(text);
  return l.substr(1, l.size() - 2);
}

string key_match(const table& t) {
  string out;
  for (std::size_t k = 0; k < t.primary_key.size(); ++k) {
    const string& n = t.columns[t.primary_key[k]].server_name;
    if (k) out += " AND ";
    out += q(n) + " = OLD." + q(n);
  }
  return out;
}

}  // namespace

string pg_adopt_table(const table& t) {
  string tbl = q(t.server_name);
  string add = "ALTER TABLE " + tbl + " ADD COLUMN IF NOT EXISTS ";
  // Columns with constant (or stable) defaults are added without a rewrite;
  // version and xid need a value per row, so they start nullable and are
  // backfilled before they get their defaults and NOT NULL.
  string out;
  out += add + "\"_es_version\" bigint;\n";
  out += add + "\"_es_xid\" xid8;\n";
  out += add + "\"_es_deleted\" boolean NOT NULL DEFAULT false;\n";
  out += add + "\"_es_hlc\" text COLLATE \"C\" NOT NULL DEFAULT '';\n";
  out += add + "\"_es_field_hlc\" jsonb NOT NULL DEFAULT '{}';\n";
  out += add + "\"_es_origin\" text;\n";
  out += add + "\"_es_updated_at\" timestamptz NOT NULL DEFAULT now();\n";
  // Only a table whose version or xid column is still nullable (it was just
  // added) is backfilled, so a second run reads the catalog and stops. The
  // backfill sets a new version, which the direct-write trigger takes as
  // the server's own write (no double stamping).
  out +=
      "DO $es$ BEGIN IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid "
      "= " +
      regclass(t) +
      " AND attname IN ('_es_version', '_es_xid') AND NOT attnotnull) "
      "THEN\n  UPDATE " +
      tbl + " SET \"_es_version\" = COALESCE(\"_es_version\", nextval(" +
      lit(pg_names::version_seq) +
      ")), \"_es_xid\" = COALESCE(\"_es_xid\", pg_current_xact_id()), "
      "\"_es_hlc\" = CASE WHEN \"_es_hlc\" = '' THEN " +
      pg_format_hlc(pg_now_ms(), "0") +
      " ELSE \"_es_hlc\" END WHERE \"_es_version\" IS NULL OR \"_es_xid\" "
      "IS NULL;\n  ALTER TABLE " +
      tbl + " ALTER COLUMN \"_es_version\" SET DEFAULT nextval(" +
      lit(pg_names::version_seq) +
      "), ALTER COLUMN \"_es_version\" SET NOT NULL, ALTER COLUMN "
      "\"_es_xid\" SET DEFAULT pg_current_xact_id(), ALTER COLUMN "
      "\"_es_xid\" SET NOT NULL;\nEND IF; END $es$;\n";
  // The endpoint's upserts name the key in ON CONFLICT: a table made
  // elsewhere must have a unique index on exactly the schema's key columns.
  std::vector<string> key;
  for (std::size_t k : t.primary_key) key.push_back(t.columns[k].server_name);
  std::sort(key.begin(), key.end());
  string arr;
  for (const string& k : key) arr += (arr.empty() ? "" : ", ") + lit(k);
  out +=
      "DO $es$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_index i WHERE "
      "i.indrelid = " +
      regclass(t) +
      " AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL AND "
      "(SELECT array_agg(a.attname::text ORDER BY a.attname::text COLLATE "
      "\"C\") FROM pg_attribute a WHERE a.attrelid = i.indrelid AND "
      "a.attnum = ANY (i.indkey)) = ARRAY[" +
      arr +
      "]::text[]) THEN RAISE EXCEPTION USING MESSAGE = 'edgesync: table " +
      escape_in_literal(t.server_name) +
      " needs a primary key (or unique index) on exactly the schema''s key "
      "columns', ERRCODE = 'invalid_table_definition'; END IF; END $es$;\n";
  return out;
}

string pg_direct_write_trigger(const table& t) {
  string tbl = q(t.server_name);
  string fn = q(t.server_name + pg_names::direct_write_suffix);
  bool per_field = rule_of(t.policy).per_field;
  string out = "CREATE OR REPLACE FUNCTION " + fn +
               "() RETURNS trigger LANGUAGE plpgsql AS $es$\n"
               "DECLARE\n  ms bigint := " +
               pg_now_ms() + ";\n  ctr int := 0;\n  stamp text;\nBEGIN\n";
  // A plain DELETE leaves a tombstone the devices pull; the trigger's own
  // UPDATE is stamped by this function. Purging is opt-in per transaction.
  out +=
      "  IF TG_OP = 'DELETE' THEN\n"
      "    IF current_setting('edgesync.purge', true) = 'on' THEN RETURN "
      "OLD; END IF;\n    UPDATE " +
      tbl + " SET \"_es_deleted\" = true WHERE " + key_match(t) +
      ";\n    RETURN NULL;\n  END IF;\n";
  // The sync endpoint's own writes: every insert it makes names the writing
  // client in _es_origin, and every update it makes sets a new _es_version
  // (docs/server.md). Nothing else is stamped twice.
  out +=
      "  IF TG_OP = 'INSERT' THEN\n"
      "    IF NEW.\"_es_origin\" IS NOT NULL THEN RETURN NEW; END IF;\n"
      "  ELSIF NEW.\"_es_version\" IS DISTINCT FROM OLD.\"_es_version\" OR "
      "NOT (" +
      any_changed(t) + ") THEN\n    RETURN NEW;\n  END IF;\n";
  // Devices would keep the row under its old key (or its old owner's
  // devices would keep a row they may no longer see): refused, with what to
  // do instead.
  out +=
      "  IF TG_OP = 'UPDATE' AND (" + key_or_owner_changed(t) +
      ") THEN\n    RAISE EXCEPTION USING MESSAGE = 'edgesync: changing the " +
      string(t.access == access_kind::owner ? "primary key or owner"
                                            : "primary key, owner or scope") +
      " of a synced row of " + escape_in_literal(t.server_name) +
      " is refused (devices would keep the old row); delete it and insert "
      "a new one', ERRCODE = 'check_violation';\n  END IF;\n";
  // A clock after both the server's wall clock and the row's last stamp, so
  // the direct write wins over every change the row has seen. Nested IFs:
  // the stamp is parsed only once it is known to be well-formed.
  string ms_part = "substr(OLD.\"_es_hlc\", 1, " +
                   std::to_string(hlc_ms_digits) + ")::bigint";
  out += "  IF TG_OP = 'UPDATE' AND OLD.\"_es_hlc\" ~ '^[0-9]{" +
         std::to_string(hlc_ms_digits) + "}:[0-9]{" +
         std::to_string(hlc_counter_digits) + "}:' THEN\n    IF " + ms_part +
         " >= ms THEN\n      ms := " + ms_part +
         ";\n      ctr := substr(OLD.\"_es_hlc\", " +
         std::to_string(hlc_ms_digits + 2) + ", " +
         std::to_string(hlc_counter_digits) + ")::int + 1;\n      IF ctr > " +
         std::to_string(hlc_max_counter) +
         " THEN ms := ms + 1; ctr := 0; END IF;\n    END IF;\n  END IF;\n";
  out += "  stamp := " + pg_format_hlc("ms", "ctr") +
         ";\n  NEW.\"_es_version\" := nextval(" + lit(pg_names::version_seq) +
         ");\n  NEW.\"_es_xid\" := pg_current_xact_id();\n"
         "  NEW.\"_es_hlc\" := stamp;\n  NEW.\"_es_origin\" := NULL;\n"
         "  NEW.\"_es_updated_at\" := now();\n";
  // A new or revived row: every column carries the new clock; an update
  // raises the clocks of the columns it changed only.
  out +=
      "  IF TG_OP = 'INSERT' THEN\n    NEW.\"_es_deleted\" := false;\n  END "
      "IF;\n";
  if (per_field)
    out +=
        "  IF TG_OP = 'INSERT' OR (OLD.\"_es_deleted\" AND NOT "
        "NEW.\"_es_deleted\") THEN\n    NEW.\"_es_field_hlc\" := " +
        field_clocks(t, false) +
        ";\n  ELSE\n    NEW.\"_es_field_hlc\" := OLD.\"_es_field_hlc\" || " +
        field_clocks(t, true) + ";\n  END IF;\n";
  else
    out += "  NEW.\"_es_field_hlc\" := '{}'::jsonb;\n";
  out += "  RETURN NEW;\nEND $es$;\n";
  // Created once: CREATE OR REPLACE FUNCTION above updates its body, so a
  // re-run never drops the trigger (no window without it).
  out +=
      "DO $es$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid "
      "= " +
      regclass(t) +
      " AND tgname = " + lit(t.server_name + pg_names::direct_write_suffix) +
      ") THEN CREATE TRIGGER " + fn + " BEFORE INSERT OR UPDATE OR DELETE ON " +
      tbl + " FOR EACH ROW EXECUTE FUNCTION " + fn + "(); END IF; END $es$;\n";
  return out;
}

}  // namespace edgesync
