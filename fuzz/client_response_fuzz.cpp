// Target: the client core reading /sync answers. The engine is driven
// through its public events to the point where it waits for an answer —
// load (a stored client id, optionally an in-flight batch of three changes
// restored from sync_state), outbox read (optionally two queued rows), seal
// — and then gets the fuzz bytes as the HTTP answer's body. Its SQL effects
// are answered with plausible results, so it goes on to apply the answer
// and sends the next request, which gets the next chunk of the input.
//
//   input = flags chunk ( "\0" chunk )*        (at most kMaxAnswers chunks)
//   flags bit 0: an in-flight batch is stored; bit 1: the outbox has rows;
//         bit 2: SQLite >= 3.45 (jsonb paths)
//   chunk = status-selector body               (kStatuses[selector % n])
//
// Properties:
//  - every SQL parameter the engine passes as a raw JSON document (batch
//    text, id lists, rows to apply, pulled changes) is valid JSON, and its
//    request bodies are valid JSON objects;
//  - the effects an answer causes encode (client_codec) with every
//    {"seg": k} in range;
//  - the server time the engine absorbs into the local clock is one the
//    15-digit ms field of an HLC stamp holds;
//  - the engine never asks for a second SQL or HTTP effect while one is
//    outstanding.
#include <variant>
#include <vector>

#include "client/client.h"
#include "fuzz_support.h"
#include "protocol/hlc.h"

namespace {

using namespace edgesync::client;  // NOLINT(build/namespaces): events, effects
using edgesync::json;
using edgesync::fuzz::excerpt;

constexpr std::size_t kMaxAnswers = 6;
constexpr int kStatuses[] = {200, 200, 200, 200, 400, 401,
                             403, 409, 413, 429, 500, 503};
constexpr std::int64_t kStart = 1763798400000;
const char* const kClientId = "c_0123456789abcdef";

// The in-flight batch as sealed by an earlier round (one change per policy
// of interest: a text key, a composite key, an integer key).
std::string inflight_batch() {
  return R"({"seq":7,"changes":[)"
         R"({"baseVersion":null,"hlc":"001763798400000:00000:c_0123456789abcdef","id":1,"op":"upsert","row":{"id":"p1","name":"Alpha","archived":false},"table":"projects"},)"
         R"({"baseVersion":4,"hlc":"001763798400000:00001:c_0123456789abcdef","id":2,"op":"delete","row":{"projectId":"p1","edgeId":"e1"},"table":"workflowEdges"},)"
         R"({"baseVersion":2,"hlc":"001763798400000:00002:c_0123456789abcdef","id":4,"op":"upsert","row":{"id":7,"title":"T"},"table":"documents"}]})";
}

std::string inflight_meta() {
  return R"([{"covers":[1],"id":1,"op":"I","pk":"[\"p1\"]","tbl":"projects"},)"
         R"({"covers":[2,3],"id":2,"op":"D","pk":"[\"p1\",\"e1\"]","tbl":"workflowEdges"},)"
         R"({"covers":[4],"id":4,"op":"U","pk":"[7]","tbl":"documents"}])";
}

std::string load_doc(bool inflight, bool jsonb) {
  json state = {{"client_id", kClientId}, {"seq", 7}, {"cursor", "5:100"}};
  if (inflight) {
    state["inflight_seq"] = 7;
    state["inflight_batch"] = inflight_batch();
    state["inflight_meta"] = inflight_meta();
  }
  return edgesync::dump_json(
      {{"state", state},
       {"clock", {{"ms", kStart}, {"ctr", 0}, {"node", kClientId}}},
       {"pending", inflight ? 4 : 0},
       {"sqlite", jsonb ? "3.46.1" : "3.40.1"}});
}

std::string outbox_doc(bool rows) {
  if (!rows) return R"({"pending":0,"rows":[]})";
  return R"({"pending":2,"rows":[)"
         R"([11,"settings","[\"theme\"]","I",{"key":"theme","value":{"dark":true}},null,"001763798400100:00000:c_0123456789abcdef",null],)"
         R"([12,"workflowNodes","[\"n1\"]","U",{"id":"n1","projectId":"p1","x":1.5},["x"],"001763798400101:00000:c_0123456789abcdef",3]]})";
}

struct driver {
  engine core;
  std::int64_t now = kStart;
  bool inflight, rows, jsonb;
  const std::string absorb_sql = edgesync::sqlite_absorb_sql();
  std::uint64_t http_id = 0;  // the outstanding request, or 0
  bool encode_next = false;   // encode the effects that follow an answer

  driver(const edgesync::schema& s, bool in, bool r, bool jb)
      : core(options(s)), inflight(in), rows(r), jsonb(jb) {}

  static open_options options(const edgesync::schema& s) {
    open_options o;
    o.schema = s;
    o.seed = "0123456789abcdef0123456789abcdef";
    o.client_id = kClientId;
    o.now_ms = kStart;
    return o;
  }

