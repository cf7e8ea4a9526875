#include "schema/policy.h"

namespace edgesync {

namespace {

// clang-format off
// policy                        accept                   per_field loser                   reason
constexpr policy_rule kRules[] = {
    {conflict_policy::lww,          accept_rule::newer_hlc,    false, loser_status::conflict, "older"},
    {conflict_policy::lww_field,    accept_rule::newer_hlc,    true,  loser_status::conflict, "older"},
    {conflict_policy::server_wins,  accept_rule::base_version, false, loser_status::conflict, "stale"},
    {conflict_policy::client_wins,  accept_rule::always,       false, loser_status::none,     ""},
    {conflict_policy::reject_stale, accept_rule::base_version, false, loser_status::rejected, "stale"},
};
// clang-format on

const char* to_string(accept_rule a) {
  switch (a) {
    case accept_rule::newer_hlc:
      return "newer_hlc";
    case accept_rule::always:
      return "always";
    case accept_rule::base_version:
      return "base_version";
  }
  return "always";
}

}  // namespace

const policy_rule& rule_of(conflict_policy p) {
  for (const auto& r : kRules)
    if (r.policy == p) return r;
  return kRules[0];  // unreachable: every enumerator has a row
}

const char* to_string(loser_status s) {
  switch (s) {
    case loser_status::none:
      return "none";
    case loser_status::conflict:
      return "conflict";
    case loser_status::rejected:
      return "rejected";
  }
  return "none";
}

json policy_rules_json() {
  json out = json::object();
  for (const auto& r : kRules)
    out[to_string(r.policy)] = {
        {"accept", to_string(r.accept)},
        {"perField", r.per_field},
        {"loser", r.loser == loser_status::none ? json(nullptr)
                                                : json(to_string(r.loser))},
        {"reason",
         r.loser == loser_status::none ? json(nullptr) : json(r.reason)}};
  return out;
}

}  // namespace edgesync
