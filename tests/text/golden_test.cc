// Golden tests: every line of the reference tokenizations produced by the
// Hugging Face tokenizers crate 0.22.2 must match id for id.
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "text/tokenizer.h"

namespace winnow::text {
namespace {

const std::string kDataDir = std::string(WINNOW_TEST_DATA) + "/tokenizers/";

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  }
  return lines;
}

std::string ids_to_string(const std::vector<std::int32_t>& ids) {
  std::ostringstream out;
  out << "[";
  for (std::size_t i = 0; i < ids.size(); ++i) out << (i ? "," : "") << ids[i];
  out << "]";
  return out.str();
}

class GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, TokensMatchIdForId) {
  auto tokenizer = Tokenizer::load_dir(kDataDir + GetParam());
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status().to_string();
  auto lines = read_jsonl(kDataDir + GetParam() + "/tokens.jsonl");
  ASSERT_GT(lines.size(), 200u);
  std::size_t mismatches = 0;
  std::ostringstream report;
  for (const auto& line : lines) {
    auto expected_ids = line["ids"].get<std::vector<std::int32_t>>();
    auto expected_types = line["type_ids"].get<std::vector<std::int32_t>>();
    auto got = tokenizer->encode(line["text"].get<std::string>());
    bool ok = got.ok() && got->ids == expected_ids && got->type_ids == expected_types;
    if (!ok && ++mismatches <= 5) {
      report << "\n" << line["id"].get<std::string>() << " text=" << line["text"].dump() << "\n  expected "
             << ids_to_string(expected_ids) << "\n  got      "
             << (got.ok() ? ids_to_string(got->ids) : got.status().to_string());
    }
  }
  EXPECT_EQ(mismatches, 0u) << mismatches << " of " << lines.size() << " lines differ" << report.str();
  std::cout << "[ golden ] " << GetParam() << "/tokens.jsonl: " << lines.size() << " records, " << mismatches
            << " mismatches\n";
}

TEST_P(GoldenTest, PairsMatchIdForId) {
  auto tokenizer = Tokenizer::load_dir(kDataDir + GetParam());
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status().to_string();
  auto lines = read_jsonl(kDataDir + GetParam() + "/pairs.jsonl");
  ASSERT_GT(lines.size(), 300u);
  std::size_t mismatches = 0;
  std::size_t errors = 0;
  std::ostringstream report;
  for (const auto& line : lines) {
    auto truncation = line["truncation"].get<std::string>() == "only_second" ? Truncation::kOnlySecond
                                                                              : Truncation::kLongestFirst;
    auto max_length = line["max_length"].get<std::size_t>();
    auto got = tokenizer->encode_pair(line["query"].get<std::string>(), line["document"].get<std::string>(),
                                      max_length, truncation);
    bool ok;
    std::string expected_text;
    if (line.contains("error")) {
      ++errors;
      ok = !got.ok() && got.status().code() == base::StatusCode::kInvalidArgument &&
           got.status().message().find("leave no room for the document within max_length " +
                                       std::to_string(max_length)) != std::string::npos;
      expected_text = "error: " + line["error"].get<std::string>();
    } else {
      auto expected_ids = line["input_ids"].get<std::vector<std::int32_t>>();
      auto expected_types = line["token_type_ids"].get<std::vector<std::int32_t>>();
      ok = got.ok() && got->ids == expected_ids && got->type_ids == expected_types &&
           got->ids.size() <= max_length;
      expected_text = ids_to_string(expected_ids) + " types " + ids_to_string(expected_types);
    }
    if (!ok && ++mismatches <= 5) {
      report << "\n" << line["id"].get<std::string>() << " query=" << line["query"].dump().substr(0, 200)
             << " document=" << line["document"].dump().substr(0, 200) << "\n  expected " << expected_text
             << "\n  got      "
             << (got.ok() ? ids_to_string(got->ids) + " types " + ids_to_string(got->type_ids)
                          : got.status().to_string());
    }
  }
  EXPECT_GT(errors, 0u);
  EXPECT_EQ(mismatches, 0u) << mismatches << " of " << lines.size() << " lines differ" << report.str();
  std::cout << "[ golden ] " << GetParam() << "/pairs.jsonl: " << lines.size() << " records (" << errors
            << " only_second refusals), " << mismatches << " mismatches\n";
}

std::string tokenizer_test_name(const ::testing::TestParamInfo<std::string>& param_info) {
  std::string name = param_info.param;
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, GoldenTest, ::testing::Values("bert-uncased", "xlmr-unigram", "bpe-qwen", "bpe-modernbert"),
                         tokenizer_test_name);

}  // namespace
}  // namespace winnow::text
