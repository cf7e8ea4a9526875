// The generated PL/pgSQL of one sync request (see pg_sync_function.h).
//
// Every per-table statement of server_postgres.cpp keeps its `$n` parameters:
// it becomes the body of a small helper function whose positional parameters
// are exactly those, so the statements are written once and run unchanged.
// The entry point calls the helpers in the order the old multi-statement
// flow ran them (locks, merges, race re-merges, record, pull).
//
// The entry point answers one text: `<head>\n<results>\n<pull>`, where head
// is {"dup":bool} (or sync_client_conflict alone), results the per-change
// results in request order (`[]` without a batch) and pull the pull
// statement's own `<changes>\n<meta>`.
#include "sql/pg_sync_function.h"

#include <cstdio>
#include <string>

#include "common/json_util.h"
#include "schema/access.h"
#include "schema/policy.h"
#include "sql/ddl.h"
#include "sql/pg_sync_call.h"
#include "sql/server_postgres.h"

namespace edgesync::sql {

namespace {

using std::string;

// Why a change was refused, by the table's access rule (no row content:
// a refusal never reveals more than that the key is taken).
const char* forbidden_message(const table& t) {
  switch (t.access) {
    case access_kind::owner:
      return "the row belongs to another user";
    case access_kind::scoped:
    case access_kind::root:
      return "this change needs the write role in the row's scope (admin to "
             "delete a scope's root row); a row's scope cannot change";
    case access_kind::members:
      return "membership changes need the admin role in the scope (anyone "
             "may remove their own membership)";
  }
  return "forbidden";
}

// FNV-1a, 64 bits: names the functions by their text (not a security hash;
// a collision needs two schemas on one database with equal hashes).
std::uint64_t fnv1a(std::string_view text) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char ch : text) h = (h ^ ch) * 1099511628211ULL;
  return h;
}

// `text` dollar-quoted with a tag it does not contain.
string dollar_quote(const string& text) {
  string tag = "$es$";
  for (int n = 1; text.find(tag) != string::npos; ++n)
    tag = "$es" + std::to_string(n) + "$";
  return tag + text + tag;
}

// Every statement of these functions reads by an index: the batch's keys
// (one primary-key probe per key, server_postgres.cpp per_key), a pull's
// range of the pull index, a client id. Their plans are made once per
// connection and kept, so a plan made while a table was nearly empty (where
// a sequential scan is cheapest) would read the whole table per request once
// it has grown, until an ANALYZE happens to replace it. With sequential scans
// off the index plan is the one kept: O(batch) or O(page) whatever the
// table's size and statistics.
string function(const string& name, const string& params, const string& returns,
                const string& body) {
  return "CREATE OR REPLACE FUNCTION " + name + "(" + params + ") RETURNS " +
         returns + " LANGUAGE plpgsql SET enable_seqscan = off AS " +
         dollar_quote(body) + ";\n";
}

// `<statement> INTO _es_j; RETURN _es_j;`: PL/pgSQL strips a trailing INTO
// (an INSERT's own INTO is told apart by the keyword before it).
string returning_text(const string& statement) {
  return "DECLARE _es_j text; BEGIN " + statement +
         " INTO _es_j; RETURN _es_j; END";
}

// The merge statement's outcomes ({i, s, v, d, r} objects) as rows `z`,
// read in one pass: each member is parsed once, not once per use. `v` and
// `r` keep their JSON text (SQL NULL for JSON null or absent).
constexpr const char* outcome_rows =
    "json_to_recordset(_es_j::json) AS z(i int, s text, v json, d boolean, "
    "r json)";

// `,"name":<json text of z.col>` when that value is not null.
string optional_member(const char* col, const char* name) {
  return string("CASE WHEN z.") + col + " IS NOT NULL THEN ',\"" + name +
         "\":' || z." + col + "::text ELSE '' END";
}

string deleted_member() {
  return "',\"deleted\":' || CASE WHEN z.d THEN 'true' ELSE 'false' END";
}

// The JSON text of z.col, `null` for none.
string json_or_null(const char* col) {
  return string("coalesce(z.") + col + "::text, 'null')";
}

// The protocol's result object of merge outcome `z` of table `t`: the
// loser's status and reason come from the policy's rule. An outcome with no
// result (a policy that cannot lose, said to have lost) is NULL, which the
// entry point refuses.
string result_text(const table& t) {
  const policy_rule& rule = rule_of(t.policy);
  string id = "'{\"id\":' || $4[z.i + 1]";
  string out = "CASE z.s WHEN 'applied' THEN " + id +
               " || ',\"status\":\"applied\",\"version\":' || " +
               json_or_null("v") + " || " + optional_member("r", "row") +
               " || '}' WHEN 'forbidden' THEN " + id + " || " +
               pg_string(
                   ",\"status\":\"rejected\",\"reason\":\"forbidden\","
                   "\"message\":" +
                   dump_json(json(forbidden_message(t))));
  // The row the caller may still read, to roll back to: only a scope's rows
  // can be readable yet refused; an owned row of another user is never sent.
  if (t.access != access_kind::owner)
    out +=
        " || CASE WHEN z.v IS NOT NULL THEN ',\"version\":' || z.v::text || " +
        deleted_member() + " ELSE '' END || " + optional_member("r", "row");
  out += " || '}'";
  if (rule.loser != loser_status::none)
    out += string(" WHEN 'lost' THEN ") + id + " || " +
           pg_string(string(",\"status\":\"") + to_string(rule.loser) +
                     "\",\"reason\":\"" + rule.reason + "\",\"version\":") +
           " || " + json_or_null("v") + " || " + deleted_member() +
           " || ',\"row\":' || " + json_or_null("r") + " || '}'";
  return out + " END";
}

