// Fuzz inputs replayed natively, without any fuzzer runtime: each input a
// fuzz target once failed on (fuzz/regressions/<target>/) is a named test,
// and every committed seed (fuzz/corpus/<target>/) must pass too. The
// inputs go through the targets' own entry functions, so every property
// the fuzzer checks is checked here (see fuzz/README.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "fuzz_support.h"
#include "fuzz_targets.h"
#include "support.h"

namespace {

using entry = int (*)(const std::uint8_t*, std::size_t);

std::vector<std::string>* g_broken = nullptr;

void record(const std::string& message) { g_broken->push_back(message); }

// Runs one input through a target; returns the properties it broke.
std::vector<std::string> replay(entry target, const std::string& bytes) {
  std::vector<std::string> broken;
  g_broken = &broken;
  edgesync::fuzz::set_reporter(record);
  target(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  edgesync::fuzz::set_reporter(nullptr);
  g_broken = nullptr;
  return broken;
}

std::filesystem::path repo_root() {
  const char* root = std::getenv("ES_SOURCE_DIR");
  return root != nullptr ? root : ES_SOURCE_DIR;
}

// Replays fuzz/regressions/<target>/<name>.
void replay_regression(entry target, const std::string& dir,
                       const std::string& name) {
  std::string rel = "fuzz/regressions/" + dir + "/" + name;
  ASSERT_TRUE(std::filesystem::exists(repo_root() / rel)) << rel;
  for (const auto& m : replay(target, edgesync::testing::read_repo_file(rel)))
    ADD_FAILURE() << rel << "\n" << m;
}

// Replays every file of a directory; returns how many there were.
std::size_t replay_dir(entry target, const std::string& rel_dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& e :
       std::filesystem::directory_iterator(repo_root() / rel_dir))
    if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::string rel = rel_dir + "/" + f.filename().string();
    for (const auto& m : replay(target, edgesync::testing::read_repo_file(rel)))
      ADD_FAILURE() << rel << "\n" << m;
  }
  return files.size();
}

const std::pair<const char*, entry> kTargets[] = {
    {"json_scanner", es_fuzz_json_scanner},
    {"validate_request", es_fuzz_validate_request},
    {"schema_codegen", es_fuzz_schema_codegen},
    {"control", es_fuzz_control},
    {"client_response", es_fuzz_client_response},
};

TEST(FuzzCorpus, EverySeedPassesEveryTarget) {
  for (const auto& [name, target] : kTargets)
    EXPECT_GT(replay_dir(target, std::string("fuzz/corpus/") + name), 0u)
        << "no seeds for " << name;
}

TEST(FuzzCorpus, EveryCommittedRegressionInputPasses) {
  // The named tests below cover each file; this catches one without a test.
  for (const auto& [name, target] : kTargets) {
    auto dir = std::string("fuzz/regressions/") + name;
    if (std::filesystem::exists(repo_root() / dir)) replay_dir(target, dir);
  }
}

TEST(FuzzCorpus, TheReporterSeesABrokenProperty) {
  // A scanner that accepted "[1,]" would be reported: prove the replay
  // machinery reports at all by breaking a property on purpose.
  std::vector<std::string> broken;
  g_broken = &broken;
  edgesync::fuzz::set_reporter(record);
  ES_FUZZ_CHECK(1 + 1 == 3, "arithmetic");
  edgesync::fuzz::set_reporter(nullptr);
  ASSERT_EQ(broken.size(), 1u);
  EXPECT_NE(broken[0].find("arithmetic"), std::string::npos);
}

// ---- json_scanner (differential against nlohmann)

// nlohmann stops at a NUL byte ("1\0x" parsed as 1); parse_json now refuses
// it like the scanner (core/common/json_util.cpp).
TEST(FuzzRegression, JsonScannerNulAfterAValue) {
  replay_regression(es_fuzz_json_scanner, "json_scanner", "nul-after-a-value");
}

// Numbers beyond a double: nlohmann refuses them, the scanner (syntax only)
// takes them; the target compares both on rewritten text.
TEST(FuzzRegression, JsonScannerNumberBeyondDouble) {
  replay_regression(es_fuzz_json_scanner, "json_scanner",
                    "number-beyond-double");
}

// ---- control (es_call boundary)

// nowMs 1e300 was converted to int64 (UB); now a nowMs error frame.
TEST(FuzzRegression, ControlServerBeginNow1e300) {
  replay_regression(es_fuzz_control, "control", "server-begin-now-1e300");
}

// client.open's now 1e300 was converted to int64 (UB); now refused.
TEST(FuzzRegression, ControlClientOpenNow1e300) {
  replay_regression(es_fuzz_control, "control", "client-open-now-1e300");
}

