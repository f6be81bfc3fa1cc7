// `winnow score` end to end: the real binary, the fixture models, the golden
// logits of Hugging Face transformers.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "cli/cli_test_util.h"
#include "support/subprocess.h"

namespace winnow::testing {
namespace {

struct Group {
  std::vector<nlohmann::json> records;
  std::string input;
};

// Golden records grouped by (max_length, truncation): one winnow run per group.
std::map<std::pair<int, std::string>, Group> golden_groups(const std::string& model) {
  std::map<std::pair<int, std::string>, Group> groups;
  for (auto& record : read_jsonl_file(test_data() / "golden" / (model + ".jsonl"))) {
    Group& g = groups[{record["max_length"].get<int>(), record["truncation"].get<std::string>()}];
    g.input += nlohmann::json{{"query", record["query"]}, {"document", record["document"]}}.dump() + "\n";
    g.records.push_back(std::move(record));
  }
  return groups;
}

class ScoreGoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ScoreGoldenTest, RawLogitsMatchTransformersWithin1e4) {
  const std::string model = GetParam();
  double max_diff = 0;
  std::size_t compared = 0;
  for (const auto& [key, group] : golden_groups(model)) {
    ProcessResult r = run_process({winnow_binary(), "score", "--model", model_dir(model).string(), "--max-length",
                                   std::to_string(key.first), "--truncation", key.second, "--raw-scores"},
                                  group.input);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto lines = parse_jsonl(r.out);
    ASSERT_EQ(lines.size(), group.records.size());
    for (std::size_t i = 0; i < lines.size(); ++i) {
      ASSERT_TRUE(lines[i].contains("score")) << lines[i].dump();
      double diff = std::abs(lines[i]["score"].get<double>() - group.records[i]["logit"].get<double>());
      max_diff = std::max(max_diff, diff);
      EXPECT_LE(diff, 1e-4) << group.records[i]["id"];
      ++compared;
    }
  }
  EXPECT_GT(compared, 300u);
  std::cout << model << ": " << compared << " pairs, max |logit - golden| = " << max_diff << "\n";
}

INSTANTIATE_TEST_SUITE_P(FixtureModels, ScoreGoldenTest,
                         ::testing::Values("bert-ce-tiny", "xlmr-ce-tiny", "xlmr-ce-tiny-long"));

TEST(ScoreCommandTest, DefaultScoreIsTheSigmoidOfTheLogit) {
  auto groups = golden_groups("bert-ce-tiny");
  const Group& group = groups.at({512, "longest_first"});
  ProcessResult r = run_process({winnow_binary(), "score", "--model", model_dir("bert-ce-tiny").string()}, group.input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = parse_jsonl(r.out);
  ASSERT_EQ(lines.size(), group.records.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    double expected = 1.0 / (1.0 + std::exp(-group.records[i]["logit"].get<double>()));
    EXPECT_NEAR(lines[i]["score"].get<double>(), expected, 3e-5);
  }
}

TEST(ScoreCommandTest, BadLinesAreAnsweredInPlaceAndExitTwo) {
  std::string input =
      R"({"query": "what is bm25", "document": "a ranking function"})" "\n"
      "not json at all\n"
      "42\n"
      R"({"query": "only a query"})" "\n"
      R"({"query": 7, "document": "x"})" "\n"
      "\n"
      R"({"query": "", "document": ""})" "\n"
      R"({"query": "nul\u0000byte", "document": "tab\tand\u0000nul"})" "\n";
  ProcessResult r = run_process({winnow_binary(), "score", "--model", model_dir("bert-ce-tiny").string()}, input);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  auto lines = parse_jsonl(r.out);
  ASSERT_EQ(lines.size(), 8u);
  EXPECT_TRUE(lines[0].contains("score"));
  EXPECT_EQ(lines[1]["error"].get<std::string>().rfind("line 2: invalid JSON", 0), 0u) << lines[1];
  EXPECT_EQ(lines[2]["error"], "line 3: expected a JSON object, got a number");
  EXPECT_EQ(lines[3]["error"], "line 4: missing \"document\"");
  EXPECT_EQ(lines[4]["error"], "line 5: \"query\" must be a string, got a number");
  EXPECT_EQ(lines[5]["error"], "line 6: empty line, expected a JSON object");
  EXPECT_TRUE(lines[6].contains("score")) << "empty query and document are scored";
  EXPECT_TRUE(lines[7].contains("score")) << "NUL bytes are scored";
}

TEST(ScoreCommandTest, OnlySecondRefusesAQueryThatFillsMaxLength) {
  std::string input =
      R"({"query": "one two three four five six seven eight nine ten eleven twelve", "document": "short doc"})" "\n"
      R"({"query": "short", "document": "short doc"})" "\n";
  ProcessResult r = run_process({winnow_binary(), "score", "--model", model_dir("bert-ce-tiny").string(),
                                 "--max-length", "8", "--truncation", "only_second"},
                                input);
  EXPECT_EQ(r.exit_code, 2);
  auto lines = parse_jsonl(r.out);
  ASSERT_EQ(lines.size(), 2u);
  ASSERT_TRUE(lines[0].contains("error"));
  EXPECT_EQ(lines[0]["error"].get<std::string>().rfind("line 1: ", 0), 0u) << lines[0];
  EXPECT_TRUE(lines[1].contains("score"));
}

TEST(ScoreCommandTest, HundredThousandCharacterDocumentIsTruncatedAndScored) {
  std::string words;
  while (words.size() < 100000) words += "retrieval ";
  std::string no_spaces(100000, 'x');
  std::string input = nlohmann::json{{"query", "long"}, {"document", words}}.dump() + "\n" +
                      nlohmann::json{{"query", "long"}, {"document", no_spaces}}.dump() + "\n";
  for (const std::string model : {"bert-ce-tiny", "xlmr-ce-tiny"}) {
    ProcessResult r = run_process({winnow_binary(), "score", "--model", model_dir(model).string()}, input);
    EXPECT_EQ(r.exit_code, 0) << model << ": " << r.err;
    auto lines = parse_jsonl(r.out);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_TRUE(lines[0].contains("score"));
    EXPECT_TRUE(lines[1].contains("score"));
  }
}

TEST(ScoreCommandTest, UnreadableModelExitsOneNamingIt) {
  ProcessResult r = run_process({winnow_binary(), "score", "--model", "/nonexistent/model-dir"}, "{}\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("/nonexistent/model-dir"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
}

TEST(ScoreCommandTest, MaxLengthAboveThePositionTableIsRefusedWithTheLimit) {
  ProcessResult r = run_process(
      {winnow_binary(), "score", "--model", model_dir("bert-ce-tiny").string(), "--max-length", "513"}, "");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("limit of 512"), std::string::npos) << r.err;
  r = run_process({winnow_binary(), "score", "--model", model_dir("xlmr-ce-tiny-long").string(), "--max-length",
                   "1025"},
                  "");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("limit of 1024"), std::string::npos) << r.err;
}

TEST(ScoreCommandTest, ThreadCountDoesNotChangeScores) {
  auto groups = golden_groups("xlmr-ce-tiny");
  const Group& group = groups.at({64, "longest_first"});
  std::vector<std::string> outputs;
  for (const char* threads : {"1", "2"}) {
    ProcessResult r = run_process({winnow_binary(), "score", "--model", model_dir("xlmr-ce-tiny").string(),
                                   "--max-length", "64", "--raw-scores", "--threads", threads},
                                  group.input);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    outputs.push_back(r.out);
  }
  auto a = parse_jsonl(outputs[0]), b = parse_jsonl(outputs[1]);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i]["score"].get<double>(), b[i]["score"].get<double>(), 1e-5);
}

}  // namespace
}  // namespace winnow::testing