// Which outcomes are conflicts, logged with their outcome string.
string conflict_outcome(const table& t) {
  const policy_rule& rule = rule_of(t.policy);
  string out = "CASE z.s WHEN 'forbidden' THEN 'rejected:forbidden'";
  if (rule.loser != loser_status::none)
    out += string(" WHEN 'lost' THEN ") +
           pg_string(string(to_string(rule.loser)) + ":" + rule.reason);
  return out + " END";
}

// A merge helper: $1 input, $2 user, $3 client, $4 the change ids. Runs the
// merge statement, turns its outcomes into results, logs the conflicts, and
// hands back the changes that raced (merged again by the caller in a fresh
// statement, which sees the row they raced with).
string merge_helper(const string& name, const schema& s, const table& t,
                    change_op op) {
  bool del = op == change_op::remove;
  string stmt = del ? remove(s, t) : upsert(s, t);
  string pk;
  for (std::size_t k = 0; k < t.primary_key.size(); ++k) {
    const column& c = t.columns[t.primary_key[k]];
    pk += (k ? ", " : "") + quote_literal(c.name) + ", x->" +
          quote_literal(c.name);
  }
  string outcome = conflict_outcome(t);
  string body =
      "DECLARE _es_j text; _es_race int[]; _es_n bigint; BEGIN " + stmt +
      " INTO _es_j; "
      "SELECT array_agg(z.i) FILTER (WHERE z.s <> 'race'), array_agg(" +
      result_text(t) +
      ") FILTER (WHERE z.s <> 'race'), array_agg(z.i) FILTER (WHERE z.s = "
      "'race'), count(*) FILTER (WHERE " +
      outcome + " IS NOT NULL) INTO _es_oi, _es_or, _es_race, _es_n FROM " +
      outcome_rows +
      "; "
      "IF _es_n > 0 THEN INSERT INTO " +
      quote_ident(pg_names::conflicts) +
      " (user_id, client_id, table_name, pk, policy, outcome, client_row, "
      "server_row) SELECT $2, $3, " +
      quote_literal(t.server_name) + ", jsonb_build_object(" + pk + "), " +
      quote_literal(to_string(t.policy)) + ", o, " +
      (del ? string("NULL")
           : string("x - '_es_i' - '_es_h' - '_es_b' - "
                    "'_es_c'")) +
      ", z.r::jsonb FROM " + outcome_rows +
      " JOIN jsonb_array_elements($1::jsonb) AS x_(x) ON (x->>'_es_i')::int = "
      "z.i, LATERAL (SELECT " +
      outcome +
      " AS o) w WHERE o IS NOT NULL ORDER BY z.i; END IF; "
      "IF _es_race IS NOT NULL THEN SELECT '[' || string_agg(x::text, ',') || "
      "']' INTO _es_again FROM json_array_elements($1::json) AS x_(x) WHERE "
      "(x->>'_es_i')::int = ANY (_es_race); END IF; END";
  return function(name,
                  "text, text, text, bigint[], OUT _es_oi int[], OUT _es_or "
                  "text[], OUT _es_again text",
                  "record", body);
}