// An event at now = INT64_MAX overflowed the engine's timer arithmetic
// (client.cpp, now + periodicMs); event integers are now within +-9e15.
TEST(FuzzRegression, ControlClientTickNowInt64Max) {
  replay_regression(es_fuzz_control, "control", "client-tick-now-int64-max");
}

// A claim result without "user" (from the database, through the host):
// server.cpp reads missing members with the asserting const operator[]
// (undefined behaviour with NDEBUG, as in the WASM build).
TEST(FuzzRegression, ControlServerStepClaimResultWithoutUser) {
  replay_regression(es_fuzz_control, "control",
                    "server-step-claim-result-without-user");
}

// The same in the pull page's metadata ({} instead of {xmin, n, lx, lv}).
TEST(FuzzRegression, ControlServerStepPullResultWithoutMembers) {
  replay_regression(es_fuzz_control, "control",
                    "server-step-pull-result-without-members");
}

// ---- validate_request (core/server/validate.cpp; issue 7)

// F1: after 100 errors the error cap hid failures; close_object indexed an
// empty groups vector.
TEST(FuzzRegression, ValidateRequestF1ErrorCapThenChanges) {
  replay_regression(es_fuzz_validate_request, "validate_request",
                    "f1-error-cap-then-changes");
}

// F6: "row" twice in a change wrote invalid merge JSON.
TEST(FuzzRegression, ValidateRequestF6RowTwice) {
  replay_regression(es_fuzz_validate_request, "validate_request",
                    "f6-row-twice");
}

// F2: a real PostgreSQL's double precision refuses.
TEST(FuzzRegression, ValidateRequestF2Real1e400) {
  replay_regression(es_fuzz_validate_request, "validate_request",
                    "f2-real-1e400");
}

// F2: a date that does not exist.
TEST(FuzzRegression, ValidateRequestF2TimestampFeb30) {
  replay_regression(es_fuzz_validate_request, "validate_request",
                    "f2-timestamp-feb-30");
}

// A body that is not JSON but does not start like an object ("[", "tru",
// "\"\\x\"") was answered invalid_request "must be a JSON object" instead
// of invalid_json (docs/protocol.md).
TEST(FuzzRegression, ValidateRequestMalformedNonObjectBody) {
  replay_regression(es_fuzz_validate_request, "validate_request",
                    "malformed-non-object-body");
}

// ---- schema_codegen (core/schema/schema.cpp; issue 7, F9)

TEST(FuzzRegression, SchemaF9DerivedNamePgClass) {
  replay_regression(es_fuzz_schema_codegen, "schema_codegen",
                    "f9-derived-name-pg-class");
}

// A column "sqliteX" is served as "sqlite_x", a reserved prefix (found by
// the seed near-limits.json).
TEST(FuzzRegression, SchemaF9DerivedColumnNameSqliteX) {
  replay_regression(es_fuzz_schema_codegen, "schema_codegen",
                    "f9-derived-column-name-sqlite-x");
}

TEST(FuzzRegression, SchemaF9DerivedNameSyncOutbox) {
  replay_regression(es_fuzz_schema_codegen, "schema_codegen",
                    "f9-derived-name-sync-outbox");
}

// vX and VX: one table for SQLite, which folds case.
TEST(FuzzRegression, SchemaF9NamesDifferInCaseOnly) {
  replay_regression(es_fuzz_schema_codegen, "schema_codegen",
                    "f9-names-differ-in-case-only");
}

TEST(FuzzRegression, SchemaF9OwnerInKey) {
  replay_regression(es_fuzz_schema_codegen, "schema_codegen",
                    "f9-owner-in-key");
}

// Found by the fuzzer: a 62-byte client name whose derived server name has
// 63 bytes, so its pull index name is the table's own name.
TEST(FuzzRegression, SchemaF9DerivedName63Bytes) {
  replay_regression(es_fuzz_schema_codegen, "schema_codegen",
                    "f9-derived-name-63-bytes");
}

// A 63-byte server name: its pull index name truncates to the table's own
// name, and CREATE INDEX IF NOT EXISTS silently creates nothing.
TEST(FuzzRegression, SchemaF9IndexNameTruncated) {
  replay_regression(es_fuzz_schema_codegen, "schema_codegen",
                    "f9-index-name-truncated");
}

// ---- client_response (core/client/client.cpp)

// serverTime 1e300 in a 200 answer was converted to int64 (UB; natively
// the absorbed clock came out as INT64_MIN).
TEST(FuzzRegression, ClientResponseServerTime1e300) {
  replay_regression(es_fuzz_client_response, "client_response",
                    "server-time-1e300");
}

// serverTime 1e16 went into sync_clock.ms: every later local HLC stamp has
// 17 digits of ms, which the server refuses.
TEST(FuzzRegression, ClientResponseServerTimeBeyondHlcDigits) {
  replay_regression(es_fuzz_client_response, "client_response",
                    "server-time-beyond-hlc-digits");
}

}  // namespace
