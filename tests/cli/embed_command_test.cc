// `winnow embed` against the sentence-transformers goldens (EMBEDDINGS.md).
#include <gtest/gtest.h>

#include <cmath>

#include "cli/cli_test_util.h"
#include "support/subprocess.h"

namespace winnow::testing {
namespace {

class EmbedGoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(EmbedGoldenTest, EveryComponentWithin1e4AndUnitNorm) {
  const std::string model = GetParam();
  auto golden = read_jsonl_file(test_data() / "golden" / (model + ".embeddings.jsonl"));
  std::string input;
  for (const auto& g : golden) input += nlohmann::json{{"text", g["text"]}}.dump() + "\n";
  ProcessResult r = run_process({winnow_binary(), "embed", "--model", model_dir(model).string()}, input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = parse_jsonl(r.out);
  ASSERT_EQ(lines.size(), golden.size());
  double max_diff = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    auto got = lines[i]["embedding"].get<std::vector<double>>();
    auto want = golden[i]["embedding"].get<std::vector<double>>();
    ASSERT_EQ(got.size(), want.size());
    double norm = 0;
    for (std::size_t k = 0; k < got.size(); ++k) {
      max_diff = std::max(max_diff, std::abs(got[k] - want[k]));
      norm += got[k] * got[k];
    }
    EXPECT_NEAR(std::sqrt(norm), 1.0, 1e-5) << golden[i]["id"];
  }
  EXPECT_LE(max_diff, 1e-4);
  std::cout << model << ": " << lines.size() << " texts, max |component - golden| = " << max_diff << "\n";
}

INSTANTIATE_TEST_SUITE_P(FixtureModels, EmbedGoldenTest, ::testing::Values("bert-embed-tiny", "xlmr-embed-tiny"));

TEST(EmbedCommandTest, BadLinesGetErrorsInPlace) {
  std::string input = "{\"text\": \"fine\"}\n{\"txt\": \"typo\"}\n7\n";
  ProcessResult r = run_process({winnow_binary(), "embed", "--model", model_dir("bert-embed-tiny").string()}, input);
  EXPECT_EQ(r.exit_code, 2);
  auto lines = parse_jsonl(r.out);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["embedding"].size(), 64u);
  EXPECT_EQ(lines[1]["error"], "line 2: missing \"text\"");
  EXPECT_EQ(lines[2]["error"], "line 3: expected a JSON object, got a number");
}

}  // namespace
}  // namespace winnow::testing
