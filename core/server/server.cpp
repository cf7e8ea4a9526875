// The request state machine (see the table at the top of server.h).
#include "server/server.h"

#include <algorithm>
#include <charconv>
#include <tuple>

#include "common/json_scan.h"
#include "schema/policy.h"
#include "sql/server_postgres.h"

namespace edgesync {

namespace {

// A change's own object, as written into its group's input, without the
// bookkeeping keys: the client row for the conflict log.
json client_row(const change_group& g, const change& c) {
  const std::string_view input = g.input;
  auto parsed = parse_json(input.substr(c.from, c.to - c.from));
  if (!parsed || !parsed.value().is_object()) return nullptr;
  json row = std::move(parsed.value());
  for (const char* k : {"_es_i", "_es_h", "_es_b", "_es_c"}) row.erase(k);
  return row;
}

// A change answered `race` is merged again in a fresh statement (which sees
// the row it raced with); a race needs another transaction to insert the
// same new key between two statements, so a third pass is already rare.
constexpr int max_merge_passes = 4;

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

// The pass_groups entry of a statement that merges nothing (a lock).
constexpr std::size_t no_group = static_cast<std::size_t>(-1);

}  // namespace

struct server::request_state {
  enum class phase { claimed, merged, pulled } at = phase::claimed;
  std::string user_id;
  sync_request req;
  // Per-change result objects, in request order once the merges answered:
  // spans into `result_buf`, joined into `results_text`.
  std::string result_buf;
  std::vector<std::pair<std::size_t, std::size_t>> result_spans;
  std::string results_text = "[]";
  // The merge statements in flight: the group each one merges.
  std::vector<std::size_t> pass_groups;
  int merge_passes = 0;
  json conflicts = json::array();  // conflict-log entries, all passes
  bool duplicate = false;
  std::string stored_results;  // raw results JSON for a retried batch
  std::int64_t now_ms = 0;     // the latest host clock reading
};

server::server(edgesync::schema s, server_limits limits)
    : schema_(std::move(s)), limits_(limits) {
  sql_.claim = sql::claim();
  sql_.record_batch = sql::record_batch();
  sql_.log_conflicts = sql::log_conflicts();
  sql_.pull = sql::pull(schema_);
  for (const table& t : schema_.tables) {
    sql_.upsert.push_back(sql::upsert(schema_, t));
    sql_.remove.push_back(sql::remove(schema_, t));
    sql_.lock_keys.push_back(sql::lock_keys(schema_, t));
  }
}

server::~server() = default;

void server::abort(std::int64_t state) { states_.erase(state); }

step_output server::fail(std::int64_t id, int status,
                         const std::vector<error>& errs) {
  if (id != 0) states_.erase(id);
  step_output out;
  out.done = true;
  out.status = status;
  out.rollback = true;
  out.segments.push_back(error_body(errs));
  return out;
}

step_output server::begin(std::string_view user_id, std::string_view body,
                          std::int64_t now_ms) {
  if (user_id.empty())
    return fail(0, 401,
                {{error_code::unauthorized, "", "no authenticated user"}});
  auto v = validate_request(schema_, limits_, body, now_ms);
  if (auto* e = std::get_if<request_error>(&v)) {
    step_output out;
    out.done = true;
    out.status = e->status;
    out.segments.push_back(error_body(e->errors, e->server_schema_version));
    return out;
  }
  auto st = std::make_unique<request_state>();
  st->user_id = std::string(user_id);
  st->req = std::move(std::get<sync_request>(v));
  std::int64_t id = next_state_++;

  step_output out;
  out.statements.push_back(
      {sql_.claim, json::array({st->req.client_id, st->user_id,
                                st->req.has_batch ? std::to_string(st->req.seq)
                                                  : std::string("-1")})});
  states_[id] = std::move(st);
  out.segments.clear();
  return out;
}

step_output server::step(std::int64_t state,
                         const std::vector<std::string_view>& results,
                         std::int64_t now_ms) {
  auto it = states_.find(state);
  if (it == states_.end())
    return fail(0, 500, {{error_code::internal, "", "unknown request state"}});
  request_state& st = *it->second;
  st.now_ms = now_ms;
  switch (st.at) {
    case request_state::phase::claimed:
      if (results.size() != 1) break;
      return after_claim(state, st, results[0]);
    case request_state::phase::merged:
      return after_merge(state, st, results);
    case request_state::phase::pulled:
      if (results.empty()) break;
      return after_pull(state, st, results.back());
  }
  return fail(state, 500,
              {{error_code::internal, "", "unexpected number of results"}});
}

step_output server::after_claim(std::int64_t id, request_state& st,
                                std::string_view j) {
  auto parsed = parse_json(j);
  if (!parsed || !parsed.value().is_object())
    return fail(id, 500, {{error_code::internal, "", "bad claim result"}});
  const json& claim = parsed.value();
  if (!member(claim, "user").is_string() ||
      member(claim, "user").get<std::string>() != st.user_id)
    return fail(
        id, 403,
        {{error_code::client_id_conflict, "clientId",
          "this client id belongs to another user; generate a new client id "
          "(a fresh local database) for this user"}});
  std::int64_t last_seq = member(claim, "lastSeq").is_number_integer()
                              ? member(claim, "lastSeq").get<std::int64_t>()
                              : 0;
  step_output out;
  if (st.req.has_batch && st.req.seq <= last_seq) {
    st.duplicate = true;
    if (st.req.seq == last_seq && !member(claim, "lastResults").is_null())
      st.stored_results = dump_json(member(claim, "lastResults"));
    else
      st.stored_results = "[]";
  } else if (st.req.has_batch && !st.req.changes.empty()) {
    for (std::size_t gi = 0; gi < st.req.groups.size(); ++gi)
      add_merge(st, out, gi, st.req.groups[gi].input);
    // A table with both upserts and deletes is locked by one statement
    // first, in key order over both sets: two statements each locking in
    // key order could still take two batches' rows in opposite orders.
    // (Groups are sorted by (table, op): upserts right before deletes.)
    for (std::size_t gi = 0; gi + 1 < st.req.groups.size(); ++gi) {
      const change_group& g = st.req.groups[gi];
      const change_group& next = st.req.groups[gi + 1];
      if (g.table != next.table || g.op != change_op::upsert) continue;
      out.statements.insert(
          out.statements.begin(),
          {sql_.lock_keys[g.table], json::array({json{{"seg", gi}}, st.user_id,
                                                 json{{"seg", gi + 1}}})});
      st.pass_groups.insert(st.pass_groups.begin(), no_group);
    }
    st.merge_passes = 1;
    st.result_spans.assign(st.req.changes.size(), {0, 0});
    st.at = request_state::phase::merged;
    return out;
  } else if (st.req.has_batch) {
    // An empty batch still consumes its sequence number.
    st.results_text = "[]";
  }
  if (st.req.has_batch && !st.duplicate)
    out.statements.push_back(
        {sql_.record_batch,
         json::array({st.req.client_id, std::to_string(st.req.seq), "[]"})});
  add_pull(st, out);
  return out;
}

void server::add_merge(request_state& st, step_output& out, std::size_t group,
                       std::string input) const {
  const change_group& g = st.req.groups[group];
  out.statements.push_back(
      {g.op == change_op::upsert ? sql_.upsert[g.table] : sql_.remove[g.table],
       json::array({json{{"seg", out.segments.size()}}, st.user_id,
                    st.req.client_id})});
  out.segments.push_back(std::move(input));
  st.pass_groups.push_back(group);
}

step_output server::after_merge(std::int64_t id, request_state& st,
                                const std::vector<std::string_view>& results) {
  if (results.size() != st.pass_groups.size())
    return fail(id, 500,
                {{error_code::internal, "", "merge result count mismatch"}});
  json& conflicts = st.conflicts;
  std::string& buf = st.result_buf;
  buf.reserve(st.req.changes.size() * 64);
  std::string key, s_val;
  // Per group: the changes to merge again (`race`), as a JSON array.
  std::vector<std::string> again(st.req.groups.size());
  for (std::size_t p = 0; p < st.pass_groups.size(); ++p) {
    if (st.pass_groups[p] == no_group) continue;
    const change_group& g = st.req.groups[st.pass_groups[p]];
    const table& t = schema_.tables[g.table];
    const policy_rule& rule = rule_of(t.policy);
    // Scanned, not parsed: results (and lww-field rows) are copied through.
    json_scanner js(results[p]);
    if (!js.begin_array())
      return fail(id, 500, {{error_code::internal, "", "bad merge result"}});
    while (js.next_element()) {
      if (!js.begin_object()) break;
      std::int64_t idx = -1;
      std::string_view v = "null", d = "null", r = "null";
      s_val.clear();
      while (js.next_key(key)) {
        bool is_int = false;
        if (key == "i")
          js.read_number(is_int, idx);
        else if (key == "s")
          js.read_string(s_val);
        else if (key == "v")
          v = js.skip_value();
        else if (key == "d")
          d = js.skip_value();
        else if (key == "r")
          r = js.skip_value();
        else
          js.skip_value();
        if (js.failed()) break;
      }
      if (js.failed() || idx < 0 ||
          static_cast<std::size_t>(idx) >= st.req.changes.size())
        return fail(id, 500, {{error_code::internal, "", "bad merge result"}});
      auto i = static_cast<std::size_t>(idx);
      const change& c = st.req.changes[i];
      if (c.group != st.pass_groups[p])
        return fail(id, 500, {{error_code::internal, "", "bad merge result"}});
      if (s_val == "race") {
        std::string& in = again[c.group];
        in += in.empty() ? '[' : ',';
        in.append(g.input, c.from, c.to - c.from);
        continue;
      }
      std::size_t from = buf.size();
      buf += "{\"id\":";
      buf += std::to_string(c.id);
      std::string status, reason;
      if (s_val == "applied") {
        buf += ",\"status\":\"applied\",\"version\":";
        buf += v;
        if (r != "null") {
          buf += ",\"row\":";
          buf += r;
        }
      } else if (s_val == "forbidden") {
        status = "rejected";
        reason = "forbidden";
        buf +=
            ",\"status\":\"rejected\",\"reason\":\"forbidden\",\"message\":\"";
        buf += forbidden_message(t);
        buf += '"';
        // The row the caller may still read, to roll back to: only a
        // scope's rows can be readable yet refused (the merge SQL decides);
        // an owned row of another user is never sent, whatever arrives.
        if (t.access != access_kind::owner && v != "null") {
          buf += ",\"version\":";
          buf += v;
          buf += ",\"deleted\":";
          buf += d == "true" ? "true" : "false";
        }
        if (t.access != access_kind::owner && r != "null") {
          buf += ",\"row\":";
          buf += r;
        }
      } else if (s_val == "lost" && rule.loser != loser_status::none) {
        status = to_string(rule.loser);
        reason = rule.reason;
        buf += ",\"status\":\"";
        buf += status;
        buf += "\",\"reason\":\"";
        buf += reason;
        buf += "\",\"version\":";
        buf += v;
        buf += ",\"deleted\":";
        buf += d == "true" ? "true" : "false";
        buf += ",\"row\":";
        buf += r;
      } else {
        return fail(id, 500, {{error_code::internal, "", "bad merge status"}});
      }
      buf += '}';
      st.result_spans[i] = {from, buf.size()};
      if (!status.empty()) {
        json row = client_row(st.req.groups[c.group], c);
        json pk = json::object();
        for (auto k : t.primary_key)
          if (row.is_object() && row.contains(t.columns[k].name))
            pk[t.columns[k].name] = row[t.columns[k].name];
        auto server_row = parse_json(r);
        conflicts.push_back(
            {{"table_name", t.server_name},
             {"pk", std::move(pk)},
             {"policy", to_string(t.policy)},
             {"outcome", std::string(status).append(":").append(reason)},
             {"client_row",
              c.op == change_op::upsert ? std::move(row) : json(nullptr)},
             {"server_row", server_row ? server_row.value() : json(nullptr)}});
      }
    }
    if (js.failed())
      return fail(id, 500, {{error_code::internal, "", "bad merge result"}});
  }
  st.pass_groups.clear();
  bool raced = false;
  step_output again_out;
  for (std::size_t gi = 0; gi < again.size(); ++gi) {
    if (again[gi].empty()) continue;
    raced = true;
    again[gi] += ']';
    add_merge(st, again_out, gi, std::move(again[gi]));
  }
  if (raced) {
    if (st.merge_passes++ >= max_merge_passes)
      return fail(id, 503,
                  {{error_code::unavailable, "",
                    "rows of this batch keep being inserted concurrently; "
                    "retry the batch"}});
    return again_out;
  }
  std::string& text = st.results_text;
  text.clear();
  text.reserve(buf.size() + st.result_spans.size() + 2);
  text += '[';
  for (std::size_t i = 0; i < st.result_spans.size(); ++i) {
    const auto& [from, to] = st.result_spans[i];
    if (to == 0)
      return fail(id, 500,
                  {{error_code::internal, "", "a change has no result"}});
    if (i) text += ',';
    text.append(buf, from, to - from);
  }
  text += ']';
  std::string().swap(buf);
  step_output out;
  out.statements.push_back(
      {sql_.record_batch,
       json::array(
           {st.req.client_id, std::to_string(st.req.seq), json{{"seg", 0}}})});
  out.segments.push_back(text);
  if (!conflicts.empty()) {
    out.statements.push_back(
        {sql_.log_conflicts,
         json::array({json{{"seg", 1}}, st.user_id, st.req.client_id})});
    out.segments.push_back(dump_json(conflicts));
  }
  add_pull(st, out);
  return out;
}

void server::add_pull(request_state& st, step_output& out) const {
  out.statements.push_back(
      {sql_.pull,
       json::array({st.user_id, std::to_string(st.req.cursor.xid),
                    std::to_string(st.req.cursor.version), st.req.client_id,
                    std::to_string(st.req.page_size + 1),
                    std::to_string(st.req.cursor.row)})});
  st.at = request_state::phase::pulled;
}

step_output server::after_pull(std::int64_t id, request_state& st,
                               std::string_view j) {
  // `<changes JSON>\n<meta JSON>`: the changes pass through untouched.
  auto nl = j.rfind('\n');
  if (nl == std::string_view::npos)
    return fail(id, 500, {{error_code::internal, "", "bad pull result"}});
  auto meta = parse_json(j.substr(nl + 1));
  if (!meta || !meta.value().is_object())
    return fail(id, 500, {{error_code::internal, "", "bad pull metadata"}});
  const json& m = meta.value();
  std::int64_t n = member(m, "n").is_number_integer()
                       ? member(m, "n").get<std::int64_t>()
                       : 0;
  bool has_more = n > st.req.page_size;
  pull_cursor next = st.req.cursor;
  auto parse_u64 = [](const json& v, std::uint64_t& out) {
    if (!v.is_string()) return false;
    const auto& s = v.get_ref<const std::string&>();
    return std::from_chars(s.data(), s.data() + s.size(), out).ec ==
           std::errc();
  };
  if (has_more) {
    if (!parse_u64(member(m, "lx"), next.xid) ||
        !member(m, "lv").is_number_integer())
      return fail(id, 500, {{error_code::internal, "", "bad pull page end"}});
    next.version = member(m, "lv").get<std::int64_t>();
    next.row = opt_int(member(m, "lr")).value_or(next.version);
  } else {
    // Everything below the page's bound has been delivered: the snapshot's
    // xmin (`uv` 0), or a membership whose backfill comes next (then there
    // is more).
    pull_cursor bound;
    if (!parse_u64(member(m, "xmin"), bound.xid))
      return fail(id, 500, {{error_code::internal, "", "bad snapshot xmin"}});
    bound.version = opt_int(member(m, "uv")).value_or(0);
    has_more = bound.version != 0;
    // Never move backwards.
    if (std::tie(bound.xid, bound.version, bound.row) >
        std::tie(next.xid, next.version, next.row))
      next = bound;
  }
  std::string body =
      "{\"protocol\":" + std::to_string(protocol_version) + ",\"serverTime\":";
  body += std::to_string(st.now_ms);
  body += ",\"ack\":";
  if (st.req.has_batch)
    body += "{\"seq\":" + std::to_string(st.req.seq) +
            ",\"duplicate\":" + (st.duplicate ? "true" : "false") + "}";
  else
    body += "null";
  body += ",\"results\":";
  body += st.duplicate ? st.stored_results : st.results_text;
  body += ",\"changes\":";
  body.append(j.data(), nl);
  body += ",\"cursor\":\"" + next.to_string() + "\",\"hasMore\":";
  body += has_more ? "true" : "false";
  body += "}";

  states_.erase(id);
  step_output out;
  out.done = true;
  out.status = 200;
  out.segments.push_back(std::move(body));
  if (member(m, "poke").is_object()) out.poke = dump_json(member(m, "poke"));
  return out;
}

}  // namespace edgesync
