#include "schema/access.h"

#include <array>

namespace edgesync {

namespace {

// The rule set. Members see each other (read); only admins change
// membership, and anyone may leave. Deleting a scope's root row takes admin.
constexpr std::array<access_rule, 4> kRules{{
    {access_kind::owner, role::read, role::read, role::read, false, false},
    {access_kind::scoped, role::read, role::write, role::write, false, false},
    {access_kind::root, role::read, role::write, role::admin, false, true},
    {access_kind::members, role::read, role::admin, role::admin, true, false},
}};

constexpr std::array<std::pair<const char*, role>, 3> kRoles{{
    {"read", role::read},
    {"write", role::write},
    {"admin", role::admin},
}};

}  // namespace

const access_rule& access_of(access_kind k) {
  for (const auto& r : kRules)
    if (r.kind == k) return r;
  return kRules[0];
}

const char* to_string(role r) {
  for (const auto& [name, v] : kRoles)
    if (v == r) return name;
  return "read";
}

std::optional<role> parse_role(std::string_view s) {
  for (const auto& [name, v] : kRoles)
    if (s == name) return v;
  return std::nullopt;
}

const char* to_string(access_kind k) {
  switch (k) {
    case access_kind::owner:
      return "owner";
    case access_kind::scoped:
      return "scoped";
    case access_kind::root:
      return "root";
    case access_kind::members:
      return "members";
  }
  return "owner";
}

json access_rules_json() {
  json out = json::object();
  for (const auto& r : kRules)
    out[to_string(r.kind)] = {{"read", to_string(r.to_read)},
                              {"write", to_string(r.to_write)},
                              {"delete", to_string(r.to_delete)},
                              {"mayLeave", r.may_leave},
                              {"createsScope", r.creates_scope}};
  return out;
}

}  // namespace edgesync