// The entry point: claim, then (a new batch) locks, merge passes, results
// and record, then the pull.
string entry(const string& name, const string& prefix, const schema& s) {
  // CASE arms calling the helper of each kind.
  string locks, merges;
  for (std::size_t ti = 0; ti < s.tables.size(); ++ti) {
    string t = std::to_string(ti);
    locks.append(" WHEN ").append(t).append(" THEN PERFORM ").append(prefix);
    locks.append("_l").append(t).append(
        "(_es_in[_es_g], _es_user, _es_in[_es_g + 1]);");
    for (change_op op : {change_op::upsert, change_op::remove}) {
      string k = std::to_string(change_kind(ti, op));
      merges.append(" WHEN ").append(k).append(
          " THEN SELECT * INTO _es_m FROM ");
      merges.append(prefix).append("_m").append(k).append(
          "(_es_in[_es_g], _es_user, _es_client, _es_ids);");
    }
  }
  string clients = quote_ident(pg_names::clients);
  string body =
      "DECLARE _es_c record; _es_m record; _es_dup boolean := false; "
      "_es_results text := '[]'; _es_idx int[] := '{}'; _es_res text[] := "
      "'{}'; _es_in text[] := _es_inputs; _es_g int; _es_pass int := 0; "
      "_es_left boolean; _es_n int := coalesce(array_length(_es_kinds, 1), "
      "0); "
      "BEGIN "
      // The claim locks the client row: one request of a client at a time.
      // Another user's client id: nothing is written, the caller answers 403.
      "INSERT INTO " +
      clients +
      " AS c (client_id, user_id) VALUES (_es_client, _es_user) ON CONFLICT "
      "(client_id) DO UPDATE SET seen_at = now() WHERE c.user_id = "
      "EXCLUDED.user_id RETURNING c.last_seq, c.last_results INTO _es_c; "
      "IF NOT FOUND THEN RETURN " +
      quote_literal(sync_client_conflict) +
      "; END IF; "
      "IF _es_seq IS NOT NULL AND _es_seq <= _es_c.last_seq THEN "
      "_es_dup := true; _es_results := CASE WHEN _es_seq = _es_c.last_seq "
      "AND _es_c.last_results IS NOT NULL THEN _es_c.last_results::text ELSE "
      "'[]' END; "
      "ELSIF _es_seq IS NOT NULL THEN "
      // A table with both upserts and deletes is locked first by one
      // statement in key order over both sets: two statements each locking
      // in key order could still take two batches' rows in opposite orders.
      "FOR _es_g IN 1 .. _es_n - 1 LOOP "
      "IF _es_kinds[_es_g] % 2 = 0 AND _es_kinds[_es_g + 1] = "
      "_es_kinds[_es_g] + 1 THEN CASE _es_kinds[_es_g] / 2" +
      locks +
      " END CASE; END IF; END LOOP; "
      // A change answered `race` is merged again in a fresh statement; a
      // race needs another transaction to insert the same new key between
      // two statements, so a fourth pass is already rare.
      "WHILE _es_n > 0 LOOP _es_pass := _es_pass + 1; _es_left := false; "
      "FOR _es_g IN 1 .. _es_n LOOP CONTINUE WHEN _es_in[_es_g] IS NULL; "
      "CASE _es_kinds[_es_g]" +
      merges +
      " END CASE; _es_idx := _es_idx || _es_m._es_oi; _es_res := _es_res || "
      "_es_m._es_or; _es_in[_es_g] := _es_m._es_again; _es_left := _es_left "
      "OR _es_m._es_again IS NOT NULL; END LOOP; EXIT WHEN NOT _es_left; "
      "IF _es_pass >= 4 THEN RAISE EXCEPTION USING ERRCODE = '40001', "
      "MESSAGE = 'edgesync: rows of this batch keep being inserted "
      "concurrently; retry the batch'; END IF; END LOOP; "
      "IF coalesce(array_length(_es_idx, 1), 0) <> _es_total OR "
      "array_position(_es_res, NULL) IS NOT NULL THEN RAISE EXCEPTION "
      "'edgesync: a change of the batch has no result'; END IF; "
      "SELECT '[' || coalesce(string_agg(r, ',' ORDER BY i), '') || ']' INTO "
      "_es_results FROM unnest(_es_idx, _es_res) AS u(i, r); "
      // An empty batch still consumes its sequence number.
      "UPDATE " +
      clients +
      " SET last_seq = _es_seq, last_results = _es_results::jsonb, seen_at = "
      "now() WHERE client_id = _es_client; "
      "END IF; "
      "RETURN json_build_object('dup', _es_dup)::text || chr(10) || "
      "_es_results || chr(10) || " +
      prefix +
      "_p(_es_user, _es_xid, _es_ver, _es_client, _es_page, _es_row); END";
  return function(name,
                  "_es_user text, _es_client text, _es_seq bigint, _es_total "
                  "int, _es_ids bigint[], _es_kinds int[], _es_inputs text[], "
                  "_es_xid text, _es_ver text, _es_page text, _es_row text",
                  "text", body);
}

// Every function of `s` named under `prefix`.
sync_functions build(const schema& s, const string& prefix) {
  sync_functions out;
  out.name = prefix + "_sync";
  for (std::size_t ti = 0; ti < s.tables.size(); ++ti) {
    const table& t = s.tables[ti];
    string lock_name = prefix;
    lock_name.append("_l").append(std::to_string(ti));
    out.ddl += function(lock_name, "text, text, text", "text",
                        returning_text(lock_keys(s, t)));
    for (change_op op : {change_op::upsert, change_op::remove})
      out.ddl += merge_helper(
          prefix + "_m" + std::to_string(change_kind(ti, op)), s, t, op);
  }
  out.ddl += function(prefix + "_p", "text, text, text, text, text, text",
                      "text", returning_text(pull(s)));
  out.ddl += entry(out.name, prefix, s);
  return out;
}

}  // namespace

sync_functions sync_function(const schema& s) {
  // Named by the hash of what they do: built once with a fixed name to hash
  // the text, then under the name that hash gives.
  const string probe = "edgesync_0000000000000000";
  std::uint64_t h = fnv1a(build(s, probe).ddl);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return build(s, string("edgesync_") + hex);
}

string server_ddl(const schema& s) { return pg_ddl(s) + sync_function(s).ddl; }

result<string> server_migration(const schema& from, const schema& to) {
  auto m = pg_migration(from, to);
  if (!m) return m.errors();
  return m.value() + sync_function(to).ddl;
}

}  // namespace edgesync::sql
