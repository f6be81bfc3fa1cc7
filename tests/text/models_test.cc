#include "text/unigram.h"
#include "text/wordpiece.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace winnow::text {
namespace {

std::vector<std::int32_t> tokenize(const SubwordModel& model, std::string_view word) {
  std::vector<std::int32_t> ids;
  auto status = model.tokenize(word, ids);
  EXPECT_TRUE(status.ok()) << status.to_string();
  return ids;
}

std::unique_ptr<SubwordModel> wordpiece(int max_chars = 100) {
  auto spec = nlohmann::json::parse(R"({"type":"WordPiece","unk_token":"[UNK]","continuing_subword_prefix":"##",
      "vocab":{"[UNK]":0,"un":1,"##aff":2,"##able":3,"una":4,"##ff":5,"é":6,"##é":7}})");
  spec["max_input_chars_per_word"] = max_chars;
  auto model = make_subword_model(spec, "tokenizer.json");
  EXPECT_TRUE(model.ok()) << model.status().to_string();
  return std::move(model).value();
}

TEST(WordPieceTest, GreedyLongestMatchFirst) {
  auto model = wordpiece();
  // "una" is longer than "un", so greedy takes it and then needs "##ffable".
  EXPECT_EQ(tokenize(*model, "unaffable"), (std::vector<std::int32_t>{4, 5, 3}));
  EXPECT_EQ(tokenize(*model, "éé"), (std::vector<std::int32_t>{6, 7}));
  // A word the vocabulary cannot cover becomes one [UNK].
  EXPECT_EQ(tokenize(*model, "unaffablex"), (std::vector<std::int32_t>{0}));
}

TEST(WordPieceTest, LongWordsAreUnknown) {
  auto model = wordpiece(5);
  EXPECT_EQ(tokenize(*model, "éééé"), (std::vector<std::int32_t>{6, 7, 7, 7}));  // 4 chars, 8 bytes
  EXPECT_EQ(tokenize(*model, "unaffable"), (std::vector<std::int32_t>{0}));
}

std::unique_ptr<SubwordModel> unigram(bool byte_fallback) {
  auto spec = nlohmann::json::parse(R"({"type":"Unigram","unk_id":0,"vocab":[
      ["<unk>",0.0],["a",-1.0],["b",-1.0],["ab",-2.0],["c",-3.0],["abc",-5.5],
      ["<0x78>",-8.0],["<0x79>",-8.0]]})");
  spec["byte_fallback"] = byte_fallback;
  auto model = make_subword_model(spec, "tokenizer.json");
  EXPECT_TRUE(model.ok()) << model.status().to_string();
  return std::move(model).value();
}

TEST(UnigramTest, ViterbiPicksTheBestSumAndKeepsTheFirstOfTies) {
  auto model = unigram(false);
  // a+b = -2 ties ab = -2: the candidate found first (ab, tried from start 0) wins.
  EXPECT_EQ(tokenize(*model, "ab"), (std::vector<std::int32_t>{3}));
  // abc = -5.5 beats ab+c = -5.
  EXPECT_EQ(tokenize(*model, "abc"), (std::vector<std::int32_t>{3, 4}));
  EXPECT_EQ(tokenize(*model, "ba"), (std::vector<std::int32_t>{2, 1}));
}

TEST(UnigramTest, UnknownRunsAreFusedIntoOneUnk) {
  auto model = unigram(false);
  EXPECT_EQ(tokenize(*model, "axyb"), (std::vector<std::int32_t>{1, 0, 2}));
  EXPECT_EQ(tokenize(*model, "xéy"), (std::vector<std::int32_t>{0}));
}

TEST(UnigramTest, ByteFallbackSpellsUnknownPiecesAsBytes) {
  auto model = unigram(true);
  EXPECT_EQ(tokenize(*model, "axyb"), (std::vector<std::int32_t>{1, 6, 7, 2}));
  // Not every byte of "é" has a piece: the whole unknown piece stays <unk>.
  EXPECT_EQ(tokenize(*model, "aé"), (std::vector<std::int32_t>{1, 0}));
}

TEST(ModelFactoryTest, UnsupportedTypeIsNamed) {
  auto model = make_subword_model(nlohmann::json::parse(R"({"type":"WordLevel","vocab":{},"unk_token":"<unk>"})"), "tokenizer.json");
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().message(), "tokenizer.json: model type \"WordLevel\" is not supported");
}

TEST(PieceTrieTest, PrefixesShortestFirst) {
  PieceTrie trie;
  trie.build({"a", "ab", "abc", "b", "ab"});
  std::vector<std::pair<std::size_t, std::int32_t>> found;
  trie.common_prefix_search("abcd", [&](std::size_t len, std::int32_t v) { found.emplace_back(len, v); });
  // Duplicate "ab": the last index wins, as the crate's token map does.
  EXPECT_EQ(found, (std::vector<std::pair<std::size_t, std::int32_t>>{{1, 0}, {2, 4}, {3, 2}}));
}

}  // namespace
}  // namespace winnow::text
