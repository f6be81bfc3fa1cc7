// `winnow tokenize` end to end against the Hugging Face tokenizers goldens.
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "cli/cli_test_util.h"
#include "support/subprocess.h"

namespace winnow::testing {
namespace {

struct TokenizerCase {
  std::string tokenizer;  // tests/data/tokenizers/<name>
  std::string model;      // a fixture model that uses it
  friend void PrintTo(const TokenizerCase& c, std::ostream* out) { *out << c.tokenizer; }
};

class TokenizeGoldenTest : public ::testing::TestWithParam<TokenizerCase> {};

TEST_P(TokenizeGoldenTest, PairsMatchIdForIdIncludingRefusals) {
  const TokenizerCase c = GetParam();
  std::map<std::pair<int, std::string>, std::vector<nlohmann::json>> groups;
  for (auto& record : read_jsonl_file(test_data() / "tokenizers" / c.tokenizer / "pairs.jsonl")) {
    groups[{record["max_length"].get<int>(), record["truncation"].get<std::string>()}].push_back(std::move(record));
  }
  std::size_t compared = 0, refused = 0;
  for (const auto& [key, records] : groups) {
    std::string input;
    for (const auto& record : records) {
      input += nlohmann::json{{"query", record["query"]}, {"document", record["document"]}}.dump() + "\n";
    }
    ProcessResult r = run_process({winnow_binary(), "tokenize", "--model", model_dir(c.model).string(),
                                   "--max-length", std::to_string(key.first), "--truncation", key.second},
                                  input);
    ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 2) << r.err;
    auto lines = parse_jsonl(r.out);
    ASSERT_EQ(lines.size(), records.size());
    for (std::size_t i = 0; i < records.size(); ++i) {
      const auto& expected = records[i];
      if (expected["input_ids"].is_null()) {
        EXPECT_TRUE(lines[i].contains("error")) << expected["id"] << " should be refused";
        EXPECT_EQ(lines[i].value("error", "").rfind("line " + std::to_string(i + 1) + ": ", 0), 0u) << lines[i];
        ++refused;
        continue;
      }
      EXPECT_EQ(lines[i]["input_ids"], expected["input_ids"]) << expected["id"];
      EXPECT_EQ(lines[i]["token_type_ids"], expected["token_type_ids"]) << expected["id"];
      ++compared;
    }
  }
  EXPECT_EQ(compared + refused, 342u);
  EXPECT_GT(refused, 0u);
}

TEST_P(TokenizeGoldenTest, SingleTextsMatchAndLongOnesAreCutKeepingTheEndToken) {
  const TokenizerCase c = GetParam();
  auto records = read_jsonl_file(test_data() / "tokenizers" / c.tokenizer / "tokens.jsonl");
  std::string input;
  for (const auto& record : records) input += nlohmann::json{{"text", record["text"]}}.dump() + "\n";
  ProcessResult r = run_process({winnow_binary(), "tokenize", "--model", model_dir(c.model).string()}, input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = parse_jsonl(r.out);
  ASSERT_EQ(lines.size(), records.size());
  std::size_t cut = 0;
  for (std::size_t i = 0; i < records.size(); ++i) {
    auto ids = records[i]["ids"].get<std::vector<int>>();
    if (ids.size() > 512) {  // the fixture models' tokenizers say model_max_length 512
      int last = ids.back();
      ids.resize(511);
      ids.push_back(last);
      ++cut;
    }
    EXPECT_EQ(lines[i]["input_ids"].get<std::vector<int>>(), ids) << records[i]["id"];
  }
  EXPECT_GT(cut, 0u);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TokenizeGoldenTest,
                         ::testing::Values(TokenizerCase{"bert-uncased", "bert-ce-tiny"},
                                           TokenizerCase{"xlmr-unigram", "xlmr-ce-tiny"}),
                         [](const auto& param_info) { return param_info.param.model == "bert-ce-tiny" ? "Bert" : "XlmR"; });

TEST(TokenizeCommandTest, MixedLinesGetErrorsInPlace) {
  std::string input = R"({"text": "hello world"})" "\n" R"(["not", "an", "object"])" "\n" R"({"query": "q"})" "\n";
  ProcessResult r = run_process({winnow_binary(), "tokenize", "--model", model_dir("bert-ce-tiny").string()}, input);
  EXPECT_EQ(r.exit_code, 2);
  auto lines = parse_jsonl(r.out);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["input_ids"], nlohmann::json({101, 7592, 2088, 102}));
  EXPECT_EQ(lines[1]["error"], "line 2: expected a JSON object, got an array");
  EXPECT_EQ(lines[2]["error"], "line 3: missing \"document\"");
}

// A tokenizer-only directory (tokenizer.json + tokenizer_config.json, no
// config.json or weights): the same ids as the model's directory, cut at
// the tokenizer's model_max_length when it has one, else not cut at all.
TEST(TokenizeCommandTest, TokenizerOnlyDirectoryHasNoPositionTableLimit) {
  auto dir = fresh_temp_dir("tokenizer_only");
  const auto source = test_data() / "tokenizers" / "bert-uncased";
  std::filesystem::copy_file(source / "tokenizer.json", dir / "tokenizer.json");
  auto config = nlohmann::json::parse(std::ifstream(source / "tokenizer_config.json"));
  std::ofstream(dir / "tokenizer_config.json") << config.dump();
  std::string long_text;
  for (int i = 0; i < 2000; ++i) long_text += "hello ";
  const std::string input = nlohmann::json{{"text", "hello world"}}.dump() + "\n" +
                            nlohmann::json{{"text", long_text}}.dump() + "\n" +
                            nlohmann::json{{"query", "q"}, {"document", long_text}}.dump() + "\n";
  ProcessResult limited = run_process({winnow_binary(), "tokenize", "--model", dir.string()}, input);
  ASSERT_EQ(limited.exit_code, 0) << limited.err;
  auto lines = parse_jsonl(limited.out);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["input_ids"], nlohmann::json({101, 7592, 2088, 102}));
  EXPECT_EQ(lines[1]["input_ids"].size(), 512u) << "tokenizer_config.json's model_max_length";
  EXPECT_EQ(lines[2]["input_ids"].size(), 512u);

  config.erase("model_max_length");
  std::ofstream(dir / "tokenizer_config.json", std::ios::trunc) << config.dump();
  ProcessResult unlimited = run_process({winnow_binary(), "tokenize", "--model", dir.string()}, input);
  ASSERT_EQ(unlimited.exit_code, 0) << unlimited.err;
  lines = parse_jsonl(unlimited.out);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1]["input_ids"].size(), 2002u) << "no model, no position table: nothing is cut";
  EXPECT_EQ(lines[2]["input_ids"].size(), 2004u);
  ProcessResult asked = run_process({winnow_binary(), "tokenize", "--model", dir.string(), "--max-length", "8"}, input);
  ASSERT_EQ(asked.exit_code, 0) << asked.err;
  EXPECT_EQ(parse_jsonl(asked.out)[1]["input_ids"].size(), 8u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace winnow::testing
