#include "sql/media_sql.h"

#include <array>

#include "sql/access_sql.h"
#include "sql/ddl.h"

namespace edgesync::sql {

namespace {

using std::string;

string q(std::string_view s) { return quote_ident(s); }

// The row of `t` named by `pk` (a jsonb expression: a JSON array of its key,
// client order), alias es_r, not deleted.
string row_where(const table& t, std::string_view pk = "$2::jsonb") {
  string out;
  for (std::size_t k = 0; k < t.primary_key.size(); ++k) {
    const column& c = t.columns[t.primary_key[k]];
    if (!out.empty()) out += " AND ";
    out += "es_r." + q(c.server_name) + " = (";
    out += pk;
    out += "->>" + std::to_string(k) + ")::" + pg_type(c.type);
  }
  out += " AND jsonb_array_length(";
  out += pk;
  return out + ") = " + std::to_string(t.primary_key.size()) +
         " AND NOT es_r.\"_es_deleted\"";
}

// The records of column `c` of `t` (alias es_o) and whether the live row
// they were uploaded for still names them: a deleted (tombstoned or purged)
// row, or one whose column now names another file, does not.
struct record_sql {
  string of_column;  // es_o's records of this column
  string named;      // EXISTS: the row still names es_o's object
};
record_sql records_of(const table& t, const column& c) {
  return {"es_o.\"tbl\" = " + quote_literal(t.name) +
              " AND es_o.\"col\" = " + quote_literal(c.name),
          "EXISTS (SELECT 1 FROM " + q(t.server_name) + " es_r WHERE " +
              row_where(t, "es_o.\"pk\"") + " AND es_r." + q(c.server_name) +
              " = es_o.\"key\")"};
}

// Signatures of common media types (RFC 6838 names): alternatives of
// {offset, hex} lists that must all match the file's first bytes.
struct signature {
  const char* mime;
  std::array<const char*, 3> alternatives;  // "offset:hex[,offset:hex]"
};
constexpr signature kMagic[] = {
    {"image/png", {"0:89504e470d0a1a0a"}},
    {"image/jpeg", {"0:ffd8ff"}},
    {"image/gif", {"0:474946383761", "0:474946383961"}},
    {"image/webp", {"0:52494646,8:57454250"}},
    {"image/avif", {"4:6674797061766966", "4:6674797061766973"}},
    {"application/pdf", {"0:255044462d"}},
    {"application/zip", {"0:504b0304", "0:504b0506"}},
    {"video/mp4", {"4:66747970"}},
    {"video/quicktime", {"4:66747970717420", "4:6d6f6f76"}},
    {"video/webm", {"0:1a45dfa3"}},
    {"audio/mpeg", {"0:494433", "0:fffb", "0:fff3"}},
    {"audio/ogg", {"0:4f676753"}},
    {"audio/wav", {"0:52494646,8:57415645"}},
};

}  // namespace

string media_ddl() {
  return string("CREATE TABLE IF NOT EXISTS ") + q(media_names::objects) +
         " (\n  \"key\" text NOT NULL,\n  \"tbl\" text NOT NULL,\n"
         "  \"col\" text NOT NULL,\n  \"pk\" jsonb NOT NULL,\n"
         "  \"user_id\" text NOT NULL,\n  \"size\" bigint NOT NULL,\n"
         "  \"mime\" text NOT NULL,\n"
         "  \"created_at\" timestamptz NOT NULL DEFAULT now(),\n"
         "  PRIMARY KEY (\"key\", \"tbl\", \"col\", \"pk\")\n);\n"
         "CREATE TABLE IF NOT EXISTS " +
         q(media_names::uploads) +
         " (\n  \"id\" text PRIMARY KEY,\n  \"user_id\" text NOT NULL,\n"
         "  \"tbl\" text NOT NULL,\n  \"col\" text NOT NULL,\n"
         "  \"pk\" jsonb NOT NULL,\n  \"size\" bigint NOT NULL,\n"
         "  \"mime\" text NOT NULL,\n  \"sha256\" text NOT NULL,\n"
         "  \"created_at\" timestamptz NOT NULL DEFAULT now()\n);\n"
         // Lifecycle (docs/protocol.md, "Lifecycle"): when the sweep found
         // the record's row no longer naming it (NULL: named), and the
         // per-user usage behind the quota.
         "ALTER TABLE " +
         q(media_names::objects) +
         " ADD COLUMN IF NOT EXISTS \"orphaned_at\" timestamptz;\n"
         "CREATE INDEX IF NOT EXISTS \"edgesync_media_user\" ON " +
         q(media_names::objects) +
         " (\"user_id\", \"key\");\n"
         "CREATE INDEX IF NOT EXISTS \"edgesync_media_orphaned\" ON " +
         q(media_names::objects) +
         " (\"orphaned_at\") WHERE \"orphaned_at\" IS NOT NULL;\n"
         "CREATE INDEX IF NOT EXISTS \"edgesync_media_uploads_user\" ON " +
         q(media_names::uploads) + " (\"user_id\");\n";
}

json media_magic(std::string_view mime) {
  json out = json::array();
  for (const auto& sig : kMagic) {
    if (mime != sig.mime) continue;
    for (const char* alt : sig.alternatives) {
      if (!alt) continue;
      json all = json::array();
      std::string_view rest = alt;
      while (!rest.empty()) {
        auto comma = rest.find(',');
        std::string_view part = rest.substr(0, comma);
        auto colon = part.find(':');
        all.push_back({{"offset", std::stoi(string(part.substr(0, colon)))},
                       {"hex", string(part.substr(colon + 1))}});
        rest = comma == std::string_view::npos ? "" : rest.substr(comma + 1);
      }
      out.push_back(std::move(all));
    }
  }
  return out;
}

json media_plan(const schema& s) {
  json cols = json::array();
  for (const table& t : s.tables) {
    for (const column& c : t.columns) {
      if (!c.media) continue;
      string from = " FROM " + q(t.server_name) + " es_r WHERE " + row_where(t);
      string write = "SELECT COALESCE((SELECT CASE WHEN " +
                     may_change(s, t, "es_r", false, "$1::text") +
                     " THEN 'ok' ELSE 'forbidden' END" + from +
                     "), 'absent') AS access";
      // A row's file is served only when the row names an object uploaded
      // for this very row and column (a reference copied from another row
      // does not open someone else's file).
      string allowed = may_read(s, t, "es_r", "$1::text");
      string read =
          "SELECT COALESCE(es_x.access, 'absent') AS access, es_x.ref, "
          "es_x.key, es_x.size, es_x.mime FROM (SELECT 1) es_one LEFT JOIN "
          "(SELECT ";
      read +=
          "CASE WHEN " + allowed + " THEN 'ok' ELSE 'forbidden' END AS access";
      // What the column names (to tell "not uploaded yet" from "no file").
      read += ", CASE WHEN " + allowed + " THEN es_r." + q(c.server_name) +
              "::text END AS ref";
      for (const char* field : {"key", "size", "mime"}) {
        read += ", CASE WHEN ";
        read += allowed;
        read += " THEN es_o.\"";
        read += field;
        read += "\" END AS ";
        read += field;
      }
      read += " FROM " + q(t.server_name) + " es_r LEFT JOIN " +
              q(media_names::objects) + " es_o ON es_o.\"key\" = es_r." +
              q(c.server_name) +
              " AND es_o.\"tbl\" = " + quote_literal(t.name) +
              " AND es_o.\"col\" = " + quote_literal(c.name) +
              " AND es_o.\"pk\" = $2::jsonb WHERE " + row_where(t) +
              ") es_x ON true";
      // The sweep: mark the records whose row no longer names them with
      // the time $1 (and un-mark those named again, e.g. after an undo);
      // delete the records of the objects $2 (refs) marked at or before $1
      // and still not named (the host holds the objects' locks, then
      // deletes each object no record names any more).
      record_sql rec = records_of(t, c);
      string orphan = "UPDATE " + q(media_names::objects) +
                      " es_o SET \"orphaned_at\" = CASE WHEN "
                      "es_o.\"orphaned_at\" IS NULL THEN $1::timestamptz END "
                      "WHERE " +
                      rec.of_column +
                      " AND (es_o.\"orphaned_at\" IS NULL) <> " + rec.named +
                      " RETURNING es_o.\"orphaned_at\" IS NOT NULL AS orphaned";
      string expire = "DELETE FROM " + q(media_names::objects) +
                      " es_o WHERE " + rec.of_column +
                      " AND es_o.\"key\" = ANY ($2::text[]) AND "
                      "es_o.\"orphaned_at\" <= $1::timestamptz AND NOT " +
                      rec.named + " RETURNING es_o.\"key\", es_o.\"size\"";
      json magic = json::object();
      for (const auto& m : c.media->mime) magic[m] = media_magic(m);
      cols.push_back({{"table", t.name},
                      {"column", c.name},
                      {"maxBytes", c.media->max_bytes},
                      {"mime", c.media->mime},
                      {"magic", std::move(magic)},
                      {"writeSql", std::move(write)},
                      {"readSql", std::move(read)},
                      {"orphanSql", std::move(orphan)},
                      {"expireSql", std::move(expire)}});
    }
  }
  return {{"ddl", media_ddl()}, {"columns", std::move(cols)}};
}

}  // namespace edgesync::sql
