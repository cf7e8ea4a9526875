// The status and error policy (core/client/client_policy.h), as a table.
#include "client/client_policy.h"

#include <gtest/gtest.h>

namespace edgesync {
namespace {

using client::detail::fail_kind;
using client::detail::http_verdict;
using client::detail::judge_http;
using client::detail::make_status;
using client::detail::request_facts;
using action = http_verdict::action;

std::string err(const std::string& code, const std::string& path = "",
                const std::string& extra = "") {
  return "{\"protocol\":1," + extra + "\"error\":{\"code\":\"" + code +
         "\",\"message\":\"m\",\"path\":\"" + path + "\"}}";
}

TEST(ClientPolicy, WhatEachAnswerMeans) {
  request_facts batch{3, true, false, 4};
  request_facts pull{0, true, false, 4};
  struct row {
    int status;
    std::string body;
    request_facts facts;
    action what;
    std::string code;
  };
  const std::vector<row> table = {
      {400, err("type_mismatch", "batch.changes[1].row.x"), batch,
       action::drop_invalid, "type_mismatch"},
      {400, err("type_mismatch", "batch.changes[7].row.x"), batch,
       action::retry_later, "type_mismatch"},  // no such change
      {400, err("invalid_request", "cursor"), pull, action::restart_pull,
       "invalid_request"},
      {400, err("invalid_request", "cursor"), request_facts{0, false, false, 4},
       action::retry_later, "invalid_request"},
      {401, err("unauthorized"), batch, action::refresh_token, "unauthorized"},
      {401, "", request_facts{3, true, true, 4}, action::retry_later,
       "unauthorized"},
      {409, err("schema_version_mismatch", "", "\"serverSchemaVersion\":5,"),
       batch, action::stop, "schema_version_mismatch"},
      {409, err("conflict"), batch, action::retry_later, "conflict"},
      {403, err("client_id_conflict"), batch, action::stop,
       "client_id_conflict"},
      {413, err("payload_too_large"), batch, action::shrink,
       "payload_too_large"},
      {413, err("payload_too_large"), request_facts{1, true, false, 4},
       action::drop_too_large, "payload_too_large"},
      {413, "", pull, action::retry_later, "http_413"},
      {503, "<html>", batch, action::retry_later, "http_503"},
  };
  for (const auto& r : table) {
    http_verdict v = judge_http(r.status, r.body, r.facts);
    EXPECT_EQ(v.what, r.what) << r.status << " " << r.body;
    EXPECT_EQ(v.code, r.code) << r.status << " " << r.body;
  }
  http_verdict v = judge_http(
      409, err("schema_version_mismatch", "", "\"serverSchemaVersion\":5,"),
      batch);
  EXPECT_NE(v.message.find("schema version 4 but the server has 5"),
            std::string::npos)
      << v.message;
}

TEST(ClientPolicy, AValidationErrorRefusesEachChangeItPointsAtOnce) {
  std::string body =
      "{\"protocol\":1,\"error\":{\"code\":\"type_mismatch\",\"message\":"
      "\"first\",\"path\":\"batch.changes[2].row.x\",\"errors\":["
      "{\"code\":\"type_mismatch\",\"path\":\"batch.changes[2].row.x\","
      "\"message\":\"x\"},"
      "{\"code\":\"unknown_column\",\"path\":\"batch.changes[2].row.z\","
      "\"message\":\"z\"},"
      "{\"code\":\"duplicate_row\",\"path\":\"batch.changes[0]\","
      "\"message\":\"\"}]}}";
  http_verdict v = judge_http(400, body, {3, false, false, 1});
  ASSERT_EQ(v.what, action::drop_invalid);
  ASSERT_EQ(v.drops.size(), 2u);
  EXPECT_EQ(v.drops[0].index, 0u);
  EXPECT_EQ(v.drops[0].code, "duplicate_row");
  EXPECT_EQ(v.drops[0].message, "first") << "the top message fills in";
  EXPECT_EQ(v.drops[1].index, 2u);
  EXPECT_EQ(v.drops[1].path, "batch.changes[2].row.x");
}

TEST(ClientPolicy, TheStatusTheUiSees) {
  auto state = [](bool stopped, bool busy, bool offline, fail_kind f) {
    client::detail::status_facts s;
    s.stopped = stopped;
    s.busy = busy;
    s.host_offline = offline;
    s.last_fail = f;
    s.retry_at = 5;
    return make_status(s);
  };
  using client::sync_state;
  EXPECT_EQ(state(true, false, false, fail_kind::error).state,
            sync_state::error);
  EXPECT_EQ(state(false, true, true, fail_kind::network).state,
            sync_state::syncing);
  EXPECT_EQ(state(false, false, true, fail_kind::none).state,
            sync_state::offline);
  EXPECT_EQ(state(false, false, false, fail_kind::network).state,
            sync_state::offline);
  EXPECT_EQ(state(false, false, false, fail_kind::error).state,
            sync_state::error);
  auto idle = state(false, false, false, fail_kind::none);
  EXPECT_EQ(idle.state, sync_state::idle);
  EXPECT_EQ(idle.next_retry_at, 5);
  EXPECT_FALSE(state(false, true, false, fail_kind::none).next_retry_at);
}

TEST(ClientPolicy, BackoffGrowsIsCappedAndHonoursRetryAfter) {
  client::config cfg;
  cfg.backoff_base_ms = 1000;
  cfg.backoff_max_ms = 8000;
  std::uint64_t rng = 42;
  for (int n = 1; n <= 10; ++n) {
    std::int64_t cap = std::min<std::int64_t>(8000, 1000ll << (n - 1));
    std::int64_t d = client::detail::backoff_delay(n, cfg, rng, std::nullopt);
    EXPECT_GE(d, cap - cap / 2) << n;
    EXPECT_LE(d, cap) << n;
  }
  EXPECT_EQ(client::detail::backoff_delay(1, cfg, rng, 90000), 90000);
}

}  // namespace
}  // namespace edgesync
