// Golden transcripts: the same inputs replayed through edgesync::control
// natively here and through the WASM build in tests/node/transcript.test.mjs;
// both must produce tests/golden/transcripts/*.out.json byte for byte, so the
// two builds cannot drift.
#include <gtest/gtest.h>

#include "common/json_util.h"
#include "control/control.h"
#include "support.h"

namespace edgesync {
namespace {

TEST(Transcript, ServerCore) {
  const std::string dir = "tests/golden/transcripts/";
  auto in = parse_json(testing::read_repo_file(dir + "server.in.json"));
  ASSERT_TRUE(in.ok());
  json outputs = json::array();
  for (const json& step : in.value()["steps"])
    outputs.push_back(control(step["op"].get<std::string>(),
                              step["input"].get<std::string>()));
  std::string actual = outputs.dump(1) + "\n";
  if (testing::update_golden()) {
    testing::write_repo_file(dir + "server.out.json", actual);
    return;
  }
  std::string expected = testing::read_repo_file(dir + "server.out.json");
  ASSERT_FALSE(expected.empty()) << "run with UPDATE_GOLDEN=1 to create it";
  auto exp = parse_json(expected);
  ASSERT_TRUE(exp.ok());
  ASSERT_EQ(exp.value().size(), outputs.size());
  for (std::size_t i = 0; i < outputs.size(); ++i)
    EXPECT_EQ(outputs[i].get<std::string>(), exp.value()[i].get<std::string>())
        << "step " << i;
}

}  // namespace
}  // namespace edgesync
