// The request state machine (see the table at the top of server.h).
#include "server/server.h"

#include <algorithm>
#include <charconv>
#include <tuple>

#include "sql/pg_sync_call.h"

namespace edgesync {

struct server::request_state {
  std::string user_id;
  sync_request req;
  std::int64_t now_ms = 0;  // the latest host clock reading
};

server::server(edgesync::schema s, server_limits limits)
    : schema_(std::move(s)),
      limits_(limits),
      functions_(sql::sync_function(schema_)) {}

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
  st->now_ms = now_ms;
  step_output out = call(*st);
  // The inputs now live in the statement's text.
  std::vector<change_group>().swap(st->req.groups);
  states_[next_state_++] = std::move(st);
  return out;
}

step_output server::call(const request_state& st) const {
  step_output out;
  out.segments.push_back(sql::sync_call(functions_.name, st.req, st.user_id));
  out.statements.push_back({"", 0, json::array()});
  return out;
}

step_output server::next(std::int64_t state, std::int64_t now_ms) {
  auto it = states_.find(state);
  if (it == states_.end() || !it->second->req.stream)
    return fail(0, 500, {{error_code::internal, "", "unknown stream state"}});
  it->second->now_ms = now_ms;
  return call(*it->second);
}

step_output server::step(std::int64_t state,
                         const std::vector<std::string_view>& results,
                         std::int64_t now_ms) {
  auto it = states_.find(state);
  if (it == states_.end())
    return fail(0, 500, {{error_code::internal, "", "unknown request state"}});
  it->second->now_ms = now_ms;
  if (results.size() != 1)
    return fail(state, 500,
                {{error_code::internal, "", "unexpected number of results"}});
  return finish(state, *it->second, results[0]);
}

step_output server::finish(std::int64_t id, request_state& st,
                           std::string_view answer) {
  if (answer == sql::sync_client_conflict)
    return fail(
        id, 403,
        {{error_code::client_id_conflict, "clientId",
          "this client id belongs to another user; generate a new client id "
          "(a fresh local database) for this user"}});
  // `<head>\n<results>\n<changes>\n<meta>`: results and changes pass
  // through untouched (JSON text never holds a raw newline).
  auto head_end = answer.find('\n');
  auto results_end = head_end == std::string_view::npos
                         ? head_end
                         : answer.find('\n', head_end + 1);
  if (results_end == std::string_view::npos)
    return fail(id, 500, {{error_code::internal, "", "bad request answer"}});
  auto head = parse_json(answer.substr(0, head_end));
  if (!head || !member(head.value(), "dup").is_boolean())
    return fail(id, 500, {{error_code::internal, "", "bad request answer"}});
  bool duplicate = member(head.value(), "dup").get<bool>();
  std::string_view results =
      answer.substr(head_end + 1, results_end - head_end - 1);
  std::string_view j = answer.substr(results_end + 1);
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
            ",\"duplicate\":" + (duplicate ? "true" : "false") + "}";
  else
    body += "null";
  body += ",\"results\":";
  body.append(results.data(), results.size());
  // A stream's frame says how many rows it carries before them, so the
  // client can report progress as frames arrive.
  if (st.req.stream)
    body += ",\"rows\":" +
            std::to_string(std::min<std::int64_t>(n, st.req.page_size));
  body += ",\"changes\":";
  body.append(j.data(), nl);
  body += ",\"cursor\":\"" + next.to_string() + "\",\"hasMore\":";
  body += has_more ? "true" : "false";
  body += "}";
  // Frames of a stream are newline-delimited (JSON text holds no raw
  // newline).
  if (st.req.stream) body += "\n";

  step_output out;
  if (st.req.stream && has_more) {
    // The stream goes on from here: the next frame is the next page.
    st.req.cursor = next;
    out.more = true;
  } else {
    states_.erase(id);
  }
  out.done = true;
  out.status = 200;
  out.segments.push_back(std::move(body));
  if (member(m, "poke").is_object()) out.poke = dump_json(member(m, "poke"));
  return out;
}

}  // namespace edgesync