  // The effects encode (client_codec) with every {"seg": k} in range.
  void check_effects(const std::vector<effect>& fx) {
    auto encoded = encode_effects(fx);
    auto list = edgesync::parse_json(encoded.first);
    ES_FUZZ_CHECK(
        list && list.value().is_array(),
        "the effects encode to a JSON array: " + excerpt(encoded.first));
    if (!list) return;
    json meta = {{"effects", std::move(list.value())}};
    const std::vector<effects::raw_text>& segs = encoded.second;
    auto seg_ok = [&](const json& p) {
      return !p.is_object() ||
             (p.contains("seg") && p["seg"].is_number_unsigned() &&
              p["seg"].get<std::size_t>() < segs.size());
    };
    for (const auto& e : meta["effects"]) {
      if (e.contains("body"))
        ES_FUZZ_CHECK(seg_ok(e["body"]), "http body segment in range");
      if (e.contains("statements"))
        for (const auto& st : e["statements"])
          for (const auto& p : st["params"])
            ES_FUZZ_CHECK(seg_ok(p), "sql parameter segment in range");
    }
  }

  // Valid JSON text (nlohmann's verdict; no NUL, which it would stop at).
  static bool is_json(std::string_view text) {
    return text.find('\0') == std::string_view::npos && json::accept(text);
  }

  // Takes the effects: answers a SQL effect (returns true: more may
  // follow), remembers an HTTP request.
  bool pump_once() {
    std::vector<effect> fx = core.poll();
    // Encoding every batch would double the cost; the effects an answer
    // causes carry the server's rows and messages, the interesting part.
    if (encode_next) check_effects(fx);
    encode_next = false;
    std::optional<effects::run_sql> sql;
    for (auto& f : fx) {
      if (auto* s = std::get_if<effects::run_sql>(&f)) {
        ES_FUZZ_CHECK(!sql && http_id == 0,
                      "a second effect while one is outstanding");
        for (const auto& st : s->statements) {
          if (st.sql == absorb_sql) {
            // The server's clock goes into sync_clock.ms, which the
            // triggers format as the 15 digits of every local HLC stamp.
            auto* ms = st.params.empty()
                           ? nullptr
                           : std::get_if<std::int64_t>(&st.params[0]);
            ES_FUZZ_CHECK(
                ms != nullptr && *ms >= 0 && *ms <= 999'999'999'999'999,
                "the client absorbs a server time no HLC stamp "
                "holds: " +
                    (ms != nullptr ? std::to_string(*ms)
                                   : std::string("not an integer")));
          }
          for (const auto& p : st.params)
            if (auto* raw = std::get_if<effects::raw_text>(&p))
              ES_FUZZ_CHECK(is_json(raw->text),
                            s->purpose + ": a raw SQL parameter is not JSON: " +
                                excerpt(raw->text, 300));
        }
        sql = std::move(*s);
      } else if (auto* h = std::get_if<effects::send_http>(&f)) {
        ES_FUZZ_CHECK(!sql && http_id == 0,
                      "a second effect while one is outstanding");
        ES_FUZZ_CHECK(
            is_json(h->body) && h->body.front() == '{',
            "the request body is not a JSON object: " + excerpt(h->body, 300));
        http_id = h->id;
      }
    }
    if (!sql) return false;
    events::sql_done done;
    done.id = sql->id;
    for (const auto& st : sql->statements) {
      if (!st.out) continue;
      if (sql->purpose == "load")
        done.values.push_back(load_doc(inflight, jsonb));
      else if (sql->purpose == "read")
        done.values.push_back(outbox_doc(rows));
      else
        done.values.push_back("0");  // pending counts
    }
    if (sql->purpose == "read") rows = false;  // sealed now
    core.handle(now, done);
    return true;
  }

  void pump() {
    for (int i = 0; i < 32 && pump_once(); ++i) {
    }
  }

  // Until a request is outstanding (or nothing makes one).
  bool await_request() {
    pump();
    if (http_id != 0) return true;
    core.handle(now, events::sync_now{});
    pump();
    if (http_id != 0) return true;
    now += 24 * 3600 * 1000;  // past any backoff
    core.handle(now, events::tick{});
    pump();
    return http_id != 0;
  }

  void answer(int status, std::string_view body) {
    events::http_response r;
    r.id = http_id;
    r.status = status;
    r.body = body;
    http_id = 0;
    now += 5;
    core.handle(now, r);
    encode_next = true;
    pump();
    // A refresh_token effect waits for the host: give it a token.
    core.handle(now, events::token_refreshed{});
    pump();
  }
};

}  // namespace

ES_FUZZ_TARGET(client_response) {
  if (size == 0) return 0;
  std::uint8_t flags = data[0];
  std::string_view rest = edgesync::fuzz::as_text(data + 1, size - 1);
  driver d(edgesync::fuzz::test_schema(), flags & 1, flags & 2, flags & 4);
  for (std::size_t n = 0; n < kMaxAnswers; ++n) {
    std::size_t end = rest.find('\0');
    std::string_view chunk = rest.substr(0, end);
    if (!d.await_request()) break;
    int status = 200;
    if (!chunk.empty()) {
      status = kStatuses[static_cast<unsigned char>(chunk[0]) %
                         (sizeof kStatuses / sizeof kStatuses[0])];
      chunk.remove_prefix(1);
    }
    d.answer(status, chunk);
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  auto st = d.core.current_status();
  ES_FUZZ_CHECK(st.client_id == kClientId, "the client id changed");
  return 0;
}
